"""Properties: decide never raises, is deterministic, and the index changes nothing."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model import Attachment, CustomerFacts, Decision, Event, Identity, Inbound
from router.contact import Contact
from router.engine import Ruleset, load_ruleset
from router.evaluate import compile_check
from router.spec import GATE_FIELDS, AllOf, Condition, Rule, TextIn
from tests.router.helpers import MONDAY_OPEN, customer

EXAMPLE = load_ruleset(
    (Path(__file__).resolve().parents[2] / "config" / "rules.example.yaml").read_text(),
    "rules.example.yaml",
)
CHANNELS = ["sms", "email", "voice", "slack", "form"]
EVENTS = [e.value for e in Event]
WORDS = ["refund", "invoice", "credit", "card", "outage", "is", "down", "hello", "vip", "bill"]
TAGS = ["vip", "gold", "enterprise"]

texts = st.text(max_size=200)
inbounds = st.builds(
    Inbound,
    channel=st.sampled_from(CHANNELS) | texts,
    external_id=texts,
    sender=st.builds(Identity, texts, texts),
    text=st.text(max_size=2000),
    received_at=st.datetimes(timezones=st.none() | st.timezones()),
    event=st.sampled_from(EVENTS) | texts,
    sender_name=texts,
    recipient=texts,
    subject=texts,
    attachments=st.lists(st.builds(Attachment, texts, texts), max_size=2).map(tuple),
)
facts = st.builds(
    CustomerFacts,
    customer_id=st.none() | st.integers(),
    tags=st.lists(st.sampled_from(TAGS) | texts, max_size=4).map(tuple),
    open_tickets=st.integers(),
)


@given(inbounds, facts)
def test_decide_never_raises_nor_falls_back_on_any_inbound(
    inbound: Inbound, fact: CustomerFacts
) -> None:
    decision = EXAMPLE.decide(inbound, fact)
    assert decision.queue in EXAMPLE.queues
    assert not any(line.startswith("router error") for line in decision.explanation)


@given(inbounds, facts)
def test_decide_is_deterministic_across_calls_and_compilations(
    inbound: Inbound, fact: CustomerFacts
) -> None:
    again = load_ruleset(EXAMPLE.source, "rules.example.yaml")
    first = EXAMPLE.decide(inbound, fact)
    assert EXAMPLE.decide(inbound, fact) == first
    assert again.decide(inbound, fact) == first


def test_a_lone_surrogate_in_text_is_matched_without_error() -> None:
    inbound = Inbound(
        channel="email",
        external_id="1",
        sender=Identity("email", "a@b.c"),
        text="bad \ud800 bytes: viagra",
        subject="billing \udcff",
        received_at=MONDAY_OPEN,
    )
    decision = EXAMPLE.decide(inbound, customer(known=False))
    assert decision.rule == "spam"


# --- the index is exact: generated rules, decided with and without it -------------------

phrases = st.sampled_from([*WORDS, "credit card", "is down"])
# Conditions the index anchors on come first and twice: they are what it must get right.
anchored = st.one_of(
    st.builds(lambda f, w: {f: {"contains": w}}, st.sampled_from(["body", "subject"]), phrases),
    st.builds(lambda w: {"body": {"contains": w}}, st.lists(phrases, min_size=1, max_size=3)),
    st.builds(lambda t: {"customer.tags": {"contains": t}}, st.sampled_from(TAGS)),
    st.builds(lambda w: {"subject": {"matches": f"(?i){w}"}}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"body": {"matches": rf"\b{w}\W+(is|card)"}}, st.sampled_from(WORDS)),
)
leaves = st.one_of(
    anchored,
    anchored,
    st.builds(lambda c: {"channel": c}, st.sampled_from(CHANNELS)),
    st.builds(lambda c: {"channel": {"in": c}}, st.lists(st.sampled_from(CHANNELS), min_size=1)),
    st.builds(lambda e: {"event": e}, st.sampled_from(EVENTS)),
    st.builds(lambda n: {"customer.open_tickets": {"gte": n}}, st.integers(0, 3)),
    st.builds(lambda b: {"has_attachment": b}, st.booleans()),
    st.just({"within": "office"}),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner),
    ),
    max_leaves=6,
)


def _merge(gate: dict[str, Any] | None, condition: dict[str, Any]) -> dict[str, Any]:
    """A `when` with a leading gate and a condition as sibling keys, when they do not clash."""
    if gate is None or set(gate) & set(condition):
        return condition
    return {**condition, **gate} if len(condition) == 1 else condition


# The shapes the index treats specially, drawn on purpose rather than left to chance.
index_shapes = st.one_of(
    st.builds(lambda cs: {"any": cs}, st.lists(anchored, min_size=2, max_size=3)),
    st.builds(lambda a, cs: {"all": [a, *cs]}, anchored, st.lists(conditions, max_size=2)),
    st.builds(lambda a, b: {"any": [{"all": [a, b]}, a]}, anchored, conditions),
)
rule_specs = st.lists(
    st.tuples(
        st.none() | st.builds(lambda c: {"channel": c}, st.sampled_from(CHANNELS)),
        st.none() | conditions | index_shapes,
        st.sampled_from([None, "general", "billing", "escalated"]),
        st.booleans(),
    ),
    max_size=12,
)


def _rules_text(specs: list[tuple[Any, Any, str | None, bool]]) -> str:
    rules = []
    for index, (gate, condition, queue, proceed) in enumerate(specs):
        then: dict[str, Any] = {"tags": [f"t{index}"], "continue": proceed}
        if queue:
            then["queue"] = queue
        rule: dict[str, Any] = {"name": f"r{index}", "then": then}
        if condition is not None:
            rule["when"] = _merge(gate, condition)
        rules.append(rule)
    doc = {
        "calendars": {"office": {"timezone": "UTC", "weekly": {"mon-fri": "09:00-17:00"}}},
        "queues": {"general": {}, "billing": {}, "escalated": {}},
        "default": {"queue": "general"},
        "rules": rules,
    }
    return yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False)


class _PlainDumper(yaml.SafeDumper):
    """Repeated values are written out again: rules files refuse YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


contacts = st.builds(
    lambda channel, event, body, subject, at: Inbound(
        channel=channel,
        external_id="1",
        sender=Identity("phone", "+15551234567"),
        text=" ".join(body),
        subject=" ".join(subject),
        event=event,
        received_at=at,
    ),
    st.sampled_from([*CHANNELS, "fax"]),
    st.sampled_from(EVENTS),
    st.lists(st.sampled_from([*WORDS, "noise"]), max_size=8),
    st.lists(st.sampled_from(WORDS), max_size=3),
    st.datetimes(timezones=st.just(UTC)),
)
customers = st.builds(
    CustomerFacts,
    customer_id=st.none() | st.just(1),
    tags=st.lists(st.sampled_from(TAGS), max_size=2).map(tuple),
    open_tickets=st.integers(0, 3),
)


def _conjuncts(when: Condition | None) -> tuple[Condition, ...]:
    if when is None:
        return ()
    return when.children if isinstance(when, AllOf) else (when,)


def _reason(rule: Rule, contact: Contact) -> str | None:
    """Evaluate one rule without the index: gates first, then the rest in written order."""
    parts = _conjuncts(rule.when)
    gates = [c for c in parts if isinstance(c, TextIn) and c.field in GATE_FIELDS]
    rest = [c for c in parts if not (isinstance(c, TextIn) and c.field in GATE_FIELDS)]
    checks: list[Condition] = [*gates, *([AllOf(tuple(rest))] if rest else [])]
    for condition in checks:
        reason = compile_check(condition).fails(contact)
        if reason is not None:
            return reason
    return None


def reference(
    rules: Ruleset, inbound: Inbound, fact: CustomerFacts
) -> tuple[list[str], str | None]:
    """Explanation lines (fired lines cut after "matched") and the rule that set the queue."""
    contact = Contact(inbound, fact, rules.lookups)
    lines: list[str] = []
    queue_rule = None
    for rule in rules.doc.rules:
        reason = _reason(rule, contact)
        if reason is not None:
            lines.append(f"rule {rule.name!r}: {reason}")
            continue
        lines.append(f"rule {rule.name!r} matched")
        if rule.then.queue and queue_rule is None:
            queue_rule = rule.name
        if not rule.then.proceed:
            break
    return lines, queue_rule


def _cut(decision: Decision) -> list[str]:
    lines = [
        line.split(" matched")[0] + " matched" if " matched" in line else line
        for line in decision.explanation
    ]
    return [line for line in lines if not line.startswith("no rule set the queue")]


@settings(max_examples=300)
@given(rule_specs, contacts, customers)
def test_the_index_gives_the_decision_and_explanation_of_evaluating_every_rule(
    specs: list[tuple[Any, Any, str | None, bool]], inbound: Inbound, fact: CustomerFacts
) -> None:
    rules = load_ruleset(_rules_text(specs), "generated.yaml")
    decision = rules.decide(inbound, fact)
    lines, queue_rule = reference(rules, inbound, fact)
    assert _cut(decision) == lines
    assert decision.rule == queue_rule
