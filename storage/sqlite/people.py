"""Agents, their tokens and presence on SQLite (schema migration 12).

An agent's load is never stored (storage/sqlite/load.py).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.errors import NotFound
from core.json_text import dumps, loads
from core.model import Role, Token
from core.people import Agent, AgentChange, Offer, Presence, TokenInfo, full_capacity
from storage.sqlite.load import load
from storage.sqlite.offers import withdraw_agent_offers
from storage.sqlite.rows import Row, dt, opt_dt, ts

AGENT_COLUMNS = (
    "name, roles, skills, capacity, queues, presence, created_at, seen_at, online_since, "
    "last_offered_at, last_assigned_at"
)


def put_agent(db: sqlite3.Connection, name: str, change: AgentChange, now: datetime) -> Agent:
    row = db.execute("SELECT roles, capacity FROM agents WHERE name = ?", (name,)).fetchone()
    if row is None:
        db.execute(
            "INSERT INTO agents (name, created_at, updated_at) VALUES (?, ?, ?)",
            (name, ts(now), ts(now)),
        )
        roles: frozenset[Role] = frozenset()
        capacity: dict[str, int] = {}
    else:
        roles = frozenset(Role(r) for r in loads(row[0]))
        capacity = loads(row[1])
    roles = (change.roles if change.roles is not None else roles) | change.add_roles
    sets = {
        "roles": dumps(sorted(roles)),
        "capacity": dumps(full_capacity(capacity, change.capacity)),
        "updated_at": ts(now),
    }
    if change.skills is not None:
        sets["skills"] = dumps(sorted(change.skills))
    if change.queues is not None:
        sets["queues"] = dumps(sorted(change.queues))
    assignments = ", ".join(f"{column} = ?" for column in sets)
    db.execute(f"UPDATE agents SET {assignments} WHERE name = ?", [*sets.values(), name])  # noqa: S608  # our column names; values bound
    return get_agent(db, name)


def get_agent(db: sqlite3.Connection, name: str) -> Agent:
    row = db.execute(f"SELECT {AGENT_COLUMNS} FROM agents WHERE name = ?", (name,)).fetchone()  # noqa: S608  # our column constants
    if row is None:
        raise NotFound("agent", name)
    return agent_from_row(row, load(db, name))


HELD = (
    "SELECT assignee, channel, count(*) FROM tickets INDEXED BY tickets_held "
    "WHERE assignee IS NOT NULL AND status IN ('new', 'open', 'pending') "
    "GROUP BY assignee, channel"
)
"""What every agent holds, from the held tickets' index alone. Left to itself the planner
took the status index, reading every live ticket (all the waiting ones too) on each offer
round, that is after every contact."""


def list_agents(db: sqlite3.Connection) -> list[Agent]:
    loads: dict[str, dict[str, int]] = {}
    held = db.execute(HELD)
    offered = db.execute(
        "SELECT agent, channel, count(*) FROM offers WHERE state = 'open' GROUP BY agent, channel"
    )
    for name, channel, count in [*held.fetchall(), *offered.fetchall()]:
        by_channel = loads.setdefault(name, {})
        by_channel[channel] = by_channel.get(channel, 0) + count
    rows = db.execute(f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY name").fetchall()  # noqa: S608  # our column constants
    return [agent_from_row(row, loads.get(row[0], {})) for row in rows]


def agent_from_row(row: Row, load: dict[str, int]) -> Agent:
    name, roles, skills, capacity, queues, presence, created, seen, since, offered, assigned = row
    return Agent(
        name=name,
        roles=frozenset(Role(r) for r in loads(roles)),
        skills=frozenset(loads(skills)),
        capacity=loads(capacity) or full_capacity({}, None),
        queues=frozenset(loads(queues)),
        presence=Presence(presence),
        created_at=dt(created),
        seen_at=opt_dt(seen),
        online_since=opt_dt(since),
        last_offered_at=opt_dt(offered),
        last_assigned_at=opt_dt(assigned),
        load=load,
    )


def set_presence(
    db: sqlite3.Connection, name: str, presence: Presence | None, now: datetime
) -> tuple[Agent, list[Offer]]:
    row = db.execute("SELECT presence FROM agents WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound("agent", name)
    presence = presence or Presence(row[0])  # None: a heartbeat
    coming_online = presence is Presence.ONLINE and row[0] != Presence.ONLINE
    db.execute(
        "UPDATE agents SET presence = ?, seen_at = ?, "
        "online_since = CASE WHEN ? THEN ? ELSE online_since END WHERE name = ?",
        (presence, ts(now), coming_online, ts(now), name),
    )
    withdrawn = [] if presence is Presence.ONLINE else withdraw_agent_offers(db, name, now)
    return get_agent(db, name), withdrawn


def lapse_presence(db: sqlite3.Connection, cutoff: datetime, now: datetime) -> list[Agent]:
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM agents WHERE presence <> 'offline' AND coalesce(seen_at, 0) < ?",
            (ts(cutoff),),
        )
    ]
    for name in names:
        db.execute("UPDATE agents SET presence = 'offline' WHERE name = ?", (name,))
        withdraw_agent_offers(db, name, now)
    return [get_agent(db, name) for name in names]


def known_person(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM agents WHERE name = ?", (name,)).fetchone() is not None


# Tokens

TOKEN_INFO_COLUMNS = "id, name, role, created_at, revoked_at"  # noqa: S105  # column names


def add_token(
    db: sqlite3.Connection, name: str, role: Role | None, digest: str, now: datetime
) -> Token:
    if role is not None:
        put_agent(db, name, AgentChange(add_roles=frozenset({role})), now)
    elif not known_person(db, name):
        raise NotFound("agent", name)
    cursor = db.execute(
        "INSERT INTO tokens (name, role, digest, created_at) VALUES (?, ?, ?, ?)",
        (name, role, digest, ts(now)),
    )
    return _token(db, int(cursor.lastrowid or 0), name, role, ts(now))


def find_token(db: sqlite3.Connection, digest: str) -> Token | None:
    row = db.execute(
        "SELECT id, name, role, created_at FROM tokens WHERE digest = ? AND revoked_at IS NULL",
        (digest,),
    ).fetchone()
    return None if row is None else _token(db, row[0], row[1], row[2], row[3])


def _token(db: sqlite3.Connection, id_: int, name: str, role: str | None, at: float) -> Token:
    row = db.execute("SELECT roles FROM agents WHERE name = ?", (name,)).fetchone()
    held = frozenset(Role(r) for r in loads(row[0])) if row else frozenset()
    return Token(id_, name, held if role is None else held & {Role(role)}, dt(at))


def list_tokens(db: sqlite3.Connection) -> list[TokenInfo]:
    rows = db.execute(f"SELECT {TOKEN_INFO_COLUMNS} FROM tokens ORDER BY id").fetchall()  # noqa: S608  # our column constants
    return [token_info_from_row(row) for row in rows]


def revoke_tokens(db: sqlite3.Connection, name_or_id: str | int, now: datetime) -> list[TokenInfo]:
    column = "id" if isinstance(name_or_id, int) else "name"
    rows = db.execute(
        f"UPDATE tokens SET revoked_at = ? WHERE {column} = ? AND revoked_at IS NULL "  # noqa: S608  # one of two column names
        f"RETURNING {TOKEN_INFO_COLUMNS}",
        (ts(now), name_or_id),
    ).fetchall()
    return sorted((token_info_from_row(row) for row in rows), key=lambda t: t.id)


def token_info_from_row(row: Row) -> TokenInfo:
    id_, name, role, created, revoked = row
    return TokenInfo(id_, name, None if role is None else Role(role), dt(created), opt_dt(revoked))
