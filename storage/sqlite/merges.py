"""Merging two customers on SQLite, and undoing it exactly: each one writer job, so one
transaction moves the identities, the tickets (threading follows: it finds a customer's live
tickets by `tickets.customer_id`) and the tags, keeps the record of what moved, and puts the
move on each moved ticket's record (storage/sqlite/record.py)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from core.customers import CustomerMerge, tags_added
from core.errors import Conflict, InvalidRequest, NotFound
from core.record import Actor, Detail, EventKind
from storage.sqlite.customers import customers_by_id, live_customer
from storage.sqlite.record import record
from storage.sqlite.rows import Row, dt, identity_from_key, json_list, opt_dt, ts

_MERGE_COLUMNS = (
    "id, survivor, other, merged_by, merged_at, identities, tickets, tags, added_tags, "
    "undone_by, undone_at"
)


def merge_customers(
    db: sqlite3.Connection, survivor_id: int, other_id: int, by: str, now: datetime
) -> CustomerMerge:
    if survivor_id == other_id:
        raise InvalidRequest("a customer cannot be merged with itself")
    survivor = live_customer(db, survivor_id)
    other = live_customer(db, other_id)
    rows = db.execute("SELECT id FROM tickets WHERE customer_id = ? ORDER BY id", (other_id,))
    tickets = [ticket_id for (ticket_id,) in rows]
    added = tags_added(survivor.tags, other.tags)
    keys = [identity.key for identity in other.identities]
    cursor = db.execute(
        f"INSERT INTO customer_merges ({_MERGE_COLUMNS}) VALUES (NULL,?,?,?,?,?,?,?,?,NULL,NULL)",  # noqa: S608  # our columns
        (
            survivor_id, other_id, by, ts(now), json.dumps(keys), json.dumps(tickets),
            json_list(other.tags), json_list(added),
        ),
    )  # fmt: skip
    merge = _merge(db, int(cursor.lastrowid or 0))
    db.execute(
        "UPDATE identities SET customer_id = ? WHERE customer_id = ?", (survivor_id, other_id)
    )
    move_tickets(db, merge)
    _set_tags(db, survivor_id, survivor.tags + added)
    db.execute(
        "UPDATE customers SET tags = '[]', merged_into = ? WHERE id = ?", (survivor_id, other_id)
    )
    return merge


def unmerge_customers(
    db: sqlite3.Connection, customer_id: int, merge_id: int, by: str, now: datetime
) -> CustomerMerge:
    merge = _merge(db, merge_id)
    if merge.survivor != customer_id:
        raise NotFound(f"merge into customer {customer_id}", merge_id)
    if not merge.live:
        raise Conflict(f"merge {merge_id} was undone already")
    _refuse_if_depended_on(db, merge)
    db.execute(
        "UPDATE customer_merges SET undone_by = ?, undone_at = ? WHERE id = ?",
        (by, ts(now), merge_id),
    )
    undone = _merge(db, merge_id)
    db.executemany(
        "UPDATE identities SET customer_id = ? WHERE key = ?",
        [(merge.other, identity.key) for identity in merge.identities],
    )
    move_tickets(db, undone)
    (survivor,) = customers_by_id(db, [merge.survivor])
    _set_tags(db, merge.survivor, tuple(t for t in survivor.tags if t not in merge.added_tags))
    _set_tags(db, merge.other, merge.tags)
    db.execute("UPDATE customers SET merged_into = NULL WHERE id = ?", (merge.other,))
    return undone


def move_tickets(db: sqlite3.Connection, merge: CustomerMerge) -> None:
    """The one place where a merge changes tickets: a live merge gives the other's tickets to
    the survivor, an undone one gives them back; each moved ticket's record gets the event
    (`customer_merged` or `customer_unmerged`, by whoever merged or unmerged: the merge's
    `by` or `undone_by`), in this transaction."""
    owner, former = (merge.survivor, merge.other) if merge.live else (merge.other, merge.survivor)
    kind = EventKind.CUSTOMER_MERGED if merge.live else EventKind.CUSTOMER_UNMERGED
    by = merge.by if merge.undone_by is None else merge.undone_by
    at = ts(merge.at if merge.undone_at is None else merge.undone_at)
    detail: dict[str, Detail] = {"merge_id": merge.id, "from": former, "to": owner}
    for ticket_id in merge.tickets:
        db.execute("UPDATE tickets SET customer_id = ? WHERE id = ?", (owner, ticket_id))
        record(db, ticket_id, kind, Actor.agent(by), at, detail)


def _refuse_if_depended_on(db: sqlite3.Connection, merge: CustomerMerge) -> None:
    """A later merge that moved on what this one moved must be undone first."""
    rows = db.execute(
        f"SELECT {_MERGE_COLUMNS} FROM customer_merges WHERE id > ?1 AND undone_at IS NULL "  # noqa: S608  # our columns
        "AND (survivor = ?2 OR other = ?2) ORDER BY id",
        (merge.id, merge.survivor),
    ).fetchall()
    for later in map(_merge_from_row, rows):
        if later.other == merge.survivor:
            raise Conflict(
                f"customer {merge.survivor} was merged into customer {later.survivor} since "
                f"(merge {later.id}): undo merge {later.id} first"
            )
        shared = [tag for tag in later.tags if tag in merge.added_tags]
        if shared:
            raise Conflict(
                f"merge {later.id} (customer {later.other}) came later and found tag(s) "
                f"{', '.join(shared)} that this merge brought: undo merge {later.id} first"
            )


def customer_merges(db: sqlite3.Connection, customer_id: int) -> list[CustomerMerge]:
    rows = db.execute(
        f"SELECT {_MERGE_COLUMNS} FROM customer_merges WHERE survivor = ?1 OR other = ?1 "  # noqa: S608  # our columns
        "ORDER BY id",
        (customer_id,),
    ).fetchall()
    return [_merge_from_row(row) for row in rows]


def _merge(db: sqlite3.Connection, merge_id: int) -> CustomerMerge:
    row = db.execute(
        f"SELECT {_MERGE_COLUMNS} FROM customer_merges WHERE id = ?",  # noqa: S608  # our columns
        (merge_id,),
    ).fetchone()
    if row is None:
        raise NotFound("merge", merge_id)
    return _merge_from_row(row)


def _merge_from_row(row: Row) -> CustomerMerge:
    id_, survivor, other, by, at, keys, tickets, tags, added, undone_by, undone_at = row
    return CustomerMerge(
        id=id_,
        survivor=survivor,
        other=other,
        by=by,
        at=dt(at),
        identities=tuple(identity_from_key(key) for key in json.loads(keys)),
        tickets=tuple(json.loads(tickets)),
        tags=tuple(json.loads(tags)),
        added_tags=tuple(json.loads(added)),
        undone_by=undone_by,
        undone_at=opt_dt(undone_at),
    )


def _set_tags(db: sqlite3.Connection, customer_id: int, tags: tuple[str, ...]) -> None:
    db.execute("UPDATE customers SET tags = ? WHERE id = ?", (json_list(tags), customer_id))
