"""Conversions between SQLite rows of campaigns, their contacts and attempts and the model."""

from __future__ import annotations

from core.campaigns import (
    Attempt,
    CallOutcome,
    Campaign,
    CampaignContact,
    CampaignPolicy,
    CampaignState,
    ContactState,
)
from storage.sqlite.rows import Row, dt, opt_dt

CAMPAIGN_COLUMNS = "id, name, queue, caller_id, policy, state, created_at, updated_at"
CONTACT_COLUMNS = (
    "id, campaign_id, phone, slot, state, priority, rank, attempts, next_at, created_at, "
    "updated_at, name, email, external_ref, notes, preferred, source, line, last_outcome, "
    "attempt_id, lease_until"
)
ATTEMPT_COLUMNS = (
    "id, campaign_id, contact_id, agent, started_at, lease_until, ended_at, outcome, "
    "callback_at, note, call_sid, answered_by, call_outcome"
)


def campaign_from_row(row: Row) -> Campaign:
    id_, name, queue, caller_id, policy, state, created, updated = row
    return Campaign(
        id_, name, queue, caller_id, CampaignPolicy.from_json(policy), CampaignState(state),
        dt(created), dt(updated),
    )  # fmt: skip


def contact_from_row(row: Row) -> CampaignContact:
    (
        id_, campaign_id, phone, slot, state, priority, rank, attempts, next_at, created,
        updated, name, email, external_ref, notes, preferred, source, line, last_outcome,
        attempt_id, lease_until,
    ) = row  # fmt: skip
    return CampaignContact(
        id=id_,
        campaign_id=campaign_id,
        phone=phone,
        slot=slot,
        state=ContactState(state),
        priority=priority,
        rank=rank,
        attempts=attempts,
        next_at=dt(next_at),
        created_at=dt(created),
        updated_at=dt(updated),
        name=name,
        email=email,
        external_ref=external_ref,
        notes=notes,
        preferred=preferred,
        source=source,
        line=line,
        last_outcome=last_outcome,
        attempt_id=attempt_id,
        lease_until=opt_dt(lease_until),
    )


def attempt_from_row(row: Row) -> Attempt:
    (
        id_, campaign_id, contact_id, agent, started, until, ended, outcome, callback_at, note,
        call_sid, answered_by, call_outcome,
    ) = row  # fmt: skip
    return Attempt(
        id_, campaign_id, contact_id, agent, dt(started), dt(until), opt_dt(ended),
        None if outcome is None else CallOutcome(outcome), opt_dt(callback_at), note,
        call_sid or "", answered_by, None if call_outcome is None else CallOutcome(call_outcome),
    )  # fmt: skip
