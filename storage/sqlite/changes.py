"""SQLite writes that change a ticket: agents' changes, claims, replies and notes.

Each is a writer job in the group commit's transaction (storage/sqlite/store.py): it reads
the ticket as it is, checks the change against it (core/workflow.py's moves, the change's
guards), writes, and records what changed, so no concurrent change is lost and every change
is on the record. Queue depths follow by the tickets' triggers (schema migration 10).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.deadlines import SlaMarks
from core.errors import (
    Conflict,
    HeldByOther,
    MoveRefused,
    NotFound,
    ReplyOnFinal,
    TicketFinal,
)
from core.json_text import dumps, loads
from core.model import (
    UNASSIGN,
    Direction,
    Message,
    Priority,
    Status,
    Ticket,
    TicketChange,
    Via,
)
from core.record import SYSTEM, Actor, Detail, EventKind, TicketEvent
from core.workflow import allowed_moves, is_final, may_move
from storage.sqlite import search
from storage.sqlite.deadlines import still_based, write_marks
from storage.sqlite.load import load
from storage.sqlite.queries import get_ticket
from storage.sqlite.record import record
from storage.sqlite.rows import MESSAGE_COLUMNS, WAITING, dt, message_from_row, ts

Events = list[tuple[EventKind, dict[str, Detail]]]


@dataclass(frozen=True, slots=True)
class _State:
    """What a change may touch, as the ticket is in the transaction."""

    status: Status
    priority: Priority
    queue: str
    assignee: str | None
    tags: tuple[str, ...]
    channel: str


def _state(db: sqlite3.Connection, ticket_id: int) -> _State:
    row = db.execute(
        "SELECT status, priority, queue, assignee, tags, channel FROM tickets WHERE id = ?",
        (ticket_id,),
    ).fetchone()
    if row is None:
        raise NotFound("ticket", ticket_id)
    status, priority, queue, assignee, tags, channel = row
    return _State(Status(status), Priority(priority), queue, assignee, tuple(loads(tags)), channel)


def update_ticket(
    db: sqlite3.Connection,
    ticket_id: int,
    change: TicketChange,
    now: datetime,
    assigned_detail: Mapping[str, Detail] | None = None,
) -> Ticket:
    """`assigned_detail` joins the `assigned` event's detail (an accepted offer's)."""
    before = _state(db, ticket_id)
    events = field_events(before, change)
    _check(ticket_id, before, change, events)
    if change.once:
        _check_once(db, ticket_id, change)
    based = still_based(db, ticket_id, change.sla)
    _apply(db, ticket_id, change, events, ts(now), assigned_detail or {})
    wrote = change.cause is not None or events
    if based and wrote and change.sla is not None:
        write_marks(db, ticket_id, change.sla)
    return get_ticket(db, ticket_id)


def _check_once(db: sqlite3.Connection, ticket_id: int, change: TicketChange) -> None:
    if change.cause is None:
        return
    detail = change.cause.detail
    row = db.execute(
        "SELECT seq FROM ticket_events WHERE ticket_id = ? AND kind = ? "
        "AND json_extract(detail, '$.metric') IS ? AND json_extract(detail, '$.key') IS ?",
        (ticket_id, change.cause.kind, detail.get("metric"), detail.get("key")),
    ).fetchone()
    if row is not None:
        raise Conflict(f"ticket {ticket_id}: {change.cause.kind} is on the record already")


def _check(ticket_id: int, before: _State, change: TicketChange, events: Events) -> None:
    if change.holder is not None and before.assignee not in (None, change.holder):
        raise HeldByOther(ticket_id, before.assignee)
    if change.in_queue is not None and before.queue != change.in_queue:
        raise Conflict(
            f"ticket {ticket_id} is in {before.queue} now, no longer in {change.in_queue}"
        )
    if change.status is not None and not may_move(before.status, change.status):
        allowed = tuple(map(str, allowed_moves(before.status)))
        raise MoveRefused(ticket_id, before.status, change.status, allowed)
    # A clock's act (`once`) is recorded on a ticket closed after its deadline; nothing else.
    acts = change.cause is not None and not change.once
    if is_final(before.status) and (acts or events):
        raise TicketFinal(ticket_id, before.status)


def field_events(before: _State, change: TicketChange) -> Events:
    """One event per field the change moves, in TicketChange's order of the fields."""
    events: Events = []
    moves: tuple[tuple[EventKind, Detail, Detail], ...] = (
        (EventKind.STATUS, before.status, change.status),
        (EventKind.PRIORITY, before.priority, change.priority),
        (EventKind.QUEUE, before.queue, change.queue),
        (EventKind.TAGS, before.tags, change.tags),
    )
    for kind, old, new in moves:
        if new is not None and new != old:
            events.append((kind, {"from": old, "to": new}))
    if change.assignee is not None and (change.assignee or None) != before.assignee:
        kind = EventKind.UNASSIGNED if change.assignee == UNASSIGN else EventKind.ASSIGNED
        events.append((kind, {"from": before.assignee, "to": change.assignee or None}))
    return events


_COLUMNS = {
    EventKind.STATUS: "status",
    EventKind.PRIORITY: "priority",
    EventKind.QUEUE: "queue",
    EventKind.TAGS: "tags",
    EventKind.ASSIGNED: "assignee",
    EventKind.UNASSIGNED: "assignee",
}


def _apply(
    db: sqlite3.Connection,
    ticket_id: int,
    change: TicketChange,
    events: Events,
    at: float,
    assigned_detail: Mapping[str, Detail],
) -> None:
    """Write the fields that change (`events`: field_events of the change) and record them,
    after the change's cause, if any."""
    if change.cause is not None:
        record(db, ticket_id, change.cause.kind, change.actor, at, change.cause.detail)
    if not events:
        return
    sets: list[str] = ["updated_at = ?"]
    args: list[object] = [at]
    for kind, detail in events:
        value = detail["to"]
        sets.append(f"{_COLUMNS[kind]} = ?")
        args.append(dumps(value) if kind is EventKind.TAGS else value)
        if kind is EventKind.PRIORITY:
            sets.append("priority_rank = ?")
            args.append(Priority(str(value)).rank)
        elif kind is EventKind.STATUS:
            sets.append("resolved_at = ?")
            args.append(at if value in (Status.RESOLVED, Status.CLOSED) else None)
    db.execute(f"UPDATE tickets SET {', '.join(sets)} WHERE id = ?", [*args, ticket_id])  # noqa: S608  # our column names; values bound
    for kind, detail in events:
        extra = assigned_detail if kind is EventKind.ASSIGNED else {}
        record(db, ticket_id, kind, change.actor, at, {**detail, **extra})


NEXT_WAITING = (
    f"SELECT t.id, t.status, t.channel FROM tickets t WHERE t.queue = ? AND {WAITING} "  # noqa: S608  # our SQL
    "AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.ticket_id = t.id AND o.state = 'open') "
    "AND (? IS NULL OR t.id = ?) "
    "ORDER BY t.priority_rank DESC, t.created_at, t.id LIMIT 1"
)
"""The claim's pick, first in the tickets_waiting index (its WHERE is the index's) that is
on offer to nobody."""


def claim_next(
    db: sqlite3.Connection, queue: str, assignee: str, now: datetime, ticket_id: int | None
) -> Ticket | None:
    row = db.execute(NEXT_WAITING, (queue, ticket_id, ticket_id)).fetchone()
    if row is None:
        return None
    found, status, channel = row
    capacity = db.execute("SELECT capacity FROM agents WHERE name = ?", (assignee,)).fetchone()
    if capacity is not None:
        if load(db, assignee).get(channel, 0) >= loads(capacity[0]).get(channel, 0):
            return None
        db.execute("UPDATE agents SET last_assigned_at = ? WHERE name = ?", (ts(now), assignee))
    opened = Status.OPEN if status == Status.NEW else None
    change = TicketChange(status=opened, assignee=assignee, actor=Actor.agent(assignee))
    return update_ticket(db, found, change, now)


def append_outbound(  # noqa: PLR0913, PLR0917  # the Store method's, by the writer
    db: sqlite3.Connection,
    ticket_id: int,
    body: str,
    author: str,
    now: datetime,
    via: Via | None,
    sla: SlaMarks | None = None,
) -> Message:
    """The message, its words (an agent's; an automatic message's are not searched), and its
    event: an agent's reply is `reply_out` (a new ticket then opens; a closed one refuses it),
    an automatic message `acknowledged` (the system's; the ticket stays as it is). The first
    response is set when a provider accepts a reply (storage/sqlite/outbound.py)."""
    via = via or Via()
    before = _state(db, ticket_id)
    if not via.automatic and is_final(before.status):
        raise ReplyOnFinal(ticket_id, before.status)
    based = still_based(db, ticket_id, sla)
    at = ts(now)
    cursor = db.execute(
        "INSERT INTO messages (ticket_id, direction, channel, event, body, author, "
        "delivery, meta, at) VALUES (?, ?, ?, 'message', ?, ?, ?, ?, ?)",
        (ticket_id, Direction.OUTBOUND, via.channel or before.channel, body, author,
         via.delivery, dumps({"automatic": via.automatic}) if via.automatic else "{}", at),
    )  # fmt: skip
    message_id = int(cursor.lastrowid or 0)
    if not via.automatic:  # an acknowledgement's template would match every ticket it went to
        search.index_message(db, message_id, body)
    if via.automatic:
        detail: dict[str, Detail] = {"message_id": message_id, "automatic": via.automatic}
        record(db, ticket_id, EventKind.ACKNOWLEDGED, SYSTEM, at, detail)
    else:
        _replied(db, ticket_id, before, message_id, Actor.agent(author) if author else SYSTEM, at)
        if based and sla is not None:
            write_marks(db, ticket_id, sla)
    row = db.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608  # our column constants; values bound
        (message_id,),
    ).fetchone()
    return message_from_row(row)


def _replied(
    db: sqlite3.Connection, ticket_id: int, before: _State, message_id: int, actor: Actor, at: float
) -> None:
    """An agent's reply on the ticket and its record; an answered new ticket is being worked."""
    db.execute("UPDATE tickets SET updated_at = ? WHERE id = ?", (at, ticket_id))
    record(db, ticket_id, EventKind.REPLY_OUT, actor, at, {"message_id": message_id})
    if before.status is Status.NEW:
        opened = TicketChange(status=Status.OPEN, actor=actor)
        _apply(db, ticket_id, opened, field_events(before, opened), at, {})


def add_note(
    db: sqlite3.Connection, ticket_id: int, body: str, actor: Actor, now: datetime
) -> TicketEvent:
    _state(db, ticket_id)  # NotFound before any write
    detail: dict[str, Detail] = {"body": body}
    seq = record(db, ticket_id, EventKind.NOTE, actor, ts(now), detail)
    return TicketEvent(seq, ticket_id, EventKind.NOTE, actor, dt(ts(now)), detail)
