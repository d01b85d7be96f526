"""SQLite reads, and the writes that change no ticket: synchronous functions of a connection.
(The ingest is storage/sqlite/ingest.py; changes of tickets storage/sqlite/changes.py.)

Reads run on reader threads inside a deferred transaction (one consistent snapshot); writes
run one after the other on the event loop's thread, inside the transaction of a group commit
(when one fails, the batch is rolled back and each runs again alone: no effects outside SQL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from core.errors import NotFound, RulesChanged
from core.model import (
    Page,
    Place,
    QueueStats,
    Replay,
    RulesVersion,
    Ticket,
    TicketFilter,
    cursor_id,
)
from storage.sqlite import search
from storage.sqlite.deadlines import STANDING
from storage.sqlite.rows import (
    INBOUND_COLUMNS,
    MESSAGE_COLUMNS,
    TICKET_COLUMNS,
    WAITING,
    Row,
    dt,
    inbound_from_row,
    message_from_row,
    ticket_from_row,
    ts,
)

_PRESSING = (
    f"SELECT {TICKET_COLUMNS} FROM tickets WHERE queue = ? AND {WAITING} "  # noqa: S608  # our constants
    "ORDER BY priority_rank DESC, created_at, id LIMIT ?"
)
"""A queue's waiting tickets in the order of the tickets_waiting index (schema migration 14)."""


def waiting_tickets(db: sqlite3.Connection, queue: str, limit: int) -> list[Ticket]:
    return [ticket_from_row(row) for row in db.execute(_PRESSING, (queue, limit))]


def get_ticket(db: sqlite3.Connection, ticket_id: int) -> Ticket:
    row = db.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()  # noqa: S608  # our column constants; values bound
    if row is None:
        raise NotFound("ticket", ticket_id)
    messages = db.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE ticket_id = ? ORDER BY id",  # noqa: S608  # our column constants; values bound
        (ticket_id,),
    ).fetchall()
    return ticket_from_row(row, tuple(message_from_row(m) for m in messages))


def ticket_places(db: sqlite3.Connection, ticket_ids: Sequence[int]) -> dict[int, Place]:
    """Each ticket's queue and assignee, a few hundred ids to a statement."""
    places: dict[int, Place] = {}
    ids = list(dict.fromkeys(ticket_ids))
    for at in range(0, len(ids), _IDS_AT_ONCE):
        chunk = ids[at : at + _IDS_AT_ONCE]
        rows = db.execute(
            f"SELECT id, queue, assignee FROM tickets WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608  # only "?" marks
            chunk,
        )
        places.update((ticket_id, (queue, assignee)) for ticket_id, queue, assignee in rows)
    return places


_IDS_AT_ONCE = 500


def list_tickets(
    db: sqlite3.Connection, where: TicketFilter, limit: int, cursor: str | None
) -> Page[Ticket]:
    clauses, args = _ticket_clauses(where)
    if cursor is not None:
        clauses.append("id < ?")
        args.append(cursor_id(cursor))
    sql = f"SELECT {TICKET_COLUMNS} FROM tickets"  # noqa: S608  # columns and clauses are ours
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = db.execute(f"{sql} ORDER BY id DESC LIMIT ?", [*args, limit + 1]).fetchall()
    items = tuple(ticket_from_row(row) for row in rows[:limit])
    return Page(items, str(items[-1].id) if len(rows) > limit else None)


def _ticket_clauses(where: TicketFilter) -> tuple[list[str], list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    for column, value in (
        ("queue", where.queue),
        ("status", where.status),
        ("customer_id", where.customer_id),
        ("channel", where.channel),
        ("assignee", where.assignee or None),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if where.assignee == "":
        clauses.append("assignee IS NULL")
    if where.sla is not None:
        clauses.append(STANDING)
        args.append(where.sla)
    if where.ids is not None:
        clauses.append("id IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(where.ids))
    for word in where.words:
        clause, word_args = search.match_clause(word)
        clauses.append(clause)
        args += word_args
    return clauses, args


_DEPTHS = (
    "SELECT d.queue, d.waiting, d.open, d.at_risk, (SELECT min(created_at) FROM tickets "  # noqa: S608  # our SQL
    f"WHERE queue = d.queue AND {WAITING}) FROM queue_depths d"
)
QUEUE_STATS = f"{_DEPTHS} WHERE d.open > 0 ORDER BY d.queue"
QUEUE_DEPTH = f"{_DEPTHS} WHERE d.queue = ?"
"""The counters (schema migrations 6, 10, 14 and 15), and the oldest waiting ticket from its index
(whose WHERE the query repeats, so SQLite may use it)."""


def queue_stats(db: sqlite3.Connection) -> list[QueueStats]:
    return [_depth(row) for row in db.execute(QUEUE_STATS).fetchall()]


def queue_depth(db: sqlite3.Connection, queue: str) -> QueueStats:
    row = db.execute(QUEUE_DEPTH, (queue,)).fetchone()
    return QueueStats(queue, 0, 0, None) if row is None else _depth(row)


def _depth(row: Row) -> QueueStats:
    name, waiting, total, at_risk, oldest = row
    oldest_at = None if oldest is None else dt(oldest)
    return QueueStats(name, int(waiting), int(total), oldest_at, int(at_risk))


def save_rules(
    db: sqlite3.Connection, source: str, author: str, now: datetime, expected: int | None
) -> RulesVersion:
    """In the writer's transaction: the check of the newest version and the insert are one
    step, whichever process writes the file next."""
    if expected is not None:
        (newest,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM rules_versions").fetchone()
        if newest != expected:
            raise RulesChanged(expected, int(newest))
    cursor = db.execute(
        "INSERT INTO rules_versions (source, author, created_at) VALUES (?, ?, ?)",
        (source, author, ts(now)),
    )
    return RulesVersion(int(cursor.lastrowid or 0), source, author, now)


def current_rules(db: sqlite3.Connection) -> RulesVersion | None:
    history = rules_history(db, 1)
    return history[0] if history else None


def rules_history(db: sqlite3.Connection, limit: int) -> list[RulesVersion]:
    rows = db.execute(
        "SELECT id, source, author, created_at FROM rules_versions ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [RulesVersion(row[0], row[1], row[2], dt(row[3])) for row in rows]


def replay(db: sqlite3.Connection, limit: int, cursor: str | None) -> Page[Replay]:
    """Tickets (oldest first) with the first contact that made each, as the router saw it."""
    after = 0 if cursor is None else cursor_id(cursor)
    rows = db.execute(
        f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608  # our column constants; values bound
        (after, limit + 1),
    ).fetchall()
    items = []
    for row in rows[:limit]:
        ticket = ticket_from_row(row)
        first = db.execute(
            f"SELECT {INBOUND_COLUMNS} FROM messages WHERE ticket_id = ? "  # noqa: S608  # our column constants; values bound
            "AND direction = 'inbound' ORDER BY id LIMIT 1",
            (ticket.id,),
        ).fetchone()
        if first is not None:
            items.append(Replay(ticket.id, ticket.queue, ticket.route, inbound_from_row(first)))
    return Page(tuple(items), str(rows[limit - 1][0]) if len(rows) > limit else None)
