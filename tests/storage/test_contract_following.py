"""The Store contract for following the record: the newest sequence number, a time range as a
range of sequence numbers, and waiting for the next commit, on every backend."""

from __future__ import annotations

import asyncio
import time

from core.record import Actor
from storage.base import Store, open_store
from tests.storage.test_contract_record import DAY_WINDOW
from tests.support import T0, RecordingRouter, inbound, later

ANN = Actor.agent("ann")


async def test_the_newest_sequence_number_follows_every_commit(store: Store) -> None:
    assert await store.last_event_seq() == 0
    result = await store.commit_inbound(inbound("m1"), RecordingRouter(), DAY_WINDOW)
    assert await store.last_event_seq() == 2  # created, message_in
    await store.add_note(result.ticket_id, "n", ANN, later(1))
    assert await store.last_event_seq() == 3


async def test_a_time_is_the_number_of_the_last_event_before_it(store: Store) -> None:
    assert await store.event_seq_at(T0) == 0
    ticket = (await store.commit_inbound(inbound("m1"), RecordingRouter(), DAY_WINDOW)).ticket_id
    for minute in range(1, 8):
        await store.add_note(ticket, f"n{minute}", ANN, later(minute))  # seq 2 + minute
    assert await store.event_seq_at(later(-1)) == 0
    assert await store.event_seq_at(T0) == 0
    assert await store.event_seq_at(later(0.5)) == 2
    assert await store.event_seq_at(later(3)) == 4
    assert await store.event_seq_at(later(3.5)) == 5
    assert await store.event_seq_at(later(60)) == 9
    after = await store.events_after(await store.event_seq_at(later(5)), 2)
    assert [(e.seq, e.at) for e in after] == [(7, later(5)), (8, later(6))]


async def test_a_waiter_wakes_when_an_event_commits(store: Store) -> None:
    waiting = asyncio.create_task(store.wait_for_events(0, 10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    started = time.monotonic()
    await store.commit_inbound(inbound("m1"), RecordingRouter(), DAY_WINDOW)
    await asyncio.wait_for(waiting, 3)
    assert time.monotonic() - started < 1.5


async def test_a_waiter_returns_at_once_when_events_are_there_and_else_at_the_timeout(
    store: Store,
) -> None:
    await store.commit_inbound(inbound("m1"), RecordingRouter(), DAY_WINDOW)
    await asyncio.wait_for(store.wait_for_events(1, 10), 1)
    started = time.monotonic()
    await store.wait_for_events(2, 0.3)
    assert time.monotonic() - started < 2


async def test_a_waiter_wakes_for_a_commit_of_another_client(store: Store, store_url: str) -> None:
    """Another hub on Redis; on SQLite, another writer of the file (a worker of `serve
    --workers`), whose commits this store's writer never sees: within a poll, not the
    waiter's whole 10 s."""
    other = open_store(store_url)
    await other.open()
    try:
        waiting = asyncio.create_task(store.wait_for_events(0, 10))
        await asyncio.sleep(0.2)
        await other.commit_inbound(inbound("m1"), RecordingRouter(), DAY_WINDOW)
        await asyncio.wait_for(waiting, 3)
    finally:
        await other.close()
