"""Reports from the rollup cells give the fold's figures (hub/api/report_rollups.py): on
generated workings of tickets, property-style over seeds, windows, groupings and time
zones, on SQLite and Redis; and over HTTP for the golden fortnight."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from core.model import Role
from core.periods import Calendar
from core.tally import AGENT_BINS
from hub.api.report_rollups import rolled_series, rolled_summary
from hub.api.reports import read_report
from router.report_facts import Window
from router.reports import (
    Grouping,
    Key,
    Report,
    Scope,
    Spread,
    Summary,
    calendar_seconds,
    summarize,
)
from router.series import SeriesRow, series
from storage.base import Store, open_store
from tests.conftest import Hub
from tests.hub.api.fortnight import END, FIGURES, START, write_fortnight
from tests.storage.workload import NO_WINDOW, Workload
from tests.support import RecordingRouter, inbound

BEGIN = datetime(2026, 3, 30, 21, tzinfo=UTC)
BIN = 1 / 32
"""The cells' bins: a percentile is within this fraction of the fold's."""
AGENT_BIN = (1 + BIN) ** AGENT_BINS - 1
"""An agent's bins, `AGENT_BINS` fine bins wide."""


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    if request.param == "redis":
        url = str(request.getfixturevalue("redis_url"))
    opened = open_store(url)
    await opened.open()
    yield opened
    await opened.close()


def near(rolled: float | None, folded: float | None, tolerance: float) -> bool:
    if rolled is None or folded is None:
        return rolled is folded
    return math.isclose(rolled, folded, rel_tol=tolerance, abs_tol=1.0 if tolerance else 0.0011)


def same_spread(rolled: Spread, folded: Spread, width: float = BIN) -> bool:
    return (
        rolled.count == folded.count
        and near(rolled.p50, folded.p50, width)
        and near(rolled.p90, folded.p90, width)
        and near(rolled.mean, folded.mean, 0)
    )


def same_summary(rolled: Summary, folded: Summary) -> None:
    counts = ("created", "resolved", "backlog", "one_touch", "repeat_contact", "sla")
    assert [getattr(rolled, c) for c in counts] == [getattr(folded, c) for c in counts]
    assert rolled.sla_clocks == folded.sla_clocks
    assert same_spread(rolled.first_response, folded.first_response)
    assert same_spread(rolled.resolution, folded.resolution)
    assert [a.agent for a in rolled.agents] == [a.agent for a in folded.agents]
    for mine, theirs in zip(rolled.agents, folded.agents, strict=True):
        assert mine.handled == theirs.handled, mine.agent
        assert same_spread(mine.first_response, theirs.first_response, AGENT_BIN), mine
        assert same_spread(mine.handle_time, theirs.handle_time, AGENT_BIN), (mine, theirs)


def same_rows(rolled: list[SeriesRow], folded: list[SeriesRow]) -> None:
    assert [(r.bucket, r.key, r.count) for r in rolled] == [
        (r.bucket, r.key, r.count) for r in folded
    ]
    for mine, theirs in zip(rolled, folded, strict=True):
        assert (mine.sla, mine.breached) == (theirs.sla, theirs.breached), mine.bucket
        assert same_spread(mine.first_response, theirs.first_response), (mine, theirs)


def targeted(queue: str, priority: str, _rule: str | None) -> frozenset[str]:
    """Billing has first response and resolution targets, urgent tickets a next response."""
    found = {"first_response", "resolution"} if queue == "billing" else set()
    return frozenset(found | ({"next_response"} if priority == "urgent" else set()))


async def folded(store: Store, window: Window, scope: Scope) -> Report:
    return (await read_report(store, window, calendar_seconds, targeted)).scoped(scope)


async def folded_series(
    store: Store, window: Window, shape: tuple[Grouping, Key, tzinfo], scope: Scope
) -> tuple[list[SeriesRow], list[SeriesRow]]:
    group_by, by, zone = shape
    report = await folded(store, window, scope)
    return series(report, group_by, by, zone), series(report, group_by, None, zone)


WINDOWS = [(0, None), (24, None), (30, "general"), (5, "billing")]
"""Hours after BEGIN a window starts, and the queue it is filtered by."""


@pytest.mark.parametrize(
    ("seed", "zone"),
    [(11, "UTC"), (12, "UTC"), (13, "America/New_York"), (14, "Europe/Berlin")],
)
async def test_the_cells_give_the_folds_figures_on_generated_tickets(
    store: Store, seed: int, zone: str
) -> None:
    """In cells kept by UTC or by a zone's days: each series (in New York, UTC and Berlin)
    reads its store's days as one cell and others as a day plus and minus hours."""
    await store.set_report_calendar(Calendar.of(zone))
    work = Workload(store, BEGIN + timedelta(minutes=30), seed)
    await work.run(200)
    now = datetime.now(UTC)
    end = max(now, work.at) + timedelta(minutes=17)  # past every event, not on an hour
    for hours, queue in WINDOWS:
        window, scope = Window(BEGIN + timedelta(hours=hours), end), Scope(queue=queue)
        rolled = await rolled_summary(store, window, scope, now, targeted)
        assert rolled is not None
        same_summary(rolled, summarize(await folded(store, window, scope)))
    for shape in [
        (Grouping.DAY, Key.CHANNEL, ZoneInfo("America/New_York")),
        (Grouping.HOUR, Key.QUEUE, UTC),
        (Grouping.WEEK, Key.CHANNEL, ZoneInfo("Europe/Berlin")),
    ]:
        window = Window(BEGIN, end)
        got = await rolled_series(store, window, Scope(), now, shape, targeted)
        assert got is not None, shape
        want = await folded_series(store, window, shape, Scope())
        same_rows(got[0], want[0])
        same_rows(got[1], want[1])


async def test_the_cells_answer_only_what_they_can(store: Store) -> None:
    """A window ending before the newest event (by time, whatever the order of commits), a
    start off the hour, an agent filter, a split by agent or a zone off the hour: the report
    is folded from the record."""
    work = Workload(store, BEGIN, 3)
    await work.run(40)
    now = datetime.now(UTC)
    end = now + timedelta(hours=1)
    assert await rolled_summary(store, Window(BEGIN, end), Scope(), now, targeted) is not None
    assert await rolled_summary(store, Window(BEGIN, work.at), Scope(), now, targeted) is None
    off = Window(BEGIN + timedelta(minutes=1), end)
    assert await rolled_summary(store, off, Scope(), now, targeted) is None
    assert (
        await rolled_summary(store, Window(BEGIN, end), Scope(agent="ann"), now, targeted) is None
    )
    whole = Window(BEGIN, end)
    for shape in [
        (Grouping.DAY, Key.AGENT, UTC),
        (Grouping.DAY, Key.CHANNEL, ZoneInfo("Asia/Kolkata")),
    ]:
        assert await rolled_series(store, whole, Scope(), now, shape, targeted) is None
    late = inbound("late", "email:late@x.org", at=end + timedelta(hours=2))
    await store.commit_inbound(late, RecordingRouter("general"), NO_WINDOW)
    early = inbound("early", "email:early@x.org", at=now)  # numbered after, stamped before
    await store.commit_inbound(early, RecordingRouter("general"), NO_WINDOW)
    assert await rolled_summary(store, Window(BEGIN, end), Scope(), now, targeted) is None


async def test_cells_a_hub_is_filling_are_not_read(redis_url: str) -> None:
    """While a hub fills a Redis store's cells from the record (an upgrade, a new report
    calendar), they count only part of it: every report is folded from the record."""
    store = open_store(redis_url)
    await store.open()
    try:
        await Workload(store, BEGIN, 3).run(20)
        now = datetime.now(UTC)
        window = Window(BEGIN, now + timedelta(hours=1))
        assert await rolled_summary(store, window, Scope(), now, targeted) is not None
        client = Redis.from_url(redis_url, decode_responses=True)
        try:
            await client.hset("{ch}:ids", "rollups", "filling")
            assert await rolled_summary(store, window, Scope(), now, targeted) is None
            shape = (Grouping.DAY, Key.CHANNEL, UTC)
            assert await rolled_series(store, window, Scope(), now, shape, targeted) is None
        finally:
            await client.aclose()
    finally:
        await store.close()


async def test_the_golden_fortnight_is_the_same_from_the_cells(hub: Hub) -> None:
    """Past its last event the fortnight's report comes from the cells (its start on the
    hour) and equals the fold's (its start a second later: the same tickets), exactly."""
    await write_fortnight(hub.store)
    boss = await hub.token(Role.SUPERVISOR, "sue")
    to = (END + timedelta(hours=2)).isoformat()
    answers: dict[str, Any] = {}
    for start in (START, START + timedelta(seconds=1)):
        for path in ("summary", "volume"):
            params = {"from": start.isoformat(), "to": to, "tz": "America/New_York"}
            async with hub.http.get(f"/api/reports/{path}", params=params, headers=boss) as r:
                assert r.status == 200
                body = await r.json()
            answers[f"{path} {body.pop('source')}"] = body
            body.pop("from")
    assert answers.keys() == {
        "summary rollups", "volume rollups", "summary record", "volume record"
    }  # fmt: skip
    assert answers["summary rollups"] == answers["summary record"]
    assert answers["volume rollups"] == answers["volume record"]
    figures = answers["summary rollups"]
    assert (figures["created"], figures["backlog"]) == (6, 3)  # and t7, created after END
    assert {k: figures[k] for k in FIGURES if k not in ("created", "backlog")} == {
        k: v for k, v in FIGURES.items() if k not in ("created", "backlog")
    }
