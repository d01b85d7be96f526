"""Every problem in a rules file is reported at once, naming the file, the line and the rule."""

from __future__ import annotations

import pytest

from core.errors import RuleError
from router.engine import load_ruleset
from router.spec import Limits
from tests.router.helpers import rules_file


def problems(text: str, limits: Limits | None = None) -> tuple[str, ...]:
    with pytest.raises(RuleError) as caught:
        load_ruleset(text, "rules.yaml", limits or Limits())
    return caught.value.problems


RULE_CASES = [
    pytest.param(
        """\
        - name: billing words
          when: {body: {containz: refund}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'billing words': unknown operator 'containz' "
        "(did you mean 'contains'?)",
        id="unknown-operator-suggests",
    ),
    pytest.param(
        """\
        - name: r
          when: {bdy: refund}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': unknown field 'bdy' (did you mean 'body'?)",
        id="unknown-field-suggests",
    ),
    pytest.param(
        """\
        - name: r
          whenn: {body: refund}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': unknown key 'whenn' in a rule (did you mean 'when'?)",
        id="unknown-rule-key",
    ),
    pytest.param(
        """\
        - name: r
          then: {queue: billing, tag: [x]}
        """,
        "rules.yaml:10: rule 'r': unknown key 'tag' in 'then' (did you mean 'tags'?)",
        id="unknown-action",
    ),
    pytest.param(
        """\
        - name: r
          then: {queue: biling}
        """,
        "rules.yaml:10: rule 'r': unknown queue 'biling' (did you mean 'billing'?)",
        id="unknown-queue",
    ),
    pytest.param(
        """\
        - name: r
          then: {queue: billing}
        - name: r
          then: {queue: general}
        """,
        "rules.yaml:11: rule 'r': duplicate rule name (first at line 9)",
        id="duplicate-rule-name",
    ),
    pytest.param(
        """\
        - name: r
          when: {subject: {matches: '(a)\\1'}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': pattern '(a)\\\\1' does not compile: invalid escape "
        "sequence: \\1 (RE2 does not support backreferences or lookaround)",
        id="regex-backreference-refused",
    ),
    pytest.param(
        """\
        - name: r
          when: {subject: {matches: 'foo(?=bar)'}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': pattern 'foo(?=bar)' does not compile: invalid perl "
        "operator: (?= (RE2 does not support backreferences or lookaround)",
        id="regex-lookahead-refused",
    ),
    pytest.param(
        """\
        - name: r
          when: {subject: {matches: '[unclosed'}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': pattern '[unclosed' does not compile: missing ]: [unclosed",
        id="regex-syntax-error",
    ),
    pytest.param(
        """\
        - name: r
          when: {body: {gte: 3}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': 'gte' does not apply to body (text); "
        "use equals, in, contains, starts_with, matches, exists",
        id="operator-wrong-kind",
    ),
    pytest.param(
        """\
        - name: r
          when: {customer.tags: vip}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': customer.tags is a list of tags: write {contains: ...}",
        id="tags-need-contains",
    ),
    pytest.param(
        """\
        - name: r
          when: {event: {in: [message, missed_cal]}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': unknown event 'missed_cal' (did you mean 'missed_call'?); "
        "events are message, missed_call, voicemail, callback_request, call",
        id="unknown-event",
    ),
    pytest.param(
        """\
        - name: r
          when: {channel: webchat}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': unknown channel 'webchat' (did you mean 'chat'?); "
        "channels are email, sms, voice, slack, form, chat",
        id="unknown-channel",
    ),
    pytest.param(
        """\
        - name: r
          when: {outside: ofice}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': unknown calendar 'ofice' (did you mean 'office'?)",
        id="unknown-calendar",
    ),
    pytest.param(
        """\
        - name: r
          when: {body: {contains: "!!!"}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': contains '!!!' has no letters or digits (use 'matches')",
        id="contains-without-words",
    ),
    pytest.param(
        """\
        - name: r
          when: {}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': a condition must not be empty",
        id="empty-condition",
    ),
    pytest.param(
        """\
        - name: r
          when: {any: {body: x}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': 'any' takes a non-empty list of conditions",
        id="any-needs-a-list",
    ),
    pytest.param(
        """\
        - name: r
          when: {body: {equals: [a, b]}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': body equals one value, not a list (use 'in')",
        id="equals-one-value",
    ),
    pytest.param(
        """\
        - name: r
          when: {has_attachment: maybe}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': has_attachment must be true or false, not 'maybe'",
        id="flag-needs-bool",
    ),
    pytest.param(
        """\
        - name: r
          when: {customer.open_tickets: {gte: many}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': customer.open_tickets gte must be a whole number, not 'many'",
        id="number-needs-int",
    ),
    pytest.param(
        """\
        - name: r
          when: {body: {exists: 1}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': body exists must be true or false, not '1'",
        id="exists-needs-bool",
    ),
    pytest.param(
        """\
        - name: r
          when: {body: {}}
          then: {queue: billing}
        """,
        "rules.yaml:10: rule 'r': body needs an operator, e.g. {equals: ...}",
        id="field-needs-operator",
    ),
    pytest.param(
        """\
        - name: r
          then: {priority: hihg}
        """,
        "rules.yaml:10: rule 'r': unknown priority 'hihg' (did you mean 'high'?); "
        "use low, normal, high, urgent",
        id="unknown-priority",
    ),
    pytest.param(
        """\
        - name: r
          then: {queue: billing, continue: sometimes}
        """,
        "rules.yaml:10: rule 'r': continue must be true or false, not 'sometimes'",
        id="continue-needs-bool",
    ),
    pytest.param(
        """\
        - name: r
          then: {}
        """,
        "rules.yaml:10: rule 'r': needs at least one action, e.g. {queue: general}",
        id="then-needs-an-action",
    ),
    pytest.param(
        """\
        - name: r
          when: {body: x}
        """,
        "rules.yaml:9: rule 'r': a rule needs 'then'",
        id="rule-needs-then",
    ),
    pytest.param(
        """\
        - when: {body: x}
          then: {queue: billing}
        """,
        "rules.yaml:9: rule #1: a rule needs 'name'",
        id="rule-needs-name",
    ),
    pytest.param(
        """\
        - name: r
          then: {queue: billing, sla: {first_response: soon}}
        """,
        "rules.yaml:10: rule 'r': first_response: not a duration: 'soon' "
        "(use e.g. 90s, 30m, 4h, 2d, 1w)",
        id="rule-sla-duration",
    ),
    pytest.param(
        """\
        - name: r
          then: {queue: billing, tags: []}
        """,
        "rules.yaml:10: rule 'r': tags must not be an empty list",
        id="empty-tags",
    ),
    pytest.param(
        """\
        - name: r
          when:
            channel: sms
            channel: email
          then: {queue: billing}
        """,
        "rules.yaml:12: rule 'r': 'channel' is given twice (first at line 11)",
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("rules", "expected"), RULE_CASES)
def test_a_bad_rule_is_reported_with_file_line_and_rule(rules: str, expected: str) -> None:
    assert problems(rules_file(rules)) == (expected,)


DEFINITION_CASES = [
    pytest.param(
        "calendars:\n  c: {timezone: America/New_Yrok, weekly: {mon: '09:00-17:00'}}\n",
        "rules.yaml:2: calendar 'c': unknown time zone 'America/New_Yrok' "
        "(did you mean 'America/New_York'?)",
        id="unknown-timezone",
    ),
    pytest.param(
        "calendars:\n  c: {timezone: UTC, weekly: {mon-fry: '09:00-17:00'}}\n",
        "rules.yaml:2: calendar 'c': unknown day 'fry' (did you mean 'fri'?); use mon..sun",
        id="unknown-day",
    ),
    pytest.param(
        "calendars:\n  c: {timezone: UTC, weekly: {mon: '9-17'}}\n",
        "rules.yaml:2: calendar 'c': '9' is not a time like 08:00 (00:00 to 24:00)",
        id="bad-hours",
    ),
    pytest.param(
        "calendars:\n  c:\n    timezone: UTC\n    weekly:\n      mon-fri: '09:00-17:00'\n"
        "      fri: '09:00-12:00'\n",
        "rules.yaml:6: calendar 'c': 'fri' gives fri again (line 5)",
        id="day-given-twice",
    ),
    pytest.param(
        "calendars:\n  c: {timezone: UTC, weekly: {mon: '09:00-09:00'}}\n",
        "rules.yaml:2: calendar 'c': hours '09:00-09:00' are empty (use 00:00-24:00 for all day)",
        id="empty-hours",
    ),
    pytest.param(
        "calendars:\n  c: {timezone: UTC, weekly: {mon: '09:00-17:00'}, holidays: [2026-02-30]}\n",
        "rules.yaml:2: calendar 'c': holiday '2026-02-30' is not a date like 2026-12-25",
        id="bad-holiday",
    ),
    pytest.param(
        "calendars:\n  c: {timezone: UTC}\n",
        "rules.yaml:2: calendar 'c': a calendar needs 'weekly'",
        id="calendar-needs-weekly",
    ),
    pytest.param(
        "queues:\n  q: {kind: inbond}\n",
        "rules.yaml:2: queue 'q': unknown kind 'inbond' (did you mean 'inbound'?); "
        "use inbound, outbound",
        id="unknown-queue-kind",
    ),
    pytest.param(
        "queues:\n  q: {tier: 4}\n",
        "rules.yaml:2: queue 'q': tier must be 1, 2 or 3, not 4",
        id="tier-out-of-range",
    ),
    pytest.param(
        "queues:\n  q: {calendar: nope}\n",
        "rules.yaml:2: queue 'q': unknown calendar 'nope'",
        id="queue-unknown-calendar",
    ),
    pytest.param(
        "queues:\n  q: {sla: {first_responce: 4h}}\n",
        "rules.yaml:2: queue 'q': unknown key 'first_responce' in an sla "
        "(did you mean 'first_response'?)",
        id="sla-unknown-target",
    ),
    pytest.param(
        "queues:\n  q: {sla: {resolution: '0'}}\n",
        "rules.yaml:2: queue 'q': resolution must be longer than 0",
        id="sla-zero",
    ),
    pytest.param(
        "queues:\n  q:\n    sla:\n      first_response: 4h\n      urgent: {resolution: x}\n",
        "rules.yaml:5: queue 'q': resolution: not a duration: 'x' (use e.g. 90s, 30m, 4h, 2d, 1w)",
        id="sla-priority-duration",
    ),
    pytest.param(
        "queues:\n  q:\n    sla: {critical: {first_response: 1h}}\n",
        "rules.yaml:3: queue 'q': unknown key 'critical' in an sla",
        id="sla-unknown-priority",
    ),
    pytest.param(
        "queues:\n  'bad name': {}\n",
        "rules.yaml:2: queues: name 'bad name' must be letters, digits, '_', '.' or '-'",
        id="queue-name-characters",
    ),
]


@pytest.mark.parametrize(("definitions", "expected"), DEFINITION_CASES)
def test_a_bad_calendar_or_queue_is_reported_with_its_line(definitions: str, expected: str) -> None:
    text = definitions + "default: {queue: general}\n"
    if "queues:" not in definitions:
        text += "queues: {general: {}}\n"
    else:
        text = text.replace("queues:\n", "queues:\n  general: {}\n", 1)
        expected = _shift(expected, after=1)
    assert expected in problems(text)


def _shift(problem: str, after: int) -> str:
    """The line of a problem after one line was inserted at line `after + 1`."""
    name, line, rest = problem.split(":", 2)
    return f"{name}:{int(line) + 1 if int(line) > after else line}:{rest}"


FILE_CASES = [
    pytest.param(
        "queues: {general: {}}\ndefault: {queue: general}\nrulez: []\n",
        "rules.yaml:3: unknown key 'rulez' in the rules file (did you mean 'rules'?)",
        id="unknown-section",
    ),
    pytest.param(
        "queues: {general: {}}\n",
        "rules.yaml:1: the rules file needs 'default'",
        id="missing-default",
    ),
    pytest.param(
        "queues: {general: {}}\ndefault: {priority: high}\n",
        "rules.yaml:2: default: needs a queue",
        id="default-needs-queue",
    ),
    pytest.param(
        "queues: {general: {}}\ndefault: {queue: general, continue: true}\n",
        "rules.yaml:2: default: unknown key 'continue' in default",
        id="default-takes-no-continue",
    ),
    pytest.param(
        "queues: {general: {}}\ndefault: {queue: generl}\n",
        "rules.yaml:2: default: unknown queue 'generl' (did you mean 'general'?)",
        id="default-unknown-queue",
    ),
    pytest.param(
        "queues: {general: {}}\ndefault: {queue: general}\nrules: {name: x}\n",
        "rules.yaml:3: rules: rules must be a list",
        id="rules-must-be-a-list",
    ),
    pytest.param(
        "queues: {general: {}}\ndefault: {queue: general\n",
        "rules.yaml:3: not valid YAML: ",
        id="yaml-syntax",
    ),
    pytest.param(
        "queues: &q {general: {}}\ndefault: {queue: general}\nx: *q\n",
        "rules.yaml:3: YAML aliases (*name) are not supported",
        id="yaml-alias-refused",
    ),
    pytest.param(
        "- just\n- a list\n",
        "rules.yaml:1: the rules file must be a mapping, not a list",
        id="not-a-mapping",
    ),
]


@pytest.mark.parametrize(("text", "expected"), FILE_CASES)
def test_a_bad_file_is_reported_with_its_line(text: str, expected: str) -> None:
    # YAML syntax messages come from libyaml or PyYAML, whichever is installed.
    assert any(problem.startswith(expected) for problem in problems(text))


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    found = problems(
        rules_file("""\
        - name: a
          when: {bdy: x}
          then: {queue: nowhere}
        - name: a
          then: {priority: hihg}
        """)
    )
    lines = [int(p.split(":")[1]) for p in found]
    assert len(found) == 4
    assert lines == sorted(lines) == [10, 11, 12, 13]


def test_the_error_message_counts_the_problems_and_lists_them() -> None:
    with pytest.raises(RuleError) as caught:
        load_ruleset(rules_file("- {name: a, then: {queue: x}}\n"), "rules.yaml")
    assert str(caught.value).splitlines() == [
        "rules.yaml: 1 problem",
        "  - rules.yaml:9: rule 'a': unknown queue 'x'",
    ]


def test_an_empty_file_is_refused() -> None:
    assert problems("") == ("rules.yaml:1: the file needs queues and default",)


LIMIT_CASES = [
    pytest.param(
        Limits(max_rules=1),
        "- {name: a, then: {queue: general}}\n- {name: b, then: {queue: general}}\n",
        "rules.yaml:9: rules: 2 rules (the limit is 1)",
        id="max-rules",
    ),
    pytest.param(
        Limits(max_regex_length=5),
        "- {name: a, when: {body: {matches: abcdef}}, then: {queue: general}}\n",
        "rules.yaml:9: rule 'a': pattern is 6 characters long (limit 5)",
        id="max-regex-length",
    ),
    pytest.param(
        Limits(max_regex_program=10),
        "- {name: a, when: {body: {matches: 'a{20}'}}, then: {queue: general}}\n",
        "rules.yaml:9: rule 'a': pattern 'a{20}' is too complex (RE2 program size 24, limit 10)",
        id="max-regex-program",
    ),
    pytest.param(
        Limits(max_values=2),
        "- {name: a, when: {body: {contains: [x, y, z]}}, then: {queue: general}}\n",
        "rules.yaml:9: rule 'a': body contains has 3 values (the limit is 2)",
        id="max-values",
    ),
    pytest.param(
        Limits(max_depth=2),
        "- {name: a, when: {not: {not: {not: {body: x}}}}, then: {queue: general}}\n",
        "rules.yaml:9: rule 'a': conditions nest deeper than 2 levels",
        id="max-depth",
    ),
]


@pytest.mark.parametrize(("limits", "rules", "expected"), LIMIT_CASES)
def test_limits_are_enforced_with_a_clear_problem(
    limits: Limits, rules: str, expected: str
) -> None:
    assert problems(rules_file(rules), limits) == (expected,)


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(RuleError, match="characters"):
        load_ruleset("x" * 101, "rules.yaml", Limits(max_source_chars=100))
