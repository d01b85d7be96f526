"""Decisions: first queue wins, `continue`, priorities, SLAs, the default, and why."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from core.model import Decision, Identity, Inbound, Priority, Router
from router.engine import default_ruleset, format_explanation, load_ruleset
from router.spec import QueueKind
from tests.router.helpers import MONDAY_CLOSED, contact, customer, ruleset

ROOT = Path(__file__).resolve().parents[2]

PRODUCT_RULES = """\
calendars:
  support_hours:
    timezone: America/New_York
    weekly: {mon-fri: "08:00-18:00", sat: "09:00-13:00"}
    holidays: [2026-12-25]
queues:
  general:   {kind: inbound, tier: 1}
  billing:   {kind: inbound, tier: 1, calendar: support_hours,
              sla: {first_response: 4h, resolution: 2d}}
  escalated: {kind: inbound, tier: 2}
  callbacks: {kind: outbound}
rules:
  - name: vip customers
    when: {customer.tags: {contains: vip}}
    then: {queue: escalated, priority: high}
  - name: billing words
    when:
      any:
        - body: {contains: [refund, invoice, "credit card"]}
        - subject: {matches: '(?i)\\bbill(ing)?\\b'}
    then: {queue: billing, tags: [billing]}
  - name: callbacks
    when: {event: {in: [missed_call, callback_request]}}
    then: {queue: callbacks, campaign: callbacks}
  - name: urgent after hours
    when: {all: [{channel: sms}, {outside: support_hours}]}
    then: {priority: urgent, continue: true}
default: {queue: general, priority: normal}
"""
PRODUCT = load_ruleset(PRODUCT_RULES, "rules.yaml")


def test_the_product_brief_example_routes_vip_customers_first_and_says_why() -> None:
    decision = PRODUCT.decide(contact("I want a refund"), customer("vip"))
    assert (decision.queue, decision.priority, decision.rule) == (
        "escalated",
        Priority.HIGH,
        "vip customers",
    )
    assert decision.explanation == ("rule 'vip customers' matched: queue escalated; priority high",)


def test_each_rule_before_the_one_that_fired_names_its_first_failed_condition() -> None:
    decision = PRODUCT.decide(contact("please send the INVOICE"), customer())
    assert decision.queue == "billing"
    assert decision.tags == ("billing",)
    assert decision.explanation == (
        "rule 'vip customers': customer.tags does not contain 'vip'",
        "rule 'billing words' matched: queue billing; tags billing",
    )


def test_with_no_match_every_rule_is_explained_then_the_default() -> None:
    decision = PRODUCT.decide(contact("hello"), customer())
    assert (decision.queue, decision.rule, decision.priority) == ("general", None, Priority.NORMAL)
    assert decision.explanation == (
        "rule 'vip customers': customer.tags does not contain 'vip'",
        "rule 'billing words': none of (body contains none of 'refund', 'invoice', "
        "'credit card'; subject does not match '(?i)\\\\bbill(ing)?\\\\b')",
        "rule 'callbacks': event is not one of 'missed_call', 'callback_request'",
        "rule 'urgent after hours': channel is not 'sms'",
        "no rule set the queue: default queue 'general'",
    )


def test_a_continue_rule_without_a_queue_raises_priority_and_the_default_queue_applies() -> None:
    decision = PRODUCT.decide(contact("hi", channel="sms", at=MONDAY_CLOSED), customer())
    assert (decision.queue, decision.priority, decision.rule) == (
        "general",
        Priority.URGENT,
        None,
    )
    assert decision.explanation[-2:] == (
        "rule 'urgent after hours' matched: priority urgent; continue",
        "no rule set the queue: default queue 'general'",
    )


def test_an_outbound_rule_sets_the_campaign() -> None:
    decision = PRODUCT.decide(contact("", channel="voice", event="missed_call"), customer())
    assert (decision.queue, decision.campaign) == ("callbacks", "callbacks")
    assert PRODUCT.queues["callbacks"].kind is QueueKind.OUTBOUND


CONTINUE_RULES = """\
- name: tag refunds
  when: {body: {contains: refund}}
  then: {tags: [refund], skills: [payments], priority: low, continue: true}
- name: billing
  when: {body: {contains: [refund, invoice]}}
  then: {queue: billing, tags: [billing], continue: true}
- name: angry
  when: {body: {contains: angry}}
  then: {queue: escalated, priority: high, tags: [angry, refund], continue: true}
- name: lower is ignored
  when: {body: {contains: angry}}
  then: {priority: normal, skills: [deescalation]}
- name: never reached
  then: {tags: [unreachable]}
"""


def test_continue_keeps_the_first_queue_accumulates_tags_and_only_raises_priority() -> None:
    decision = ruleset(CONTINUE_RULES).decide(contact("an angry refund request"), customer())
    assert decision.queue == "billing"
    assert decision.rule == "billing"
    assert decision.priority is Priority.HIGH
    assert decision.tags == ("refund", "billing", "angry")
    assert decision.skills == ("payments", "deescalation")
    assert len(decision.explanation) == 4  # a rule without continue stops the evaluation


def test_the_first_priority_set_stands_even_when_lower_than_the_defaults() -> None:
    decision = ruleset(CONTINUE_RULES).decide(contact("refund"), customer())
    assert decision.priority is Priority.LOW


def test_a_match_without_continue_stops_evaluation() -> None:
    rules = ruleset("""\
    - {name: first, when: {body: {contains: x}}, then: {tags: [a]}}
    - {name: second, then: {queue: billing}}
    """)
    decision = rules.decide(contact("x"), customer())
    assert (decision.queue, decision.tags, decision.rule) == ("general", ("a",), None)


def test_the_default_fills_priority_and_adds_its_tags_only_when_it_applies() -> None:
    header = """\
queues: {general: {}, billing: {}}
default: {queue: general, priority: high, tags: [triage], auto_reply: ack}
rules:
"""
    rules = ruleset("- {name: b, when: {body: {contains: bill}}, then: {queue: billing}}\n", header)
    routed = rules.decide(contact("bill"), customer())
    assert (routed.priority, routed.tags, routed.auto_reply) == (Priority.NORMAL, (), None)
    fallen = rules.decide(contact("hello"), customer())
    assert (fallen.priority, fallen.tags, fallen.auto_reply) == (Priority.HIGH, ("triage",), "ack")


SLA_HEADER = """\
queues:
  general: {}
  billing:
    sla:
      first_response: 4h
      resolution: 2d
      urgent: {first_response: 30m}
default: {queue: general}
rules:
"""

SLA_CASES = [
    pytest.param(
        "- {name: r, then: {queue: billing}}\n",
        (timedelta(hours=4), timedelta(days=2)),
        id="queue-base",
    ),
    pytest.param(
        "- {name: r, then: {queue: billing, priority: urgent}}\n",
        (timedelta(minutes=30), timedelta(days=2)),
        id="queue-per-priority-keeps-base-resolution",
    ),
    pytest.param(
        "- {name: r, then: {queue: billing, sla: {resolution: 1d}}}\n",
        (timedelta(hours=4), timedelta(days=1)),
        id="rule-overrides-one-target",
    ),
    pytest.param(
        "- {name: r, then: {queue: billing, sla: {first_response: 8h}}}\n",
        (timedelta(hours=8), timedelta(days=2)),
        id="rule-may-loosen-the-queue",
    ),
    pytest.param(
        "- {name: a, then: {sla: {first_response: 2h}, continue: true}}\n"
        "- {name: b, then: {queue: billing, sla: {first_response: 3h}}}\n",
        (timedelta(hours=2), timedelta(days=2)),
        id="shortest-rule-target-wins",
    ),
    pytest.param(
        "- {name: a, then: {priority: urgent, continue: true}}\n"
        "- {name: b, then: {queue: billing, sla: {urgent: {resolution: 4h}}}}\n",
        (timedelta(minutes=30), timedelta(hours=4)),
        id="rule-per-priority",
    ),
    pytest.param(
        "- {name: r, then: {queue: general}}\n",
        (None, None),
        id="no-sla",
    ),
]


@pytest.mark.parametrize(("rules", "expected"), SLA_CASES)
def test_sla_comes_from_the_queue_for_the_priority_overridden_by_rules(
    rules: str, expected: tuple[timedelta | None, timedelta | None]
) -> None:
    decision = ruleset(rules, SLA_HEADER).decide(contact(), customer())
    assert (decision.first_response, decision.resolution) == expected


def test_a_rule_for_another_channel_is_explained_by_its_channel_condition() -> None:
    rules = ruleset("""\
    - name: sms refunds
      when: {body: {contains: refund}, channel: sms}
      then: {queue: billing}
    """)
    decision = rules.decide(contact("refund", channel="email"), customer())
    assert decision.explanation[0] == "rule 'sms refunds': channel is not 'sms'"


NOT_RULES = """\
- name: not spam
  when: {not: {body: {contains: spam}}}
  then: {queue: billing}
- name: either
  when: {any: [{all: [{body: {contains: x}}, {channel: sms}]}, {customer.open_tickets: {gte: 2}}]}
  then: {queue: billing}
"""


def test_a_failed_not_names_what_held_and_a_failed_any_names_each_branch() -> None:
    decision = ruleset(NOT_RULES).decide(contact("spam here"), customer())
    assert decision.explanation[:2] == (
        "rule 'not spam': body contains 'spam'",
        "rule 'either': none of (body does not contain 'x'; customer.open_tickets is not >= 2)",
    )


def test_an_inbound_that_breaks_a_condition_goes_to_the_default_and_says_why() -> None:
    broken = Inbound(
        channel="email",
        external_id="1",
        sender=Identity("email", "a@b.c"),
        text=None,  # type: ignore[arg-type]  # what a buggy channel could hand over
        received_at=MONDAY_CLOSED,
    )
    decision = PRODUCT.decide(broken, customer())
    assert decision.queue == "general"
    assert decision.explanation == ("router error (TypeError): sent to the default queue",)


NEEDS_HISTORY_CASES = [
    pytest.param(
        "- {name: r, when: {body: {contains: x}}, then: {queue: billing}}\n",
        False,
        id="content-only",
    ),
    pytest.param(
        "- {name: r, when: {customer.is_new: true}, then: {queue: billing}}\n",
        False,
        id="is-new-needs-no-read",
    ),
    pytest.param(
        "- {name: r, when: {not: {customer.tags: {contains: vip}}}, then: {tags: [a]}}\n",
        True,
        id="tags",
    ),
    pytest.param(
        "- {name: r, when: {customer.tags: {exists: true}}, then: {tags: [a]}}\n",
        True,
        id="tags-exist",
    ),
    pytest.param(
        "- {name: r, when: {any: [{within: office}, {customer.open_tickets: {gte: 2}}]}"
        ", then: {tags: [a]}}\n",
        True,
        id="open-tickets",
    ),
]


@pytest.mark.parametrize(("rules", "expected"), NEEDS_HISTORY_CASES)
def test_needs_history_says_whether_any_rule_reads_tags_or_open_tickets(
    rules: str, expected: bool
) -> None:
    router: Router = ruleset(rules)  # a Ruleset is the store's Router
    assert router.needs_history is expected


def test_the_default_ruleset_sends_everything_to_general_at_normal_priority() -> None:
    decision = default_ruleset().decide(contact("refund", channel="sms"), customer("vip"))
    assert decision == Decision(
        "general",
        Priority.NORMAL,
        explanation=("no rule set the queue: default queue 'general'",),
    )
    assert list(default_ruleset().queues) == ["general"]
    assert default_ruleset().needs_history is False


def test_a_ruleset_exposes_its_source_queues_and_calendars() -> None:
    assert PRODUCT.source == PRODUCT_RULES
    billing = PRODUCT.queues["billing"]
    assert (billing.kind, billing.tier, billing.calendar) == (QueueKind.INBOUND, 1, "support_hours")
    assert billing.sla.for_priority(Priority.LOW).first_response == timedelta(hours=4)
    assert list(PRODUCT.calendars) == ["support_hours"]


def test_format_explanation_shows_the_decision_and_numbered_reasons() -> None:
    decision = PRODUCT.decide(contact("refund"), customer())
    assert format_explanation(decision).splitlines() == [
        "queue billing (by rule 'billing words'), priority normal",
        "tags: billing",
        "sla: first response 4h, resolution 2d",
        "why:",
        "  1. rule 'vip customers': customer.tags does not contain 'vip'",
        "  2. rule 'billing words' matched: queue billing; tags billing",
    ]


def test_the_example_rules_file_loads_and_routes() -> None:
    path = ROOT / "config" / "rules.example.yaml"
    rules = load_ruleset(path.read_text(), str(path))
    outage = rules.decide(contact(subject="Site is DOWN", channel="form"), customer())
    assert (outage.queue, outage.first_response) == ("engineering", timedelta(minutes=15))
    assert rules.decide(contact(), customer("vip")).queue == "escalated"


def test_the_example_file_shows_every_operator_action_and_combinator() -> None:
    text = (ROOT / "config" / "rules.example.yaml").read_text()
    body = text[text.index("\nrules:") :]
    used = set(re.findall(r"[a-z_]+(?=:)", re.sub(r"#.*", "", body)))
    features = {"equals", "in", "contains", "starts_with", "matches", "exists", "gte", "lte"}
    features |= {"all", "any", "not", "within", "outside", "mailbox", "has_attachment"}
    features |= {"queue", "priority", "tags", "skills", "sla", "auto_reply", "campaign"}
    assert features - used == set()
