"""Retention and erasure on SQLite (core/retention.py): each one writer job, one transaction.

A purge deletes closed tickets with everything that hangs off them except their record
(`ticket_events` has no foreign key to `tickets` since `migration`), and records `purged`.
An erasure blanks what names the customer or holds what they wrote, deletes their
identities and keys, records `customer_erased` on each of their tickets and closes those
that were live work. It runs with `secure_delete` on, and rewrites the search tables (FTS5
'optimize': deleted words linger in old segments until a merge), so no erased byte stays in
the database's pages; the WAL keeps old pages until a checkpoint truncates it (the store
asks for one after an erasure).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence

from core.model import Status, TicketChange
from core.record import SYSTEM, Actor, EventKind
from core.retention import SCRUBBED_DETAILS, Erasure, Purge
from storage.sqlite import search
from storage.sqlite.changes import update_ticket
from storage.sqlite.customers import live_customer
from storage.sqlite.record import record
from storage.sqlite.rows import LIVE, dt

SCRUBBED_KINDS = ("note", "transferred", "escalated")
_FOREIGN_KEY = re.compile(r"\s+REFERENCES\s+tickets\s*\(\s*id\s*\)", re.IGNORECASE)


def migration(db: sqlite3.Connection) -> None:
    """Indexes the sweeper and erasures read by, and the record without its foreign key to
    `tickets`, so it outlives a purged ticket. The table is rebuilt (SQLite cannot drop a
    constraint) from its own definition, with every index and trigger it had."""
    for statement in (
        "CREATE INDEX tickets_closed ON tickets(updated_at) WHERE status = 'closed'",
        "CREATE INDEX thread_keys_ticket ON thread_keys(ticket_id)",
        "CREATE INDEX messages_attached ON messages(id) WHERE attachments <> '[]'",
    ):
        db.execute(statement)
    (table,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ticket_events'"
    ).fetchone()
    extras = db.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'ticket_events' "
        "AND type IN ('index', 'trigger') AND sql IS NOT NULL"
    ).fetchall()
    create = _FOREIGN_KEY.sub("", table).replace("ticket_events", "ticket_events_new", 1)
    db.execute(create)
    db.execute("INSERT INTO ticket_events_new SELECT * FROM ticket_events")
    db.execute("DROP TABLE ticket_events")
    db.execute("ALTER TABLE ticket_events_new RENAME TO ticket_events")
    for (sql,) in extras:
        db.execute(sql)


def listed(values: Iterable[object]) -> str:
    """A list of values bound as one parameter, read back by `IN (SELECT value FROM
    json_each(?))`, whatever its length (no statement is built from strings)."""
    return json.dumps(list(values))


def purge_closed(db: sqlite3.Connection, before: float, now: float, limit: int) -> Purge:
    """Up to `limit` tickets closed with no activity since `before`, oldest first."""
    rows = db.execute(
        "SELECT id FROM tickets WHERE status = 'closed' AND updated_at < ? "
        "ORDER BY updated_at LIMIT ?",
        (before, limit),
    ).fetchall()
    tickets = [ticket_id for (ticket_id,) in rows]
    if not tickets:
        return Purge()
    messages, shas = _messages(db, tickets)
    _drop_words(db, messages)
    ids = (listed(tickets),)
    db.execute("DELETE FROM messages WHERE ticket_id IN (SELECT value FROM json_each(?))", ids)
    db.execute("DELETE FROM thread_keys WHERE ticket_id IN (SELECT value FROM json_each(?))", ids)
    db.execute("DELETE FROM offers WHERE ticket_id IN (SELECT value FROM json_each(?))", ids)
    db.execute("DELETE FROM sla_deadlines WHERE ticket_id IN (SELECT value FROM json_each(?))", ids)
    db.execute("DELETE FROM tickets WHERE id IN (SELECT value FROM json_each(?))", ids)
    for ticket_id in tickets:
        own = [blobs for _, t, blobs in messages if t == ticket_id]
        detail = {"messages": len(own), "attachments": sum(map(len, own))}
        record(db, ticket_id, EventKind.PURGED, SYSTEM, now, detail)
    return Purge(tuple(tickets), len(messages), len(shas), _unreferenced(db, shas))


def erase_customer(db: sqlite3.Connection, customer_id: int, by: str, now: float) -> Erasure:
    """Erase the customer and every customer merged into it (one person)."""
    live_customer(db, customer_id)  # NotFound, or Conflict when merged away: erase the survivor
    previous = int(db.execute("PRAGMA secure_delete").fetchone()[0])
    db.execute("PRAGMA secure_delete = ON")  # freed space is zeroed, not left readable
    try:
        return _erase(db, customer_id, by, now)
    finally:
        db.execute("PRAGMA secure_delete = ON" if previous else "PRAGMA secure_delete = OFF")


def _erase(db: sqlite3.Connection, customer_id: int, by: str, now: float) -> Erasure:
    people = _merged_into(db, customer_id)
    who = (listed(people),)
    rows = db.execute(
        "SELECT key FROM identities WHERE customer_id IN (SELECT value FROM json_each(?))", who
    )
    keys = [key for (key,) in rows]
    rows = db.execute(
        "SELECT id FROM tickets WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        who,
    )
    tickets = [ticket_id for (ticket_id,) in rows]
    messages, shas = _messages(db, tickets)
    words = _drop_words(db, messages)
    words += db.execute(
        "DELETE FROM customer_words WHERE customer_id IN (SELECT value FROM json_each(?))", who
    ).rowcount
    gone = _forget_keys(db, people, keys, tickets)
    _blank_tickets(db, tickets)
    scrubbed = _scrub_events(db, tickets)
    db.execute("UPDATE customers SET name = '' WHERE id IN (SELECT value FROM json_each(?))", who)
    db.execute(
        "UPDATE customer_merges SET identities = '[]' "
        "WHERE survivor IN (SELECT value FROM json_each(?)) "
        "OR other IN (SELECT value FROM json_each(?))",
        who * 2,
    )
    actor = Actor.agent(by) if by else SYSTEM
    for ticket_id in tickets:
        count = sum(1 for _, t, _ in messages if t == ticket_id)
        detail = {"customer_id": customer_id, "messages": count}
        record(db, ticket_id, EventKind.CUSTOMER_ERASED, actor, now, detail)
    closed = _close_live(db, tickets, actor, now)
    search.optimize(db)  # erased words must not linger in older segments
    return Erasure(
        customer_id, tuple(people), len(keys), tuple(tickets), closed, len(messages),
        len(shas), words, gone, scrubbed, _unreferenced(db, shas),
    )  # fmt: skip


def _close_live(
    db: sqlite3.Connection, tickets: list[int], actor: Actor, now: float
) -> tuple[int, ...]:
    """Close the tickets that are live work: nothing is left on them to work on, nor anyone
    to answer, so none waits in a queue or on an agent (the change path itself: the queue
    depths, offers and record follow)."""
    rows = db.execute(
        f"SELECT id FROM tickets WHERE id IN (SELECT value FROM json_each(?)) AND {LIVE} "  # noqa: S608  # our SQL
        "ORDER BY id",
        (listed(tickets),),
    )
    live = tuple(ticket_id for (ticket_id,) in rows)
    for ticket_id in live:
        update_ticket(db, ticket_id, TicketChange(status=Status.CLOSED, actor=actor), dt(now))
    return live


def _merged_into(db: sqlite3.Connection, customer_id: int) -> list[int]:
    """The customer and those merged into it, directly or through another."""
    rows = db.execute(
        "WITH RECURSIVE folded(id) AS (SELECT ? UNION "
        "SELECT c.id FROM customers c JOIN folded f ON c.merged_into = f.id) "
        "SELECT id FROM folded ORDER BY id",
        (customer_id,),
    )
    return [person for (person,) in rows]


Messages = list[tuple[int, int, list[str]]]
"""(message id, ticket id, sha256 of its blobs) of every message of some tickets."""


def _messages(db: sqlite3.Connection, tickets: Sequence[int]) -> tuple[Messages, list[str]]:
    rows = db.execute(
        "SELECT id, ticket_id, attachments FROM messages "
        "WHERE ticket_id IN (SELECT value FROM json_each(?))",
        (listed(tickets),),
    ).fetchall()
    found = [(m, t, _blobs(attachments)) for m, t, attachments in rows]
    return found, [sha for _, _, blobs in found for sha in blobs]


def _blobs(attachments: str) -> list[str]:
    return [a["sha256"] for a in json.loads(attachments) if a.get("sha256")]


def _drop_words(db: sqlite3.Connection, messages: Messages) -> int:
    """The search rows of the tickets' messages (with their subjects); how many there were."""
    return search.forget(db, listed(m for m, _, _ in messages))


def _forget_keys(
    db: sqlite3.Connection, people: list[int], keys: list[str], tickets: list[int]
) -> int:
    """Identities, SMS consent, rate limits by address, dedupe and thread keys: how many."""
    gone = db.execute(
        "DELETE FROM identities WHERE customer_id IN (SELECT value FROM json_each(?))",
        (listed(people),),
    )
    count = gone.rowcount
    count += db.execute(
        "DELETE FROM sms_consent WHERE identity_key IN (SELECT value FROM json_each(?))",
        (listed(keys),),
    ).rowcount
    for key in keys:  # rate limits are kept by the address they count (storage/sqlite/rate.py)
        value = key.partition(":")[2].casefold()
        count += db.execute(
            "DELETE FROM checkpoints WHERE name LIKE 'rate:%' AND instr(lower(name), ?) > 0",
            (value,),
        ).rowcount
    ids = (listed(tickets),)
    count += db.execute(
        "DELETE FROM thread_keys WHERE ticket_id IN (SELECT value FROM json_each(?))", ids
    ).rowcount
    deduped = db.execute(
        "UPDATE messages SET dedupe_key = NULL "
        "WHERE ticket_id IN (SELECT value FROM json_each(?)) AND dedupe_key IS NOT NULL",
        ids,
    )
    return count + deduped.rowcount


def _blank_tickets(db: sqlite3.Connection, tickets: list[int]) -> None:
    """Subjects, routes' explanations and facts, and every message's text and addresses; an
    outbound message keeps its provider id (delivery reports find it) and automatic flag."""
    ids = (listed(tickets),)
    db.execute(
        "UPDATE tickets SET subject = '', route_explanation = '[]', route_facts = '{}' "
        "WHERE id IN (SELECT value FROM json_each(?))",
        ids,
    )
    db.execute(
        "UPDATE messages SET body = '', subject = '', sender = '', recipient = '', "
        "attachments = '[]', error = '', "
        "external_id = CASE direction WHEN 'outbound' THEN external_id ELSE '' END, "
        "meta = CASE direction WHEN 'outbound' THEN meta ELSE '{}' END "
        "WHERE ticket_id IN (SELECT value FROM json_each(?))",
        ids,
    )


def _scrub_events(db: sqlite3.Connection, tickets: list[int]) -> int:
    rows = db.execute(
        "SELECT seq, detail FROM ticket_events "
        "WHERE ticket_id IN (SELECT value FROM json_each(?)) "
        "AND kind IN (SELECT value FROM json_each(?))",
        (listed(tickets), listed(SCRUBBED_KINDS)),
    ).fetchall()
    changed = []
    for seq, text in rows:
        detail = json.loads(text)
        if any(detail.get(name) for name in SCRUBBED_DETAILS):
            changed.append((json.dumps(_scrubbed(detail)), seq))
    db.executemany("UPDATE ticket_events SET detail = ? WHERE seq = ?", changed)
    return len(changed)


def _scrubbed(detail: dict[str, object]) -> dict[str, object]:
    return {k: ("" if k in SCRUBBED_DETAILS and v else v) for k, v in detail.items()}


def _unreferenced(db: sqlite3.Connection, shas: Iterable[str]) -> tuple[str, ...]:
    """The blobs no message refers to any more (read through messages_attached)."""
    return tuple(
        sha
        for sha in sorted(set(shas))
        if db.execute(
            "SELECT 1 FROM messages m, json_each(m.attachments) a "
            "WHERE m.attachments <> '[]' AND json_extract(a.value, '$.sha256') = ? LIMIT 1",
            (sha,),
        ).fetchone()
        is None
    )


def truncate_wal(db: sqlite3.Connection) -> None:
    """Copy the WAL into the database and empty it: the pages from before an erasure go."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
