"""An agent's load on SQLite: what they hold (active tickets, read through the partial index
tickets_held) plus their open offers, read in the transaction that needs it, so no counter
can drift from the tickets."""

from __future__ import annotations

import sqlite3

ACTIVE = "status IN ('new', 'open', 'pending')"


def load(db: sqlite3.Connection, name: str) -> dict[str, int]:
    """What the agent holds or is offered now, by channel."""
    held = db.execute(
        f"SELECT channel, count(*) FROM tickets WHERE assignee = ? AND {ACTIVE} GROUP BY channel",  # noqa: S608  # our constant
        (name,),
    )
    offered = db.execute(
        "SELECT channel, count(*) FROM offers WHERE agent = ? AND state = 'open' GROUP BY channel",
        (name,),
    )
    by_channel: dict[str, int] = {}
    for channel, count in [*held.fetchall(), *offered.fetchall()]:
        by_channel[channel] = by_channel.get(channel, 0) + count
    return by_channel
