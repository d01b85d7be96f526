"""SQLite operations of the dialer: outbound agents' ready flags, and do-not-call removals.

Each runs inside one writer (or reader) transaction; the writer runs jobs one after the
other, so taking an agent for a dial (ready, and free since its last dial ended or timed
out) is one conditional UPDATE that two dials never both win.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.campaigns import DoNotCallRemoval
from core.dialer import DialerAgent
from core.errors import NotFound
from storage.sqlite.rows import Row, dt, opt_dt, ts

AGENT_COLUMNS = "name, campaign_id, endpoint, ready, updated_at, busy_until"


def _agent_from_row(row: Row) -> DialerAgent:
    name, campaign_id, endpoint, ready, updated, busy = row
    return DialerAgent(name, campaign_id, endpoint, bool(ready), dt(updated), opt_dt(busy))


def put_agent(  # one entry, all its fields (positional: the writer passes them so)
    db: sqlite3.Connection,
    name: str,
    campaign_id: int,
    endpoint: str,
    now: datetime,
    ready: bool,  # passed positionally through the writer
) -> DialerAgent:
    if db.execute("SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,)).fetchone() is None:
        raise NotFound("campaign", campaign_id)
    db.execute(
        "INSERT INTO dialer_agents (name, campaign_id, endpoint, ready, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "campaign_id = excluded.campaign_id, endpoint = excluded.endpoint, "
        "ready = excluded.ready, updated_at = excluded.updated_at",
        (name, campaign_id, endpoint, int(ready), ts(now)),
    )
    return get_agent(db, name)


def get_agent(db: sqlite3.Connection, name: str) -> DialerAgent:
    row = db.execute(
        f"SELECT {AGENT_COLUMNS} FROM dialer_agents WHERE name = ?",  # noqa: S608  # our columns
        (name,),
    ).fetchone()
    if row is None:
        raise NotFound("dialer agent", name)
    return _agent_from_row(row)


def ready_agents(db: sqlite3.Connection, campaign_id: int, now: datetime) -> list[DialerAgent]:
    rows = db.execute(
        f"SELECT {AGENT_COLUMNS} FROM dialer_agents WHERE campaign_id = ? AND ready = 1 "  # noqa: S608  # our columns
        "AND (busy_until IS NULL OR busy_until <= ?) ORDER BY name",
        (campaign_id, ts(now)),
    )
    return [_agent_from_row(row) for row in rows]


def take_agent(
    db: sqlite3.Connection, name: str, now: datetime, busy_until: datetime
) -> DialerAgent | None:
    cursor = db.execute(
        "UPDATE dialer_agents SET busy_until = ?, updated_at = ? WHERE name = ? AND ready = 1 "
        "AND (busy_until IS NULL OR busy_until <= ?)",
        (ts(busy_until), ts(now), name, ts(now)),
    )
    return get_agent(db, name) if cursor.rowcount else None


def release_agent(
    db: sqlite3.Connection, name: str, now: datetime, ready: bool | None
) -> DialerAgent | None:
    cursor = db.execute(
        "UPDATE dialer_agents SET busy_until = NULL, ready = coalesce(?, ready), updated_at = ? "
        "WHERE name = ?",
        (None if ready is None else int(ready), ts(now), name),
    )
    return get_agent(db, name) if cursor.rowcount else None


def remove_do_not_call(
    db: sqlite3.Connection, phone: str, by: str, reason: str, now: datetime
) -> DoNotCallRemoval | None:
    row = db.execute(
        "SELECT source, added_at FROM do_not_call WHERE phone = ?", (phone,)
    ).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM do_not_call WHERE phone = ?", (phone,))
    db.execute(
        "INSERT INTO do_not_call_removals (phone, source, added_at, removed_by, reason, "
        "removed_at) VALUES (?, ?, ?, ?, ?, ?)",
        (phone, row[0], row[1], by, reason, ts(now)),
    )
    return DoNotCallRemoval(phone, row[0], dt(row[1]), by, reason, now)


def do_not_call_removals(db: sqlite3.Connection, phone: str) -> list[DoNotCallRemoval]:
    rows = db.execute(
        "SELECT phone, source, added_at, removed_by, reason, removed_at "
        "FROM do_not_call_removals WHERE phone = ? ORDER BY id",
        (phone,),
    )
    return [DoNotCallRemoval(p, s, dt(a), b, r, dt(at)) for p, s, a, b, r, at in rows]
