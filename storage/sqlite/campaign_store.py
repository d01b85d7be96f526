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
    CallOutcome,
    Campaign,
    CampaignContact,
    CampaignCounts,
    CampaignSpec,
    CampaignState,
    ContactBatch,
    ContactHistory,
    DoNotCall,
    DoNotCallRemoval,
    Lease,
    NewContact,
    OutcomeChange,
)
from core.dialer import DialerAgent
from storage.sqlite import campaign_lists as lists
from storage.sqlite import campaigns as c
from storage.sqlite import dialer as d

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class _Writer(Protocol):
    async def write(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T: ...


class _Readers(Protocol):
    async def read(self, op: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T: ...


class SqliteCampaigns:
    """Campaigns, contacts, attempts, the do-not-call list (campaigns.py, campaign_lists.py)
    and the dialer's agents (dialer.py)."""

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

    async def remove_do_not_call(
        self, phone: str, by: str, reason: str, now: datetime
    ) -> DoNotCallRemoval | None:
        return await self._writer.write(d.remove_do_not_call, phone, by, reason, now)

    async def do_not_call_removals(self, phone: str) -> list[DoNotCallRemoval]:
        return await self._readers.read(d.do_not_call_removals, phone)

    async def set_call(self, attempt_id: int, call_sid: str, answered_by: str = "") -> Attempt:
        return await self._writer.write(c.set_call, attempt_id, call_sid, answered_by)

    async def end_call(self, attempt_id: int, call_sid: str, outcome: CallOutcome) -> bool:
        return await self._writer.write(c.end_call, attempt_id, call_sid, outcome)

    async def put_dialer_agent(
        self, name: str, campaign_id: int, endpoint: str, now: datetime, *, ready: bool
    ) -> DialerAgent:
        return await self._writer.write(d.put_agent, name, campaign_id, endpoint, now, ready)

    async def get_dialer_agent(self, name: str) -> DialerAgent:
        return await self._readers.read(d.get_agent, name)

    async def ready_dialer_agents(self, campaign_id: int, now: datetime) -> list[DialerAgent]:
        return await self._readers.read(d.ready_agents, campaign_id, now)

    async def take_dialer_agent(
        self, name: str, now: datetime, busy_until: datetime
    ) -> DialerAgent | None:
        return await self._writer.write(d.take_agent, name, now, busy_until)

    async def release_dialer_agent(
        self, name: str, now: datetime, ready: bool | None = None
    ) -> DialerAgent | None:
        return await self._writer.write(d.release_agent, name, now, ready)
