"""Changes of tickets and their record on Redis: a mixin of `RedisStore`.

A change (core.model.TicketChange) is one call of lua/update.lua, which checks it against
the ticket as it is (the status move, the guards), applies it and records one event per field
it moved, all in the one script; a claim is lua/claim.lua. The script is told the workflow's
rules (core/workflow.py) by this side, so they are written once. The record: every writing
script appends its events with common.lua's `record` (to the ticket's list `{ch}:t:<id>:ev`,
and an entry pointing at it to the stream `{ch}:events`, ID "<seq>-1"); lua/events.lua
reads them back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.errors import (
    Conflict,
    HeldByOther,
    MoveRefused,
    NotFinal,
    NotFound,
    StorageUnavailable,
    TicketFinal,
)
from core.json_text import loads
from core.model import Status, Ticket, TicketChange
from core.periods import Calendar
from core.record import Actor, Detail, EventKind, TicketEvent
from core.workflow import FINAL_STATUSES, allowed_moves, movable_to
from storage.redis.live import Making
from storage.redis.options import translated
from storage.redis.rows import report_cells, sla_json, ticket_from_reply, ts
from storage.sqlite.rows import dt

ZONE_ROUNDS = 3
"""Tries of a follow-up whose script found the report zone changed (`contacthub reports
zone`, rarely twice in a row): each refused one wrote nothing."""


class RedisTickets:
    """update_ticket, claim_next, follow-ups, notes and the record's reads on Redis."""

    @property
    def _live(self) -> Making:
        raise NotImplementedError  # RedisStore's open connection

    @translated
    async def update_ticket(self, ticket_id: int, change: TicketChange, now: datetime) -> Ticket:
        reply = await self._live.scripts.run(
            "update", ticket_id, ts(now), change_json(change), sla_json(change.sla)
        )
        if reply is None:
            raise NotFound("ticket", ticket_id)
        refusal(ticket_id, change, reply)
        return ticket_from_reply(reply)

    @translated
    async def claim_next(
        self, queue: str, assignee: str, now: datetime, ticket_id: int | None = None
    ) -> Ticket | None:
        wanted = "" if ticket_id is None else ticket_id
        reply = await self._live.scripts.run("claim", queue, assignee, ts(now), wanted)
        return None if reply is None else ticket_from_reply(reply)

    @translated
    async def open_follow_up(self, ticket_id: int, agent: str, now: datetime) -> Ticket:
        hub = self._live.ingest
        for _ in range(ZONE_ROUNDS):
            follow = follow_up_json(ticket_id, agent, now, hub.calendar)
            reply = await self._live.scripts.run("follow_up", ticket_id, agent, ts(now), follow)
            if reply is None:
                raise NotFound("ticket", ticket_id)
            if reply[0] == "zone":  # changed since this hub read it: nothing written
                hub.calendar = Calendar(reply[1])  # checked when it was set
            elif reply[0] == "live":
                raise NotFinal(ticket_id, reply[1])
            else:
                return ticket_from_reply(reply)
        raise StorageUnavailable("the report zone kept changing during a follow-up; retry")

    @translated
    async def add_note(self, ticket_id: int, body: str, actor: Actor, now: datetime) -> TicketEvent:
        seq = await self._live.scripts.run("note", ticket_id, ts(now), str(actor), body)
        if seq is None:
            raise NotFound("ticket", ticket_id)
        return TicketEvent(int(seq), ticket_id, EventKind.NOTE, actor, now, {"body": body})

    @translated
    async def ticket_events(self, ticket_id: int) -> list[TicketEvent]:
        events = await self._live.scripts.run("events", "ticket", ticket_id)
        if events is None:
            raise NotFound("ticket", ticket_id)
        return [event_from_json(ticket_id, text) for text in events]

    @translated
    async def events_after(self, seq: int, limit: int = 500) -> list[TicketEvent]:
        events = await self._live.scripts.run("events", "after", seq, limit)
        return [event_from_json(int(ticket_id), text) for ticket_id, text in events]


def change_json(change: TicketChange) -> str:
    """The change as lua/update.lua reads it: what is None is left out."""
    data: dict[str, object] = {
        "actor": str(change.actor),
        "status": change.status,
        "movable": None if change.status is None else movable_to(change.status),
        "priority": change.priority,
        "queue": change.queue,
        "assignee": change.assignee,
        "tags": None if change.tags is None else json.dumps(change.tags),
        "holder": change.holder,
        "in_queue": change.in_queue,
        "once": change.once or None,
        "final": FINAL_STATUSES,
    }
    if change.cause is not None:
        data["cause"] = {"kind": change.cause.kind, "detail": dict(change.cause.detail)}
    return json.dumps({name: value for name, value in data.items() if value is not None})


def follow_up_json(ticket_id: int, agent: str, now: datetime, calendar: Calendar) -> str:
    """What lua/follow_up.lua is told besides the ticket, the agent and the time."""
    why = [f"a follow-up of #{ticket_id} by {agent}"]
    return json.dumps({"why": why, "final": FINAL_STATUSES, **report_cells(calendar, now)})


def refusal(ticket_id: int, change: TicketChange, reply: Sequence[Any]) -> None:
    """Raise what the script's refusal says; nothing when it applied the change."""
    what = reply[0]
    if what == "held":
        raise HeldByOther(ticket_id, reply[1])
    if what == "moved":
        raise Conflict(f"ticket {ticket_id} is in {reply[1]} now, no longer in {change.in_queue}")
    if what == "recorded":
        raise Conflict(f"ticket {ticket_id}: {reply[1]} is on the record already")
    if what == "final":
        raise TicketFinal(ticket_id, reply[1])
    if what == "refused":
        current = Status(reply[1])
        allowed = tuple(map(str, allowed_moves(current)))
        raise MoveRefused(ticket_id, current, str(change.status), allowed)


_LONG_NAMES = {"seq": "s", "kind": "k", "actor": "a", "at": "t", "detail": "d"}
"""An event's fields as hubs before lua/common.lua's one-letter names wrote them."""


def event_from_json(ticket_id: int, text: str) -> TicketEvent:
    """An event as its ticket's list keeps it (the list names the ticket)."""
    data = _decode(text)
    if "s" not in data:
        data = {_LONG_NAMES.get(name, name): value for name, value in data.items()}
    detail: dict[str, Detail] = {key: _detail(value) for key, value in data["d"].items()}
    return TicketEvent(
        data["s"], ticket_id, _KINDS[data["k"]], _actor(data["a"]),
        dt(float(data["t"])), detail,
    )  # fmt: skip


_KINDS = {str(kind): kind for kind in EventKind}  # a dict look-up: reports read millions
_decode = loads  # orjson: a third of the stdlib's time on the events' short texts


@functools.lru_cache(maxsize=4096)
def _actor(text: str) -> Actor:
    return Actor.parse(text)  # few actors, many events: the frozen Actor is shared


def _detail(value: Any) -> Detail:
    """Lua has one table for lists and objects, and writes an empty one as {}: only a list
    (tags) can be empty in a detail."""
    if isinstance(value, list | dict):
        return tuple(value)
    return value  # type: ignore[no-any-return]  # JSON scalars are Detail's scalars
