"""SLA deadlines on SQLite: one table, claimed in the writer's transaction (so no two hubs
get one while its lease lasts) and finished only if unchanged since it was claimed.

`fire_at` is when a deadline may next be claimed: its due time, then the end of the lease
of whoever claimed it (a hub that dies holding one lets it go when the lease ends)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from core.deadlines import AT_RISK, Deadline, SlaMarks
from core.errors import NotFound
from storage.marks import marks_json
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

_RUNNING_AT_RISK = "{0}.sla_standing = 'at_risk' AND ({0}.status = 'new' OR {0}.status = 'open')"
MARKS_MIGRATION = f"""
ALTER TABLE tickets ADD COLUMN sla_standing TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN sla_marks TEXT;
ALTER TABLE queue_depths ADD COLUMN at_risk INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tickets_sla ON tickets(sla_standing, id)
    WHERE sla_standing != '' AND (status = 'new' OR status = 'open');
CREATE TRIGGER tickets_sla_at_risk AFTER UPDATE OF sla_standing, status, queue ON tickets
    WHEN ({_RUNNING_AT_RISK.format("OLD")}) IS NOT ({_RUNNING_AT_RISK.format("NEW")})
        OR OLD.queue IS NOT NEW.queue
BEGIN
    UPDATE queue_depths SET at_risk = at_risk - 1
        WHERE queue = OLD.queue AND {_RUNNING_AT_RISK.format("OLD")};
    INSERT INTO queue_depths (queue, waiting, open, at_risk)
        SELECT NEW.queue, 0, 0, 1 WHERE {_RUNNING_AT_RISK.format("NEW")}
        ON CONFLICT (queue) DO UPDATE SET at_risk = at_risk + 1;
END;
"""  # noqa: S608  # our SQL
"""Each ticket's SLA marks (storage/marks.py) and standing, its index for the listings (only
running tickets: a paused or solved one stands nowhere, whatever its last marks said), and
the count of running tickets at risk per queue beside the depths, moved by a trigger."""

STANDING = "sla_standing = ? AND (status = 'new' OR status = 'open')"
"""The listing's clause, the index's WHERE repeated so SQLite uses it."""


def newest_event(db: sqlite3.Connection, ticket_id: int) -> int:
    row = db.execute(
        "SELECT max(seq) FROM ticket_events WHERE ticket_id = ?", (ticket_id,)
    ).fetchone()
    return int(row[0] or 0)


def still_based(db: sqlite3.Connection, ticket_id: int, marks: SlaMarks | None) -> bool:
    """Whether marks may be written: computed from the record as it still is."""
    if marks is None:
        return False
    return marks.basis is None or newest_event(db, ticket_id) == marks.basis


def set_sla(db: sqlite3.Connection, ticket_id: int, marks: SlaMarks) -> bool:
    if not still_based(db, ticket_id, marks):
        if db.execute("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)).fetchone() is None:
            raise NotFound("ticket", ticket_id)
        return False
    write_marks(db, ticket_id, marks)
    return True


def write_marks(db: sqlite3.Connection, ticket_id: int, marks: SlaMarks) -> None:
    cursor = db.execute(
        "UPDATE tickets SET sla_standing = ?, sla_marks = ? WHERE id = ?",
        (marks.standing, marks_json(marks), ticket_id),
    )
    if cursor.rowcount == 0:
        raise NotFound("ticket", ticket_id)
    set_deadlines(db, ticket_id, marks.deadlines)


def count_new(db: sqlite3.Connection, queue: str, marks: SlaMarks | None) -> None:
    """A new ticket at risk from its first moment (a contact that waited long to reach us)
    is counted here: the trigger counts only updates."""
    if marks is not None and marks.standing == AT_RISK:
        db.execute("UPDATE queue_depths SET at_risk = at_risk + 1 WHERE queue = ?", (queue,))


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
