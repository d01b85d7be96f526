"""The periods report cells are kept by: UTC hours, and the days and months of a zone.

A store keeps its cells by one calendar (UTC unless told otherwise): a center that reports in
New York reads a year's daily series as 365 cells of its own days, not as UTC days each plus
and minus ten hour cells. Hours stay UTC hours, so a report in any other zone is still a sum
of cells: its day edges are whole UTC hours when the calendar's midnights are (`Calendar.of`
refuses a zone whose are not, such as Asia/Kolkata's half hours).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOUR, DAY = 3600.0, 86400.0
Periods = tuple[tuple[str, float], ...]
CHECKED = (date(1990, 1, 1), date(2100, 1, 1))
"""The days whose midnights `Calendar.of` checks for whole UTC hours."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """Days and months of `zone`, hours of UTC; made by `Calendar.of` (checked) or UTC_CELLS."""

    zone: str

    @staticmethod
    def of(zone: str) -> Calendar:
        """The calendar of an IANA zone; ValueError when unknown or when one of its midnights
        is not a whole UTC hour."""
        try:
            where = _zone(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
        off = _off_the_hour(zone, where)
        if off is not None:
            raise ValueError(
                f"{zone}: its day starts off a whole UTC hour on {off.isoformat()}; "
                "report cells are kept by UTC hours, so their days must start on one"
            )
        return Calendar(zone)

    @property
    def utc(self) -> bool:
        return self.zone == "UTC"

    def periods(self, created: float) -> Periods:
        """The (level, period start) of each cell a ticket created at `created` counts in:
        its UTC hour, and its day and month in this calendar."""
        return _periods_of_hour(math.floor(created / HOUR), self.zone)

    def day_of(self, at: float) -> float:
        """The start of the day holding `at`."""
        if self.utc:
            return math.floor(at / DAY) * DAY
        return _day_of(at, self.zone)

    def next_day(self, day: float) -> float:
        """The start of the day after the one starting at `day`."""
        if self.utc:
            return day + DAY
        return _next_day(day, self.zone)

    def month_of(self, at: float) -> float:
        return _month_of(at, self.zone)

    def next_month(self, month: float) -> float:
        """The start of the month after the one starting at `month`."""
        return _next_month(month, self.zone)


UTC_CELLS = Calendar("UTC")


@functools.cache
def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


@functools.cache
def _off_the_hour(zone: str, where: tzinfo) -> date | None:
    """The first day in CHECKED whose midnight is not a whole UTC hour (~0.2 s: once)."""
    day = CHECKED[0]
    while day < CHECKED[1]:
        if _midnight(day, where) % HOUR:
            return day
        day += timedelta(days=1)
    return None


def _midnight(day: date, where: tzinfo) -> float:
    """The first instant of `day` in `where` (a midnight that a clock skips is read with the
    offset before the change: the instant the day began)."""
    return datetime(day.year, day.month, day.day, tzinfo=where).timestamp()


def _date(at: float, zone: str) -> date:
    return datetime.fromtimestamp(at, _zone(zone)).date()


@functools.lru_cache(maxsize=8192)
def _periods_of_hour(hour: int, zone: str) -> Periods:
    """By the hour: every contact of an hour counts in the same cells (the day and month take
    datetimes, most of the cost of a new ticket's cells)."""
    at = hour * HOUR
    return (("h", at), ("d", _day_of(at, zone)), ("m", _month_of(at, zone)))


@functools.lru_cache(maxsize=8192)
def _day_of(at: float, zone: str) -> float:
    return _midnight(_date(at, zone), _zone(zone))


@functools.lru_cache(maxsize=8192)
def _next_day(day: float, zone: str) -> float:
    return _midnight(_date(day, zone) + timedelta(days=1), _zone(zone))


@functools.lru_cache(maxsize=8192)
def _month_of(at: float, zone: str) -> float:
    return _midnight(_date(at, zone).replace(day=1), _zone(zone))


@functools.lru_cache(maxsize=8192)
def _next_month(month: float, zone: str) -> float:
    first = _date(month, zone)
    year, number = (first.year + 1, 1) if first.month == 12 else (first.year, first.month + 1)
    return _midnight(date(year, number, 1), _zone(zone))
