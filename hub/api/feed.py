"""The hub's one reader of the record, fanning each committed event out to the event streams.

One task per hub follows the store while a stream is open, and a minute after the last one
ends (`Store.wait_for_events`: SQLite's writer wakes it after a
commit, Redis's XREAD BLOCK when any hub commits), reads what was committed, notes where each
ticket now is (its queue and assignee, for the streams' filters) and hands the batch to every
subscriber's inbox, then the depths of the queues the batch moved. In a steady flow it reads
at most once a pace (longer the more streams are open), so a batch carries many events. A
subscriber whose inbox is full loses the batch: it sees the gap in the sequence and reads the
missed events from the store itself, so a slow client never slows the others and never misses
an event.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field

import structlog

from core.errors import HubError
from core.model import QueueStats
from core.record import EventKind, TicketEvent
from hub.api.event_wire import change_frame
from hub.background import stop
from storage.base import Store

log = structlog.get_logger("contacthub.events")

PAGE = 500
"""Events read from the store at a time."""
IDLE_WAIT = 1.0
"""Seconds the feed waits for a wake-up before it reads anyway: another process writing one
SQLite file does not wake this one."""
PACE = 0.0001
"""Seconds between the feed's reads for each open stream, up to `PACE_LIMIT`: in a steady
flow the feed reads at most once a pace, so each stream wakes and writes once for many
events rather than once for every few (200 streams: a read every 20 ms); the first event
after a quiet spell goes out at once. A stream's write costs ~20 µs (aiohttp's chunk and a
send), and in a steady flow the streams write at most 1/PACE times a second in all,
whatever their number: 10,000 here. At 20 µs a pace the hub spent ~15 % more CPU at
1,000-2,000 events/s to 200 streams (bench/events_bench.py)."""
PACE_LIMIT = 0.05
RECENT = 10_000
"""Events whose changes (and frames) the feed keeps for streams that catch up: a client that
resumes within them, or whose inbox overflowed, reads no store and encodes nothing again."""
INBOX_SIZE = 256
"""Batches a subscriber may have waiting before it loses one (and reads it back itself)."""
PLACES = 50_000
"""Tickets whose queue and assignee the feed remembers."""
LINGER = 60.0
"""Seconds the feed reads on after its last stream ends (a client reconnecting finds it
running), then stops: a hub nobody watches decodes no events."""
MOVES_DEPTH = frozenset(
    {EventKind.CREATED, EventKind.STATUS, EventKind.QUEUE, EventKind.ASSIGNED, EventKind.UNASSIGNED}
)


Where = tuple[str | None, str | None]
"""A ticket's queue and assignee as the feed knows them (None: not known, or nobody)."""
_NOWHERE: Where = (None, None)


@dataclass(frozen=True, slots=True)
class Change:
    """A committed event, where its ticket is after it, the queues it concerns (its ticket's,
    and the one a move left) and its frame on the wire: made once for every stream."""

    event: TicketEvent
    queue: str | None
    assignee: str | None
    frame: bytes
    queues: tuple[str, ...]


def change(event: TicketEvent, place: Where) -> Change:
    queue, assignee = place
    queues: tuple[str, ...] = (queue,) if queue else ()
    left = event.detail.get("from") if event.kind is EventKind.QUEUE else None
    if isinstance(left, str) and left not in queues:
        queues += (left,)
    return Change(event, queue, assignee, change_frame(event, queue, assignee), queues)


@dataclass(frozen=True, slots=True)
class Depths:
    """The depth counters of the queues a batch moved (no sequence number: a snapshot)."""

    queues: tuple[QueueStats, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    """Changes committed one after another (consecutive numbers), and their frames joined:
    a stream that passes all of them sends `frames` as they are, a filtered one what
    `passed` joined once for every stream with its filter."""

    changes: tuple[Change, ...]
    frames: bytes
    _passed: dict[Hashable, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, changes: Sequence[Change]) -> Batch:
        return cls(tuple(changes), b"".join(change.frame for change in changes))

    def passed(self, key: Hashable, admits: Callable[[Change], bool]) -> bytes:
        """The frames of the changes `admits` passes, joined; worked out once per `key` (the
        filter), however many streams share it."""
        joined = self._passed.get(key)
        if joined is None:
            joined = b"".join(change.frame for change in self.changes if admits(change))
            self._passed[key] = joined
        return joined


Item = Batch | Depths


class Places:
    """Where tickets are (queue, assignee), followed from the events and read from the store
    for a ticket not seen since the hub started: the tickets a batch meets first in one read
    (`Store.ticket_places`), not a whole ticket each (after a restart on a busy desk the
    feed's first batches meet hundreds, and read one at a time they held every stream back
    for half a second)."""

    def __init__(self, store: Store, size: int = PLACES) -> None:
        self._store = store
        self._size = size
        self._known: OrderedDict[int, Where] = OrderedDict()

    async def follow(self, events: Sequence[TicketEvent]) -> list[Change]:
        """The live feed's step: each event's change, with its ticket's place after it (the
        places remembered)."""
        places = await self._read(events, made_here=True)
        changes = []
        for event in events:
            place = moved(event, places.get(event.ticket_id, _NOWHERE))
            places[event.ticket_id] = place
            self._remember(event.ticket_id, place)
            changes.append(change(event, place))
        return changes

    async def replayed(self, events: Sequence[TicketEvent]) -> list[Change]:
        """Older events read back for one client: each placed from the event itself when it
        says, else where its ticket is now (the remembered places stay the live ones)."""
        places = await self._read(events, made_here=False)
        return [change(e, moved(e, places.get(e.ticket_id, _NOWHERE))) for e in events]

    async def _read(self, events: Sequence[TicketEvent], *, made_here: bool) -> dict[int, Where]:
        """Where the tickets the events touch are: remembered, or read from the store in one
        go. `made_here`: a ticket whose first event here is its `created` needs no reading
        (the events that follow it are applied in order)."""
        places: dict[int, Where] = {}
        met: set[int] = set()
        unknown: list[int] = []
        for event in events:
            ticket_id = event.ticket_id
            if ticket_id in met:
                continue
            met.add(ticket_id)
            place = self._known.get(ticket_id)
            if place is not None:
                places[ticket_id] = place
            elif not (made_here and event.kind is EventKind.CREATED):
                unknown.append(ticket_id)
        if unknown:
            for ticket_id, place in (await self._store.ticket_places(unknown)).items():
                places[ticket_id] = place
                self._remember(ticket_id, place)  # a replay of an old ticket reads it once
        return places

    def _remember(self, ticket_id: int, place: Where) -> None:
        self._known[ticket_id] = place
        self._known.move_to_end(ticket_id)
        while len(self._known) > self._size:
            self._known.popitem(last=False)


def moved(event: TicketEvent, place: Where) -> Where:
    """A ticket's (queue, assignee) after `event`, from where it was."""
    queue, assignee = place
    detail = event.detail
    if event.kind is EventKind.CREATED:
        return (_text(detail.get("queue")), None)
    if event.kind is EventKind.QUEUE:
        return (_text(detail.get("to")), assignee)
    if event.kind in (EventKind.ASSIGNED, EventKind.UNASSIGNED):
        return (queue, _text(detail.get("to")))
    return place


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Subscription:
    """One stream's inbox: what the feed published since the stream last took it.

    A list and one future, not an `asyncio.Queue`: a stream takes everything waiting in one
    wake-up (and writes it in one send), and waiting costs no task or timeout object per
    batch, which with hundreds of streams is most of a batch's cost."""

    def __init__(self, size: int = INBOX_SIZE) -> None:
        self._size = size
        self._items: list[Item] = []
        self._wake: asyncio.Future[None] | None = None
        self.ended = False
        self.lost = 0

    def offer(self, item: Item | None) -> None:
        """Publish `item` to the stream (None: the feed is closing)."""
        if item is None:
            self.ended = True
        elif len(self._items) < self._size:
            self._items.append(item)
        else:
            self.lost += 1  # the client reads the gap back from the store
        self._ring()

    async def take(self, until: float) -> list[Item]:
        """Everything waiting, oldest first; waits for some until the loop's time `until`
        (then the list may be empty)."""
        if not self._items and not self.ended:
            loop = asyncio.get_running_loop()
            self._wake = loop.create_future()
            timer = loop.call_at(until, self._ring)
            try:
                await self._wake
            finally:
                timer.cancel()
                self._wake = None
        items, self._items = self._items, []
        return items

    def _ring(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)


class Feed:
    """The hub's reader of the record, started by the first subscriber."""

    def __init__(self, store: Store, linger: float = LINGER) -> None:
        self.store = store
        self.places = Places(store)
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._recent: list[Change] = []
        self._read_at = 0.0
        self._behind = False
        self._linger = linger
        self._alone_since: float | None = None
        self._after: int | None = None
        self.closed = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def following(self) -> bool:
        """Whether the running feed has read where the record ended when it started: what
        is committed from then on reaches every inbox (before, it may be behind the start, and
        a stream sees it as a gap it reads back itself)."""
        return self.running and self._after is not None

    @contextlib.contextmanager
    def subscribe(self, size: int = INBOX_SIZE) -> Iterator[Subscription]:
        """An inbox of `size` batches that receives every batch committed from now on, while
        the block runs."""
        subscription = Subscription(size)
        self._subscribers.add(subscription)
        self._alone_since = None
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="event-feed")
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)
            if not self._subscribers:
                self._alone_since = asyncio.get_running_loop().time()

    async def close(self) -> None:
        """Stop reading and tell every stream to end (the app is shutting down)."""
        self.closed = True
        for subscription in list(self._subscribers):
            subscription.offer(None)
        if self._task is not None:
            await stop([self._task])  # cancelled until it ends (hub/background.py says why)

    async def _run(self) -> None:
        last = self._after = await self._start()
        while not self._idle():
            try:
                last = await self._step(last)
            except HubError as exc:  # storage away: the streams wait, then it goes on
                log.warning("event_feed_failed", error=str(exc))
                await asyncio.sleep(IDLE_WAIT)

    def _idle(self) -> bool:
        """Whether no stream has been open for `linger` seconds; then the feed forgets what
        it kept (the next one starts afresh from the store: what was committed meanwhile
        is not in the kept changes, and the tickets' places may have moved)."""
        alone = self._alone_since
        if self._subscribers or alone is None:
            return False
        if asyncio.get_running_loop().time() - alone < self._linger:
            return False
        self._recent, self.places, self._alone_since = [], Places(self.store), None
        self._after = None
        return True

    async def _start(self) -> int:
        while True:
            try:
                return await self.store.last_event_seq()
            except HubError as exc:
                log.warning("event_feed_failed", error=str(exc))
                await asyncio.sleep(IDLE_WAIT)

    async def _step(self, last: int) -> int:
        await self._pace()
        events = await self.store.events_after(last, PAGE)
        self._behind = len(events) == PAGE  # more wait: read on at once
        if not events:
            await self.store.wait_for_events(last, IDLE_WAIT)
            return last
        changes = await self.places.follow(events)
        self._keep(changes)  # before publishing: a stream that sees a gap finds it here
        self._publish(Batch.of(changes))
        depths = await self._depths(changes)
        if depths.queues:
            self._publish(depths)
        return events[-1].seq

    async def _pace(self) -> None:
        """Wait until a pace has passed since the last read (none after a full page)."""
        loop = asyncio.get_running_loop()
        pace = 0.0 if self._behind else min(PACE_LIMIT, PACE * len(self._subscribers))
        wait = self._read_at + pace - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._read_at = loop.time()

    def _publish(self, batch: Item) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(batch)

    async def _depths(self, changes: Sequence[Change]) -> Depths:
        names: dict[str, None] = {}
        for change in changes:
            if change.event.kind in MOVES_DEPTH:
                names.update(dict.fromkeys(change.queues))
        return Depths(tuple([await self.store.queue_depth(name) for name in names]))

    def _keep(self, changes: list[Change]) -> None:
        self._recent += changes
        if len(self._recent) > 2 * RECENT:  # trimmed now and then, not at every batch
            del self._recent[:-RECENT]

    def _recent_after(self, after: int) -> list[Change] | None:
        """The kept changes numbered above `after`, if the kept ones reach back to it."""
        recent = self._recent
        if not recent or recent[0].event.seq > after + 1:
            return None
        return recent[bisect.bisect_right(recent, after, key=_seq) :]

    async def replay(self, after: int, before: int | None = None) -> AsyncIterator[Change]:
        """The events numbered above `after` (and below `before`): the kept ones when they
        reach back that far (newer ones are published to the stream's inbox, which was open
        before it asked), else read from the store."""
        recent = self._recent_after(after)
        if recent is not None:
            for n, change in enumerate(recent, 1):
                if before is not None and change.event.seq >= before:
                    return
                yield change
                if n % PAGE == 0:
                    await asyncio.sleep(0)  # a page at a time, as from the store: others run
            return
        while before is None or after < before - 1:
            events = await self.store.events_after(after, PAGE)
            for replayed in await self.places.replayed(events):
                if before is not None and replayed.event.seq >= before:
                    return
                yield replayed
            if not events:
                return
            after = events[-1].seq


def _seq(change: Change) -> int:
    return change.event.seq
