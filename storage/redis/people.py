"""The people part of the Store protocol on Redis: a mixin of `RedisStore`.

Agents, tokens and presence are calls of lua/people.lua, offers of lua/offer.lua, and their
reads of lua/people_read.lua (the keys are described at the top of each). Every check and
the write it guards are one script, so two hubs can never offer one ticket twice, take an
agent past capacity or expire an offer twice.

An agent's load (`{ch}:load:<name>`) is a counter moved in the script of every change that
moves it: common.lua's `reindex` for what they hold, `end_offer` and the offer script for
their open offers; a change that makes an offered ticket stop waiting ends its offer
(`change_ticket`). Loads are kept for every assignee, agent or not; a new agent's is counted
once from the tickets they hold (an older hub kept none). Data of older hubs: at open, every
token's name that is no agent becomes one, with its tokens' roles. A token that an older hub
still running writes afterwards grants its own role until the next open makes its agent;
changes that such a hub makes move no load (upgrade every hub).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis, RedisCluster

from core.errors import Conflict, NotFound
from core.json_text import dumps, loads
from core.model import Priority, Role, Token
from core.people import (
    DEFAULT_CAPACITY,
    Agent,
    AgentChange,
    NewOffer,
    Offer,
    OfferState,
    Presence,
    TokenInfo,
    WaitingTicket,
    full_capacity,
)
from storage.redis.live import Scripts
from storage.redis.options import translated
from storage.redis.rows import opt_dt, pairs, ts
from storage.sqlite.rows import dt


class _Live(Protocol):
    @property
    def scripts(self) -> Scripts: ...

    @property
    def client(self) -> Redis | RedisCluster: ...


class RedisPeople:
    """Agents, tokens, presence and offers on Redis."""

    @property
    def _live(self) -> _Live:
        raise NotImplementedError  # RedisStore's open connection

    def key(self, *parts: str | int) -> str:
        raise NotImplementedError  # RedisStore's key names

    async def upgrade_people(self) -> None:
        """Make agents of the token names older hubs stored (their loads counted)."""
        await self._live.scripts.run("people", "adopt", _defaults())

    @translated
    async def add_token(self, name: str, role: Role | None, digest: str, now: datetime) -> Token:
        text = dumps({"name": name, "role": role, "created_at": now.timestamp()})
        reply = await self._live.scripts.run(
            "people", "token", digest, name, role or "", text, _defaults(), ts(now)
        )
        if reply == "missing":
            raise NotFound("agent", name)
        if reply == "taken":
            raise Conflict("a token with this digest exists")
        token_id, roles = reply
        return Token(int(token_id), name, _granted(role, roles), now)

    @translated
    async def find_token(self, digest: str) -> Token | None:
        reply = await self._live.scripts.run("people_read", "token", digest)
        if reply is None:
            return None
        text, roles = reply
        data = loads(text)
        if data.get("revoked_at") is not None:
            return None
        role = None if data.get("role") is None else Role(data["role"])
        if roles is None:  # an older hub's token, its agent not made yet: its own role
            roles = dumps([] if role is None else [role])
        return Token(data["id"], data["name"], _granted(role, roles), dt(data["created_at"]))

    @translated
    async def list_tokens(self) -> list[TokenInfo]:
        texts = await self._live.client.hvals(self.key("tokens"))
        return sorted((_token_info(str(text)) for text in texts), key=lambda t: t.id)

    @translated
    async def revoke_tokens(self, name_or_id: str | int, now: datetime) -> list[TokenInfo]:
        by = "id" if isinstance(name_or_id, int) else "name"
        texts = await self._live.scripts.run("people", "revoke", by, str(name_or_id), ts(now))
        return sorted((_token_info(text) for text in texts), key=lambda t: t.id)

    @translated
    async def put_agent(self, name: str, change: AgentChange, now: datetime) -> Agent:
        reply = await self._live.scripts.run(
            "people", "put", name, ts(now), _change_json(change), _defaults()
        )
        return agent_from_reply(reply)

    @translated
    async def get_agent(self, name: str) -> Agent:
        reply = await self._live.scripts.run("people_read", "agent", name)
        if reply is None:
            raise NotFound("agent", name)
        return agent_from_reply(reply)

    @translated
    async def list_agents(self) -> list[Agent]:
        replies = await self._live.scripts.run("people_read", "agents")
        return sorted(map(agent_from_reply, replies), key=lambda a: a.name)

    @translated
    async def known_person(self, name: str) -> bool:
        return bool(await self._live.client.sismember(self.key("agents"), name))

    @translated
    async def set_presence(
        self, name: str, presence: Presence | None, now: datetime
    ) -> tuple[Agent, list[Offer]]:
        reply = await self._live.scripts.run("people", "presence", name, presence or "", ts(now))
        if reply is None:
            raise NotFound("agent", name)
        agent, withdrawn = reply
        return agent_from_reply(agent), [offer_from_reply(reply) for reply in withdrawn]

    @translated
    async def lapse_presence(self, cutoff: datetime, now: datetime) -> list[Agent]:
        replies = await self._live.scripts.run("people", "lapse", ts(cutoff), ts(now))
        return [agent_from_reply(reply) for reply in replies]

    @translated
    async def waiting_for_offer(self, queue: str, limit: int) -> list[WaitingTicket]:
        replies = await self._live.scripts.run("people_read", "waiting", queue, limit)
        return [_waiting(reply) for reply in replies]

    @translated
    async def make_offer(self, offer: NewOffer, now: datetime) -> Offer:
        reply = await self._live.scripts.run(
            "offer", "make", offer.ticket_id, offer.agent, offer.queue, offer.channel,
            ts(offer.deadline), dumps(offer.explanation), offer.deadline.isoformat(),
            ts(now),
        )  # fmt: skip
        return offer_from_reply(_checked(reply))

    @translated
    async def answer_offer(
        self, offer_id: int, agent: str, now: datetime, *, accept: bool
    ) -> Offer:
        reply = await self._live.scripts.run(
            "offer", "answer", offer_id, agent, ts(now), "1" if accept else "0"
        )
        if reply is None:
            raise NotFound("offer", offer_id)
        if reply[0] == "expired":
            raise Conflict(f"offer {offer_id} expired at {dt(float(reply[1])).isoformat()}")
        return offer_from_reply(_checked(reply))

    @translated
    async def list_offers(self, agent: str | None) -> list[Offer]:
        replies = await self._live.scripts.run("people_read", "offers", agent or "")
        return [offer_from_reply(reply) for reply in replies]

    @translated
    async def expire_offers(self, now: datetime, limit: int = 100) -> list[Offer]:
        replies = await self._live.scripts.run("offer", "expire", ts(now), limit)
        return [offer_from_reply(reply) for reply in replies]

    @translated
    async def next_offer_deadline(self) -> datetime | None:
        first = await self._live.client.zrange(self.key("deadlines"), 0, 0, withscores=True)
        return dt(float(first[0][1])) if first else None


def _defaults() -> str:
    return dumps(dict(DEFAULT_CAPACITY))


def _granted(role: Role | None, roles_json: str) -> frozenset[Role]:
    """What a token grants: its agent's roles, narrowed to the one it was issued for."""
    held = frozenset(Role(r) for r in _strings(roles_json))
    return held if role is None else held & {role}


def _strings(text: str | None) -> list[str]:
    """A JSON list as Lua writes it (an empty table may come out as `{}`)."""
    value = loads(text or "[]")
    return list(value) if isinstance(value, list) else []


def _change_json(change: AgentChange) -> str:
    data: dict[str, object] = {"add_roles": sorted(change.add_roles)}
    if change.roles is not None:
        data["roles"] = sorted(change.roles)
    if change.skills is not None:
        data["skills"] = sorted(change.skills)
    if change.queues is not None:
        data["queues"] = sorted(change.queues)
    if change.capacity is not None:
        data["capacity"] = dict(change.capacity)
    return dumps(data)


def _token_info(text: str) -> TokenInfo:
    data = loads(text)
    role = data.get("role")
    revoked = data.get("revoked_at")
    return TokenInfo(
        data["id"],
        data["name"],
        None if role is None else Role(role),
        dt(float(data["created_at"])),
        None if revoked is None else dt(float(revoked)),
    )


def agent_from_reply(reply: Sequence[Any]) -> Agent:
    """An agent as the scripts reply it: {name, fields (flat), load (flat)}."""
    name, flat, load = reply
    fields = pairs(flat)
    capacity: Mapping[str, int] = loads(fields.get("capacity") or "{}")
    return Agent(
        name=name,
        roles=frozenset(Role(r) for r in _strings(fields.get("roles"))),
        skills=frozenset(_strings(fields.get("skills"))),
        capacity=full_capacity(capacity, None),
        queues=frozenset(_strings(fields.get("queues"))),
        presence=Presence(fields.get("presence", Presence.OFFLINE)),
        created_at=dt(float(fields["created"])),
        seen_at=opt_dt(fields.get("seen")),
        online_since=opt_dt(fields.get("since")),
        last_offered_at=opt_dt(fields.get("offered")),
        last_assigned_at=opt_dt(fields.get("assigned")),
        load={channel: int(n) for channel, n in pairs(load).items()},
    )


def offer_from_reply(reply: Sequence[Any]) -> Offer:
    """An offer as the scripts reply it (common.lua's offer_reply): its hash, flat, and its
    explanation."""
    flat, why = reply
    fields = pairs(flat)
    return Offer(
        id=int(fields["id"]),
        ticket_id=int(fields["ticket"]),
        agent=fields["agent"],
        queue=fields["queue"],
        channel=fields["channel"],
        state=OfferState(fields["state"]),
        created_at=dt(float(fields["created"])),
        deadline=dt(float(fields["deadline"])),
        explanation=tuple(_strings(why)),
        answered_at=opt_dt(fields.get("answered")),
    )


def _checked(reply: Sequence[Any]) -> Sequence[Any]:
    """The script's reply, or the Conflict its refusal names."""
    if len(reply) == 2 and reply[0] == "conflict":  # {"conflict", why}
        raise Conflict(reply[1])
    return reply


def _waiting(reply: Sequence[Any]) -> WaitingTicket:
    ticket_id, flat, route, declined = reply
    fields = pairs(flat)
    return WaitingTicket(
        id=int(ticket_id),
        queue=fields["queue"],
        channel=fields["channel"],
        priority_rank=Priority(fields["priority"]).rank,
        created_at=dt(float(fields["created"])),
        skills=frozenset(loads(route or "{}").get("skills", ())),
        declined_by=frozenset(declined),
    )
