"""Upgrades for retention: the SQLite migration that frees the record of its foreign key, and
the Redis index of closed tickets built for tickets an older hub closed."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from core.customers import name_words
from core.model import Status, ThreadPolicy, TicketChange
from core.record import EventKind
from storage.redis.store import RedisStore
from storage.sqlite import retention
from storage.sqlite.schema import MIGRATIONS, statements
from storage.sqlite.store import SqliteStore
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))


def database_before_retention(path: Path) -> None:
    """A database one migration short of retention, with another index on the record (as a
    migration of another part might have added)."""
    before = MIGRATIONS.index(retention.migration)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.create_function("contacthub_name_words", 1, lambda name: json.dumps(name_words(name)))
    for migration in MIGRATIONS[:before]:
        if callable(migration):
            migration(db)
        else:
            for statement in statements(migration):
                db.execute(statement)
    db.execute("CREATE INDEX ticket_events_kind ON ticket_events(kind, seq)")
    db.execute("INSERT INTO customers (id, created_at) VALUES (1, 0)")
    db.execute(
        "INSERT INTO tickets (id, status, channel, queue, priority, priority_rank, customer_id, "
        "created_at, updated_at) VALUES (1, 'open', 'form', 'general', 'normal', 1, 1, 0, 0)"
    )
    db.executemany(  # an older ticket's record, numbered 1..3
        "INSERT INTO ticket_events (seq, ticket_id, kind, actor, at) VALUES (?, 1, ?, 'system', 0)",
        [(1, "created"), (2, "note"), (3, "note")],
    )
    db.execute(f"PRAGMA user_version = {before}")
    assert db.execute("PRAGMA foreign_key_list(ticket_events)").fetchall() != []
    db.close()


async def test_the_record_keeps_its_events_numbering_and_indexes_through_the_upgrade(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database_before_retention(tmp_path / "old.db")
    store = SqliteStore(url)
    await store.open()
    try:
        contact = inbound("a", "email:b@example.com", at=later(0))
        first = await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)
        await store.update_ticket(first.ticket_id, TicketChange(status=Status.CLOSED), later(1))
        purge = await store.purge_closed(later(5), later(5))
        assert purge.tickets == (first.ticket_id,)
        kinds = [e.kind for e in await store.ticket_events(first.ticket_id)]
        assert kinds == [
            EventKind.CREATED,
            EventKind.MESSAGE_IN,
            EventKind.STATUS,
            EventKind.PURGED,
        ]
        assert [e.seq for e in await store.events_after(0)] == [1, 2, 3, 4, 5, 6, 7]
        assert [e.kind for e in await store.ticket_events(1)] == ["created", "note", "note"]
    finally:
        await store.close()
    db = sqlite3.connect(tmp_path / "old.db")
    indexes = {
        name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert {"ticket_events_kind", "ticket_events_ticket", "tickets_closed"} <= indexes
    assert db.execute("PRAGMA foreign_key_list(ticket_events)").fetchall() == []
    db.close()


async def test_redis_indexes_the_tickets_an_older_hub_closed(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    ids = []
    for n in range(3):
        result = await store.commit_inbound(
            inbound(f"t{n}", f"email:c{n}@example.com", at=later(n)), RecordingRouter(), NO_WINDOW
        )
        await store.update_ticket(result.ticket_id, TicketChange(status=Status.CLOSED), later(9))
        ids.append(result.ticket_id)
    await store._live.client.delete(store.key("ix", "closed"))  # as an older hub left it
    await store.close()
    reopened = RedisStore(redis_url)
    await reopened.open()
    try:
        purge = await reopened.purge_closed(later(10), later(10))
        assert sorted(purge.tickets) == ids
    finally:
        await reopened.close()
