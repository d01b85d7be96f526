"""SQLite operations on callback lists: contacts added in batches, the do-not-call list.

A batch is inserted with one `executemany` that skips numbers already in the campaign; only
when it skipped some are they looked for (the rows it made are the newest ids), so a list
without duplicates costs its insert and nothing more. A number is suppressed when it is on
the do-not-call list or opted out of SMS.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from core.campaigns import (
    DUPLICATE_IN_CAMPAIGN,
    DUPLICATE_IN_LIST,
    RENEWABLE_STATES,
    SMS_OPT_OUT,
    ContactBatch,
    DoNotCall,
    NewContact,
    Rejected,
)
from core.errors import NotFound
from storage.sqlite.rows import dt, ts


def add_contacts(  # one batch of a load, all it needs
    db: sqlite3.Connection,
    campaign_id: int,
    contacts: Sequence[NewContact],
    source: str,
    now: datetime,
    renew: bool,  # passed positionally through the writer
) -> ContactBatch:
    if db.execute("SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,)).fetchone() is None:
        raise NotFound("campaign", campaign_id)
    blocked = suppressed_numbers(db, [c.phone for c in contacts])
    suppressed = tuple(Rejected(c.line, c.phone, blocked[c.phone]) for c in contacts
                       if c.phone in blocked)  # fmt: skip
    fresh = [c for c in contacts if c.phone not in blocked] if blocked else list(contacts)
    (last_id,) = db.execute("SELECT coalesce(max(id), 0) FROM campaign_contacts").fetchone()
    inserted = _insert(db, campaign_id, fresh, source, now, last_id)
    if inserted == len(fresh):  # the usual case: no duplicate, nothing more to read
        return ContactBatch(accepted=inserted, suppressed=suppressed)
    missing = _not_inserted(db, fresh, last_id)
    duplicates, renewed = _duplicates(db, campaign_id, missing, source, now, renew)
    return ContactBatch(inserted, renewed, duplicates, suppressed)


def _insert(  # one batch and where its new ids start
    db: sqlite3.Connection,
    campaign_id: int,
    fresh: list[NewContact],
    source: str,
    now: datetime,
    last_id: int,
) -> int:
    """Insert the new numbers (a number already in the campaign is skipped) and their
    slots; how many were inserted (the rows after `last_id`)."""
    before, stamp = db.total_changes, ts(now)
    stamps = {moment: ts(moment) for moment in {c.next_at for c in fresh}}  # most share one
    db.executemany(
        "INSERT INTO campaign_contacts (campaign_id, phone, slot, state, priority, rank, "
        "next_at, name, email, external_ref, notes, preferred, source, line, created_at, "
        "updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (campaign_id, phone) DO NOTHING",
        [(campaign_id, c.phone, c.slot, c.priority, c.priority, stamps[c.next_at], c.name,
          c.email, c.external_ref, c.notes, c.preferred, source, c.line, stamp, stamp)
         for c in fresh],
    )  # fmt: skip
    inserted = db.total_changes - before
    slots = {c.slot for c in fresh}
    if inserted < len(fresh):
        # A duplicate row's slot (its own preferred hours) must not join the campaign's
        # slots: a refused row changes neither the state nor the stats' next opening.
        slots = {slot for (slot,) in db.execute(
            "SELECT DISTINCT slot FROM campaign_contacts WHERE id > ?", (last_id,)
        )}  # fmt: skip
    db.executemany(
        "INSERT OR IGNORE INTO campaign_slots (campaign_id, slot) VALUES (?, ?)",
        [(campaign_id, slot) for slot in slots],
    )
    return inserted


def suppressed_numbers(db: sqlite3.Connection, phones: list[str]) -> dict[str, str]:
    """Numbers on the do-not-call list or opted out of SMS -> why."""
    (listed,) = db.execute(
        "SELECT EXISTS (SELECT 1 FROM do_not_call) OR "
        "EXISTS (SELECT 1 FROM sms_consent WHERE opted_out = 1)"
    ).fetchone()
    if not listed:  # nothing to look up: a fresh hub's first lists load faster
        return {}
    batch = json.dumps(phones)
    blocked = {
        phone: f"do not call ({source})"
        for phone, source in db.execute(
            "SELECT phone, source FROM do_not_call WHERE phone IN (SELECT value FROM json_each(?))",
            (batch,),
        )
    }
    for (key,) in db.execute(
        "SELECT identity_key FROM sms_consent WHERE opted_out = 1 AND identity_key IN "
        "(SELECT 'phone:' || value FROM json_each(?))",
        (batch,),
    ):
        blocked.setdefault(key.removeprefix("phone:"), SMS_OPT_OUT)
    return blocked


def _not_inserted(
    db: sqlite3.Connection, fresh: list[NewContact], last_id: int
) -> list[NewContact]:
    """The rows the insert skipped: the rows it made are those after `last_id` (ids only
    grow, and the writer runs one job at a time). Their lines come back as one string,
    which costs a tenth of reading them row by row."""
    lines = [c.line for c in fresh]
    if len(set(lines)) < len(lines):  # lines do not tell rows apart: compare numbers too
        made = Counter(db.execute("SELECT phone, line FROM campaign_contacts WHERE id > ?",
                                  (last_id,)))  # fmt: skip
        return [c for c in fresh if not _claim(made, (c.phone, c.line))]
    (joined,) = db.execute(
        "SELECT group_concat(line) FROM campaign_contacts WHERE id > ?", (last_id,)
    ).fetchone()
    made_lines = set(map(int, joined.split(","))) if joined else set()
    return [c for c in fresh if c.line not in made_lines]


def _claim(made: Counter[tuple[str, int]], key: tuple[str, int]) -> bool:
    if made[key]:
        made[key] -= 1
        return True
    return False


def _duplicates(
    db: sqlite3.Connection,
    campaign_id: int,
    missing: list[NewContact],
    source: str,
    now: datetime,
    renew: bool,
) -> tuple[tuple[Rejected, ...], int]:
    """Why each skipped row was skipped; with `renew`, finished ones are queued again."""
    stored = {
        phone: (contact_id, stored_source, state)
        for phone, contact_id, stored_source, state in db.execute(
            "SELECT phone, id, source, state FROM campaign_contacts "
            "WHERE campaign_id = ? AND phone IN (SELECT value FROM json_each(?))",
            (campaign_id, json.dumps([c.phone for c in missing])),
        )
    }
    duplicates, renewed = [], 0
    for contact in missing:
        contact_id, stored_source, state = stored[contact.phone]
        if renew and state in RENEWABLE_STATES:
            _renew(db, contact_id, contact, source, now)
            renewed += 1
            continue
        reason = DUPLICATE_IN_LIST if stored_source == source else DUPLICATE_IN_CAMPAIGN
        duplicates.append(Rejected(contact.line, contact.phone, reason))
    return tuple(duplicates), renewed


def _renew(
    db: sqlite3.Connection, contact_id: int, contact: NewContact, source: str, now: datetime
) -> None:
    db.execute(
        "UPDATE campaign_contacts SET state = 'queued', attempts = 0, priority = ?, rank = ?, "
        "next_at = ?, source = ?, line = ?, last_outcome = NULL, updated_at = ? WHERE id = ?",
        (contact.priority, contact.priority, ts(contact.next_at), source, contact.line,
         ts(now), contact_id),
    )  # fmt: skip


def add_do_not_call(
    db: sqlite3.Connection, phones: Sequence[str], source: str, now: datetime
) -> int:
    """New numbers on the list; queued contacts with them, in every campaign, are suppressed."""
    before = db.total_changes
    db.executemany(
        "INSERT INTO do_not_call (phone, source, added_at) VALUES (?, ?, ?) "
        "ON CONFLICT (phone) DO NOTHING",
        [(phone, source, ts(now)) for phone in phones],
    )
    added = db.total_changes - before
    # (campaign_id, phone) is indexed: one seek per campaign and number.
    db.execute(
        "UPDATE campaign_contacts SET state = 'suppressed', updated_at = ? "
        "WHERE campaign_id IN (SELECT id FROM campaigns) "
        "AND phone IN (SELECT value FROM json_each(?)) AND state = 'queued'",
        (ts(now), json.dumps(list(phones))),
    )
    return added


def get_do_not_call(db: sqlite3.Connection, phone: str) -> DoNotCall | None:
    row = db.execute(
        "SELECT phone, source, added_at FROM do_not_call WHERE phone = ?", (phone,)
    ).fetchone()
    return None if row is None else DoNotCall(row[0], row[1], dt(row[2]))
