"""The reports' rollups (core/tally.py) on every store: after a scripted working of tickets
(reopenings, hand-overs, transfers, failed replies, breaches, merges, purges, erasures, and
two hubs at once), the cells the commits wrote equal a recount from the record."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis, RedisCluster

from core.model import ACTIVE_STATUSES, Status, TicketChange
from core.periods import UTC_CELLS, Calendar
from core.record import Actor
from core.tally import (
    AGENTS,
    AGENTS_BY_QUEUE,
    ANY,
    TICKETS,
    VOLUME,
    Cells,
    Replay,
    RollupRow,
    RunningHold,
    held_at,
    held_bins,
    kind_of,
    running_hold,
)
from storage.base import Store, open_store
from tests.storage.test_sqlite import undo_the_rollups_migration, undo_the_words_merge
from tests.storage.workload import NO_WINDOW, Workload, replayed, whole_record
from tests.support import RecordingRouter, inbound

START = datetime(2026, 3, 30, 22, tzinfo=UTC)  # across a month's end


async def recount_matches(store: Store) -> None:
    """Every cell of every level equals the record's replay (read unfiltered, and by each
    queue and each channel); so do the running holds and the horizon."""
    replay = replayed(await whole_record(store), await store.report_calendar())
    expected = replay.cells()
    queues = {key[2] for key in expected if key[2] != ANY}
    channels = {key[3] for key in expected if key[3] != ANY}
    wheres = [(None, None)] + [(q, None) for q in queues] + [(None, ch) for ch in channels]
    for level in ("h", "d", "m"):
        periods = sorted({key[1] for key in expected if key[0] == level})
        spans = [(level, p, n, 1) for n, p in enumerate(periods)]
        for where in wheres:
            agents = AGENTS if where == (None, None) else AGENTS_BY_QUEUE
            rows = await store.rollup(spans, None, *where, kinds=(VOLUME, TICKETS, agents))
            got: Cells = {
                (level, periods[b], "", "", agent, name): (count, total)
                for b, _, agent, name, count, total in rows
            }
            assert _kept(got) == _kept(_read(expected, level, where)), (level, where)
    assert await store.rollup_horizon() == pytest.approx(replay.horizon, abs=1e-6)
    holds = [h for t in replay.tallies.values() if (h := running_hold(t))]
    if not holds:
        assert await store.held_bins(0, 4e9, 4e9, None, None) == []
        return
    await held_bins_match(store, holds)


async def held_bins_match(store: Store, holds: list[RunningHold]) -> None:
    """The store bins the running holds as core.tally.held_bins does: by the window of
    their creation, their queue and channel, at a moment before, within and after them."""
    middle = START.timestamp() + 86400
    queue, channel = holds[0].queue, holds[-1].channel
    since = sorted(h.since for h in holds)
    for start, end in ((0, 4e9), (middle, 4e9), (0, middle)):
        for q, ch in ((None, None), (queue, None), (None, channel)):
            for at in (since[0] - 5, since[len(since) // 2], since[-1] + 86400 * 40):
                chosen = [
                    h for h in holds if start <= h.created < end and q in (None, h.queue)
                    and ch in (None, h.channel)
                ]  # fmt: skip
                values: dict[str, list[float]] = {}
                for hold in chosen:
                    values.setdefault(hold.agent, []).append(held_at(hold, at))
                got = sorted(await store.held_bins(start, end, at, q, ch))
                expected = sorted(held_bins(values))
                where = (start, end, q, ch, at)
                assert [b[:3] for b in got] == [b[:3] for b in expected], where
                # a store sums a bin in its own order
                assert [b[3] for b in got] == pytest.approx([b[3] for b in expected]), where


def _read(cells: Cells, level: str, where: tuple[str | None, str | None]) -> Cells:
    """What `rollup` reads of one level: summed over queue and channel, the agents' cells of
    queue "*" unfiltered, else those of the queue or channel asked for."""
    out: Cells = {}
    for (lv, period, q, ch, agent, name), (n, total) in cells.items():
        if lv != level or where[0] not in (None, q) or where[1] not in (None, ch):
            continue
        if agent and (q == ANY) != (where == (None, None)):
            continue
        key = (lv, period, "", "", agent, name)
        n0, t0 = out.get(key, (0, 0.0))
        out[key] = (n0 + n, t0 + total)
    return out


def _kept(cells: Cells) -> dict[object, tuple[int, float]]:
    return {
        k: (n, round(t, 3))
        for k, (n, t) in cells.items()
        if n != 0 or not math.isclose(t, 0, abs_tol=1e-6)
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_cells_are_a_recount_of_the_record(store: Store, seed: int) -> None:
    await Workload(store, START, seed).run(160)
    await recount_matches(store)


async def test_the_cells_follow_the_calendar_they_are_set_to(store: Store) -> None:
    """Made again by New York's days and months (Sydney's, back to UTC's) from what they
    count, and kept by it as the record grows: a recount by that calendar each time."""
    assert await store.report_calendar() == UTC_CELLS
    await Workload(store, START, 5).run(80)
    new_york = Calendar.of("America/New_York")
    await store.set_report_calendar(new_york)
    assert await store.report_calendar() == new_york
    await recount_matches(store)
    await Workload(store, START + timedelta(days=3), 6).run(80)  # new tickets, by New York
    await recount_matches(store)
    day = new_york.day_of(START.timestamp() + 86400 * 3)
    local = await store.rollup([("d", day, 0, 1)], None, None, None, kinds=(VOLUME,))
    assert sum(n for *_, name, n, _ in local if name == "created") > 0
    for calendar in (Calendar.of("Australia/Sydney"), UTC_CELLS):
        await store.set_report_calendar(calendar)
        await recount_matches(store)


async def test_cells_split_by_queue_and_channel_add_up(store: Store) -> None:
    await Workload(store, START, 4).run(120)
    spans = [("m", datetime(2026, 3, 1, tzinfo=UTC).timestamp(), 0, 1),
             ("m", datetime(2026, 4, 1, tzinfo=UTC).timestamp(), 0, 1)]  # fmt: skip
    whole = await store.rollup(spans, None, None, None, kinds=(VOLUME,))
    split = await store.rollup(spans, "channel", None, None, kinds=(VOLUME,))
    created = sum(n for _, _, agent, name, n, _ in whole if name == "created" and not agent)
    assert created == sum(n for _, _, agent, name, n, _ in split if name == "created" and not agent)
    assert created > 0
    email = await store.rollup(spans, None, None, "email", kinds=(VOLUME,))
    assert sum(n for *_, name, n, _ in email if name == "created") == sum(
        n for _, key, agent, name, n, _ in split if key == "email" and name == "created"
    )
    day = datetime(2026, 3, 31, tzinfo=UTC).timestamp()
    less = [("d", day, 0, 1), ("h", day, 0, -1)]  # the day but its first hour
    hours = [("h", day + 3600 * n, 0, 1) for n in range(1, 24)]
    assert _nonzero(
        await store.rollup(less, None, None, None, kinds=(VOLUME, TICKETS, AGENTS))
    ) == _nonzero(await store.rollup(hours, None, None, None, kinds=(VOLUME, TICKETS, AGENTS)))


def _nonzero(rows: list[RollupRow]) -> dict[tuple[str, str], tuple[int, float]]:
    return {(agent, name): (n, round(t, 3)) for _, _, agent, name, n, t in rows if n}


async def test_purges_and_erasures_keep_the_counts(store: Store) -> None:
    """What they blank or delete moves no figure; an erasure's closing of live work is a
    change like any other, counted as the record says."""
    work = Workload(store, START, 5)
    await work.run(150)
    settled, other = await customers_of(store, work.tickets)
    for ticket_id in settled[1]:  # the first customer's live work done, before the counts
        await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), work.at)
    march = [("m", datetime(2026, 3, 1, tzinfo=UTC).timestamp(), 0, 1)]
    before = await store.rollup(march, None, None, None, kinds=(VOLUME, TICKETS, AGENTS))
    await store.purge_closed(work.at + timedelta(days=30), work.at + timedelta(days=30))
    erased = await store.erase_customer(settled[0], "admin", work.at + timedelta(days=31))
    assert erased.closed == ()
    after = await store.rollup(march, None, None, None, kinds=(VOLUME, TICKETS, AGENTS))
    assert sorted(before) == sorted(after)
    assert (await store.erase_customer(other, "admin", work.at + timedelta(days=31))).closed
    await recount_matches(store)


async def customers_of(store: Store, tickets: list[int]) -> tuple[tuple[int, list[int]], int]:
    """The first ticket's customer with their live tickets, and another customer with live
    work."""
    found = [await store.get_ticket(ticket_id) for ticket_id in tickets]
    first = found[0].customer_id
    live = [t.id for t in found if t.customer_id == first and t.status in ACTIVE_STATUSES]
    other = next(
        t.customer_id for t in found if t.customer_id != first and t.status in ACTIVE_STATUSES
    )
    return (first, live), other


async def test_changes_committed_together_keep_the_cells_right(store: Store) -> None:
    """Three workings at once on one store: SQLite's writer commits their changes in shared
    transactions (a ticket changed twice in one, a customer back after a resolution in the
    same one), whose tallies it writes at the end of each."""
    await asyncio.gather(*(Workload(store, START, 20 + n, f"g{n}").run(150) for n in range(3)))
    await recount_matches(store)


async def test_a_customer_back_in_the_commit_that_resolved_their_ticket_is_a_repeat(
    store: Store,
) -> None:
    """The resolution and the customer's next message submitted together: on SQLite one
    transaction, where the message must find the resolved tally that is not written yet."""
    sender, router = "email:back@x.org", RecordingRouter("general")
    made = await store.commit_inbound(
        inbound("b1", sender, channel="email", at=START), router, NO_WINDOW
    )
    ann = Actor.agent("ann")
    claim = TicketChange(status=Status.OPEN, assignee="ann", actor=ann)
    await store.update_ticket(made.ticket_id, claim, START + timedelta(minutes=1))
    resolve = TicketChange(status=Status.RESOLVED, actor=ann)
    back = inbound("b2", sender, channel="email", at=START + timedelta(minutes=20))
    await asyncio.gather(
        store.update_ticket(made.ticket_id, resolve, START + timedelta(minutes=10)),
        store.commit_inbound(back, router, NO_WINDOW),
    )
    await recount_matches(store)
    month = [("m", datetime(2026, 3, 1, tzinfo=UTC).timestamp(), 0, 1)]
    rows = await store.rollup(month, None, None, None, kinds=(VOLUME, TICKETS))
    assert sum(n for *_, name, n, _ in rows if name == "repeat") == 1


# Two hubs on one store in one process are a Redis setup: a SQLite file has one writer per
# process (hubs on one file are processes: tests/hub/test_workers.py).
@pytest.mark.parametrize("store_url", ["redis", "redis-cluster"], indirect=True)
async def test_two_hubs_writing_at_once_keep_the_cells_right(store: Store, store_url: str) -> None:
    other = open_store(store_url)
    await other.open()
    try:
        await asyncio.gather(
            Workload(store, START, 6, "a").run(120), Workload(other, START, 7, "b").run(120)
        )
    finally:
        await other.close()
    await recount_matches(store)


@pytest.mark.parametrize("store_url", ["redis", "redis-cluster"], indirect=True)
async def test_a_hub_learns_a_zone_set_after_it_opened(store: Store, store_url: str) -> None:
    """The hub that opened first knows UTC; another sets New York: the first one's next new
    tickets are counted in New York's days all the same."""
    await Workload(store, START, 8, "a").run(40)
    other = open_store(store_url)
    await other.open()
    try:
        await other.set_report_calendar(Calendar.of("America/New_York"))
    finally:
        await other.close()
    await Workload(store, START + timedelta(days=2), 9, "b").run(60)
    await recount_matches(store)


async def test_a_store_written_before_the_rollups_fills_them_from_the_record(
    store: Store, store_url: str
) -> None:
    """SQLite fills them in migration 21, Redis at the first open of a hub that keeps them."""
    await Workload(store, START, 8).run(120)
    replay = replayed(await whole_record(store), await store.report_calendar())
    await store.close()
    await forget_rollups(store_url, replay)
    await store.open()
    await recount_matches(store)
    march = [("m", datetime(2026, 3, 1, tzinfo=UTC).timestamp(), 0, 1)]
    assert await store.rollup(march, None, None, None, kinds=(VOLUME, TICKETS, AGENTS))


async def forget_rollups(url: str, replay: Replay) -> None:
    """Take the store back to before the rollups: no tallies, no cells."""
    if url.startswith("sqlite"):
        with committed(url) as db:
            undo_the_words_merge(db)
            undo_the_rollups_migration(db)
            db.execute("PRAGMA user_version = 16")
        return
    client = redis_client(url)
    keys = {"{ch}:rp", "{ch}:rh", "{ch}:rhz"} | {
        f"{{ch}}:r{kind_of(q, agent, name)}:{lv}:{p:.0f}"
        for lv, p, q, _, agent, name in replay.cells()
    }
    keys |= {f"{{ch}}:rr:{t.customer}" for t in replay.tallies.values()}
    try:
        assert await client.delete(*keys) >= 3
        await client.hdel("{ch}:ids", "rollups")
    finally:
        await client.aclose()


async def test_tallies_written_before_the_sla_clocks_were_kept_are_folded_again(
    store: Store, store_url: str
) -> None:
    """A store whose tallies and cells say only that a ticket breached some clock (SQLite
    before migration 21, Redis filled by version "1"): the next open folds the record again,
    and each clock's breaches are in the cells."""
    await Workload(store, START, 8, "old").run(150)
    await store.close()
    await forget_the_clocks(store_url)
    await store.open()
    assert await clock_cells(store) == 0
    await store.close()
    await mark_older(store_url)
    await store.open()
    assert await clock_cells(store) > 0
    await recount_matches(store)


async def clock_cells(store: Store) -> int:
    """Breaches counted per clock in March and April's cells."""
    months = [("m", datetime(2026, month, 1, tzinfo=UTC).timestamp(), 0, 1) for month in (3, 4)]
    rows = await store.rollup(months, None, None, None, kinds=(TICKETS,))
    return sum(n for *_, name, n, _ in rows if name.startswith("rm"))


async def forget_the_clocks(url: str) -> None:
    """Tallies without the clocks breached, and cells without their breaches, as an older
    version wrote them (the store's own mark of the version left as it is)."""
    if url.startswith("sqlite"):
        with committed(url) as db:
            for ticket_id, state in db.execute("SELECT ticket_id, state FROM report_tallies"):
                older = json.dumps(json.loads(state)[:13])
                db.execute(
                    "UPDATE report_tallies SET state = ? WHERE ticket_id = ?", (older, ticket_id)
                )
            db.execute("DELETE FROM report_cells WHERE name GLOB 'rm[fnpr]:*'")
        return
    client = redis_client(url)
    try:
        for ticket_id, state in (await client.hgetall("{ch}:rp")).items():
            tally = json.loads(state)
            tally.pop("mb", None)
            await client.hset("{ch}:rp", ticket_id, json.dumps(tally))
        async for key in client.scan_iter(match="{ch}:rt:*"):
            names = [str(f) for f in await client.hkeys(key)]  # decoded: decode_responses
            fields = [f for f in names if f.split("\t")[3].startswith("rm")]
            if fields:
                await client.hdel(key, *fields)
    finally:
        await client.aclose()


async def mark_older(url: str) -> None:
    """The store's mark of the version that wrote its rollups set back to the older one."""
    if url.startswith("sqlite"):
        with committed(url) as db:
            db.execute("PRAGMA user_version = 20")
        return
    client = redis_client(url)
    try:
        await client.hset("{ch}:ids", "rollups", "1")
    finally:
        await client.aclose()


@contextlib.contextmanager
def committed(url: str) -> Iterator[sqlite3.Connection]:
    """The SQLite store's file, its changes committed at the end."""
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        yield db
        db.commit()
    finally:
        db.close()


def redis_client(url: str) -> Redis | RedisCluster:
    cluster = url.startswith("redis+cluster://")
    plain = url.replace("redis+cluster://", "redis://")
    return (RedisCluster if cluster else Redis).from_url(plain, decode_responses=True)


@pytest.mark.parametrize("store_url", ["redis", "redis-cluster"], indirect=True)
async def test_a_hub_opening_while_another_fills_waits_for_it(store: Store, store_url: str) -> None:
    """Another hub's live claim of the fill: this one's open waits (committing nothing the
    fill could miscount) until the cells are filled, then opens without filling again."""
    await Workload(store, START, 8).run(40)
    client = redis_client(store_url)
    other = open_store(store_url)
    try:
        await client.hset("{ch}:ids", "rollups", "filling:99999999999.000:another-hub")
        other.rollups_poll = 0.05  # type: ignore[attr-defined]  # a Redis store's
        opening = asyncio.ensure_future(other.open())
        await asyncio.sleep(0.5)
        assert not opening.done()
        await client.hset("{ch}:ids", "rollups", "2")
        await asyncio.wait_for(opening, 5)
        await recount_matches(other)
    finally:
        await other.close()
        await client.aclose()


@pytest.mark.parametrize("store_url", ["redis", "redis-cluster"], indirect=True)
@pytest.mark.parametrize("claim", ["filling:1.000:a-hub-that-died", "filling"])
async def test_a_fill_whose_hub_died_is_taken_over(
    store: Store, store_url: str, claim: str
) -> None:
    """A lapsed claim, or an older hub's bare "filling": the next open fills the cells."""
    await Workload(store, START, 8).run(40)
    replay = replayed(await whole_record(store), await store.report_calendar())
    await store.close()
    await forget_rollups(store_url, replay)
    client = redis_client(store_url)
    try:
        await client.hset("{ch}:ids", "rollups", claim)
        await store.open()
        assert await client.hget("{ch}:ids", "rollups") == "2"
    finally:
        await client.aclose()
    await recount_matches(store)
