"""The `sla` section of queues and rules: every metric per priority, warn_at, on_breach, the
line-precise problems of `rules check`, and first due times counted in business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import RuleError
from core.model import Priority
from router.engine import load_ruleset
from router.sla import terms_for
from router.spec import OnBreach, Sla
from tests.router.helpers import contact, customer

HOURS = timedelta(hours=1)

RULES = """\
calendars:
  ny: {timezone: America/New_York, weekly: {mon-fri: "09:00-17:00"}, holidays: [2026-12-25]}
queues:
  general: {}
  support:
    calendar: ny
    sla:
      first_response: 4h
      next_response: 8h
      periodic_update: 1d
      resolution: 2d
      urgent: {first_response: 30m, periodic_update: 2h}
      warn_at: 80%
      on_breach: {escalate: true, priority: urgent, tags: [sla-missed]}
  tier2: {tier: 2, sla: {first_response: 1h}}
default: {queue: general}
rules:
  - name: vip
    when: {customer.tags: {contains: vip}}
    then: {queue: support, sla: {first_response: 1h, warn_at: 50}}
"""


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(RuleError) as caught:
        load_ruleset(text, "rules.yaml")
    return caught.value.problems


def test_a_queue_sla_sets_every_metric_per_priority_with_warn_at_and_on_breach() -> None:
    doc = load_ruleset(RULES, "rules.yaml").doc
    normal = terms_for(doc, "support", Priority.NORMAL)
    urgent = terms_for(doc, "support", Priority.URGENT)
    assert normal.sla == Sla(4 * HOURS, 48 * HOURS, 8 * HOURS, 24 * HOURS)
    assert urgent.sla == Sla(HOURS / 2, 48 * HOURS, 8 * HOURS, 2 * HOURS)
    assert (normal.warn_at, normal.calendar is doc.calendars["ny"]) == (0.8, True)
    assert normal.on_breach == OnBreach(
        escalate=True, priority=Priority.URGENT, tags=("sla-missed",)
    )


def test_the_routing_rules_sla_overrides_the_queue_while_the_ticket_stays_there() -> None:
    doc = load_ruleset(RULES, "rules.yaml").doc
    routed = terms_for(doc, "support", Priority.NORMAL, "vip")
    assert (routed.sla.first_response, routed.sla.resolution) == (HOURS, 48 * HOURS)
    assert routed.warn_at == 0.5
    assert routed.on_breach.escalate  # the rule gave none: the queue's stands


def test_a_queue_without_a_calendar_or_unknown_to_the_rules_has_plain_terms() -> None:
    doc = load_ruleset(RULES, "rules.yaml").doc
    assert terms_for(doc, "tier2", Priority.LOW).calendar is None
    assert terms_for(doc, "gone", Priority.LOW).sla == Sla()
    assert terms_for(doc, "tier2", Priority.LOW).warn_at == 0.75  # the default


BAD = [
    pytest.param(
        "    sla: {first_response: soon}\n",
        "rules.yaml:5: queue 'q': first_response: not a duration: 'soon' "
        "(use e.g. 90s, 30m, 4h, 2d, 1w)",
        id="target-not-a-duration",
    ),
    pytest.param(
        "    sla: {next_response: '0'}\n",
        "rules.yaml:5: queue 'q': next_response must be longer than 0",
        id="target-zero",
    ),
    pytest.param(
        "    sla:\n      high: {periodic_update: 1 fortnight}\n",
        "rules.yaml:5: queue 'q': periodic_update: not a duration: '1 fortnight' "
        "(use e.g. 90s, 30m, 4h, 2d, 1w)",
        id="priority-target-not-a-duration",
    ),
    pytest.param(
        "    sla: {first_response: 1h, warn_at: 100%}\n",
        "rules.yaml:5: queue 'q': warn_at must be a percentage between 0 and 100, not '100%'",
        id="warn-at-100",
    ),
    pytest.param(
        "    sla: {first_response: 1h, warn_at: 0}\n",
        "rules.yaml:5: queue 'q': warn_at must be a percentage between 0 and 100, not '0'",
        id="warn-at-0",
    ),
    pytest.param(
        "    sla: {first_response: 1h, warn_at: soon}\n",
        "rules.yaml:5: queue 'q': warn_at must be a percentage between 0 and 100, not 'soon'",
        id="warn-at-not-a-number",
    ),
    pytest.param(
        "    sla: {first_response: 1h, on_breach: {escalate: maybe}}\n",
        "rules.yaml:5: queue 'q': escalate must be true or false, not 'maybe'",
        id="escalate-not-a-flag",
    ),
    pytest.param(
        "    sla: {first_response: 1h, on_breach: {priority: critical}}\n",
        "rules.yaml:5: queue 'q': unknown priority 'critical'; use low, normal, high, urgent",
        id="breach-priority-unknown",
    ),
    pytest.param(
        "    sla: {first_response: 1h, on_breach: {escalte: true}}\n",
        "rules.yaml:5: queue 'q': unknown key 'escalte' in on_breach (did you mean 'escalate'?)",
        id="breach-unknown-action",
    ),
    pytest.param(
        "    tier: 3\n    sla:\n      first_response: 1h\n      on_breach:\n"
        "        escalate: true\n",
        "rules.yaml:8: queue 'q': on_breach escalates, but no queue is above it",
        id="escalate-from-the-top-tier",
    ),
]


@pytest.mark.parametrize(("queue", "expected"), BAD)
def test_a_bad_sla_is_reported_with_its_line_and_queue(queue: str, expected: str) -> None:
    text = "queues:\n  general: {}\n  q:\n" + queue.replace("    sla:", "    sla:", 1)
    text = text.replace("  q:\n    sla: {", "  q:\n    kind: inbound\n    sla: {", 1)
    found = problems(text + "default: {queue: general}\n")
    assert expected in found, found


def test_a_rule_escalating_on_breach_from_the_top_tier_is_reported_with_its_line() -> None:
    text = RULES.replace(
        "sla: {first_response: 1h, warn_at: 50}}",
        "sla: {first_response: 1h, on_breach: {escalate: true}}}",
    )
    text = text.replace("then: {queue: support,", "then: {queue: tier2,")
    assert problems(text) == (
        "rules.yaml:18: rule 'vip': on_breach escalates, but no queue is above 'tier2'",
    )


def test_escalating_on_breach_below_the_top_tier_is_fine() -> None:
    text = RULES.replace("tier2: {tier: 2, ", "tier2: {tier: 2, escalate_to: support, ")
    assert load_ruleset(text, "rules.yaml").doc.queues["support"].sla.on_breach.escalate


def test_a_rules_bad_sla_is_reported_with_its_line_and_rule() -> None:
    text = RULES.replace("warn_at: 50", "warn_at: 150")
    assert problems(text) == (
        "rules.yaml:20: rule 'vip': warn_at must be a percentage between 0 and 100, not '150'",
    )


# Monday 2026-11-23; New York is UTC-5 in November.
NIGHT = datetime(2026, 11, 23, 7, 47, tzinfo=UTC)  # 02:47 in New York


def test_a_contact_at_night_is_due_its_first_response_in_business_hours() -> None:
    """The issue's example: 02:47 New York time, staffed 09:00-17:00, 4h -> 13:00, not 06:47."""
    ruleset = load_ruleset(RULES.replace("queue: general}\nrules:", "queue: support}\nrules:"), "r")
    decision = ruleset.decide(contact(at=NIGHT), customer())
    assert decision.first_response_due == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 13:00
    # A target is business time: 2d = 48 open hours = six 8-hour days -> next Monday 17:00.
    assert decision.resolution_due == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)


def test_a_queue_without_a_calendar_is_due_in_wall_clock_time() -> None:
    text = RULES.replace("queue: general}\nrules:", "queue: tier2}\nrules:")
    decision = load_ruleset(text, "r").decide(contact(at=NIGHT), customer())
    assert decision.first_response_due == NIGHT + HOURS
