"""The tickets' record on SQLite: the `ticket_events` table (schema migration 10).

Each append also folds its events into the reports' rollups (storage/sqlite/tally.py), in
the same transaction.

Every write function appends its events with `record`, on the writer's connection inside the
transaction of the change it records, so the change and its events commit together or not at
all. The sequence is the table's AUTOINCREMENT key: the writer is the only one, and a batch
that rolls back gives its numbers back, so committed events are numbered without a gap.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping

from core.errors import NotFound
from core.json_text import dumps, loads
from core.record import Actor, Detail, EventKind, TicketEvent
from storage.sqlite import tally
from storage.sqlite.rows import Row, dt

EVENT_COLUMNS = "seq, ticket_id, kind, actor, at, detail"


def record(
    db: sqlite3.Connection,
    ticket_id: int,
    kind: EventKind,
    actor: Actor,
    at: float,
    detail: Mapping[str, Detail] | None = None,
) -> int:
    """Append one event to the ticket's record; returns its sequence number."""
    cursor = db.execute(
        "INSERT INTO ticket_events (ticket_id, kind, actor, at, detail) VALUES (?, ?, ?, ?, ?)",
        (ticket_id, kind, str(actor), at, _detail_json(detail)),
    )
    tally.fold(db, ticket_id, [(kind, actor, at, detail or {})])
    return int(cursor.lastrowid or 0)


Event = tuple[EventKind, Actor, Mapping[str, Detail]]
"""An event to append: its kind, actor and detail."""


def record_all(db: sqlite3.Connection, ticket_id: int, at: float, events: list[Event]) -> None:
    """Append events of one ticket and one moment in this order, in one statement."""
    db.executemany(
        "INSERT INTO ticket_events (ticket_id, kind, actor, at, detail) VALUES (?, ?, ?, ?, ?)",
        [(ticket_id, kind, str(actor), at, _detail_json(detail)) for kind, actor, detail in events],
    )
    tally.fold(db, ticket_id, [(kind, actor, at, detail) for kind, actor, detail in events])


def _detail_json(detail: Mapping[str, Detail] | None) -> str:
    return dumps(dict(detail)) if detail else "{}"


def ticket_events(db: sqlite3.Connection, ticket_id: int) -> list[TicketEvent]:
    """The ticket's record; a purged ticket's stays (core/retention.py)."""
    rows = db.execute(
        f"SELECT {EVENT_COLUMNS} FROM ticket_events WHERE ticket_id = ? ORDER BY seq",  # noqa: S608  # our column constants; values bound
        (ticket_id,),
    ).fetchall()
    if not rows:  # every ticket's record starts with `created`
        raise NotFound("ticket", ticket_id)
    return [event_from_row(row) for row in rows]


def events_after(db: sqlite3.Connection, seq: int, limit: int) -> list[TicketEvent]:
    rows = db.execute(
        f"SELECT {EVENT_COLUMNS} FROM ticket_events WHERE seq > ? ORDER BY seq LIMIT ?",  # noqa: S608  # our column constants; values bound
        (seq, limit),
    ).fetchall()
    return [event_from_row(row) for row in rows]


def last_event_seq(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT coalesce(max(seq), 0) FROM ticket_events").fetchone()[0])


def event_seq_at(db: sqlite3.Connection, at: float) -> int:
    """The seq of the last event stamped before `at`: a binary search over the key (events are
    numbered in commit order and stamped with the hub's clock, so times increase with seqs)."""
    low, high = 1, last_event_seq(db) + 1
    while low < high:  # the first seq stamped at or after `at` is in [low, high]
        middle = (low + high) // 2
        row = db.execute(
            "SELECT at FROM ticket_events WHERE seq >= ? ORDER BY seq LIMIT 1", (middle,)
        ).fetchone()
        if row is not None and row[0] < at:
            low = middle + 1
        else:
            high = middle
    return low - 1


def event_from_row(row: Row) -> TicketEvent:
    seq, ticket_id, kind, actor, at, detail = row
    return TicketEvent(
        seq, ticket_id, _KINDS[kind], _actor(actor), dt(at), detail_from_json(detail)
    )


_KINDS = {str(kind): kind for kind in EventKind}  # a dict look-up: reports read millions


@functools.lru_cache(maxsize=4096)
def _actor(text: str) -> Actor:
    return Actor.parse(text)  # few actors, many events: the frozen Actor is shared


def detail_from_json(text: str) -> dict[str, Detail]:
    """A detail as JSON gives it back: lists (tags) as tuples."""
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in loads(text).items()
    }
