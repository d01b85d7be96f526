"""Offers: push waiting tickets to agents, on the events that make an offer possible.

`Offerer.kick()` is called when something may let a ticket reach an agent: a ticket waits (a
new contact, a reopening, an unassignment), an agent comes online or gains capacity, an offer
is rejected or expires. The offering loop then runs rounds until none makes an offer: each
round reads the agents (presence, skills, load) and the most pressing waiting tickets of the
queues that push work, asks the queue's policy (router/assign.py, pure) whom to offer each
to, and makes the offer through the store, which checks it atomically (another hub may have
offered the ticket, or filled the agent, in between: that offer is skipped, the next round
reads again).

The timer loop ends offers nobody answered (the store hands each expired offer to exactly
one hub) and lapses the presence of agents whose heartbeat stopped. It wakes at the next
deadline it knows of, and at least every `tick`, so an offer made by another hub expires
within a tick of its deadline; the same tick runs a round, for work another hub let wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from core.errors import Conflict, StorageError
from core.model import Inbound, IngestResult, Outcome
from core.people import Agent, NewOffer, Offer, Presence, WaitingTicket
from hub.background import Failed, running, unheard
from router.assign import Need, candidate, choose, compact
from router.spec import AssignPolicy, QueueSpec
from storage.base import Store

log = structlog.get_logger("contacthub.offers")

SCAN = 50
"""Waiting tickets read per queue and round: the most pressing ones."""
ROUND_GAP = 0.02
"""Seconds at least between rounds: kicks that come meanwhile share the next round. Every
new ticket kicks, and a round reads the agents (a store read in a thread): under 3,000
forms/s the hub ran about a round per ticket, 6 % of its CPU, for offers 20 ms sooner."""


class Offerer:
    def __init__(
        self,
        store: Store,
        queues: Callable[[], Mapping[str, QueueSpec]],
        clock: Callable[[], datetime],
        presence_timeout: timedelta,
        tick: float = 1.0,
    ) -> None:
        self._store = store
        self._queues = queues  # the rules in force, read anew each round
        self._clock = clock
        self._presence_timeout = presence_timeout
        self._tick = tick
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Something changed that may make an offer possible."""
        self._wake.set()

    async def offer_round(self) -> list[Offer]:
        """Offer what can be offered now; the offers made."""
        now = self._clock()
        agents = {a.name: a for a in await self._store.list_agents()}
        queues = self._queues()  # one version of the rules for the round: a reload may drop a queue
        pushing = [q for q in queues.values() if q.assign.policy is not AssignPolicy.MANUAL]
        open_queues = [
            q for q in pushing if any(_free(a) and a.serves(q.name) for a in agents.values())
        ]
        waiting: list[WaitingTicket] = []
        for queue in open_queues:
            waiting += await self._store.waiting_for_offer(queue.name, SCAN)
        waiting.sort(key=lambda t: (-t.priority_rank, t.created_at, t.id))
        made: list[Offer] = []
        for ticket in waiting:
            if not any(_free(a) for a in agents.values()):
                break
            offer = await self._offer(ticket, queues[ticket.queue], agents, now)
            if offer is not None:
                made.append(offer)
                agents[offer.agent] = _holding(agents[offer.agent], offer)
        return made

    async def _offer(
        self, ticket: WaitingTicket, queue: QueueSpec, agents: Mapping[str, Agent], now: datetime
    ) -> Offer | None:
        need = Need.of(ticket)
        choice = choose(queue.assign, need, (candidate(a, need, now) for a in agents.values()), now)
        if choice.agent is None:
            return None
        deadline = now + queue.assign.offer_timeout
        offer = NewOffer(
            ticket.id,
            choice.agent,
            ticket.queue,
            ticket.channel,
            deadline,
            compact(choice.explanation),
        )
        try:
            return await self._store.make_offer(offer, now)
        except Conflict as exc:  # another hub was first; the next round reads again
            log.debug("offer skipped", ticket=ticket.id, agent=choice.agent, reason=str(exc))
            return None

    async def end_due(self) -> tuple[list[Offer], list[Agent]]:
        """End the offers past their deadline and lapse silent agents; kick if any did."""
        now = self._clock()
        expired = await self._store.expire_offers(now)
        lapsed = await self._store.lapse_presence(now - self._presence_timeout, now)
        if expired or lapsed:
            self.kick()
        return expired, lapsed

    def lifetime(self, failed: Failed = unheard) -> AsyncIterator[None]:
        """The two loops, for the app's lifetime (a cleanup_ctx body)."""
        self.kick()  # work that waited while no hub ran
        return running(self._offering, self._timing, failed=failed)

    async def _offering(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self.offer_round():
                    pass
            except StorageError as exc:
                log.warning("offers paused: store unavailable", error=str(exc))
            await asyncio.sleep(ROUND_GAP)

    async def _timing(self) -> None:
        while True:
            try:
                await self.end_due()
                deadline = await self._store.next_offer_deadline()
            except StorageError as exc:
                log.warning("offer timers paused: store unavailable", error=str(exc))
                deadline = None
            self.kick()  # a round per tick: work another hub let wait
            wait = self._tick
            if deadline is not None:
                wait = min(wait, max(0.0, (deadline - self._clock()).total_seconds()))
            await asyncio.sleep(max(wait, 0.01))


@dataclass(frozen=True, slots=True)
class OfferKick:
    """A step after a contact's commit: a new ticket waits, a follow-up may reopen one; either
    may be offered now."""

    offerer: Offerer

    async def __call__(self, _inbound: Inbound, result: IngestResult) -> None:
        if result.outcome is not Outcome.DUPLICATE:
            self.offerer.kick()


def _free(agent: Agent) -> bool:
    """Online with room on some channel."""
    return agent.presence is Presence.ONLINE and any(
        agent.load_on(ch) < n for ch, n in agent.capacity.items()
    )


def _holding(agent: Agent, offer: Offer) -> Agent:
    """The agent as the store now has them: one more on the offer's channel."""
    load = {**agent.load, offer.channel: agent.load_on(offer.channel) + 1}
    return replace(agent, load=load, last_offered_at=offer.created_at)
