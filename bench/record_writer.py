"""A year of tickets' records written straight into a store's tables or keys (the reports
bench at a million tickets): the events the Store would record for the planned steps, in
the store's own format, without the Store's commits (a million tickets through them take
over an hour here). The store then fills its rollups from that record as it does for a
store written before them: SQLite's migration 21, Redis's backfill at open; so the bench
also times the backfill.

Each planned step becomes the events its Store call records: a contact -> created (the
rule's) and message_in (the customer's); a claim -> status new->open and assigned; a reply
-> reply_out; a resolution -> status ->resolved; a reopening -> message_in and status
resolved->open (the customer's); an SLA clock's breach -> sla_breach (the clock's), on the
step's own ticket.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

from bench.year_of_tickets import CHANNELS, QUEUES, Step, breach_detail, customer_of, source_of
from storage.sqlite import tally
from storage.sqlite.schema import MIGRATIONS

Event = tuple[int, str, str, float, dict[str, Any]]
"""ticket, kind, actor, at, detail"""


def events(steps: list[Step]) -> Iterator[Event]:
    """The record of the planned steps, in their (time) order."""
    tickets: dict[int, int] = {}
    messages = 0
    for at, n, what, who in steps:
        when = at.timestamp()
        if what == "create":
            tickets[n] = ticket = len(tickets) + 1
            messages += 1
            channel = CHANNELS[source_of(n) % len(CHANNELS)][0]
            route = {"queue": QUEUES[n % len(QUEUES)], "priority": "normal", "rule": "bench"}
            yield ticket, "created", "rule:bench", when, route
            yield ticket, "message_in", _customer(n), when, {"message_id": messages,
                                                              "channel": channel}  # fmt: skip
        elif what == "claim":
            yield tickets[n], "status", f"agent:{who}", when, {"from": "new", "to": "open"}
            yield tickets[n], "assigned", f"agent:{who}", when, {"from": None, "to": who}
        elif what == "reply":
            messages += 1
            yield tickets[n], "reply_out", f"agent:{who}", when, {"message_id": messages}
        elif what == "resolve":
            yield tickets[n], "status", f"agent:{who}", when, {"from": "open", "to": "resolved"}
        elif what == "breach":
            yield tickets[n], "sla_breach", "clock:sla", when, breach_detail(n, who, at)
        else:
            messages += 1
            channel = CHANNELS[source_of(n) % len(CHANNELS)][0]
            yield tickets[n], "message_in", _customer(n), when, {"message_id": messages,
                                                                 "channel": channel}  # fmt: skip
            yield tickets[n], "status", _customer(n), when, {"from": "resolved", "to": "open"}


def _customer(n: int) -> str:
    return f"customer:{customer_of(n) + 1}"


def write_sqlite(path: Path, steps: list[Step]) -> int:
    """Append the record to an SQLite store (made by the Store, empty) and take it back to
    before its rollups were filled, so the next open fills them; returns the events written."""
    db = sqlite3.connect(path)
    count = 0
    try:
        rows = (
            (ticket, kind, actor, at, json.dumps(detail))
            for ticket, kind, actor, at, detail in events(steps)
        )
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO ticket_events (ticket_id, kind, actor, at, detail) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        count = int(db.execute("SELECT max(seq) FROM ticket_events").fetchone()[0])
        # The next open runs the migration that fills the rollups (and the ones after it).
        db.execute(f"PRAGMA user_version = {MIGRATIONS.index(tally.refill)}")
        db.execute("COMMIT")
    finally:
        db.close()
    return count


def write_redis(port: int, steps: list[Step], prefix: str = "{ch}") -> int:
    """Append the record to an empty Redis store (its lists and stream) with no rollups
    flag, so the next open fills them; returns the events written."""
    client = redis.Redis(port=port)
    pipe, seq = client.pipeline(transaction=False), 0
    lengths: dict[int, int] = {}
    for ticket, kind, actor, at, detail in events(steps):
        seq += 1
        event = json.dumps({"s": seq, "k": kind, "a": actor, "t": repr(at), "d": detail})
        pipe.rpush(f"{prefix}:t:{ticket}:ev", event)
        pipe.xadd(f"{prefix}:events", {"t": ticket, "i": lengths.get(ticket, 0)}, id=f"{seq}-1")
        lengths[ticket] = lengths.get(ticket, 0) + 1
        if seq % 5000 == 0:
            pipe.execute()
    pipe.hset(f"{prefix}:ids", mapping={"event": seq, "ticket": len(lengths)})
    pipe.hdel(f"{prefix}:ids", "rollups")
    pipe.execute()
    return seq
