"""`GET /api/events`: the record as a server-sent-events stream, resumable without a gap.

Each committed event is sent with its sequence number as `id:`, its name (hub/api/
event_wire.py's `EVENT_NAMES`) as `event:` and JSON as `data:`. A client that reconnects with
`Last-Event-ID` (the header a browser's EventSource sends, or `?last_event_id=`) first gets
everything after it from the store, then the live events from the hub's feed (hub/api/
feed.py), each once: the stream remembers the last number it passed and reads any gap back
from the store. A client further behind than `StreamSettings.replay_limit` events (or ahead
of the store: another store, a reset one) gets a `resync` event naming where the stream goes
on, never a silent gap. Filters: `queue` (the ticket's queue, or the one it left) and
`assignee` (`me`: the token's name). Queue depths (`queue.depth`) are snapshots of counters:
sent for every queue when the stream opens and for the queues a batch moved, without an id
(they are not replayed). A comment every `heartbeat` seconds keeps proxies from closing an
idle stream. What a batch brings a client goes out in one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from core.model import QueueStats
from core.record import EventKind
from hub.api.auth import REQUEST_TOKEN
from hub.api.event_wire import depth_json, frame
from hub.api.feed import INBOX_SIZE, Batch, Change, Depths, Feed, Subscription
from hub.desk.queues import known_queue
from hub.params import query_params, whole_number
from hub.state import CLOCK, ROUTER, STORE

STREAM_PARAMS = ("queue", "assignee", "last_event_id")
FLUSH_FRAMES = 256
"""Frames gathered before a write while a client catches up."""


@dataclass(frozen=True, slots=True)
class StreamSettings:
    heartbeat: float = 15.0
    """Seconds between comments on an idle stream (and presence keep-alives)."""
    replay_limit: int = 100_000
    """The retention window: how many events a reconnecting client may be behind."""
    retry_ms: int = 2000
    """How long a browser waits before it reconnects (the `retry:` field)."""
    inbox_size: int = INBOX_SIZE
    """Batches of the feed a stream may have waiting before it loses one (and reads it back
    from the store)."""


KeepAlive = Callable[[str], Awaitable[None]]
FEED = web.AppKey("event_feed", Feed)
STREAM_SETTINGS = web.AppKey("event_stream_settings", StreamSettings)
KEEP_PRESENCE_ALIVE: web.AppKey[KeepAlive] = web.AppKey("keep_presence_alive")
"""The hook an open stream calls with its agent's name when it opens and at every heartbeat:
presence (the agents' work) sets it to keep the agent online while their stream is."""


def add_event_routes(api: web.Application, feed: Feed) -> None:
    """Mount `GET /events` on the API, its feed stopped when the app shuts down."""
    api[FEED] = feed

    async def close(_app: web.Application) -> None:
        await feed.close()

    api.on_shutdown.append(close)
    api.add_routes([web.get("/events", stream_events)])


@dataclass(frozen=True, slots=True)
class StreamFilter:
    queue: str | None = None
    assignee: str | None = None

    @property
    def everything(self) -> bool:
        return self.queue is None and self.assignee is None

    def admits(self, change: Change) -> bool:
        if self.queue is not None and self.queue not in change.queues:
            return False
        if self.assignee is None or change.assignee == self.assignee:
            return True
        kind, detail = change.event.kind, change.event.detail
        moved = kind in (EventKind.ASSIGNED, EventKind.UNASSIGNED)
        return moved and self.assignee in (detail.get("from"), detail.get("to"))


async def stream_events(request: web.Request) -> web.StreamResponse:
    """The stream (see the module's docstring); 400 for an unknown parameter or an id that
    is no whole number, 404 for a queue nobody has (hub/desk/queues.py)."""
    params = query_params(request, STREAM_PARAMS)
    name = request[REQUEST_TOKEN].name
    assignee = params.get("assignee") or None
    where = StreamFilter(params.get("queue") or None, name if assignee == "me" else assignee)
    if where.queue is not None:  # a typo would stream nothing, forever
        await known_queue(
            request.config_dict[STORE], request.config_dict[ROUTER].queues, where.queue
        )
    resume = _resume(request, params)
    settings = request.config_dict.get(STREAM_SETTINGS, StreamSettings())
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx would hold the events back
        }
    )
    stream = EventStream(request, response, where, settings)
    keep_alive = request.config_dict.get(KEEP_PRESENCE_ALIVE)
    try:
        with stream.feed.subscribe(settings.inbox_size) as subscription:
            latest = await stream.feed.store.last_event_seq()  # "now", before the client hears 200
            await response.prepare(request)
            await stream.begin(resume, latest)
            await stream.follow(subscription, lambda: _keep(keep_alive, name))
    except ConnectionResetError:
        pass  # the client went away; it resumes with the last id it got
    return response


def _resume(request: web.Request, params: Mapping[str, str]) -> int | None:
    raw = request.headers.get("Last-Event-ID", params.get("last_event_id"))
    if raw is None or raw.strip() == "":
        return None
    return whole_number(raw.strip(), "Last-Event-ID")


async def _keep(keep_alive: KeepAlive | None, name: str) -> None:
    if keep_alive is not None:
        await keep_alive(name)


class EventStream:
    """One client's stream: the last number passed, the filter, the writes."""

    def __init__(
        self,
        request: web.Request,
        response: web.StreamResponse,
        where: StreamFilter,
        settings: StreamSettings,
    ) -> None:
        self.feed = request.config_dict[FEED]
        self._clock = request.config_dict[CLOCK]
        self._response = response
        self._where = where
        self._settings = settings
        self._out: list[bytes] = []
        self.sent = 0

    async def begin(self, resume: int | None, latest: int) -> None:
        """Where the stream starts (after `resume`, else after `latest`), the queues as they
        are, then what was missed."""
        self._out.append(f"retry: {self._settings.retry_ms}\n\n".encode())
        self.sent = latest if resume is None else resume
        if resume is not None and not latest - self._settings.replay_limit <= resume <= latest:
            self._resync(resume, latest)
            self.sent = latest
        self._depths(await self.feed.store.queue_stats())
        await self._catch_up(None)
        await self._flush()

    async def follow(
        self, subscription: Subscription, keep_alive: Callable[[], Awaitable[None]]
    ) -> None:
        """Pass the feed's batches on until the client leaves or the hub stops: what waits at
        a wake-up goes out in one write, with a heartbeat when one is due."""
        await keep_alive()
        loop = asyncio.get_running_loop()
        beat = loop.time() + self._settings.heartbeat
        lost = subscription.lost
        while not subscription.ended:
            for item in await subscription.take(beat):
                await self._take(item)
            if subscription.lost != lost:  # batches were dropped: read them back
                lost = subscription.lost
                await self._catch_up(None)
            due = loop.time() >= beat
            if due:
                self._out.append(b": heartbeat\n\n")
            await self._flush()
            if due:
                await keep_alive()
                beat = loop.time() + self._settings.heartbeat

    async def _take(self, item: Batch | Depths) -> None:
        if isinstance(item, Depths):
            self._depths(item.queues)
        elif item.changes[0].event.seq == self.sent + 1:  # in step: one append for the batch
            where = self._where
            self._out.append(item.frames if where.everything else item.passed(where, where.admits))
            self.sent = item.changes[-1].event.seq
        else:
            for change in item.changes:
                await self._pass(change)

    async def _pass(self, change: Change) -> None:
        seq = change.event.seq
        if seq <= self.sent:
            return
        if seq > self.sent + 1:
            await self._catch_up(seq)
        self._send(change)

    async def _catch_up(self, before: int | None) -> None:
        async for change in self.feed.replay(self.sent, before):
            self._send(change)
            if len(self._out) >= FLUSH_FRAMES:
                await self._flush()

    def _send(self, change: Change) -> None:
        self.sent = change.event.seq
        if self._where.admits(change):
            self._out.append(change.frame)

    def _resync(self, resume: int, latest: int) -> None:
        data = {"last_event_id": resume, "resume_from": latest, "reason": _why(resume, latest)}
        self._out.append(frame("resync", data, latest))

    def _depths(self, queues: Sequence[QueueStats]) -> None:
        now = self._clock()
        for stats in queues:
            if self._where.queue in (None, stats.name):
                self._out.append(frame("queue.depth", depth_json(stats, now)))

    async def _flush(self) -> None:
        """Everything gathered, in one write (a batch of events costs a client one send)."""
        if self._out:
            chunk, self._out = b"".join(self._out), []
            await self._response.write(chunk)


def _why(resume: int, latest: int) -> str:
    if resume > latest:
        return "the id is ahead of this hub's record (another or a reset store)"
    return "the id is older than the retention window; read the state again"
