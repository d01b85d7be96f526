"""SQLite operations of outbound campaigns (each runs inside one writer or reader transaction).

Contacts are found by slot: `campaign_contacts_due` indexes queued contacts by campaign,
rank, slot and due time, so the next contact is one index seek per (rank, open slot), and
the leased ones are indexed apart (a partial index) for taking back expired leases. The
writer runs every `next_contact` one after the other, so a contact is handed out once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from core.campaigns import (
    APPOINTMENT_RANK,
    Attempt,
    CallOutcome,
    Campaign,
    CampaignContact,
    CampaignCounts,
    CampaignSpec,
    CampaignState,
    ContactHistory,
    ContactState,
    Lease,
    OutcomeChange,
)
from core.errors import Conflict, NotFound
from storage.sqlite import campaign_lists as lists
from storage.sqlite.campaign_rows import (
    ATTEMPT_COLUMNS,
    CAMPAIGN_COLUMNS,
    CONTACT_COLUMNS,
    attempt_from_row,
    campaign_from_row,
    contact_from_row,
)
from storage.sqlite.rows import ts

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
    rows = db.execute(f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id")  # noqa: S608  # our column constants; values bound
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
        if not lists.suppressed_numbers(db, [phone]):
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
    if change.refines:
        return _refine(db, attempt, change, now)
    row = db.execute(
        "SELECT state, attempt_id, phone FROM campaign_contacts WHERE id = ?",
        (attempt.contact_id,),
    ).fetchone()
    if attempt.outcome is not None or row[0] != ContactState.LEASED or row[1] != attempt_id:
        recorded = attempt.outcome not in (None, CallOutcome.EXPIRED)
        why = "its outcome is recorded" if recorded else "its lease ended"
        raise Conflict(f"attempt {attempt_id} is closed: {why}")
    db.execute(
        "UPDATE campaign_attempts SET outcome = ?, ended_at = ?, callback_at = ?, note = ?, "
        "call_sid = coalesce(call_sid, nullif(?, '')), call_outcome = ? WHERE id = ?",
        (change.outcome, ts(now), _opt_ts(change.callback_at), change.note, change.call_sid,
         change.outcome if change.call_sid else None, attempt_id),
    )  # fmt: skip
    db.execute(
        "UPDATE campaign_contacts SET state = ?, next_at = ?, rank = ?, attempts = attempts + 1, "
        "last_outcome = ?, attempt_id = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
        (change.state, ts(change.next_at), change.rank, change.outcome, ts(now),
         attempt.contact_id),
    )  # fmt: skip
    if change.do_not_call is not None:
        lists.add_do_not_call(db, [row[2]], change.do_not_call, now)
    return _contact(db, attempt.contact_id)


def _refine(
    db: sqlite3.Connection, attempt: Attempt, change: OutcomeChange, now: datetime
) -> CampaignContact:
    """An agent's outcome for a call the dialer recorded as answered: once, while the
    contact is still completed by that call (a new callback request may have queued it)."""
    (state, phone) = db.execute(
        "SELECT state, phone FROM campaign_contacts WHERE id = ?", (attempt.contact_id,)
    ).fetchone()
    if not attempt.refinable or state != ContactState.COMPLETED:
        raise Conflict(f"attempt {attempt.id} is closed: its outcome is recorded")
    db.execute(
        "UPDATE campaign_attempts SET outcome = ?, callback_at = ?, note = ? WHERE id = ?",
        (change.outcome, _opt_ts(change.callback_at), change.note, attempt.id),
    )
    db.execute(
        "UPDATE campaign_contacts SET state = ?, next_at = ?, rank = ?, last_outcome = ?, "
        "updated_at = ? WHERE id = ?",
        (change.state, ts(change.next_at), change.rank, change.outcome, ts(now),
         attempt.contact_id),
    )  # fmt: skip
    if change.do_not_call is not None:
        lists.add_do_not_call(db, [phone], change.do_not_call, now)
    return _contact(db, attempt.contact_id)


def set_call(db: sqlite3.Connection, attempt_id: int, call_sid: str, answered_by: str) -> Attempt:
    db.execute(
        "UPDATE campaign_attempts SET call_sid = coalesce(call_sid, ?), "
        "answered_by = CASE WHEN ? = '' THEN answered_by ELSE ? END WHERE id = ?",
        (call_sid, answered_by, answered_by, attempt_id),
    )
    return _attempt(db, attempt_id)


def end_call(db: sqlite3.Connection, attempt_id: int, call_sid: str, outcome: CallOutcome) -> bool:
    _attempt(db, attempt_id)
    cursor = db.execute(
        "UPDATE campaign_attempts SET call_outcome = ?, call_sid = coalesce(call_sid, ?) "
        "WHERE id = ? AND call_outcome IS NULL",
        (outcome, call_sid, attempt_id),
    )
    return cursor.rowcount == 1


def get_contact(db: sqlite3.Connection, contact_id: int) -> ContactHistory:
    rows = db.execute(
        f"SELECT {ATTEMPT_COLUMNS} FROM campaign_attempts WHERE contact_id = ? "  # noqa: S608  # our column constants; values bound
        "ORDER BY id",
        (contact_id,),
    )
    return ContactHistory(_contact(db, contact_id), tuple(attempt_from_row(r) for r in rows))


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
