"""The people part of the Store protocol on SQLite: a mixin of `SqliteStore`.

Agents, tokens and presence (people.py), offers (offers.py) and the team's saved replies
(saved_replies.py). Every write is a job of the
store's one writer, so an offer's checks and writes are one transaction and two hubs' offers
of one ticket, or past an agent's capacity, cannot both commit.
"""

from __future__ import annotations

from datetime import datetime

from core.model import Role, Token
from core.people import Agent, AgentChange, NewOffer, Offer, Presence, TokenInfo, WaitingTicket
from core.saved_replies import SavedReply, SavedReplyDraft
from storage.sqlite import offers as o
from storage.sqlite import people as p
from storage.sqlite import saved_replies as sr
from storage.sqlite.campaign_store import _Readers, _Writer


class SqlitePeople:
    """Agents, tokens, presence and offers."""

    _writer: _Writer
    _readers: _Readers

    async def add_token(self, name: str, role: Role | None, digest: str, now: datetime) -> Token:
        return await self._writer.write(p.add_token, name, role, digest, now)

    async def find_token(self, digest: str) -> Token | None:
        return await self._readers.read(p.find_token, digest)

    async def list_tokens(self) -> list[TokenInfo]:
        return await self._readers.read(p.list_tokens)

    async def revoke_tokens(self, name_or_id: str | int, now: datetime) -> list[TokenInfo]:
        return await self._writer.write(p.revoke_tokens, name_or_id, now)

    async def put_agent(self, name: str, change: AgentChange, now: datetime) -> Agent:
        return await self._writer.write(p.put_agent, name, change, now)

    async def get_agent(self, name: str) -> Agent:
        return await self._readers.read(p.get_agent, name)

    async def list_agents(self) -> list[Agent]:
        return await self._readers.read(p.list_agents)

    async def known_person(self, name: str) -> bool:
        return await self._readers.read(p.known_person, name)

    async def set_presence(
        self, name: str, presence: Presence | None, now: datetime
    ) -> tuple[Agent, list[Offer]]:
        return await self._writer.write(p.set_presence, name, presence, now)

    async def lapse_presence(self, cutoff: datetime, now: datetime) -> list[Agent]:
        return await self._writer.write(p.lapse_presence, cutoff, now)

    async def waiting_for_offer(self, queue: str, limit: int) -> list[WaitingTicket]:
        return await self._readers.read(o.waiting_for_offer, queue, limit)

    async def make_offer(self, offer: NewOffer, now: datetime) -> Offer:
        return await self._writer.write(o.make_offer, offer, now)

    async def answer_offer(
        self, offer_id: int, agent: str, now: datetime, *, accept: bool
    ) -> Offer:
        return await self._writer.write(o.answer_offer, offer_id, agent, now, accept)

    async def list_offers(self, agent: str | None) -> list[Offer]:
        return await self._readers.read(o.list_offers, agent)

    async def expire_offers(self, now: datetime, limit: int = 100) -> list[Offer]:
        return await self._writer.write(o.expire_offers, now, limit)

    async def next_offer_deadline(self) -> datetime | None:
        return await self._readers.read(o.next_offer_deadline)

    async def list_saved_replies(self) -> list[SavedReply]:
        return await self._readers.read(sr.list_saved_replies)

    async def save_reply(
        self, reply_id: int | None, draft: SavedReplyDraft, by: str, now: datetime
    ) -> SavedReply:
        return await self._writer.write(sr.save_reply, reply_id, draft, by, now)

    async def delete_saved_reply(self, reply_id: int) -> None:
        await self._writer.write(sr.delete_saved_reply, reply_id)
