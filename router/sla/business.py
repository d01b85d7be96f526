"""Business time: how much of a calendar's open time lies between two instants, and the
instant a given amount of it has passed. None as the calendar means always open.

A local date's open spans are its weekly hours clipped to that date (so a range past midnight
counts on both dates, and a holiday closes the after-midnight part too, as `Calendar.is_open`
says), turned into instants on the clocks of the calendar's zone: a DST day is 23 or 25 hours
long, and hours inside a spring-forward gap never happen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from router.hours import DAY, Calendar, first_instant

Span = tuple[datetime, datetime]
ZERO = timedelta(0)
HORIZON_DAYS = 366 * 20
"""How far ahead `add_business` looks before it calls a calendar never open."""


def business_time(calendar: Calendar | None, start: datetime, end: datetime) -> timedelta:
    """The calendar's open time in [start, end) (zero when end is not after start)."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        return ZERO
    if calendar is None:
        return end - start
    total = ZERO
    for first, last in open_spans(calendar, start):
        if first >= end:
            break
        total += min(last, end) - max(first, start)
    return total


def add_business(calendar: Calendar | None, start: datetime, amount: timedelta) -> datetime | None:
    """The first instant by which `amount` of open time has passed since `start`; None when
    the calendar does not open enough within `HORIZON_DAYS` or the representable years."""
    start = _aware(start)
    if calendar is None:
        try:
            return start + max(amount, ZERO)
        except OverflowError:
            return None
    left = amount
    for first, last in open_spans(calendar, start):
        begin = max(first, start)
        if left <= last - begin:
            return begin + max(left, ZERO)
        left -= last - begin
    return None


def open_spans(calendar: Calendar, start: datetime) -> Iterator[Span]:
    """The calendar's open spans (UTC, in order) that end after `start`, for HORIZON_DAYS."""
    instant = _aware(start)
    if not calendar.starts:
        return
    try:
        # The day before too: a zone's midnight may be an hour off the date's instant.
        first_day = instant.astimezone(calendar.zone).date() - timedelta(days=1)
        for offset in range(HORIZON_DAYS):
            for span in day_spans(calendar, first_day + timedelta(days=offset)):
                if span[1] > instant:
                    yield span
    except OverflowError:  # past the representable years: no more spans
        return


def _aware(at: datetime) -> datetime:
    """Instants without a zone are UTC (the router never reads the machine's zone)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@lru_cache(maxsize=65_536)
def day_spans(calendar: Calendar, day: date) -> tuple[Span, ...]:
    """The open spans of one local date, as UTC instants (none on a holiday)."""
    if day in calendar.holidays:
        return ()
    base = day.weekday() * DAY
    spans: list[Span] = []
    for start, end in zip(calendar.starts, calendar.ends, strict=True):
        first, last = max(start, base), min(end, base + DAY)
        if first < last:
            begin = first_instant(day, first - base, calendar.zone).astimezone(UTC)
            finish = first_instant(day, last - base, calendar.zone).astimezone(UTC)
            if begin < finish:  # a span wholly inside a spring-forward gap never happens
                spans.append((begin, finish))
    return tuple(spans)
