"""Every field, operator and combinator decides as the rules file documents."""

from __future__ import annotations

from typing import Any

import pytest

from core.model import CustomerFacts
from router.engine import load_ruleset
from router.spec import Limits
from tests.router.helpers import MONDAY_CLOSED, MONDAY_OPEN, contact, customer, rules_file, ruleset

ANYONE = customer()


def matches(when: str, facts: CustomerFacts = ANYONE, **inbound: Any) -> bool:
    rules = ruleset(f"- name: probe\n  when: {when}\n  then: {{queue: billing}}\n")
    return rules.decide(contact(**inbound), facts).queue == "billing"


CASES = [
    # equals (the bare form) and in: case-insensitive
    pytest.param("{channel: sms}", {"channel": "sms"}, ANYONE, True, id="bare-value-equals"),
    pytest.param("{channel: SMS}", {"channel": "sms"}, ANYONE, True, id="equals-ignores-case"),
    pytest.param("{channel: sms}", {"channel": "email"}, ANYONE, False, id="equals-differs"),
    pytest.param("{from: {equals: ADA@example.com}}", {}, ANYONE, True, id="equals-operator"),
    pytest.param("{channel: {in: [sms, voice]}}", {"channel": "voice"}, ANYONE, True, id="in"),
    pytest.param("{channel: {in: [sms, voice]}}", {}, ANYONE, False, id="in-none"),
    pytest.param("{event: voicemail}", {"event": "voicemail"}, ANYONE, True, id="event"),
    pytest.param("{mailbox: support@example.com}", {}, ANYONE, True, id="mailbox-is-to"),
    pytest.param("{to: sales@example.com}", {}, ANYONE, False, id="to-differs"),
    # contains: whole words and phrases, any of a list
    pytest.param(
        "{body: {contains: refund}}",
        {"text": "A REFUND, please"},
        ANYONE,
        True,
        id="contains-word-any-case",
    ),
    pytest.param(
        "{body: {contains: refund}}",
        {"text": "refunds"},
        ANYONE,
        False,
        id="contains-whole-words-only",
    ),
    pytest.param(
        "{body: {contains: 'credit card'}}",
        {"text": "my Credit-Card was charged"},
        ANYONE,
        True,
        id="contains-phrase-across-punctuation",
    ),
    pytest.param(
        "{body: {contains: 'credit card'}}",
        {"text": "card credit"},
        ANYONE,
        False,
        id="contains-phrase-in-order",
    ),
    pytest.param(
        "{body: {contains: [refund, invoice]}}",
        {"text": "the invoice"},
        ANYONE,
        True,
        id="contains-list-means-any",
    ),
    pytest.param(
        "{subject: {contains: outage}}", {"subject": "Outage!"}, ANYONE, True, id="contains-subject"
    ),
    pytest.param(
        "{body: {contains: straße}}",
        {"text": "STRASSE 5"},
        ANYONE,
        True,
        id="contains-casefolds-unicode",
    ),
    # starts_with
    pytest.param(
        "{from: {starts_with: '+1555'}}", {"sender": "+15551234567"}, ANYONE, True, id="starts-with"
    ),
    pytest.param(
        "{from: {starts_with: ['+44', '+33']}}",
        {"sender": "+15551234567"},
        ANYONE,
        False,
        id="starts-with-none-of",
    ),
    # matches (RE2)
    pytest.param(
        r"{subject: {matches: '(?i)\bbill(ing)?\b'}}",
        {"subject": "Billing issue"},
        ANYONE,
        True,
        id="matches",
    ),
    pytest.param(
        r"{subject: {matches: '\bbill\b'}}",
        {"subject": "BILL"},
        ANYONE,
        False,
        id="matches-is-case-sensitive",
    ),
    pytest.param(
        r"{body: {matches: 'order #\d{5}'}}",
        {"text": "about order #12345"},
        ANYONE,
        True,
        id="matches-anywhere",
    ),
    # exists
    pytest.param("{subject: {exists: true}}", {"subject": "hi"}, ANYONE, True, id="exists"),
    pytest.param(
        "{subject: {exists: true}}", {"subject": "  "}, ANYONE, False, id="exists-blank-is-absent"
    ),
    pytest.param("{subject: {exists: false}}", {}, ANYONE, True, id="exists-false"),
    pytest.param("{customer.tags: {exists: true}}", {}, customer("x"), True, id="tags-exist"),
    pytest.param("{customer.tags: {exists: false}}", {}, customer("x"), False, id="tags-absent"),
    # flags
    pytest.param("{has_attachment: true}", {"attachments": 1}, ANYONE, True, id="attachment"),
    pytest.param("{has_attachment: true}", {}, ANYONE, False, id="no-attachment"),
    pytest.param("{has_attachment: {equals: false}}", {}, ANYONE, True, id="flag-equals-op"),
    pytest.param("{customer.is_new: true}", {}, customer(known=False), True, id="is-new"),
    pytest.param("{customer.is_new: true}", {}, customer(), False, id="is-known"),
    # numbers
    pytest.param(
        "{customer.open_tickets: {gte: 3}}", {}, customer(open_tickets=3), True, id="gte-inclusive"
    ),
    pytest.param(
        "{customer.open_tickets: {gte: 3}}", {}, customer(open_tickets=2), False, id="gte-below"
    ),
    pytest.param("{customer.open_tickets: {lte: 0}}", {}, customer(), True, id="lte"),
    pytest.param(
        "{customer.open_tickets: {gte: 1, lte: 2}}",
        {},
        customer(open_tickets=3),
        False,
        id="two-operators-are-anded",
    ),
    pytest.param(
        "{customer.open_tickets: 2}", {}, customer(open_tickets=2), True, id="number-equals"
    ),
    pytest.param(
        "{customer.open_tickets: {in: [1, 5]}}", {}, customer(open_tickets=5), True, id="number-in"
    ),
    # tags
    pytest.param(
        "{customer.tags: {contains: vip}}", {}, customer("VIP"), True, id="tags-contain-any-case"
    ),
    pytest.param(
        "{customer.tags: {contains: [vip, gold]}}",
        {},
        customer("gold"),
        True,
        id="tags-contain-any-of",
    ),
    pytest.param(
        "{customer.tags: {contains: vip}}", {}, customer("vip-ish"), False, id="tags-are-whole"
    ),
    # calendars
    pytest.param("{within: office}", {"at": MONDAY_OPEN}, ANYONE, True, id="within-open"),
    pytest.param("{within: office}", {"at": MONDAY_CLOSED}, ANYONE, False, id="within-closed"),
    pytest.param("{outside: office}", {"at": MONDAY_CLOSED}, ANYONE, True, id="outside"),
    # combinators
    pytest.param(
        "{channel: sms, body: {contains: refund}}",
        {"channel": "sms"},
        ANYONE,
        False,
        id="keys-are-anded",
    ),
    pytest.param(
        "{all: [{channel: sms}, {body: {contains: hello}}]}",
        {"channel": "sms"},
        ANYONE,
        True,
        id="all",
    ),
    pytest.param("{any: [{channel: sms}, {body: {contains: hello}}]}", {}, ANYONE, True, id="any"),
    pytest.param(
        "{any: [{channel: sms}, {body: {contains: bye}}]}", {}, ANYONE, False, id="any-none"
    ),
    pytest.param("{not: {channel: sms}}", {}, ANYONE, True, id="not"),
    pytest.param("{not: {channel: email}}", {}, ANYONE, False, id="not-held"),
    pytest.param(
        "{not: {any: [{channel: sms}, {not: {subject: {exists: true}}}]}}",
        {"subject": "x"},
        ANYONE,
        True,
        id="nested",
    ),
]


@pytest.mark.parametrize(("when", "inbound", "facts", "expected"), CASES)
def test_condition_decides_as_documented(
    when: str, inbound: dict[str, Any], facts: CustomerFacts, expected: bool
) -> None:
    assert matches(when, facts, **inbound) is expected


def test_a_rule_without_when_matches_every_contact() -> None:
    rules = ruleset("- {name: all, then: {queue: billing}}\n")
    assert rules.decide(contact(), ANYONE).queue == "billing"


def test_text_beyond_the_scan_limit_is_not_read() -> None:
    text = rules_file("- {name: r, when: {body: {contains: refund}}, then: {queue: billing}}\n")
    rules = load_ruleset(text, "rules.yaml", Limits(scan_chars=10))
    assert rules.decide(contact("0123456789 refund"), ANYONE).queue == "general"
    assert rules.decide(contact("refund"), ANYONE).queue == "billing"
