"""The campaign part of the Store protocol on SQLite: a mixin of `SqliteStore`.

Writes go through the store's group-commit writer (so `next_contact` calls run one after the
other and a contact is handed out once), reads through its read-only connections.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar, TypeVarTuple

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

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class _Writer(Protocol):
    async def write(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T: ...


class _Readers(Protocol):
    async def read(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T: ...


class SqliteCampaigns:
    """Campaigns, contacts, attempts and the do-not-call list (campaigns.py)."""

    _writer: _Writer
    _readers: _Readers

    async def create_campaign(self, spec: CampaignSpec, now: datetime) -> Campaign:
        return await self._writer.write(c.create_campaign, spec, now)

    async def get_campaign(self, key: int | str) -> Campaign:
        return await self._readers.read(c.get_campaign, key)

    async def list_campaigns(self) -> list[Campaign]:
        return await self._readers.read(c.list_campaigns)

    async def set_campaign_state(
        self, campaign_id: int, state: CampaignState, now: datetime
    ) -> Campaign:
        return await self._writer.write(c.set_campaign_state, campaign_id, state, now)

    async def add_contacts(
        self,
        campaign_id: int,
        contacts: Sequence[NewContact],
        source: str,
        now: datetime,
        *,
        renew: bool = False,
    ) -> ContactBatch:
        return await self._writer.write(
            lists.add_contacts, campaign_id, contacts, source, now, renew
        )

    async def campaign_slots(self, campaign_id: int) -> list[str]:
        return await self._readers.read(c.campaign_slots, campaign_id)

    async def next_contact(
        self,
        campaign_id: int,
        slots: Sequence[str],
        agent: str,
        now: datetime,
        lease_until: datetime,
    ) -> Lease | None:
        return await self._writer.write(c.next_contact, campaign_id, slots, agent, now, lease_until)

    async def get_attempt(self, attempt_id: int) -> tuple[Attempt, CampaignContact]:
        return await self._readers.read(c.get_attempt, attempt_id)

    async def record_outcome(
        self, attempt_id: int, change: OutcomeChange, now: datetime
    ) -> CampaignContact:
        return await self._writer.write(c.record_outcome, attempt_id, change, now)

    async def get_contact(self, contact_id: int) -> ContactHistory:
        return await self._readers.read(c.get_contact, contact_id)

    async def add_do_not_call(self, phones: Sequence[str], source: str, now: datetime) -> int:
        return await self._writer.write(lists.add_do_not_call, phones, source, now)

    async def get_do_not_call(self, phone: str) -> DoNotCall | None:
        return await self._readers.read(lists.get_do_not_call, phone)

    async def campaign_counts(
        self, campaign_id: int, slots: Sequence[str], now: datetime
    ) -> CampaignCounts:
        return await self._readers.read(c.campaign_counts, campaign_id, slots, now)
