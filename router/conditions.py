"""A rule's `when`: YAML nodes -> the condition tree of spec.py, every problem with its line.

when: {channel: sms, body: {contains: [refund, "credit card"]}}   # keys are ANDed, in order
when: {any: [{subject: {matches: '(?i)invoice'}}, {not: {customer.is_new: true}}]}
when: {outside: support_hours}
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import re2
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.model import Event
from core.people import CHANNELS
from router.keywords import normalise_phrase
from router.spec import (
    FIELD_ALIASES,
    OPS_BY_KIND,
    AllOf,
    AnyOf,
    Condition,
    Exists,
    Field,
    FlagIs,
    Kind,
    Limits,
    NotOf,
    NumberBound,
    NumberIn,
    Op,
    Regex,
    TagsContain,
    TextContains,
    TextIn,
    TextMatches,
    TextStartsWith,
    Within,
)
from router.yamlnodes import Reader, describe, suggest

COMBINATORS = ("all", "any", "not", "within", "outside")
FIELD_NAMES = (*(f.value for f in Field), *FIELD_ALIASES)
EVENTS = tuple(e.value for e in Event)
_KNOWN = {Field.CHANNEL: CHANNELS, Field.EVENT: EVENTS}
"""The fields whose values are a closed set: a value outside it is a mistake."""


@dataclass
class ConditionReader:
    """Reads the conditions of one rule; `where` (e.g. "rule 'vip'") prefixes its problems."""

    reader: Reader
    where: str
    calendars: Collection[str]
    limits: Limits

    def read(self, node: Node, depth: int = 0) -> Condition | None:
        """A condition mapping: its keys are ANDed in the order written."""
        if depth > self.limits.max_depth:
            self._report(node, f"conditions nest deeper than {self.limits.max_depth} levels")
            return None
        entries = self.reader.entries(node, self.where, "a condition")
        if not entries:
            if isinstance(node, MappingNode):
                self._report(node, "a condition must not be empty")
            return None
        parts = [self._entry(key, k, v, depth) for key, k, v in entries]
        conditions = [p for p in parts if p is not None]
        if len(conditions) != len(parts):
            return None
        return conditions[0] if len(conditions) == 1 else AllOf(tuple(conditions))

    def _report(self, node: Node, message: str) -> None:
        self.reader.report(node, self.where, message)

    def _entry(self, key: str, key_node: Node, value: Node, depth: int) -> Condition | None:
        if key in ("all", "any"):
            return self._group(key, value, depth)
        if key == "not":
            child = self.read(value, depth + 1)
            return None if child is None else NotOf(child)
        if key in ("within", "outside"):
            return self._within(key, value)
        field = FIELD_ALIASES.get(key) or _field(key)
        if field is None:
            hint = suggest(key, (*FIELD_NAMES, *COMBINATORS))
            self._report(key_node, f"unknown field {key!r}{hint}")
            return None
        return self._field_condition(field, value)

    def _group(self, key: str, node: Node, depth: int) -> Condition | None:
        if not isinstance(node, SequenceNode) or not node.value:
            self._report(node, f"{key!r} takes a non-empty list of conditions")
            return None
        parts = [self.read(child, depth + 1) for child in node.value]
        children = tuple(p for p in parts if p is not None)
        if len(children) != len(parts):
            return None
        return AllOf(children) if key == "all" else AnyOf(children)

    def _within(self, key: str, node: Node) -> Condition | None:
        name = self.reader.text(node, self.where, f"{key!r}")
        if name is None:
            return None
        if name not in self.calendars:
            self._report(node, f"unknown calendar {name!r}{suggest(name, self.calendars)}")
            return None
        return Within(name, inside=key == "within")

    def _field_condition(self, field: Field, node: Node) -> Condition | None:
        if not isinstance(node, MappingNode):  # `FIELD: VALUE` is short for equals
            if field.kind is Kind.TAGS:
                self._report(node, f"{field} is a list of tags: write {{contains: ...}}")
                return None
            return self._operator(field, Op.EQUALS, node)
        entries = self.reader.entries(node, self.where, f"the operators of {field}")
        if not entries:
            self._report(node, f"{field} needs an operator, e.g. {{equals: ...}}")
            return None
        parts = [self._operator_entry(field, key, k, v) for key, k, v in entries]
        leaves = [p for p in parts if p is not None]
        if len(leaves) != len(parts):
            return None
        return leaves[0] if len(leaves) == 1 else AllOf(tuple(leaves))

    def _operator_entry(
        self, field: Field, key: str, key_node: Node, value: Node
    ) -> Condition | None:
        allowed = OPS_BY_KIND[field.kind]
        if key not in tuple(Op):
            self._report(key_node, f"unknown operator {key!r}{suggest(key, tuple(Op))}")
            return None
        if Op(key) not in allowed:
            names = ", ".join(allowed)
            self._report(
                key_node, f"{key!r} does not apply to {field} ({field.kind.value}); use {names}"
            )
            return None
        return self._operator(field, Op(key), value)

    def _operator(self, field: Field, op: Op, node: Node) -> Condition | None:
        kind = field.kind
        if op is Op.EXISTS:
            present = self.reader.flag(node, self.where, f"{field} exists")
            return None if present is None else Exists(field, present)
        if kind is Kind.FLAG:
            value = self.reader.flag(node, self.where, f"{field}")
            return None if value is None else FlagIs(field, value)
        if kind is Kind.NUMBER:
            return self._number(field, op, node)
        if kind is Kind.TAGS:
            tags = self._texts(node, f"{field} contains")
            return None if tags is None else TagsContain(tuple(t.casefold() for t in tags))
        return self._text(field, op, node)

    def _number(self, field: Field, op: Op, node: Node) -> Condition | None:
        items = node.value if op is Op.IN and isinstance(node, SequenceNode) else [node]
        values = [self.reader.integer(item, self.where, f"{field} {op}") for item in items]
        numbers = tuple(v for v in values if v is not None)
        if len(numbers) != len(values) or not numbers:
            return None
        if op in (Op.GTE, Op.LTE):
            return NumberBound(field, op, numbers[0])
        return NumberIn(field, op, numbers)

    def _text(self, field: Field, op: Op, node: Node) -> Condition | None:
        if op is Op.MATCHES:
            return self._matches(field, node)
        values = self._text_values(field, op, node)
        if values is None:
            return None
        if op is Op.CONTAINS:
            return self._contains(field, node, values)
        folded = tuple(v.casefold() for v in values)
        if op is Op.STARTS_WITH:
            return TextStartsWith(field, folded)
        return TextIn(field, op, folded)

    def _text_values(self, field: Field, op: Op, node: Node) -> tuple[str, ...] | None:
        if op is Op.EQUALS and not isinstance(node, ScalarNode):
            self._report(node, f"{field} equals one value, not {describe(node)} (use 'in')")
            return None
        values = self._texts(node, f"{field} {op}")
        known = _KNOWN.get(field)
        if values is None or known is None or op not in (Op.EQUALS, Op.IN):
            return values
        if not self.limits.known_values:  # a stored version: loaded as it was stored
            return values
        return values if self._known(node, values, field, known) else None

    def _texts(self, node: Node, what: str) -> tuple[str, ...] | None:
        return self.reader.texts(node, self.where, what, self.limits.max_values)

    def _known(
        self, node: Node, values: tuple[str, ...], field: Field, known: tuple[str, ...]
    ) -> bool:
        """A channel or event no contact can have would make its rule never match."""
        unknown = [v for v in values if v.casefold() not in known]
        for value in unknown:
            hint = suggest(value, known)
            self._report(node, f"unknown {field} {value!r}{hint}; {field}s are {', '.join(known)}")
        return not unknown

    def _contains(self, field: Field, node: Node, values: tuple[str, ...]) -> Condition | None:
        phrases = tuple(normalise_phrase(v) for v in values)
        blank = [v for v, p in zip(values, phrases, strict=True) if not p]
        for value in blank:
            self._report(node, f"contains {value!r} has no letters or digits (use 'matches')")
        return None if blank else TextContains(field, tuple(dict.fromkeys(phrases)))

    def _matches(self, field: Field, node: Node) -> Condition | None:
        pattern = self.reader.text(node, self.where, f"{field} matches")
        if pattern is None:
            return None
        regex, problem = compile_regex(pattern, self.limits)
        if regex is None:
            self._report(node, problem)
            return None
        return TextMatches(field, pattern, regex)


def _field(name: str) -> Field | None:
    try:
        return Field(name)
    except ValueError:
        return None


def compile_regex(pattern: str, limits: Limits) -> tuple[Regex | None, str]:
    """A google-re2 pattern (linear time, bounded memory), or None and why it was refused."""
    if len(pattern) > limits.max_regex_length:
        return None, f"pattern is {len(pattern)} characters long (limit {limits.max_regex_length})"
    options = re2.Options()
    options.log_errors = False  # the problem goes into our report, not to stderr
    options.max_mem = limits.regex_max_mem
    try:
        regex = re2.compile(pattern, options)
    except (re2.error, UnicodeEncodeError) as exc:
        return None, f"pattern {pattern!r} does not compile: {_reason(exc)}"
    if regex.programsize > limits.max_regex_program:
        return None, (
            f"pattern {pattern!r} is too complex (RE2 program size {regex.programsize}, "
            f"limit {limits.max_regex_program})"
        )
    return regex, ""


def _reason(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else exc
    reason = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    if "perl operator" in reason or "escape sequence" in reason:
        # RE2 promises linear time; backreferences and lookaround cannot keep that promise.
        reason += " (RE2 does not support backreferences or lookaround)"
    return reason
