"""The event feed's parts on a real store: a frame is the record API's event, a stream takes
everything waiting at once, and a steady flow reaches many streams in few batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import HubError
from core.model import ThreadPolicy, TicketChange
from core.record import Actor, ActorKind, EventKind, TicketEvent
from hub.api.event_wire import change_frame
from hub.api.feed import PACE, PACE_LIMIT, Batch, Change, Depths, Feed, Subscription, change
from hub.api.views import event_json
from storage.base import Store, open_store
from tests.support import RecordingRouter, inbound

AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "event",
    [
        TicketEvent(7, 3, EventKind.NOTE, Actor.agent("ann"), AT, {"body": 'a "quoted" é\n€'}),
        TicketEvent(8, 3, EventKind.TAGS, Actor(ActorKind.SYSTEM), AT, {"tags": ("vip", "x")}),
        TicketEvent(9, 4, EventKind.CREATED, Actor.by_rule("billing words"), AT, {"rule": None}),
        TicketEvent(10, 4, EventKind.ASSIGNED, Actor.agent("bo"), AT, {"from": None, "to": "bo"}),
    ],
    ids=["note-unicode", "tags-list", "created", "assigned"],
)
@pytest.mark.parametrize(("queue", "assignee"), [("billing", None), (None, 'zoë "z"')])
def test_a_frame_carries_the_record_apis_event_and_where_its_ticket_is(
    event: TicketEvent, queue: str | None, assignee: str | None
) -> None:
    lines = change_frame(event, queue, assignee).decode("utf-8").split("\n")
    assert lines[0] == f"id: {event.seq}"
    assert lines[1].startswith("event: ")
    assert lines[3:] == ["", ""]  # one data line, then the blank line that ends the event
    data = json.loads(lines[2].removeprefix("data: "))
    expected = {**event_json(event), "ticket_id": event.ticket_id}
    assert data == json.loads(json.dumps({**expected, "queue": queue, "assignee": assignee}))


async def test_a_stream_takes_everything_waiting_and_counts_what_overflowed() -> None:
    inbox = Subscription(size=2)
    loop = asyncio.get_running_loop()
    assert await inbox.take(loop.time() + 0.05) == []  # nothing came: the wait ends
    first, second = Depths(()), Batch.of([])
    for item in (first, second, Depths(())):
        inbox.offer(item)
    assert await inbox.take(loop.time() + 5) == [first, second]
    assert inbox.lost == 1
    waiting = asyncio.create_task(inbox.take(loop.time() + 5))
    await asyncio.sleep(0.01)
    inbox.offer(None)  # the feed closes: a waiting stream wakes and ends
    assert await waiting == []
    assert inbox.ended


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    await opened.open()
    yield opened
    await opened.close()


async def test_a_steady_flow_reaches_many_streams_in_few_batches(store: Store) -> None:
    """1,000 streams: the feed reads once a pace at most (its limit, 50 ms, with so many), so
    300 notes committed one by one arrive in a batch per pace (not one per note), and every
    stream gets them all."""
    ticket = await store.commit_inbound(inbound("m1"), RecordingRouter("q"), _NO_WINDOW)
    feed = Feed(store)
    with contextlib.ExitStack() as subscribed:
        inboxes = [subscribed.enter_context(feed.subscribe()) for _ in range(1000)]
        await _following(feed)
        started = asyncio.get_running_loop().time()
        for n in range(300):
            await store.add_note(ticket.ticket_id, f"n{n}", Actor.agent("ann"), AT)
            await asyncio.sleep(0.0015)
        batches = await _batches_until(inboxes[0], ticket.ticket_id, 300)
        elapsed = asyncio.get_running_loop().time() - started
    await feed.close()
    assert sum(len(batch.changes) for batch in batches) == 300
    assert len(batches) <= elapsed / min(PACE_LIMIT, 1000 * PACE) + 2 < 300
    assert all(not inbox.lost for inbox in inboxes)


async def _batches_until(inbox: Subscription, ticket_id: int, notes: int) -> list[Batch]:
    batches: list[Batch] = []
    deadline = asyncio.get_running_loop().time() + 10
    while sum(len(b.changes) for b in batches) < notes:
        items = await inbox.take(deadline)
        assert items, "the feed stopped short of the notes"
        batches += [item for item in items if isinstance(item, Batch)]
    assert {change.event.ticket_id for b in batches for change in b.changes} == {ticket_id}
    return batches


_NO_WINDOW = ThreadPolicy({}, timedelta(0))


def test_a_batch_is_filtered_once_for_every_stream_with_the_same_filter() -> None:
    notes = [TicketEvent(n, n, EventKind.NOTE, Actor.agent("ann"), AT, {}) for n in (1, 2, 3)]
    moved = TicketEvent(4, 1, EventKind.QUEUE, Actor.agent("ann"), AT, {"from": "b", "to": "a"})
    changes = [change(e, (q, None)) for e, q in zip([*notes, moved], "abaa", strict=True)]
    batch = Batch.of(changes)
    asked: list[int] = []

    def in_b(passing: Change) -> bool:
        asked.append(passing.event.seq)
        return "b" in passing.queues

    joined = batch.passed("queue=b", in_b)
    assert joined == changes[1].frame + changes[3].frame  # in b, and the move out of b
    assert batch.passed("queue=b", in_b) is joined  # the next stream with it: no work
    assert asked == [1, 2, 3, 4]
    assert changes[3].queues == ("a", "b")


async def test_a_catch_up_within_the_kept_events_reads_no_store(store: Store) -> None:
    """The feed keeps what it published: replaying it needs no store (closed here), while a
    replay from before what it keeps still reads the store."""
    ticket = await store.commit_inbound(inbound("m1"), RecordingRouter("q"), _NO_WINDOW)
    feed = Feed(store)
    with feed.subscribe() as inbox:
        await _following(feed)  # started after the ticket's events
        for n in range(5):
            await store.add_note(ticket.ticket_id, f"n{n}", Actor.agent("ann"), AT)
        batches = await _batches_until(inbox, ticket.ticket_id, 5)
        published = [change for batch in batches for change in batch.changes]
        first = published[0].event.seq
        await store.close()
        kept = [change async for change in feed.replay(first)]
        assert [c.event.seq for c in kept] == list(range(first + 1, first + 5))
        assert kept == published[1:]
        assert all(a is b for a, b in zip(kept, published[1:], strict=True))  # frames made once
        between = [change.event.seq async for change in feed.replay(first, first + 3)]
        assert between == [first + 1, first + 2]
        with pytest.raises(HubError):
            [change async for change in feed.replay(first - 2)]  # the ticket's own: stored only
    await feed.close()


async def test_a_feed_nobody_follows_stops_and_starts_afresh(store: Store) -> None:
    """The last stream gone, the feed stops reading after its linger; the next stream starts
    it again, and a resume from before the stop reads what was committed meanwhile from the
    store (the feed kept nothing across it), with no gap and no repeat."""
    ticket = await store.commit_inbound(inbound("m1"), RecordingRouter("q"), _NO_WINDOW)
    feed = Feed(store, linger=0.2)
    ann = Actor.agent("ann")
    with feed.subscribe() as inbox:
        await _following(feed)
        await store.add_note(ticket.ticket_id, "n0", ann, AT)
        first = (await _batches_until(inbox, ticket.ticket_id, 1))[0].changes[0].event.seq
    for _ in range(100):  # the linger, and the feed's wait for events (at most IDLE_WAIT)
        if not _running(feed):
            break
        await asyncio.sleep(0.1)
    assert not _running(feed)
    for n in range(1, 4):
        await store.add_note(ticket.ticket_id, f"n{n}", ann, AT)  # nobody follows
    with feed.subscribe() as inbox:
        assert _running(feed)
        missed = [change.event.seq async for change in feed.replay(first)]
        assert missed == [first + 1, first + 2, first + 3]
        await _following(feed)
        await store.add_note(ticket.ticket_id, "n4", ann, AT)
        batches = await _batches_until(inbox, ticket.ticket_id, 1)
        assert [c.event.seq for b in batches for c in b.changes] == [first + 4]
    await feed.close()


def _running(feed: Feed) -> bool:
    return feed.running


async def _following(feed: Feed) -> None:
    """Wait until the feed has read where the record ends: a fixed sleep was too short on a
    loaded machine (CI's run at dd0fa83 committed notes before the feed's start, which the
    test's inbox then never got)."""
    for _ in range(1000):
        if feed.following:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the feed did not start")


async def test_a_restarted_feed_places_the_tickets_it_meets_first(store: Store) -> None:
    """The tickets were made and moved before this feed (a hub restarted): the first batch
    carries each one's queue and assignee as the store has them, read in one go; a ticket
    made within the batch is placed by its own `created`."""
    router = RecordingRouter("billing")
    old = [(await store.commit_inbound(inbound(f"o{n}", f"email:o{n}@example.com"), router,
                                       _NO_WINDOW)).ticket_id for n in range(40)]  # fmt: skip
    for ticket_id in old[::2]:
        await store.update_ticket(ticket_id, TicketChange(queue="vip", assignee="bo"), AT)
    feed = Feed(store)
    with feed.subscribe() as inbox:
        await _following(feed)  # started: what comes now is new to it
        for ticket_id in old:
            await store.add_note(ticket_id, "seen again", Actor.agent("ann"), AT)
        made = await store.commit_inbound(inbound("new", "email:new@example.com"), router,
                                          _NO_WINDOW)  # fmt: skip
        changes = [c for b in await _batches_until_seq(inbox, made.message_id) for c in b.changes]
    await feed.close()
    placed = {c.event.ticket_id: (c.queue, c.assignee) for c in changes}
    assert placed == {
        **{t: ("vip", "bo") if n % 2 == 0 else ("billing", None) for n, t in enumerate(old)},
        made.ticket_id: ("billing", None),
    }
    assert [c.event.kind for c in changes if c.event.ticket_id == made.ticket_id] == [
        EventKind.CREATED, EventKind.MESSAGE_IN,
    ]  # fmt: skip


async def _batches_until_seq(inbox: Subscription, message_id: int) -> list[Batch]:
    """The batches until one carries the message `message_id`'s event."""
    batches: list[Batch] = []
    deadline = asyncio.get_running_loop().time() + 10
    while not any(
        c.event.detail.get("message_id") == message_id for b in batches for c in b.changes
    ):
        items = await inbox.take(deadline)
        assert items, "the feed stopped short"
        batches += [item for item in items if isinstance(item, Batch)]
    return batches
