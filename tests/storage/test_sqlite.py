"""What only the SQLite backend promises: its pragmas, migrations, URL and limits."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import ConfigError, StorageUnavailable
from core.model import (
    CustomerFacts,
    Decision,
    Inbound,
    IngestResult,
    Message,
    Outcome,
    QueueStats,
    Status,
    ThreadPolicy,
    TicketFilter,
    Via,
)
from core.record import SYSTEM, EventKind
from storage.base import open_store
from storage.sqlite import search
from storage.sqlite.changes import NEXT_WAITING
from storage.sqlite.ingest import commit_inbound
from storage.sqlite.offers import WAITING as OFFERS_WAITING
from storage.sqlite.options import SqliteOptions
from storage.sqlite.people import HELD
from storage.sqlite.queries import QUEUE_DEPTH, QUEUE_STATS
from storage.sqlite.rows import dt
from storage.sqlite.schema import MIGRATIONS, migrate, statements
from storage.sqlite.store import SqliteStore
from storage.sqlite.write_lock import WriteLock
from tests.support import T0, FunctionRouter, RecordingRouter, inbound, later

POLICY = ThreadPolicy({}, timedelta(0))


@pytest.mark.parametrize(
    ("url", "path", "synchronous", "max_batch"),
    [
        ("sqlite:///./hub.db", Path("./hub.db"), "FULL", 256),
        ("sqlite:////var/lib/hub.db?synchronous=normal", Path("/var/lib/hub.db"), "NORMAL", 256),
        ("sqlite:///data/hub.db?max_batch=8", Path("data/hub.db"), "FULL", 8),
    ],
    ids=["relative", "absolute-normal-sync", "batch"],
)
def test_url_options(url: str, path: Path, synchronous: str, max_batch: int) -> None:
    options = SqliteOptions.from_url(url)
    assert (options.path, options.synchronous, options.max_batch) == (path, synchronous, max_batch)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///", "names no database file"),
        ("sqlite:///:memory:", "names no database file"),
        ("sqlite:///a.db?fsync=off", "unknown parameter"),
        ("sqlite:///a.db?synchronous=off", "synchronous must be"),
        ("sqlite:///a.db?max_batch=many", "invalid literal"),
        ("sqlite:///a.db?commit_delay_ms=soon", "could not convert"),
        ("sqlite:///a.db?commit_delay_ms=-1", "between 0 and 100"),
        ("sqlite:///a.db?commit_delay_ms=101", "between 0 and 100"),
    ],
    ids=[
        "empty", "memory", "unknown-param", "unsafe-sync", "bad-number", "delay-not-a-number",
        "negative-delay", "long-delay",
    ],
)  # fmt: skip
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SqliteOptions.from_url(url)


def test_a_commit_waits_a_millisecond_for_company_unless_told_otherwise() -> None:
    assert SqliteOptions.from_url("sqlite:///a.db").commit_delay == 0.001
    assert SqliteOptions.from_url("sqlite:///a.db?commit_delay_ms=2.5").commit_delay == 0.0025
    assert SqliteOptions.from_url("sqlite:///a.db?commit_delay_ms=0").commit_delay == 0


def test_unknown_scheme_suggests_the_closest_backend() -> None:
    with pytest.raises(ConfigError, match="did you mean 'sqlite'"):
        open_store("sqlit:///x.db")


async def test_database_runs_in_wal_with_full_sync_and_current_schema(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}")
    await store.open()
    await store.close()
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


async def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    for _ in range(2):
        store = SqliteStore(url)
        await store.open()
        await store.close()
    db = sqlite3.connect(tmp_path / "a.db")
    tables = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'tickets'").fetchone()
    assert tables[0] == 1
    db.close()


async def test_unopenable_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    store = SqliteStore(f"sqlite:///{tmp_path / 'dir.db'}")
    with pytest.raises(ConfigError, match="cannot open"):
        await store.open()


async def test_full_database_refuses_with_unavailable_and_keeps_nothing_half_written(
    tmp_path: Path,
) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}?max_size_mb=1")
    await store.open()
    try:
        ok = await store.commit_inbound(inbound("small"), RecordingRouter(), POLICY)
        big = inbound("big", "email:big@example.com", text="x" * 2_000_000)
        with pytest.raises(StorageUnavailable):
            await store.commit_inbound(big, RecordingRouter(), POLICY)
        tickets = await store.list_tickets(TicketFilter())
        assert [t.id for t in tickets.items] == [ok.ticket_id]
        after = await store.commit_inbound(inbound("next", text="fits"), RecordingRouter(), POLICY)
        assert after.outcome is Outcome.CREATED
    finally:
        await store.close()


async def test_a_failing_job_does_not_fail_its_batch(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}")
    await store.open()

    def broken(_contact: Inbound, _facts: CustomerFacts) -> Decision:
        raise ValueError("bad rule")

    good = RecordingRouter()
    try:
        jobs = [
            store.commit_inbound(
                inbound(f"m{i}", f"email:c{i}@x.org"),
                FunctionRouter(broken) if i == 3 else good,
                POLICY,
            )
            for i in range(8)
        ]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1
        assert isinstance(failures[0], ValueError)
        assert len((await store.list_tickets(TicketFilter())).items) == 7
    finally:
        await store.close()


async def test_many_concurrent_ingests_commit_without_lock_errors(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}?max_batch=16")
    await store.open()
    try:
        results = await asyncio.gather(
            *(
                store.commit_inbound(
                    inbound(f"m{i}", f"email:c{i % 50}@x.org"), RecordingRouter(), POLICY
                )
                for i in range(500)
            )
        )
        assert len({r.message_id for r in results}) == 500
        assert len({r.customer_id for r in results}) == 50
    finally:
        await store.close()


def database_before_depth_counters(path: Path) -> None:
    """A file as the hub left it before migration 6, holding tickets in every state."""
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:5]:
        assert isinstance(script, str)  # the first migrations are all SQL
        db.executescript(script)
    db.execute("INSERT INTO customers (id, created_at) VALUES (1, 0)")
    rows = [  # queue, status, assignee, created_at
        ("billing", "new", None, 30.0), ("billing", "new", None, 20.0),
        ("billing", "new", "ann", 10.0), ("billing", "open", "ann", 5.0),
        ("billing", "pending", None, 6.0), ("billing", "resolved", None, 1.0),
        ("sales", "closed", None, 2.0), ("sales", "open", None, 3.0),
    ]  # fmt: skip
    db.executemany(
        "INSERT INTO tickets (status, channel, queue, priority, priority_rank, customer_id, "
        "assignee, created_at, updated_at) VALUES (?, 'form', ?, 'normal', 1, 1, ?, ?, ?)",
        [(status, queue, assignee, at, at) for queue, status, assignee, at in rows],
    )
    db.execute("PRAGMA user_version = 5")
    db.close()


async def test_upgrading_backfills_the_queue_counters_from_the_tickets(tmp_path: Path) -> None:
    """Migrations 6 and 10: live unassigned work waits, whatever its status."""
    database_before_depth_counters(tmp_path / "old.db")
    store = SqliteStore(f"sqlite:///{tmp_path / 'old.db'}")
    await store.open()
    try:
        assert await store.queue_stats() == [
            QueueStats("billing", 3, 5, dt(6.0)), QueueStats("sales", 1, 1, dt(3.0)),
        ]  # fmt: skip
        claimed = await store.claim_next("billing", "bob", T0)
        assert claimed is not None
        assert (claimed.status, claimed.created_at) == (Status.PENDING, dt(6.0))
        assert await store.queue_depth("billing") == QueueStats("billing", 2, 5, dt(20.0))
    finally:
        await store.close()


async def test_upgrading_gives_every_ticket_a_record(tmp_path: Path) -> None:
    """Migration 10: a `created` event for each ticket there, numbered in ticket order."""
    database_before_depth_counters(tmp_path / "old.db")
    store = SqliteStore(f"sqlite:///{tmp_path / 'old.db'}")
    await store.open()
    try:
        events = await store.events_after(0, 100)
        assert [(e.seq, e.ticket_id, e.kind) for e in events] == [
            (n, n, EventKind.CREATED) for n in range(1, 9)
        ]
        assert events[0].actor == SYSTEM
        assert events[0].at == dt(30.0)
        assert events[0].detail == {"queue": "billing", "priority": "normal", "rule": None}
        assert await store.ticket_events(8) == [events[7]]
    finally:
        await store.close()


def test_queue_depths_are_read_without_scanning_the_tickets(tmp_path: Path) -> None:
    """The counters, and for the oldest waiting ticket the first entry of an index."""
    db = sqlite3.connect(tmp_path / "plan.db", isolation_level=None)
    migrate(db)
    for sql, args in ((QUEUE_STATS, ()), (QUEUE_DEPTH, ("billing",))):
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
        assert not [step for step in plan if step.startswith("SCAN t")], plan
        assert any("USING INDEX tickets_oldest_waiting" in step for step in plan), plan
    db.close()


@pytest.mark.parametrize(
    ("sql", "args"),
    [(NEXT_WAITING, ("billing", None, None)), (OFFERS_WAITING, ("billing", 10))],
    ids=["claim", "offers"],
)
def test_claims_and_offers_walk_the_waiting_index(
    tmp_path: Path, sql: str, args: tuple[object, ...]
) -> None:
    db = sqlite3.connect(tmp_path / "plan.db", isolation_level=None)
    migrate(db)
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
    assert plan == [
        "SEARCH t USING INDEX tickets_waiting (queue=?)",
        "CORRELATED SCALAR SUBQUERY 1",  # skipping a ticket on offer: one index probe
        "SEARCH o USING INDEX offers_open_ticket (ticket_id=?)",
    ], plan
    db.close()


def test_the_words_of_a_group_commit_reach_the_index_as_one_segment(tmp_path: Path) -> None:
    """No statement of the ingest makes FTS5 flush its pending words (a statement journal
    does): new tickets and appended messages alike, their words are written at COMMIT."""
    db = sqlite3.connect(tmp_path / "words.db", isolation_level=None)
    migrate(db)
    contacts = [
        inbound(f"m{i}", f"email:c{i % 3}@x.org", subject=f"about{i}", text=f"word{i}")
        for i in range(6)
    ]
    threads = ThreadPolicy({}, timedelta(days=1))
    db.execute("BEGIN IMMEDIATE")
    results = [commit_inbound(db, contact, RecordingRouter(), threads) for contact in contacts]
    db.execute("COMMIT")
    assert [r.outcome for r in results] == [Outcome.CREATED] * 3 + [Outcome.APPENDED] * 3
    segments = db.execute("SELECT count(DISTINCT segid) FROM contact_words_idx").fetchone()[0]
    assert segments == 1
    rows = db.execute("SELECT rowid, words FROM contact_words ORDER BY rowid").fetchall()
    assert (
        rows
        == [  # a new ticket's subject on its first message's row
            *[(r.message_id, f"about{i} word{i}") for i, r in enumerate(results[:3])],
            *[(r.message_id, f"word{i + 3}") for i, r in enumerate(results[3:])],
        ]
    )
    assert db.execute(QUEUE_DEPTH, ("general",)).fetchone()[1:3] == (3, 3)
    db.close()


def test_agents_loads_are_read_from_the_held_tickets_index_alone(tmp_path: Path) -> None:
    """An offer round lists the agents after every contact: never a read of the waiting."""
    db = sqlite3.connect(tmp_path / "plan.db", isolation_level=None)
    migrate(db)
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {HELD}")]
    assert plan == ["SEARCH tickets USING INDEX tickets_held (assignee>?)"], plan
    db.close()


def undo_the_marks_migration(db: sqlite3.Connection) -> None:
    """Undo migration 15: the SLA marks, their index, trigger and counts."""
    db.execute("DROP TRIGGER tickets_sla_at_risk")
    db.execute("DROP INDEX tickets_sla")
    db.execute("ALTER TABLE queue_depths DROP COLUMN at_risk")
    db.execute("ALTER TABLE tickets DROP COLUMN sla_marks")
    db.execute("ALTER TABLE tickets DROP COLUMN sla_standing")


def undo_the_words_merge(db: sqlite3.Connection) -> None:
    """Undo migration 19: the words in 7's two tables again, as migration 8 indexed them."""
    db.execute("DROP TABLE contact_words")
    seven = MIGRATIONS[6]
    assert isinstance(seven, str)
    for statement in statements(seven):
        if "fts5" in statement:
            db.execute(statement)
    search.backfill(db)


def undo_the_rollups_migration(db: sqlite3.Connection) -> None:
    """Undo migrations 18 and 17: the cells' calendar, the reports' tallies and cells."""
    tables = ("report_calendar", "report_tallies", "report_cells", "report_horizon")
    for table in (*tables, "report_holds"):
        db.execute(f"DROP TABLE {table}")


def undo_the_retention_migration(db: sqlite3.Connection) -> None:
    """Undo migration 16's indexes (the record it rebuilt goes whole with 10's undoing)."""
    for name in ("tickets_closed", "thread_keys_ticket", "messages_attached"):
        db.execute(f"DROP INDEX {name}")


def undo_the_ingest_migration(db: sqlite3.Connection) -> None:
    """Undo migration 14: the waiting indexes and depth triggers as 10 made them."""
    for trigger in ("update", "delete"):
        db.execute(f"DROP TRIGGER tickets_depth_{trigger}")
    db.execute("DROP INDEX tickets_waiting")
    db.execute("DROP INDEX tickets_oldest_waiting")
    record = MIGRATIONS[9]
    assert isinstance(record, str)
    kept = ("CREATE INDEX tickets_waiting", "CREATE INDEX tickets_oldest", "CREATE TRIGGER")
    for statement in statements(record):
        if statement.startswith(kept):
            db.execute(statement)


def undo_the_people_migration(db: sqlite3.Connection) -> None:
    """Undo migration 12: agents and offers (tokens keep their wider table)."""
    db.execute("DROP TRIGGER tickets_offer_withdrawn")
    db.execute("DROP TABLE offers")
    db.execute("DROP INDEX tickets_held")
    db.execute("DROP TABLE agents")


def undo_the_deadlines_migration(db: sqlite3.Connection) -> None:
    """Undo migration 13: the SLA deadlines."""
    db.execute("DROP TABLE sla_deadlines")


def undo_the_dialer_migration(db: sqlite3.Connection) -> None:
    """Undo migration 11: the dialer's tables and columns."""
    db.execute("DROP TABLE dialer_agents")
    db.execute("DROP TABLE do_not_call_removals")
    for column in ("call_sid", "answered_by", "call_outcome"):
        db.execute(f"ALTER TABLE campaign_attempts DROP COLUMN {column}")


def undo_the_record_migration(db: sqlite3.Connection) -> None:
    """Undo migration 10: its table and index go, and waiting is again what 1 and 6 made it
    (new and unassigned), counters rebuilt by 6 itself."""
    db.execute("DROP TABLE ticket_events")
    db.execute("DROP INDEX tokens_name")
    for trigger in ("insert", "update", "delete"):
        db.execute(f"DROP TRIGGER tickets_depth_{trigger}")
    db.execute("DROP INDEX tickets_oldest_waiting")
    db.execute("DROP INDEX tickets_waiting")
    db.execute("DROP TABLE queue_depths")
    db.execute(
        "CREATE INDEX tickets_waiting ON tickets(queue, status, priority_rank DESC, created_at) "
        "WHERE assignee IS NULL"
    )
    counters = MIGRATIONS[5]
    assert isinstance(counters, str)
    db.executescript(counters)


async def printer_ticket(
    url: str, *more: Inbound
) -> tuple[IngestResult, Message, list[IngestResult]]:
    """Stored, and the store closed: "Broken printer" ("it smokes") answered "unplug it",
    then the `more` contacts."""
    store = SqliteStore(url)
    await store.open()
    try:
        made = await store.commit_inbound(
            inbound("m1", subject="Broken printer", text="it smokes"), RecordingRouter(), POLICY
        )
        reply = await store.append_outbound(made.ticket_id, "unplug it", "alice", later(1))
        others = [await store.commit_inbound(c, RecordingRouter(), POLICY) for c in more]
    finally:
        await store.close()
    return made, reply, others


async def test_the_words_of_two_tables_are_found_in_one_after_the_merge(tmp_path: Path) -> None:
    """Migration 19 moves 7's subject_words and message_words into contact_words: a ticket
    is found by its subject (even when its first message has no words), by its messages,
    and the rows are its messages' (the subject on the first)."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    printer, reply, (invoice,) = await printer_ticket(
        url, inbound("m2", "email:b@x.org", subject="Invoice", text="?!")
    )
    db = sqlite3.connect(tmp_path / "a.db", isolation_level=None)  # back to version 18
    db.execute("BEGIN")
    undo_the_words_merge(db)
    db.execute("PRAGMA user_version = 18")
    db.execute("COMMIT")
    db.close()
    store = SqliteStore(url)
    await store.open()
    try:
        for text, tickets in (
            ("printer", [printer.ticket_id]),
            ("smokes", [printer.ticket_id]),
            ("unplug", [printer.ticket_id]),
            ("invoice", [invoice.ticket_id]),
            ("broken unplug", [printer.ticket_id]),
        ):
            page = await store.list_tickets(TicketFilter(text=text))
            assert [t.id for t in page.items] == tickets, text
    finally:
        await store.close()
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("SELECT rowid, words FROM contact_words ORDER BY rowid").fetchall() == [
        (printer.message_id, "broken printer it smokes"),
        (reply.id, "it unplug"),
        (invoice.message_id, "invoice"),
    ]
    assert not db.execute(
        "SELECT name FROM sqlite_master WHERE name LIKE 'subject_words%' "
        "OR name LIKE 'message_words%'"
    ).fetchall()
    db.close()


async def test_acknowledgements_indexed_before_version_20_are_no_longer_found(
    tmp_path: Path,
) -> None:
    """Migration 20 drops the words an older hub wrote for automatic messages; an agent's
    reply keeps its own."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    printer, reply, _ = await printer_ticket(url)
    store = SqliteStore(url)
    await store.open()
    try:
        why = Via(automatic="acknowledgement")
        ack = await store.append_outbound(printer.ticket_id, "We got it", "", later(2), why)
    finally:
        await store.close()
    db = sqlite3.connect(tmp_path / "a.db", isolation_level=None)  # as version 19 wrote it
    db.execute("INSERT INTO contact_words (rowid, words) VALUES (?, 'got it we')", (ack.id,))
    db.execute("PRAGMA user_version = 19")
    db.close()
    store = SqliteStore(url)
    await store.open()
    try:
        assert not (await store.list_tickets(TicketFilter(text="got"))).items
        found = await store.list_tickets(TicketFilter(text="unplug"))
        assert [t.id for t in found.items] == [printer.ticket_id]
    finally:
        await store.close()
    db = sqlite3.connect(tmp_path / "a.db")
    rows = db.execute("SELECT rowid FROM contact_words ORDER BY rowid").fetchall()
    assert rows == [(printer.message_id,), (reply.id,)]
    db.close()


async def test_tickets_stored_before_the_words_index_are_found_after_the_upgrade(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    made, _, _ = await printer_ticket(url)
    db = sqlite3.connect(tmp_path / "a.db")  # back to the schema of version 6
    undo_the_rollups_migration(db)  # 18 and 17 first (19 below), then 16 ... 10, 7 and 9
    undo_the_retention_migration(db)
    undo_the_marks_migration(db)
    undo_the_ingest_migration(db)
    undo_the_deadlines_migration(db)
    undo_the_people_migration(db)
    undo_the_dialer_migration(db)
    undo_the_record_migration(db)
    for name in ("tickets_assignee", "tickets_channel", "tickets_status"):
        db.execute(f"DROP INDEX {name}")
    db.execute("DROP TABLE contact_words")  # 19's merge of 7's subject_words and message_words
    db.execute("DROP TABLE customer_words")  # and what 9 added after them
    db.execute("DROP TABLE customer_merges")
    db.execute("ALTER TABLE customers DROP COLUMN merged_into")
    db.execute("PRAGMA user_version = 6")
    db.commit()
    db.close()
    store = SqliteStore(url)
    await store.open()
    try:
        for text in ("printer", "smokes", "unplug", "broken unplug"):
            page = await store.list_tickets(TicketFilter(text=text))
            assert [t.id for t in page.items] == [made.ticket_id], text
    finally:
        await store.close()


@pytest.mark.parametrize("holder", ["another hub", "a writer without the lock"])
async def test_a_commit_waits_for_another_writer_without_holding_up_the_loop(
    tmp_path: Path, holder: str
) -> None:
    """The writer begins on the loop's thread only when nobody holds the database; held by
    another hub's write lock or by a writer that does not take it (the sqlite3 shell), it
    waits in its thread while the loop runs on, then commits."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}")
    await store.open()
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None, check_same_thread=False)
    lock = WriteLock(tmp_path / "a.db")
    lock.open()
    try:
        if holder == "another hub":
            lock.acquire()
        else:
            other.execute("BEGIN IMMEDIATE")
        commit = asyncio.create_task(store.commit_inbound(inbound("m1"), RecordingRouter(), POLICY))
        clock, gaps = asyncio.get_running_loop().time, []
        for _ in range(20):
            before = clock()
            await asyncio.sleep(0.01)
            gaps.append(clock() - before)
        assert not commit.done()  # waiting in its thread ...
        assert max(gaps) < 0.5  # ... while the loop ran on (a BEGIN on it would wait 10 s)
        if holder == "another hub":
            lock.release()
        else:
            other.execute("COMMIT")
        result = await asyncio.wait_for(commit, 5)
        assert result.outcome is Outcome.CREATED
        assert (await store.get_ticket(result.ticket_id)).id == result.ticket_id
    finally:
        lock.close()
        other.close()
        await store.close()


async def test_one_caller_writing_in_turn_never_waits_for_company(tmp_path: Path) -> None:
    """Each write waits for the one before: none comes while a transaction commits, so
    none waits (ten waits of 100 ms would take a second)."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}?commit_delay_ms=100&synchronous=normal")
    await store.open()
    try:
        started = asyncio.get_running_loop().time()
        for n in range(10):
            await store.set_checkpoint("turn", str(n))
        assert asyncio.get_running_loop().time() - started < 0.9
        assert store.transactions == 10
        assert await store.get_checkpoint("turn") == "9"
    finally:
        await store.close()


async def test_contacts_that_come_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    """Contacts that came while a transaction committed (here: waited for another writer's
    lock) wait for company; those that come meanwhile join them, in one transaction."""
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}?commit_delay_ms=50")
    await store.open()
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None, check_same_thread=False)

    def contact(n: int) -> asyncio.Task[IngestResult]:
        arriving = inbound(f"m{n}", f"email:c{n}@x.org")
        return asyncio.create_task(store.commit_inbound(arriving, RecordingRouter(), POLICY))

    try:
        other.execute("BEGIN IMMEDIATE")
        first = contact(0)
        await asyncio.sleep(0.05)  # its BEGIN waits in the commit thread
        during = [contact(n) for n in range(1, 6)]
        await asyncio.sleep(0.05)
        other.execute("COMMIT")
        await first  # one transaction; the five wait for company ...
        meanwhile = [contact(n) for n in range(6, 9)]  # ... and these join them
        results = await asyncio.gather(*during, *meanwhile)
        assert len({r.ticket_id for r in results}) == 8
        assert store.transactions == 2  # without the wait: 3, the five committing at once
    finally:
        other.close()
        await store.close()
