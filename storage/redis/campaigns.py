"""The campaign part of the Store protocol on Redis: a mixin of `RedisStore`.

Every write is one call of `lua/campaign.lua` (atomic: a contact is leased to one agent, an
outcome closes its attempt once), every read one call of `lua/campaign_read.lua` (a
snapshot). Key layout: the top of campaign.lua. A batch of new contacts goes in scripts of
`ADD_CHUNK` rows, so no script holds the server for long (each contact is still whole).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from core.campaigns import (
    Attempt,
    CallOutcome,
    Campaign,
    CampaignContact,
    CampaignCounts,
    CampaignPolicy,
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
from storage.redis.live import Scripted
from storage.redis.options import translated
from storage.redis.rows import opt_dt, pairs, ts
from storage.sqlite.rows import dt

ADD_CHUNK = 500
"""Contacts per script: ~5 ms of Redis time, so other hubs' ingests wait little."""
DNC_CHUNK = 2000


class RedisCampaigns:
    """Campaigns, contacts, attempts and the do-not-call list on Redis."""

    @property
    def _live(self) -> Scripted:
        raise NotImplementedError  # RedisStore's open connection

    @translated
    async def _write(self, *args: str | int) -> Any:
        return await self._live.scripts.run("campaign", *args)

    @translated
    async def _read(self, *args: str | int) -> Any:
        return await self._live.scripts.run("campaign_read", *args)

    async def create_campaign(self, spec: CampaignSpec, now: datetime) -> Campaign:
        campaign_id = await self._write(
            "create", spec.name, spec.queue, spec.caller_id, spec.policy.to_json(), spec.state,
            ts(now),
        )  # fmt: skip
        if campaign_id is None:
            raise Conflict(f"a campaign named {spec.name!r} exists")
        return await self.get_campaign(int(campaign_id))

    async def get_campaign(self, key: int | str) -> Campaign:
        reply = await self._read("get", key, int(isinstance(key, str)))
        if reply is None:
            raise NotFound("campaign", key)
        return _campaign(reply)

    async def list_campaigns(self) -> list[Campaign]:
        replies = await self._read("list")
        return sorted((_campaign(r) for r in replies), key=lambda c: c.id)

    async def set_campaign_state(
        self, campaign_id: int, state: CampaignState, now: datetime
    ) -> Campaign:
        answer = await self._write("state", campaign_id, state, ts(now))
        if answer == "missing":
            raise NotFound("campaign", campaign_id)
        if answer == "stopped":
            raise Conflict(f"campaign {campaign_id} is stopped for good")
        return await self.get_campaign(campaign_id)

    async def add_contacts(
        self,
        campaign_id: int,
        contacts: Sequence[NewContact],
        source: str,
        now: datetime,
        *,
        renew: bool = False,
    ) -> ContactBatch:
        total = ContactBatch()
        for start in range(0, max(len(contacts), 1), ADD_CHUNK):
            chunk = contacts[start : start + ADD_CHUNK]
            rows = [value for contact in chunk for value in _row(contact)]
            reply = await self._write("add", campaign_id, source, ts(now), int(renew), *rows)
            if reply is None:
                raise NotFound("campaign", campaign_id)
            total = _merge(total, reply)
        return total

    async def campaign_slots(self, campaign_id: int) -> list[str]:
        return sorted(await self._read("slots", campaign_id))

    async def next_contact(
        self,
        campaign_id: int,
        slots: Sequence[str],
        agent: str,
        now: datetime,
        lease_until: datetime,
    ) -> Lease | None:
        reply = await self._write("next", campaign_id, agent, ts(now), ts(lease_until), *slots)
        if reply == "missing":
            raise NotFound("campaign", campaign_id)
        if reply is None:
            return None
        contact, attempt = reply
        return Lease(_contact(pairs(contact)), attempt_from(pairs(attempt)))

    async def get_attempt(self, attempt_id: int) -> tuple[Attempt, CampaignContact]:
        reply = await self._read("attempt", attempt_id)
        if reply is None:
            raise NotFound("attempt", attempt_id)
        attempt, contact = reply
        return attempt_from(pairs(attempt)), _contact(pairs(contact))

    async def record_outcome(
        self, attempt_id: int, change: OutcomeChange, now: datetime
    ) -> CampaignContact:
        callback = "" if change.callback_at is None else ts(change.callback_at)
        reply = await self._write(
            "outcome", attempt_id, ts(now), change.outcome, change.state, ts(change.next_at),
            change.rank, callback, change.note, change.do_not_call or "", change.call_sid,
            int(change.refines),
        )  # fmt: skip
        if reply == "missing":
            raise NotFound("attempt", attempt_id)
        if reply in ("recorded", "lease"):
            why = "its outcome is recorded" if reply == "recorded" else "its lease ended"
            raise Conflict(f"attempt {attempt_id} is closed: {why}")
        return _contact(pairs(reply))

    async def get_contact(self, contact_id: int) -> ContactHistory:
        reply = await self._read("contact", contact_id)
        if reply is None:
            raise NotFound("contact", contact_id)
        contact, attempts = reply
        return ContactHistory(
            _contact(pairs(contact)), tuple(attempt_from(pairs(a)) for a in attempts)
        )

    async def add_do_not_call(self, phones: Sequence[str], source: str, now: datetime) -> int:
        added = 0
        for start in range(0, len(phones), DNC_CHUNK):
            chunk = phones[start : start + DNC_CHUNK]
            added += int(await self._write("dnc", source, ts(now), *chunk))
        return added

    async def get_do_not_call(self, phone: str) -> DoNotCall | None:
        entry = await self._read("dnc", phone)
        if entry is None:
            return None
        source, _, added = str(entry).partition("\t")
        return DoNotCall(phone, source, dt(float(added)))

    async def campaign_counts(
        self, campaign_id: int, slots: Sequence[str], now: datetime
    ) -> CampaignCounts:
        reply = await self._read("counts", campaign_id, ts(now), *slots)
        if reply is None:
            raise NotFound("campaign", campaign_id)
        counters, due = pairs(reply[0]), int(reply[1])
        return CampaignCounts(
            _counted(counters, "s:"),
            _counted(counters, "o:"),
            {int(n): count for n, count in _counted(counters, "a:").items()},
            due,
        )


def _row(contact: NewContact) -> tuple[str | int, ...]:
    return (
        contact.phone, contact.slot, ts(contact.next_at), contact.name, contact.email,
        contact.external_ref, contact.notes, contact.preferred, contact.priority, contact.line,
    )  # fmt: skip


def _merge(total: ContactBatch, reply: Sequence[Any]) -> ContactBatch:
    accepted, renewed, rejected = reply
    duplicates = [Rejected(int(r[1]), r[2], r[3]) for r in rejected if r[0] == "duplicate"]
    suppressed = [Rejected(int(r[1]), r[2], r[3]) for r in rejected if r[0] == "suppressed"]
    return ContactBatch(
        total.accepted + int(accepted),
        total.renewed + int(renewed),
        (*total.duplicates, *duplicates),
        (*total.suppressed, *suppressed),
    )


def _counted(counters: Mapping[str, str], prefix: str) -> dict[str, int]:
    """Counters of one kind, without those back at zero."""
    found = {name[len(prefix) :]: int(n) for name, n in counters.items() if name.startswith(prefix)}
    return {name: n for name, n in found.items() if n}


def _campaign(reply: Sequence[Any]) -> Campaign:
    campaign_id, flat = reply
    f = pairs(flat)
    return Campaign(
        int(campaign_id), f["name"], f["queue"], f["caller"], CampaignPolicy.from_json(f["policy"]),
        CampaignState(f["state"]), dt(float(f["created"])), dt(float(f["updated"])),
    )  # fmt: skip


def _contact(f: Mapping[str, str]) -> CampaignContact:
    return CampaignContact(
        id=int(f["id"]),
        campaign_id=int(f["campaign"]),
        phone=f["phone"],
        slot=f["slot"],
        state=ContactState(f["state"]),
        priority=int(f["priority"]),
        rank=int(f["rank"]),
        attempts=int(f["attempts"]),
        next_at=dt(float(f["next_at"])),
        created_at=dt(float(f["created"])),
        updated_at=dt(float(f["updated"])),
        name=f["name"],
        email=f["email"],
        external_ref=f["external_ref"],
        notes=f["notes"],
        preferred=f["preferred"],
        source=f["source"],
        line=int(f["line"]),
        last_outcome=f.get("last_outcome"),
        attempt_id=None if "attempt" not in f else int(f["attempt"]),
        lease_until=opt_dt(f.get("lease_until")),
    )


def attempt_from(f: Mapping[str, str]) -> Attempt:
    outcome = f.get("outcome")
    return Attempt(
        id=int(f["id"]),
        campaign_id=int(f["campaign"]),
        contact_id=int(f["contact"]),
        agent=f["agent"],
        started_at=dt(float(f["started"])),
        lease_until=dt(float(f["lease_until"])),
        ended_at=opt_dt(f.get("ended")),
        outcome=None if outcome is None else CallOutcome(outcome),
        callback_at=opt_dt(f.get("callback_at")),
        note=f.get("note", ""),
        call_sid=f.get("call_sid", ""),
        answered_by=f.get("answered_by", ""),
        call_outcome=None if "call_outcome" not in f else CallOutcome(f["call_outcome"]),
    )
