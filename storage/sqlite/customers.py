"""Customers on SQLite: read, find, edit (storage/sqlite/merges.py merges them).

Names are found through `customer_words` (schema migration 9): one row per word of a name
(core.customers.name_words), so a prefix is a range of the primary key, never a scan of the
customers; addresses by domain through an index of the identities on it (migration 22).
Reads run on a reader thread in one snapshot; writes are jobs of the writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from core.customers import CustomerChange, CustomerQuery, name_words
from core.errors import Conflict, InvalidRequest, NotFound
from core.model import Customer, Page, whole_id
from storage.search import (
    NameCursor,
    NameHit,
    domain_cursor,
    domain_page,
    parse_cursor,
    prefix_end,
    search_page,
)
from storage.sqlite.rows import CUSTOMER_COLUMNS, Row, customer_from_row, json_list


def get_customer(db: sqlite3.Connection, customer_id: int) -> Customer:
    found = customers_by_id(db, [customer_id])
    if not found:
        raise NotFound("customer", customer_id)
    return found[0]


def live_customer(db: sqlite3.Connection, customer_id: int) -> Customer:
    """The customer, if it was not merged away (Conflict) and exists (NotFound)."""
    customer = get_customer(db, customer_id)
    if customer.merged_into is not None:
        raise Conflict(f"customer {customer_id} was merged into customer {customer.merged_into}")
    return customer


def customers_by_id(db: sqlite3.Connection, ids: Sequence[int]) -> list[Customer]:
    """The customers with these ids, in this order, each with its identities."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id IN ({marks})",  # noqa: S608  # our columns, "?" marks
        list(ids),
    ).fetchall()
    keys: dict[int, list[str]] = {}
    for key, owner in db.execute(
        f"SELECT key, customer_id FROM identities WHERE customer_id IN ({marks}) "  # noqa: S608  # only "?" marks
        "ORDER BY created_at, key",
        list(ids),
    ):
        keys.setdefault(owner, []).append(key)
    by_id = {row[0]: customer_from_row(row, keys.get(row[0], [])) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def list_customers(
    db: sqlite3.Connection, query: CustomerQuery | None, limit: int, cursor: str | None
) -> Page[Customer]:
    if query is None:
        return _newest(db, limit, cursor)
    if query.domain:
        return _by_domain(db, query.domain, limit, domain_cursor(cursor))
    after = parse_cursor(cursor)
    owners = _owners(db, query.identities)
    shown = customers_by_id(db, owners) if after is None else []
    room = max(0, limit - len(shown))
    hits = _name_hits(db, query, owners, after or NameCursor(), room + 1) if query.words else []
    return search_page(shown, hits, room, after or NameCursor())


def _newest(db: sqlite3.Connection, limit: int, cursor: str | None) -> Page[Customer]:
    below = None if cursor is None else whole_id(cursor)
    if cursor is not None and below is None:
        raise InvalidRequest(f"not a cursor: {cursor[:40]!r}")
    ids = [
        customer_id
        for (customer_id,) in db.execute(
            "SELECT id FROM customers WHERE merged_into IS NULL AND (?1 IS NULL OR id < ?1) "
            "ORDER BY id DESC LIMIT ?2",
            (below, limit + 1),
        )
    ]
    items = customers_by_id(db, ids[:limit])
    return Page(tuple(items), str(ids[limit - 1]) if len(ids) > limit else None)


DOMAIN_OF = "substr(key, length(rtrim(key, replace(key, '@', ''))) + 1)"
"""An address key's domain, after its last "@" (the rtrim keeps what ends at it)."""
DOMAIN_INDEX = f"""
CREATE INDEX IF NOT EXISTS identities_email_domain ON identities({DOMAIN_OF}, key)
    WHERE key LIKE 'email:%';
"""
"""Migration 22: the addresses by domain (the query names the same expression and term)."""
_BY_DOMAIN = (
    f"SELECT key, customer_id FROM identities WHERE key LIKE 'email:%' AND {DOMAIN_OF} = ? "  # noqa: S608  # our expression
    "AND key > ? ORDER BY key LIMIT ?"
)


def _by_domain(db: sqlite3.Connection, domain: str, limit: int, after: str) -> Page[Customer]:
    """The owners of the addresses at `domain` after `after`, in address order."""
    rows = db.execute(_BY_DOMAIN, (domain, after, limit + 1)).fetchall()
    owners = {c.id: c for c in customers_by_id(db, [owner for _, owner in rows])}
    return domain_page([(key, owners[owner]) for key, owner in rows], limit)


def _owners(db: sqlite3.Connection, identity_keys: Sequence[str]) -> list[int]:
    """Who owns these identities, newest first (a merged-away customer owns none)."""
    if not identity_keys:
        return []
    marks = ",".join("?" * len(identity_keys))
    rows = db.execute(
        f"SELECT DISTINCT customer_id FROM identities WHERE key IN ({marks}) "  # noqa: S608  # only "?" marks
        "ORDER BY customer_id DESC",
        list(identity_keys),
    ).fetchall()
    return [owner for (owner,) in rows]


_FIRST_MATCH = (
    "SELECT w.word, w.customer_id FROM customer_words w "
    "JOIN customers c ON c.id = w.customer_id AND c.merged_into IS NULL "
    "WHERE w.word >= :lo AND w.word < :hi AND (w.word, w.customer_id) > (:word, :id) "
    "AND NOT EXISTS (SELECT 1 FROM customer_words e WHERE e.customer_id = w.customer_id "
    "AND e.word >= :lo AND e.word < w.word)"
)
_ALSO = (
    " AND EXISTS (SELECT 1 FROM customer_words e WHERE e.customer_id = w.customer_id "
    "AND e.word >= :lo{i} AND e.word < :hi{i})"
)


def _name_hits(
    db: sqlite3.Connection,
    query: CustomerQuery,
    owners: Sequence[int],
    after: NameCursor,
    count: int,
) -> list[NameHit]:
    sql, args = name_hits_sql(query, owners, after, count)
    rows: list[Row] = db.execute(sql, args).fetchall()
    found = {c.id: c for c in customers_by_id(db, [customer_id for _, customer_id in rows])}
    return [(word, found[customer_id]) for word, customer_id in rows]


def name_hits_sql(
    query: CustomerQuery, owners: Sequence[int], after: NameCursor, count: int
) -> tuple[str, dict[str, object]]:
    """Up to `count` (word, customer id) entries of the index after `after`: each customer at
    its first word that starts with the query's first word, if every other query word starts
    a word of its name too."""
    first, *others = query.words
    args: dict[str, object] = {"lo": first, "hi": prefix_end(first), "count": count}
    args |= {"word": after.word, "id": after.customer_id}
    sql = _FIRST_MATCH
    for i, word in enumerate(others):
        sql += _ALSO.format(i=i)
        args |= {f"lo{i}": word, f"hi{i}": prefix_end(word)}
    if owners:  # found by identity on the first page: not again by name
        sql += f" AND w.customer_id NOT IN ({','.join(map(str, owners))})"
    return f"{sql} ORDER BY w.word, w.customer_id LIMIT :count", args


def update_customer(db: sqlite3.Connection, customer_id: int, change: CustomerChange) -> Customer:
    live_customer(db, customer_id)
    if change.name is not None:
        db.execute("UPDATE customers SET name = ? WHERE id = ?", (change.name, customer_id))
        db.execute("DELETE FROM customer_words WHERE customer_id = ?", (customer_id,))
        index_name(db, customer_id, change.name)
    if change.tags is not None:
        db.execute(
            "UPDATE customers SET tags = ? WHERE id = ?", (json_list(change.tags), customer_id)
        )
    return get_customer(db, customer_id)


def index_name(db: sqlite3.Connection, customer_id: int, name: str) -> None:
    """Make the customer findable by the words of `name` (the ingest names new customers)."""
    words = name_words(name)
    if words:
        db.executemany(
            "INSERT OR IGNORE INTO customer_words (word, customer_id) VALUES (?, ?)",
            [(word, customer_id) for word in words],
        )
