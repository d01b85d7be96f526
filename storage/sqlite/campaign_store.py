"""The campaign part of the Store protocol on SQLite: a mixin of `SqliteStore`.

Writes go through the store's group-commit writer (so `next_contact` calls run one after the
other and a contact is handed out once), reads through its read-only connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from core.campaigns import (
    Attempt,
    Campaign,
    CampaignContact,
    CampaignCounts,
    CampaignSpec,
    CampaignState,
    ContactBatch,
    ContactHistory,
    DoNotCall,
    Lease,
    NewContact,
    OutcomeChange,
)
from storage.sqlite import campaign_lists as lists
from storage.sqlite import campaigns as c


class _Writer(Protocol):
    alive: bool

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def submit(self, op: Any, *args: Any) -> Any: ...


class _Readers(Protocol):
    async def run(self, op: Any, *args: Any) -> Any: ...
    def close(self) -> None: ...


class SqliteCampaigns:
    """Campaigns, contacts, attempts and the do-not-call list (storage/sqlite_campaigns.py)."""

    _writer: _Writer
    _readers: _Readers

    async def create_campaign(self, spec: CampaignSpec, now: datetime) -> Campaign:
        campaign: Campaign = await self._writer.submit(c.create_campaign, spec, now)
        return campaign

    async def get_campaign(self, key: int | str) -> Campaign:
        campaign: Campaign = await self._readers.run(c.get_campaign, key)
        return campaign

    async def list_campaigns(self) -> list[Campaign]:
        campaigns: list[Campaign] = await self._readers.run(c.list_campaigns)
        return campaigns

    async def set_campaign_state(
        self, campaign_id: int, state: CampaignState, now: datetime
    ) -> Campaign:
        campaign: Campaign = await self._writer.submit(
            c.set_campaign_state, campaign_id, state, now
        )
        return campaign

    async def add_contacts(
        self,
        campaign_id: int,
        contacts: Sequence[NewContact],
        source: str,
        now: datetime,
        *,
        renew: bool = False,
    ) -> ContactBatch:
        batch: ContactBatch = await self._writer.submit(
            lists.add_contacts, campaign_id, contacts, source, now, renew
        )
        return batch

    async def campaign_slots(self, campaign_id: int) -> list[str]:
        slots: list[str] = await self._readers.run(c.campaign_slots, campaign_id)
        return slots

    async def next_contact(
        self,
        campaign_id: int,
        slots: Sequence[str],
        agent: str,
        now: datetime,
        lease_until: datetime,
    ) -> Lease | None:
        lease: Lease | None = await self._writer.submit(
            c.next_contact, campaign_id, slots, agent, now, lease_until
        )
        return lease

    async def get_attempt(self, attempt_id: int) -> tuple[Attempt, CampaignContact]:
        found: tuple[Attempt, CampaignContact] = await self._readers.run(c.get_attempt, attempt_id)
        return found

    async def record_outcome(
        self, attempt_id: int, change: OutcomeChange, now: datetime
    ) -> CampaignContact:
        contact: CampaignContact = await self._writer.submit(
            c.record_outcome, attempt_id, change, now
        )
        return contact

    async def get_contact(self, contact_id: int) -> ContactHistory:
        history: ContactHistory = await self._readers.run(c.get_contact, contact_id)
        return history

    async def add_do_not_call(self, phones: Sequence[str], source: str, now: datetime) -> int:
        added: int = await self._writer.submit(lists.add_do_not_call, phones, source, now)
        return added

    async def get_do_not_call(self, phone: str) -> DoNotCall | None:
        entry: DoNotCall | None = await self._readers.run(lists.get_do_not_call, phone)
        return entry

    async def campaign_counts(
        self, campaign_id: int, slots: Sequence[str], now: datetime
    ) -> CampaignCounts:
        counts: CampaignCounts = await self._readers.run(c.campaign_counts, campaign_id, slots, now)
        return counts
