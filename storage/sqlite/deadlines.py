"""SLA deadlines on SQLite: one table, claimed in the writer's transaction (so no two hubs
get one while its lease lasts) and finished only if unchanged since it was claimed.

`fire_at` is when a deadline may next be claimed: its due time, then the end of the lease
of whoever claimed it (a hub that dies holding one lets it go when the lease ends)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from core.deadlines import Deadline
from storage.sqlite.rows import dt

MIGRATION = """
CREATE TABLE sla_deadlines (
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    metric      TEXT NOT NULL,
    kind        TEXT NOT NULL,             -- warning | breach
    key         TEXT NOT NULL,             -- the clock's instance
    due         REAL NOT NULL,
    fire_at     REAL NOT NULL,             -- due, then the end of a claim's lease
    PRIMARY KEY (ticket_id, metric, kind)
) WITHOUT ROWID;
CREATE INDEX sla_deadlines_fire ON sla_deadlines(fire_at);
"""
"""The SQLite migration of the deadlines (15 in main's numbering; see schema.py)."""


def set_deadlines(db: sqlite3.Connection, ticket_id: int, deadlines: Sequence[Deadline]) -> None:
    """Replace the ticket's deadlines; one unchanged keeps its lease (it may be in hand)."""
    slots = [(d.metric, d.kind) for d in deadlines]
    kept = db.execute(
        "SELECT metric, kind FROM sla_deadlines WHERE ticket_id = ?", (ticket_id,)
    ).fetchall()
    gone = [(ticket_id, m, k) for m, k in kept if (m, k) not in slots]
    db.executemany(
        "DELETE FROM sla_deadlines WHERE ticket_id = ? AND metric = ? AND kind = ?", gone
    )
    db.executemany(
        "INSERT INTO sla_deadlines (ticket_id, metric, kind, key, due, fire_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id, metric, kind) DO UPDATE SET "
        "fire_at = CASE WHEN key = excluded.key AND due = excluded.due THEN fire_at "
        "ELSE excluded.fire_at END, key = excluded.key, due = excluded.due",
        [
            (ticket_id, d.metric, d.kind, d.key, d.due.timestamp(), d.due.timestamp())
            for d in deadlines
        ],
    )


def claim_deadlines(db: sqlite3.Connection, now: float, until: float, limit: int) -> list[Deadline]:
    """The deadlines whose time has come, oldest first, leased until `until`."""
    rows = db.execute(
        "SELECT ticket_id, metric, kind, key, due FROM sla_deadlines "
        "WHERE fire_at <= ? ORDER BY fire_at LIMIT ?",
        (now, limit),
    ).fetchall()
    db.executemany(
        "UPDATE sla_deadlines SET fire_at = ? WHERE ticket_id = ? AND metric = ? AND kind = ?",
        [(until, t, m, k) for t, m, k, _, _ in rows],
    )
    return [Deadline(t, m, k, key, dt(due)) for t, m, k, key, due in rows]


def finish_deadline(db: sqlite3.Connection, deadline: Deadline) -> None:
    """Drop a deadline acted on, unless it was replaced since it was claimed."""
    db.execute(
        "DELETE FROM sla_deadlines WHERE ticket_id = ? AND metric = ? AND kind = ? "
        "AND key = ? AND abs(due - ?) < 0.001",  # the due time went through a datetime
        (
            deadline.ticket_id, deadline.metric, deadline.kind, deadline.key,
            deadline.due.timestamp(),
        ),
    )  # fmt: skip
