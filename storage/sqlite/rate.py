"""Sliding-window limits shared by every hub on the database (e.g. acknowledgements per
address), kept in the checkpoints table under `rate:<key>` as a JSON list of times: no
migration, and the writer's one transaction makes each take atomic."""

from __future__ import annotations

import json
import sqlite3

PREFIX = "rate:"
SWEEP_EVERY = 500
"""Takes between sweeps of keys whose newest time has left its window (each key's row is
rewritten on every take, so only keys nobody uses any more need sweeping)."""

_takes = 0


def take_rate_slot(db: sqlite3.Connection, key: str, limit: int, window: float, now: float) -> bool:
    """Whether one more event for `key` fits `limit` per `window` seconds up to `now`; if so
    it is counted."""
    name = PREFIX + key
    row = db.execute("SELECT value FROM checkpoints WHERE name = ?", (name,)).fetchone()
    times = [t for t in json.loads(row[0]) if t > now - window] if row else []
    allowed = len(times) < limit
    if allowed:
        times.append(now)
    db.execute(
        "INSERT INTO checkpoints (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, json.dumps(times)),
    )
    _sweep(db, now - window)
    return allowed


def _sweep(db: sqlite3.Connection, before: float) -> None:
    global _takes  # noqa: PLW0603  # a counter of this process's takes, nothing more
    _takes += 1
    if _takes % SWEEP_EVERY:
        return
    db.execute(
        "DELETE FROM checkpoints WHERE name >= ? AND name < ? "
        "AND coalesce((SELECT max(value) FROM json_each(checkpoints.value)), 0) <= ?",
        (PREFIX, PREFIX[:-1] + ";", before),
    )
