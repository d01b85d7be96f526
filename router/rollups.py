"""Reports' figures from the rollup cells (core/tally.py) instead of the record: pure.

A window is cut into whole months and days of the store's calendar (core/periods.py) and
UTC hours (`spans`, `cover`), each one cell period, and
the cells' sums give the same figures as the fold of the record (router/reports.py,
router/series.py) for a report of the record as it stands (a window ending after the last
event): counts and means exactly, percentiles from the cells' histograms (nearest rank over
bins; the value of a bin is the mean of its values: exact when they are one value, else
within the bin, < 3.2 %). Holds still running end at the window's end, as in the fold.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from core.periods import UTC_CELLS, Calendar
from core.tally import CLOCK_OF, Bin, HeldBin, RollupRow
from router.reports import (
    CLOCKS,
    AgentFigures,
    Grouping,
    Share,
    Spread,
    Summary,
    Targets,
    bucket_of,
    share,
)
from router.series import SeriesRow

HOUR, DAY = 3600.0, 86400.0
DURATIONS = "frah"
"""First response, resolution, an agent's first response, handle time: binned names."""


def aligned(moment: datetime) -> bool:
    """Whether a moment is a whole UTC hour (cells start there)."""
    return moment.timestamp() % HOUR == 0


def spans(start: float, end: float, calendar: Calendar = UTC_CELLS) -> list[tuple[str, float]]:
    """Whole months, then days (of `calendar`), then UTC hours covering [start, end) (both
    whole hours), the biggest that fits at each step."""
    out: list[tuple[str, float]] = []
    at = start
    while at < end:
        if calendar.day_of(at) == at:
            after = calendar.next_month(at)
            if calendar.month_of(at) == at and after <= end:
                out.append(("m", at))
                at = after
                continue
            after = calendar.next_day(at)
            if after <= end:
                out.append(("d", at))
                at = after
                continue
        out.append(("h", at))
        at += HOUR
    return out


COST = {"h": 1, "d": 8, "m": 24}
"""About the rows a cell of each level holds, relative to an hour's (a year of tickets)."""


def cover(start: float, end: float, calendar: Calendar = UTC_CELLS) -> list[tuple[str, float, int]]:
    """Cells adding up to [start, end) with a sign each, reading the fewest rows: `spans`,
    or whole days or months from a bound near `start` to one near `end`, plus or minus the
    cells between those bounds and the window's. A day of New York in cells kept by UTC is
    one day cell and ten hour cells, not 24 hour cells; a year from the 3rd of a month is
    twelve months less two days, not eleven months and 28 days."""
    best = [(level, at, 1) for level, at in spans(start, end, calendar)]
    for low in _near(start, calendar):
        for high in _near(end, calendar):
            if low >= high:
                continue
            parts = [(level, at, 1) for level, at in spans(low, high, calendar)]
            parts += _edge(start, low, calendar) + _edge(high, end, calendar)
            if cost(parts) < cost(best):
                best = parts
    return best


def cost(cells: Iterable[tuple[str, float, int]]) -> int:
    return sum(COST[level] for level, _, _ in cells)


def _near(at: float, calendar: Calendar) -> set[float]:
    """The day and month bounds either side of `at`."""
    day, month = calendar.day_of(at), calendar.month_of(at)
    return {day, at if day == at else calendar.next_day(day), month, calendar.next_month(month)}


def _edge(start: float, end: float, calendar: Calendar) -> list[tuple[str, float, int]]:
    """Cells adding [start, end), or taking [end, start) away when it runs backwards."""
    if start <= end:
        return [(level, at, 1) for level, at in spans(start, end, calendar)]
    return [(level, at, -1) for level, at in spans(end, start, calendar)]


@dataclass(slots=True)
class Sums:
    """One bucket's (and key's) cells summed: counts by (agent, name), and the durations'
    bins by (agent, duration) then bin."""

    cells: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    bins: dict[tuple[str, str], dict[int, tuple[int, float]]] = field(default_factory=dict)

    def add(self, agent: str, name: str, count: int, total: float) -> None:
        # Called once per row a report reads (a year's series: ~200,000): no defaults made.
        binned = _binned(name)
        if binned is None:
            self.cells[(agent, name)] = _plus(self.cells.get((agent, name)), count, total)
            return
        prefix, at = binned
        bins = self.bins.get((agent, prefix))
        if bins is None:
            bins = self.bins[(agent, prefix)] = {}
        bins[at] = _plus(bins.get(at), count, total)

    def count(self, name: str, agent: str = "") -> int:
        return self.cells.get((agent, name), (0, 0.0))[0]

    def binned_count(self, prefix: str, agent: str = "") -> int:
        """A duration's count: its bins' (the cells keep no other)."""
        return sum(n for n, _ in self.bins.get((agent, prefix), {}).values())

    def spread(self, prefix: str, agent: str = "", extra: Iterable[Bin] = ()) -> Spread:
        """Count, p50, p90 and mean of a duration from its bins (and extra bins)."""
        bins = {k: v for k, v in self.bins.get((agent, prefix), {}).items() if v[0] > 0}
        for at, (count, total) in extra:
            n, t = bins.get(at, (0, 0.0))
            bins[at] = (n + count, t + total)
        return spread_of(bins)

    def agents(self) -> list[str]:
        return sorted(
            {a for (a, name), (n, _) in self.cells.items() if a and name == "handled" and n > 0}
        )


def _plus(old: tuple[int, float] | None, count: int, total: float) -> tuple[int, float]:
    return (count, total) if old is None else (old[0] + count, old[1] + total)


@functools.lru_cache(maxsize=8192)
def _binned(name: str) -> tuple[str, int] | None:
    """A bin's duration and number ("f12" -> ("f", 12)); None for other names. Cached: a
    year's series reads hundreds of thousands of rows with a few thousand names."""
    if name[0] in DURATIONS and name[1:].isdigit():
        return name[0], int(name[1:])
    return None


def spread_of(bins: dict[int, tuple[int, float]]) -> Spread:
    """Count, p50, p90 (nearest rank over the bins: the mean of the bin holding the rank-th
    value) and mean, in one pass over the bins in order."""
    ordered = [bins[at] for at in sorted(bins)]
    count = sum(n for n, _ in ordered)
    if count == 0:
        return Spread(0, None, None, None)
    middle, high = max(1, math.ceil(count / 2)), max(1, math.ceil(0.9 * count))
    seen, p50, p90 = 0, None, None
    for n, total in ordered:
        seen += n
        if p50 is None and seen >= middle:
            p50 = total / n
        if seen >= high:
            p90 = total / n
            break
    mean = math.fsum(t for _, t in ordered) / count
    return Spread(count, p50, p90, round(mean, 3))


def summary(sums: Sums, running: Iterable[HeldBin], targets: Targets) -> Summary:
    """The summary of one bucket's sums (router/reports.py `summarize`), with the running
    holds' handle times binned at the report's end."""
    sla = sla_shares(sums, targets)
    created, resolved = sums.count("created"), sums.binned_count("r")
    held: dict[str, list[Bin]] = {}
    for agent, at, count, total in running:
        held.setdefault(agent, []).append((at, (count, total)))
    return Summary(
        created=created,
        resolved=resolved,
        backlog=created - resolved,
        first_response=sums.spread("f"),
        resolution=sums.spread("r"),
        one_touch=share(sums.count("one_touch"), resolved),
        repeat_contact=share(sums.count("repeat"), resolved),
        agents=tuple(
            AgentFigures(
                agent, sums.count("handled", agent), sums.spread("a", agent),
                sums.spread("h", agent, held.get(agent, ())),
            )
            for agent in sums.agents()
        ),
        sla=sla[None],
        sla_clocks=tuple((clock, sla[clock]) for clock in CLOCKS),
    )  # fmt: skip


def sla_shares(sums: Sums, targets: Targets) -> dict[str | None, Share]:
    """The SLA met of any clock (None) and of each (router/reports.py `sla_shares`) from the
    cells of the tickets' routes: created on a route ("rt:"), breached on it, any clock
    ("rb:") or one ("rm<letter>:"). A ticket counts toward a clock when its route has a
    target for it, or it breached it."""
    of: Counter[str | None] = Counter()
    missed: Counter[str | None] = Counter()
    for (agent, name), (n, _) in sums.cells.items():
        if agent or n == 0 or name[0] != "r":
            continue
        if name[:3] == "rt:":
            found = _targets(targets, name[3:])
            for clock in (None, *found) if found else ():
                of[clock] += n
            continue
        clock = _breach(name)
        if clock == "":
            continue
        missed[clock] += n
        found = _targets(targets, name[name.index(":") + 1 :])
        if not (found if clock is None else clock in found):
            of[clock] += n
    return {clock: share(of[clock] - missed[clock], of[clock]) for clock in (None, *CLOCKS)}


def _targets(targets: Targets, route: str) -> frozenset[str]:
    queue, priority, rule = route.split("|", 2)
    return targets(queue, priority, rule or None)


def _breach(name: str) -> str | None:
    """The clock a cell counts the breaches of: None for "rb:" (any), the clock's for
    "rm<letter>:", "" for any other cell."""
    if name[:3] == "rb:":
        return None
    if name[:2] == "rm" and name[3:4] == ":":
        return CLOCK_OF.get(name[2], "")
    return ""


def series_row(bucket: datetime, key: str, sums: Sums, targets: Targets) -> SeriesRow:
    sla = sla_shares(sums, targets)[None]
    return SeriesRow(bucket, key, sums.count("created"), sums.spread("f"), sla, sla.of - sla.count)


def group(rows: Iterable[RollupRow]) -> dict[tuple[int, str], Sums]:
    """The store's rows by (bucket, key)."""
    out: dict[tuple[int, str], Sums] = {}
    for bucket, key, agent, name, n, total in rows:
        sums = out.get((bucket, key))
        if sums is None:
            sums = out[(bucket, key)] = Sums()
        sums.add(agent, name, n, total)
    return out


def buckets(
    start: datetime, end: datetime, group_by: Grouping, zone: tzinfo
) -> list[tuple[datetime, float, float]] | None:
    """The volume buckets of [start, end): (bucket start in `zone`, UTC span start, end),
    each span cut to the window; None when a bound is not a whole UTC hour."""
    out = []
    bucket = bucket_of(start, group_by, zone)
    while bucket < end:
        after = _next_bucket(bucket, group_by, zone)
        low, high = max(bucket, start), min(after, end)
        if not (aligned(low) and aligned(high)):
            return None
        out.append((bucket, low.timestamp(), high.timestamp()))
        bucket = after
    return out


def _next_bucket(bucket: datetime, group_by: Grouping, zone: tzinfo) -> datetime:
    if group_by is Grouping.HOUR:
        return (bucket.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    days = 7 if group_by is Grouping.WEEK else 1
    day = bucket.date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=zone)
