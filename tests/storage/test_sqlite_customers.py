"""What only the SQLite backend promises of customers: an upgrade indexes the names it
finds, and a search by name reads the index, never every customer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.customers import CustomerQuery
from storage.search import NameCursor
from storage.sqlite.customers import name_hits_sql
from storage.sqlite.schema import MIGRATIONS, migrate
from storage.sqlite.store import SqliteStore


def database_before_customer_words(path: Path) -> None:
    """A file as the hub left it before migration 7 (customers' words came in 9), with named
    customers."""
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:6]:
        assert isinstance(script, str)  # the first migrations are all SQL
        db.executescript(script)
    db.executemany(
        "INSERT INTO customers (id, name, created_at) VALUES (?, ?, 0)",
        [(1, "Élodie Martin"), (2, "Ada Lovelace"), (3, "")],
    )
    db.execute("PRAGMA user_version = 6")
    db.close()


async def test_upgrading_indexes_the_names_of_existing_customers(tmp_path: Path) -> None:
    database_before_customer_words(tmp_path / "old.db")
    store = SqliteStore(f"sqlite:///{tmp_path / 'old.db'}")
    await store.open()
    try:
        page = await store.list_customers(CustomerQuery(words=("elo",)))
        assert [(c.id, c.name, c.merged_into) for c in page.items] == [(1, "Élodie Martin", None)]
        everyone = await store.list_customers(None)
        assert [c.id for c in everyone.items] == [3, 2, 1]
    finally:
        await store.close()


def test_a_search_by_name_reads_the_index_and_scans_no_customer(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "plan.db", isolation_level=None)
    migrate(db)
    query = CustomerQuery(words=("ada", "love"))
    sql, args = name_hits_sql(query, [7], NameCursor("ada", 3), 51)
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
    assert not [step for step in plan if step.startswith("SCAN")], plan
    assert any("customer_words" in step and "word>?" in step for step in plan), plan
    db.close()
