"""Reports read from the rollup cells (core/tally.py, router/rollups.py) when they can be.

The cells hold each ticket as its record stands now, so they answer a report of the record
as it stands: a window that ends after the clock and after the newest event (no event of
the record is past `to`), starting on a whole UTC hour, with volume buckets on whole UTC
hours (time zones with whole-hour offsets), in calendar seconds, not split or filtered by
agent. A day of the store's calendar (core/periods.py) is one cell; a day of another zone
is a day cell plus and minus hour cells. Any other report is folded from the record
(hub/api/reports.py); both give the same counts, and the percentiles of the cells are
within their bins (router/rollups.py).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from core.tally import AGENTS_BY_QUEUE, READS, Span
from router.report_facts import Window
from router.reports import Grouping, Key, Scope, Summary, Targets
from router.rollups import (
    HOUR,
    Sums,
    aligned,
    buckets,
    cover,
    group,
    series_row,
    summary,
)
from router.series import SeriesRow
from storage.base import Store


async def cells_end(store: Store, window: Window, now: datetime) -> float | None:
    """Where the cells are read to (the end, up to its hour) when they can answer."""
    if window.end < now or not aligned(window.start):
        return None
    horizon = await store.rollup_horizon()
    if horizon is None:
        return None  # the cells are being filled: they count part of the record
    if horizon >= window.end.timestamp():
        return None  # an event past `to`: the cells count it, the report must not
    return math.ceil(window.end.timestamp() / HOUR) * HOUR


async def rolled_summary(
    store: Store, window: Window, scope: Scope, now: datetime, targets: Targets
) -> Summary | None:
    end = await cells_end(store, window, now)
    if end is None or scope.agent is not None:
        return None
    calendar = await store.report_calendar()
    cut: list[Span] = [
        (lv, at, 0, sign) for lv, at, sign in cover(window.start.timestamp(), end, calendar)
    ]
    kinds = [*READS["summary"]]
    if scope.queue is not None or scope.channel is not None:
        kinds[-1] = AGENTS_BY_QUEUE  # the agents' cells of the queue or channel asked for
    # Both reads at once: on SQLite two reader threads; on Redis the server answers one
    # while the hub parses the other.
    start, stop = window.start.timestamp(), window.end.timestamp()
    rows, running = await asyncio.gather(
        store.rollup(cut, None, scope.queue, scope.channel, kinds=kinds),
        store.held_bins(start, stop, stop, scope.queue, scope.channel),
    )
    return summary(group(rows).get((0, ""), Sums()), running, targets)


async def rolled_series(
    store: Store, window: Window, scope: Scope, now: datetime, shape: tuple[Grouping, Key, tzinfo],
    targets: Targets,
) -> tuple[list[SeriesRow], list[SeriesRow]] | None:  # fmt: skip
    """The volume rows and the totals per bucket, or None when the cells cannot say."""
    group_by, by, zone = shape
    end = await cells_end(store, window, now)
    if end is None or scope.agent is not None or by is Key.AGENT:
        return None
    cut = buckets(window.start, datetime.fromtimestamp(end, UTC), group_by, zone)
    if cut is None:
        return None
    calendar = await store.report_calendar()
    read: list[Span] = [
        (level, at, n, sign) for n, (_, low, high) in enumerate(cut)
        for level, at, sign in cover(low, high, calendar)
    ]  # fmt: skip
    cells = group(
        await store.rollup(read, str(by), scope.queue, scope.channel, kinds=READS["volume"])
    )
    by_bucket: dict[int, list[tuple[str, Sums]]] = {}
    for (n, key), sums in sorted(cells.items(), key=lambda c: c[0]):
        if sums.count("created") > 0:
            by_bucket.setdefault(n, []).append((key, sums))
    rows: list[SeriesRow] = []
    totals: list[SeriesRow] = []
    for n, kept in sorted(by_bucket.items()):
        bucket = cut[n][0]
        rows += [series_row(bucket, key, sums, targets) for key, sums in kept]
        totals.append(series_row(bucket, "", _merged(s for _, s in kept), targets))
    return rows, totals


def _merged(parts: Iterable[Sums]) -> Sums:
    out = Sums()
    for sums in parts:
        for key, (n, total) in sums.cells.items():
            n0, t0 = out.cells.get(key, (0, 0.0))
            out.cells[key] = (n0 + n, t0 + total)
        for key, bins in sums.bins.items():
            mine = out.bins.setdefault(key, {})
            for at, (n, total) in bins.items():
                n0, t0 = mine.get(at, (0, 0.0))
                mine[at] = (n0 + n, t0 + total)
    return out
