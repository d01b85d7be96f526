"""One contact as conditions see it: field values derived once, on first use.

A decision may test the same field against many rules; folding case, splitting words and
finding keywords happen once per field per contact, whatever the number of rules. Text
fields are read up to `scan_chars` characters, which bounds the cost of any one decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from core.model import CustomerFacts, Inbound
from router.hours import Calendar
from router.keywords import KeywordMatcher
from router.patterns import PatternMatcher
from router.spec import Field

Anchor = tuple[str, str, str]
"""(kind, field, value) that makes a rule a candidate: a keyword found in a field, a pattern
that matched it, or a customer's tag."""
KEYWORD, PATTERN, TAG = "contains", "matches", "tag"

_TEXT: Mapping[Field, Callable[[Inbound], str]] = {
    Field.CHANNEL: lambda i: i.channel,
    Field.EVENT: lambda i: str(i.event),
    Field.FROM: lambda i: i.sender.value,
    Field.TO: lambda i: i.recipient,
    Field.SUBJECT: lambda i: i.subject,
    Field.BODY: lambda i: i.text,
}


@dataclass(frozen=True, slots=True)
class Lookups:
    """What a ruleset shares with every contact it decides: matchers and calendars."""

    matchers: Mapping[Field, KeywordMatcher]
    patterns: Mapping[Field, PatternMatcher]
    calendars: Mapping[str, Calendar]
    scan_chars: int


class Contact:
    """An Inbound and its customer's facts, with memoised derived values."""

    __slots__ = (
        "_bytes",
        "_folded",
        "_found",
        "_matched",
        "_open",
        "facts",
        "inbound",
        "lookups",
        "tags",
    )

    def __init__(self, inbound: Inbound, facts: CustomerFacts, lookups: Lookups) -> None:
        self.inbound = inbound
        self.facts = facts
        self.lookups = lookups
        self.tags = frozenset(t.casefold() for t in facts.tags)
        self._folded: dict[Field, str] = {}
        self._found: dict[Field, frozenset[str]] = {}
        self._matched: dict[Field, frozenset[str]] = {}
        self._bytes: dict[Field, bytes] = {}
        self._open: dict[str, bool] = {}

    def text(self, field: Field) -> str:
        return _TEXT[field](self.inbound)[: self.lookups.scan_chars]

    def folded(self, field: Field) -> str:
        value = self._folded.get(field)
        if value is None:
            value = self._folded[field] = self.text(field).casefold()
        return value

    def found(self, field: Field) -> frozenset[str]:
        """The `contains` keywords of any rule that occur in this field."""
        value = self._found.get(field)
        if value is None:
            matcher = self.lookups.matchers.get(field)
            value = matcher.find(self.folded(field)) if matcher else frozenset()
            self._found[field] = value
        return value

    def matched(self, field: Field) -> frozenset[str]:
        """The `matches` patterns of any rule that match this field."""
        value = self._matched.get(field)
        if value is None:
            matcher = self.lookups.patterns.get(field)
            value = matcher.find(self.encoded(field)) if matcher else frozenset()
            self._matched[field] = value
        return value

    def encoded(self, field: Field) -> bytes:
        """UTF-8 for RE2; a lone surrogate (from a lenient decoder upstream) becomes '?'."""
        value = self._bytes.get(field)
        if value is None:
            value = self._bytes[field] = self.text(field).encode("utf-8", "replace")
        return value

    def flag(self, field: Field) -> bool:
        if field is Field.HAS_ATTACHMENT:
            return bool(self.inbound.attachments)
        return self.facts.is_new

    def number(self, field: Field) -> int:
        return self.facts.open_tickets

    def is_open(self, calendar: str) -> bool:
        value = self._open.get(calendar)
        if value is None:
            value = self.lookups.calendars[calendar].is_open(self.inbound.received_at)
            self._open[calendar] = value
        return value

    def anchors(self) -> Iterator[Anchor]:
        for field in self.lookups.matchers:
            for keyword in self.found(field):
                yield (KEYWORD, field.value, keyword)
        for field in self.lookups.patterns:
            for pattern in self.matched(field):
                yield (PATTERN, field.value, pattern)
        for tag in self.tags:
            yield (TAG, Field.TAGS.value, tag)
