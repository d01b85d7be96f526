"""Business hours: a weekly timetable in one IANA time zone, minus holidays.

Hours are wall-clock hours: `08:00-18:00` means 08:00 to 18:00 on the clocks of the
calendar's zone, whatever its offset that day, so opening hours stay right across DST.
A range whose end is before its start runs past midnight (`22:00-06:00`). A holiday closes
its whole local date, including the after-midnight part of the previous evening's range.
Instants without a zone are taken as UTC: the router never reads the machine's clock or zone.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.model import ascii_digits

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 86_400
WEEK = 7 * DAY
Range = tuple[int, int]
"""Seconds from local midnight: start inclusive, end exclusive (may exceed a day)."""


def parse_days(spec: str) -> tuple[int, ...]:
    """`mon-fri`, `sat`, `mon,wed,fri` or `fri-mon` -> weekday numbers (Monday is 0)."""
    days: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        start = _weekday(first)
        end = _weekday(last) if dash else start
        days.extend((start + i) % 7 for i in range((end - start) % 7 + 1))
    return tuple(dict.fromkeys(days))


def _weekday(name: str) -> int:
    if name not in DAYS:
        raise ValueError(f"unknown day {name!r}{_suggest(name, DAYS)}; use mon..sun")
    return DAYS.index(name)


def parse_ranges(spec: str | Sequence[str]) -> tuple[Range, ...]:
    """`"08:00-18:00"`, `"08:00-12:00, 13:00-17:00"`, a list of those, or `closed`."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    texts = [p.strip() for p in parts if p.strip()]
    if texts == ["closed"]:
        return ()
    return tuple(_parse_range(text) for text in texts)


def _parse_range(text: str) -> Range:
    first, dash, last = text.partition("-")
    if not dash:
        raise ValueError(f"hours {text!r} are not a range like 08:00-18:00")
    start, end = _clock(first), _clock(last)
    if start >= DAY:
        raise ValueError(f"hours {text!r} cannot start at 24:00")
    if end == start:
        raise ValueError(f"hours {text!r} are empty (use 00:00-24:00 for all day)")
    # An end before the start runs past midnight into the next day.
    return (start, end if end > start else end + DAY)


def _clock(text: str) -> int:
    hours, colon, minutes = text.strip().partition(":")
    valid = colon and ascii_digits(hours) and len(hours) <= 2
    valid = valid and ascii_digits(minutes) and len(minutes) == 2
    if not valid or int(hours) > 24 or int(minutes) > 59 or (int(hours) == 24 and int(minutes)):
        raise ValueError(f"{text.strip()!r} is not a time like 08:00 (00:00 to 24:00)")
    return int(hours) * 3600 + int(minutes) * 60


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone; ValueError with a suggestion for a misspelt name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = _suggest(name, _zone_names())
        raise ValueError(f"unknown time zone {name!r}{hint}") from exc


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True, slots=True)
class Calendar:
    """Opening hours as merged, sorted intervals of the local week (seconds from Mon 00:00)."""

    name: str
    zone: ZoneInfo
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    holidays: frozenset[date] = frozenset()

    @classmethod
    def build(
        cls,
        name: str,
        zone: ZoneInfo,
        weekly: Mapping[int, Sequence[Range]],
        holidays: Iterable[date] = (),
    ) -> Calendar:
        merged = _merge(_week_spans(weekly))
        return cls(
            name,
            zone,
            tuple(s for s, _ in merged),
            tuple(e for _, e in merged),
            frozenset(holidays),
        )

    def is_open(self, at: datetime) -> bool:
        local = _local(at, self.zone)
        if local is None or local.date() in self.holidays:
            return False
        second = local.weekday() * DAY + local.hour * 3600 + local.minute * 60 + local.second
        index = bisect_right(self.starts, second) - 1
        return index >= 0 and second < self.ends[index]

    def next_open(self, at: datetime) -> datetime | None:
        """The first instant at or after `at` when the calendar is open, in its zone; None
        when it never opens (no hours) or the answer lies beyond the representable years."""
        instant = _aware(at)
        if self.is_open(instant):
            return instant.astimezone(self.zone)
        local = _local(instant, self.zone)
        if local is None or not self.starts:
            return None
        # Each weekly range recurs every 7 days, so within 7 * (holidays + 1) days one of
        # its occurrences is not a holiday.
        horizon = 7 * (len(self.holidays) + 2)
        for candidate in self._openings(local.date(), horizon):
            if candidate > instant and self.is_open(candidate):
                return candidate.astimezone(self.zone)
        return None

    def _openings(self, first: date, days: int) -> Iterator[datetime]:
        """Instants the calendar may open at, in order: midnights (a holiday ending) and the
        starts of ranges, for `days` local dates from `first`."""
        for offset in range(days):
            try:
                day = first + timedelta(days=offset)
            except OverflowError:
                return
            base = day.weekday() * DAY
            starts = [s - base for s in self.starts if base <= s < base + DAY]
            for second in sorted({0, *starts}):
                try:
                    yield first_instant(day, second, self.zone)
                except OverflowError:  # past the last representable instant
                    return


def _week_spans(weekly: Mapping[int, Sequence[Range]]) -> Iterator[Range]:
    for weekday, ranges in weekly.items():
        for start, end in ranges:
            first, last = weekday * DAY + start, weekday * DAY + end
            if last <= WEEK:
                yield (first, last)
            else:  # Sunday night into Monday morning wraps to the week's start
                yield (first, WEEK)
                yield (0, last - WEEK)


def _merge(spans: Iterable[Range]) -> list[Range]:
    merged: list[Range] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _local(at: datetime, zone: ZoneInfo) -> datetime | None:
    """Wall-clock time in the zone; None at the edges of the representable years."""
    try:
        return _aware(at).astimezone(zone)
    except (OverflowError, ValueError):
        return None


def first_instant(day: date, second: int, zone: ZoneInfo) -> datetime:
    """The first instant whose wall clock reads `day` + `second` or later. In a spring-forward
    gap that wall time never happens, and the answer is the moment the clocks jump."""
    wall = datetime.combine(day, time()) + timedelta(seconds=second)
    early = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if early >= late:  # the wall time exists (once, or twice when clocks fall back)
        return min(early, late)
    while late - early > timedelta(seconds=1):  # bisect to the jump
        middle = early + (late - early) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            late = middle
        else:
            early = middle
    return late
