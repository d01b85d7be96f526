"""SQLite operations of outbound campaigns (each runs inside one writer or reader transaction).

Contacts are found by slot: `campaign_contacts_due` indexes queued contacts by campaign,
rank, slot and due time, so the next contact is one index seek per (rank, open slot), and
the leased ones are indexed apart (a partial index) for taking back expired leases. The
writer runs every `next_contact` one after the other, so a contact is handed out once.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from core.campaigns import (
    APPOINTMENT_RANK,
    DUPLICATE_IN_CAMPAIGN,
    DUPLICATE_IN_LIST,
    RENEWABLE_STATES,
    SMS_OPT_OUT,
    Attempt,
    CallOutcome,
    Campaign,
    CampaignContact,
    CampaignCounts,
    CampaignSpec,
    CampaignState,
    ContactBatch,
    ContactHistory,
    ContactState,
    DoNotCall,
    Lease,
    NewContact,
    OutcomeChange,
    Rejected,
)
from core.errors import Conflict, NotFound
from storage.sqlite_campaign_rows import (
    ATTEMPT_COLUMNS,
    CAMPAIGN_COLUMNS,
    CONTACT_COLUMNS,
    attempt_from_row,
    campaign_from_row,
    contact_from_row,
)
from storage.sqlite_rows import dt, ts

MAX_SKIPPED = 100
"""Contacts found suppressed in one `next_contact` before it gives up (and answers None)."""
MAX_RECLAIMED = 500
"""Expired leases taken back per `next_contact` (the rest on the next calls)."""


def create_campaign(db: sqlite3.Connection, spec: CampaignSpec, now: datetime) -> Campaign:
    try:
        cursor = db.execute(
            "INSERT INTO campaigns (name, queue, caller_id, policy, state, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (spec.name, spec.queue, spec.caller_id, spec.policy.to_json(), spec.state,
             ts(now), ts(now)),
        )  # fmt: skip
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"a campaign named {spec.name!r} exists") from exc
    return get_campaign(db, int(cursor.lastrowid or 0))


def get_campaign(db: sqlite3.Connection, key: int | str) -> Campaign:
    column = "id" if isinstance(key, int) else "name"
    row = db.execute(
        f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE {column} = ?",  # noqa: S608  # ours
        (key,),
    ).fetchone()
    if row is None:
        raise NotFound("campaign", key)
    return campaign_from_row(row)


def list_campaigns(db: sqlite3.Connection) -> list[Campaign]:
    rows = db.execute(f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id")  # noqa: S608
    return [campaign_from_row(row) for row in rows]


def set_campaign_state(
    db: sqlite3.Connection, campaign_id: int, state: CampaignState, now: datetime
) -> Campaign:
    current = get_campaign(db, campaign_id)
    if current.state is CampaignState.STOPPED and state is not CampaignState.STOPPED:
        raise Conflict(f"campaign {current.name!r} is stopped for good")
    db.execute(
        "UPDATE campaigns SET state = ?, updated_at = ? WHERE id = ?",
        (state, ts(now), campaign_id),
    )
    return get_campaign(db, campaign_id)


def add_contacts(  # one batch of a load, all it needs
    db: sqlite3.Connection,
    campaign_id: int,
    contacts: Sequence[NewContact],
    source: str,
    now: datetime,
    renew: bool,  # passed positionally through the writer
) -> ContactBatch:
    get_campaign(db, campaign_id)
    blocked = _suppressed(db, [c.phone for c in contacts])
    suppressed = tuple(Rejected(c.line, c.phone, blocked[c.phone]) for c in contacts
                       if c.phone in blocked)  # fmt: skip
    fresh = [c for c in contacts if c.phone not in blocked] if blocked else list(contacts)
    (last_id,) = db.execute("SELECT coalesce(max(id), 0) FROM campaign_contacts").fetchone()
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
    db.executemany(
        "INSERT OR IGNORE INTO campaign_slots (campaign_id, slot) VALUES (?, ?)",
        [(campaign_id, slot) for slot in {c.slot for c in fresh}],
    )
    if inserted == len(fresh):  # the usual case: no duplicate, nothing more to read
        return ContactBatch(accepted=inserted, suppressed=suppressed)
    missing = _not_inserted(db, fresh, last_id)
    duplicates, renewed = _duplicates(db, campaign_id, missing, source, now, renew)
    return ContactBatch(inserted, renewed, duplicates, suppressed)


def _suppressed(db: sqlite3.Connection, phones: list[str]) -> dict[str, str]:
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


def campaign_slots(db: sqlite3.Connection, campaign_id: int) -> list[str]:
    rows = db.execute("SELECT slot FROM campaign_slots WHERE campaign_id = ?", (campaign_id,))
    return [slot for (slot,) in rows]


def next_contact(
    db: sqlite3.Connection,
    campaign_id: int,
    slots: Sequence[str],
    agent: str,
    now: datetime,
    lease_until: datetime,
) -> Lease | None:
    campaign = get_campaign(db, campaign_id)
    _reclaim(db, campaign_id, now)
    if campaign.state is not CampaignState.RUNNING:
        return None
    for _ in range(MAX_SKIPPED):
        found = _due(db, campaign_id, slots, now)
        if found is None:
            return None
        contact_id, phone = found
        if not _suppressed(db, [phone]):
            return _lease(db, campaign_id, contact_id, agent, now, lease_until)
        # The number was put on the do-not-call list (or opted out) after it was loaded.
        db.execute(
            "UPDATE campaign_contacts SET state = 'suppressed', updated_at = ? WHERE id = ?",
            (ts(now), contact_id),
        )
    return None


def _due(
    db: sqlite3.Connection, campaign_id: int, slots: Sequence[str], now: datetime
) -> tuple[int, str] | None:
    """The most pressing due contact in the open slots: highest rank, then longest due."""
    for rank in range(APPOINTMENT_RANK, -1, -1):
        best: tuple[float, int, str] | None = None
        for slot in slots:
            row = db.execute(
                "SELECT next_at, id, phone FROM campaign_contacts WHERE campaign_id = ? AND "
                "state = 'queued' AND rank = ? AND slot = ? AND next_at <= ? "
                "ORDER BY next_at LIMIT 1",
                (campaign_id, rank, slot, ts(now)),
            ).fetchone()
            if row is not None and (best is None or tuple(row) < best):
                best = (row[0], row[1], row[2])
        if best is not None:
            return best[1], best[2]
    return None


def _lease(
    db: sqlite3.Connection,
    campaign_id: int,
    contact_id: int,
    agent: str,
    now: datetime,
    lease_until: datetime,
) -> Lease:
    cursor = db.execute(
        "INSERT INTO campaign_attempts (campaign_id, contact_id, agent, started_at, "
        "lease_until) VALUES (?, ?, ?, ?, ?)",
        (campaign_id, contact_id, agent, ts(now), ts(lease_until)),
    )
    attempt_id = int(cursor.lastrowid or 0)
    db.execute(
        "UPDATE campaign_contacts SET state = 'leased', attempt_id = ?, lease_until = ?, "
        "updated_at = ? WHERE id = ?",
        (attempt_id, ts(lease_until), ts(now), contact_id),
    )
    return Lease(_contact(db, contact_id), _attempt(db, attempt_id))


def _reclaim(db: sqlite3.Connection, campaign_id: int, now: datetime) -> None:
    """Leases past their end go back to the queue, in their old place; the attempt expires."""
    expired = db.execute(
        "SELECT id, attempt_id, lease_until FROM campaign_contacts WHERE campaign_id = ? "
        "AND state = 'leased' AND lease_until <= ? LIMIT ?",
        (campaign_id, ts(now), MAX_RECLAIMED),
    ).fetchall()
    db.executemany(
        "UPDATE campaign_attempts SET outcome = ?, ended_at = ? WHERE id = ?",
        [(CallOutcome.EXPIRED, until, attempt_id) for _, attempt_id, until in expired],
    )
    db.executemany(
        "UPDATE campaign_contacts SET state = 'queued', attempt_id = NULL, lease_until = NULL, "
        "updated_at = ? WHERE id = ?",
        [(ts(now), contact_id) for contact_id, _, _ in expired],
    )


def get_attempt(db: sqlite3.Connection, attempt_id: int) -> tuple[Attempt, CampaignContact]:
    attempt = _attempt(db, attempt_id)
    return attempt, _contact(db, attempt.contact_id)


def record_outcome(
    db: sqlite3.Connection, attempt_id: int, change: OutcomeChange, now: datetime
) -> CampaignContact:
    attempt = _attempt(db, attempt_id)
    row = db.execute(
        "SELECT state, attempt_id, phone FROM campaign_contacts WHERE id = ?",
        (attempt.contact_id,),
    ).fetchone()
    if attempt.outcome is not None or row[0] != ContactState.LEASED or row[1] != attempt_id:
        recorded = attempt.outcome not in (None, CallOutcome.EXPIRED)
        why = "its outcome is recorded" if recorded else "its lease ended"
        raise Conflict(f"attempt {attempt_id} is closed: {why}")
    db.execute(
        "UPDATE campaign_attempts SET outcome = ?, ended_at = ?, callback_at = ?, note = ? "
        "WHERE id = ?",
        (change.outcome, ts(now), _opt_ts(change.callback_at), change.note, attempt_id),
    )
    db.execute(
        "UPDATE campaign_contacts SET state = ?, next_at = ?, rank = ?, attempts = attempts + 1, "
        "last_outcome = ?, attempt_id = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
        (change.state, ts(change.next_at), change.rank, change.outcome, ts(now),
         attempt.contact_id),
    )  # fmt: skip
    if change.do_not_call is not None:
        add_do_not_call(db, [row[2]], change.do_not_call, now)
    return _contact(db, attempt.contact_id)


def get_contact(db: sqlite3.Connection, contact_id: int) -> ContactHistory:
    rows = db.execute(
        f"SELECT {ATTEMPT_COLUMNS} FROM campaign_attempts WHERE contact_id = ? "  # noqa: S608
        "ORDER BY id",
        (contact_id,),
    )
    return ContactHistory(_contact(db, contact_id), tuple(attempt_from_row(r) for r in rows))


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


def campaign_counts(
    db: sqlite3.Connection, campaign_id: int, slots: Sequence[str], now: datetime
) -> CampaignCounts:
    get_campaign(db, campaign_id)
    by_state: dict[str, int] = {}
    per_contact: dict[int, int] = {}
    for state, attempts, count in db.execute(
        "SELECT state, attempts, count(*) FROM campaign_contacts WHERE campaign_id = ? "
        "GROUP BY state, attempts",
        (campaign_id,),
    ):
        by_state[state] = by_state.get(state, 0) + count
        per_contact[attempts] = per_contact.get(attempts, 0) + count
    by_outcome = dict(
        db.execute(
            "SELECT outcome, count(*) FROM campaign_attempts WHERE campaign_id = ? "
            "AND outcome IS NOT NULL GROUP BY outcome",
            (campaign_id,),
        ).fetchall()
    )
    callable_now = sum(_count_due(db, campaign_id, slot, now) for slot in slots)
    return CampaignCounts(by_state, by_outcome, per_contact, callable_now)


def _count_due(db: sqlite3.Connection, campaign_id: int, slot: str, now: datetime) -> int:
    total = 0
    for rank in range(APPOINTMENT_RANK + 1):
        (count,) = db.execute(
            "SELECT count(*) FROM campaign_contacts WHERE campaign_id = ? AND state = 'queued' "
            "AND rank = ? AND slot = ? AND next_at <= ?",
            (campaign_id, rank, slot, ts(now)),
        ).fetchone()
        total += count
    return int(total)


def _contact(db: sqlite3.Connection, contact_id: int) -> CampaignContact:
    row = db.execute(
        f"SELECT {CONTACT_COLUMNS} FROM campaign_contacts WHERE id = ?",  # noqa: S608  # ours
        (contact_id,),
    ).fetchone()
    if row is None:
        raise NotFound("contact", contact_id)
    return contact_from_row(row)


def _attempt(db: sqlite3.Connection, attempt_id: int) -> Attempt:
    row = db.execute(
        f"SELECT {ATTEMPT_COLUMNS} FROM campaign_attempts WHERE id = ?",  # noqa: S608  # ours
        (attempt_id,),
    ).fetchone()
    if row is None:
        raise NotFound("attempt", attempt_id)
    return attempt_from_row(row)


def _opt_ts(moment: datetime | None) -> float | None:
    return None if moment is None else ts(moment)
