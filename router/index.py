"""Which rules a contact must actually evaluate, and the explanation lines of the others.

Rules are indexed two ways, both exact (the decision and its explanation are those of
evaluating every rule in order):

- Gates: a rule's top-level `channel`/`event` conditions are checked first. For each
  (channel, event) bucket, a rule whose gate fails is never evaluated; its line names the gate.
- Anchors: when the first remaining condition is a `contains` (of words or tags), a
  `matches`, or an `any` of such, the rule can only match if one of its keywords, patterns
  or tags is present. Keywords and patterns of all rules are found by one matcher per field
  (keywords.py, patterns.py), then looked up here; a rule none of whose anchors is present
  fails on that first condition, whose reason is known in advance.

Everything else is evaluated for every contact of its bucket. A bucket is built on first
use and kept: its static lines are shared, so an explanation costs a slice copy per rule run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from router.contact import KEYWORD, PATTERN, TAG, Anchor, Contact
from router.evaluate import Check, compile_check, leaf_texts, none_of
from router.spec import (
    GATE_FIELDS,
    AllOf,
    AnyOf,
    Condition,
    Field,
    Rule,
    TagsContain,
    TextContains,
    TextIn,
    TextMatches,
)

BucketKey = tuple[str | None, str | None]
"""(channel, event) casefolded; None for a value no rule's gate names."""


@dataclass(frozen=True, slots=True)
class Gate:
    field: Field
    values: frozenset[str]
    line: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A rule, compiled: gates, the rest of its condition, and its anchors if it has any."""

    name: str
    gates: tuple[Gate, ...]
    check: Check | None
    anchors: frozenset[Anchor] | None
    skip_line: str

    def gate_line(self, key: BucketKey) -> str | None:
        channel, event = key
        for gate in self.gates:
            value = channel if gate.field is Field.CHANNEL else event
            if value not in gate.values:
                return gate.line
        return None


def plan_rule(rule: Rule) -> Plan:
    conjuncts = _conjuncts(rule.when)
    gates = tuple(_gate(rule.name, c) for c in conjuncts if isinstance(c, TextIn) and _is_gate(c))
    rest = [c for c in conjuncts if not _is_gate(c)]
    check = None
    if rest:
        check = compile_check(rest[0] if len(rest) == 1 else AllOf(tuple(rest)))
    anchored = _anchors(rest[0]) if rest else None
    anchors, reason = anchored if anchored else (None, "")
    return Plan(rule.name, gates, check, anchors, f"rule {rule.name!r}: {reason}")


def _conjuncts(when: Condition | None) -> tuple[Condition, ...]:
    if when is None:
        return ()
    return when.children if isinstance(when, AllOf) else (when,)


def _is_gate(condition: Condition) -> bool:
    return isinstance(condition, TextIn) and condition.field in GATE_FIELDS


def _gate(name: str, condition: TextIn) -> Gate:
    _, failure = leaf_texts(condition)
    return Gate(condition.field, frozenset(condition.values), f"rule {name!r}: {failure}")


def _anchors(condition: Condition) -> tuple[frozenset[Anchor], str] | None:
    """The anchors of a condition that cannot hold without one of them, and the reason it
    fails when none is present (the same text evaluation would give)."""
    if isinstance(condition, AllOf):
        return _anchors(condition.children[0])
    if isinstance(condition, AnyOf):
        parts = [_anchors(c) for c in condition.children]
        anchored = [p for p in parts if p is not None]
        if len(anchored) < len(parts):
            return None
        keys = frozenset().union(*(keys for keys, _ in anchored))
        return keys, none_of([reason for _, reason in anchored])
    if isinstance(condition, TextContains | TextMatches | TagsContain):
        return _leaf_anchors(condition), leaf_texts(condition)[1]
    return None


def _leaf_anchors(condition: TextContains | TextMatches | TagsContain) -> frozenset[Anchor]:
    if isinstance(condition, TextContains):
        return frozenset((KEYWORD, condition.field.value, p) for p in condition.phrases)
    if isinstance(condition, TextMatches):
        return frozenset({(PATTERN, condition.field.value, condition.pattern)})
    return frozenset((TAG, Field.TAGS.value, t) for t in condition.tags)


@dataclass(frozen=True, slots=True)
class Bucket:
    lines: tuple[str, ...]
    """Per rule, its line when it is not evaluated ("" for rules always evaluated)."""
    always: tuple[int, ...]
    by_anchor: Mapping[Anchor, tuple[int, ...]]

    def candidates(self, contact: Contact) -> list[int]:
        """Indices of the rules to evaluate, in order."""
        chosen = set(self.always)
        for anchor in contact.anchors():
            hits = self.by_anchor.get(anchor)
            if hits:
                chosen.update(hits)
        return sorted(chosen)


def build_bucket(plans: Sequence[Plan], key: BucketKey) -> Bucket:
    lines: list[str] = []
    always: list[int] = []
    by_anchor: defaultdict[Anchor, list[int]] = defaultdict(list)
    for index, plan in enumerate(plans):
        gate_line = plan.gate_line(key)
        if gate_line is not None:
            lines.append(gate_line)
        elif plan.anchors is None:
            lines.append("")
            always.append(index)
        else:
            lines.append(plan.skip_line)
            for anchor in plan.anchors:
                by_anchor[anchor].append(index)
    frozen = {anchor: tuple(hits) for anchor, hits in by_anchor.items()}
    return Bucket(tuple(lines), tuple(always), frozen)


def gate_values(plans: Iterable[Plan], field: Field) -> frozenset[str]:
    return frozenset(v for p in plans for g in p.gates if g.field is field for v in g.values)
