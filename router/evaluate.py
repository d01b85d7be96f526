"""Conditions compiled to checks that say why they failed.

`check.fails(contact)` is None when the condition holds, else the reason in a supervisor's
words ("customer.tags does not contain 'vip'"). An `all` fails with its first failing
child, in the order written; an `any` with every child's reason; a `not` with what held.
Leaf texts are fixed at compile time, so the index can name a skipped rule's reason
without evaluating it, and the line reads the same as if it had been evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from router.contact import Contact
from router.spec import (
    AllOf,
    AnyOf,
    Condition,
    Exists,
    Field,
    FlagIs,
    Leaf,
    NotOf,
    NumberBound,
    NumberIn,
    Op,
    TagsContain,
    TextContains,
    TextIn,
    TextMatches,
    TextStartsWith,
    Within,
)

Test = Callable[[Contact], bool]


@dataclass(frozen=True, slots=True)
class LeafCheck:
    test: Test
    text: str
    failure: str

    def fails(self, contact: Contact) -> str | None:
        return None if self.test(contact) else self.failure


@dataclass(frozen=True, slots=True)
class AllCheck:
    children: tuple[Check, ...]
    text: str

    def fails(self, contact: Contact) -> str | None:
        for child in self.children:
            reason = child.fails(contact)
            if reason is not None:
                return reason
        return None


@dataclass(frozen=True, slots=True)
class AnyCheck:
    children: tuple[Check, ...]
    text: str

    def fails(self, contact: Contact) -> str | None:
        reasons = []
        for child in self.children:
            reason = child.fails(contact)
            if reason is None:
                return None
            reasons.append(reason)
        return none_of(reasons)


@dataclass(frozen=True, slots=True)
class NotCheck:
    child: Check
    text: str

    def fails(self, contact: Contact) -> str | None:
        return self.child.text if self.child.fails(contact) is None else None


Check = LeafCheck | AllCheck | AnyCheck | NotCheck


def none_of(reasons: list[str]) -> str:
    return f"none of ({'; '.join(reasons)})"


def compile_check(condition: Condition) -> Check:
    if isinstance(condition, AllOf):
        children = tuple(compile_check(c) for c in condition.children)
        return AllCheck(children, f"all of ({'; '.join(c.text for c in children)})")
    if isinstance(condition, AnyOf):
        children = tuple(compile_check(c) for c in condition.children)
        return AnyCheck(children, f"any of ({'; '.join(c.text for c in children)})")
    if isinstance(condition, NotOf):
        child = compile_check(condition.child)
        return NotCheck(child, f"not ({child.text})")
    text, failure = leaf_texts(condition)
    return LeafCheck(leaf_test(condition), text, failure)


def leaf_test(leaf: Leaf) -> Test:  # noqa: PLR0911 - one short case per leaf type
    if isinstance(leaf, TextIn):
        return _text_in(leaf)
    if isinstance(leaf, TextStartsWith):
        return _starts_with(leaf)
    if isinstance(leaf, TextContains):
        return _contains(leaf)
    if isinstance(leaf, TextMatches):
        return _matches(leaf)
    if isinstance(leaf, Exists):
        return _exists(leaf)
    if isinstance(leaf, FlagIs):
        return lambda c: c.flag(leaf.field) is leaf.value
    if isinstance(leaf, NumberIn | NumberBound):
        return _number(leaf)
    if isinstance(leaf, TagsContain):
        tags = frozenset(leaf.tags)
        return lambda c: not tags.isdisjoint(c.tags)
    return lambda c: c.is_open(leaf.calendar) is leaf.inside


def _text_in(leaf: TextIn) -> Test:
    values = frozenset(leaf.values)
    return lambda c: c.folded(leaf.field) in values


def _starts_with(leaf: TextStartsWith) -> Test:
    return lambda c: c.folded(leaf.field).startswith(leaf.prefixes)


def _contains(leaf: TextContains) -> Test:
    phrases = frozenset(leaf.phrases)
    return lambda c: not phrases.isdisjoint(c.found(leaf.field))


def _matches(leaf: TextMatches) -> Test:
    return lambda c: leaf.pattern in c.matched(leaf.field)


def _exists(leaf: Exists) -> Test:
    if leaf.field is Field.TAGS:
        return lambda c: bool(c.tags) is leaf.present
    return lambda c: bool(c.folded(leaf.field).strip()) is leaf.present


def _number(leaf: NumberIn | NumberBound) -> Test:
    if isinstance(leaf, NumberIn):
        values = frozenset(leaf.values)
        return lambda c: c.number(leaf.field) in values
    if leaf.op is Op.GTE:
        return lambda c: c.number(leaf.field) >= leaf.bound
    return lambda c: c.number(leaf.field) <= leaf.bound


def _quoted(values: tuple[str, ...] | tuple[int, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def leaf_texts(leaf: Leaf) -> tuple[str, str]:
    """(what the condition claims, why it failed) in a supervisor's words."""
    if isinstance(leaf, TextIn | NumberIn):
        return _is_one_of(str(leaf.field), leaf.values)
    if isinstance(leaf, TextStartsWith):
        many = len(leaf.prefixes) > 1
        prefixes = _quoted(leaf.prefixes)
        return (
            f"{leaf.field} starts with {'one of ' if many else ''}{prefixes}",
            f"{leaf.field} does not start with {'any of ' if many else ''}{prefixes}",
        )
    if isinstance(leaf, TextContains | TagsContain):
        return _contains_texts(leaf)
    if isinstance(leaf, TextMatches):
        return (
            f"{leaf.field} matches {leaf.pattern!r}",
            f"{leaf.field} does not match {leaf.pattern!r}",
        )
    return _state_texts(leaf)


def _state_texts(leaf: Exists | FlagIs | NumberBound | Within) -> tuple[str, str]:
    if isinstance(leaf, Exists):
        yes, no = (
            ("has tags", "has no tags") if leaf.field is Field.TAGS else ("is present", "is empty")
        )
        first, second = (yes, no) if leaf.present else (no, yes)
        return f"{leaf.field} {first}", f"{leaf.field} {second}"
    if isinstance(leaf, FlagIs):
        value = str(leaf.value).lower()
        return f"{leaf.field} is {value}", f"{leaf.field} is {str(not leaf.value).lower()}"
    if isinstance(leaf, NumberBound):
        sign = ">=" if leaf.op is Op.GTE else "<="
        return f"{leaf.field} {sign} {leaf.bound}", f"{leaf.field} is not {sign} {leaf.bound}"
    inside, outside = (
        f"contact is within {leaf.calendar!r}",
        f"contact is outside {leaf.calendar!r}",
    )
    return (inside, outside) if leaf.inside else (outside, inside)


def _is_one_of(field: str, values: tuple[str, ...] | tuple[int, ...]) -> tuple[str, str]:
    if len(values) == 1:
        return f"{field} is {values[0]!r}", f"{field} is not {values[0]!r}"
    return f"{field} is one of {_quoted(values)}", f"{field} is not one of {_quoted(values)}"


def _contains_texts(leaf: TextContains | TagsContain) -> tuple[str, str]:
    field, values = (
        ("customer.tags", leaf.tags)
        if isinstance(leaf, TagsContain)
        else (leaf.field, leaf.phrases)
    )
    if len(values) == 1:
        return f"{field} contains {values[0]!r}", f"{field} does not contain {values[0]!r}"
    return (
        f"{field} contains one of {_quoted(values)}",
        f"{field} contains none of {_quoted(values)}",
    )
