"""A seeded random working of tickets through a Store (the rollups' tests): contacts and
follow-ups on three channels, claims, hand-overs, replies (some failing; on a closed ticket,
an agent's follow-up of it), resolutions, reopenings, closings, transfers, SLA breaches (of
every clock) and customers' merges, in time order."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.errors import HubError
from core.model import Cause, Delivery, Status, ThreadPolicy, TicketChange
from core.periods import UTC_CELLS, Calendar
from core.record import Actor, ActorKind, EventKind, TicketEvent
from core.tally import Replay
from storage.base import Store
from tests.support import RecordingRouter, inbound

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(days=1))
AGENTS = ("ann", "bob", "cy")
QUEUES = ("general", "billing")
CLOCKS = ("first_response", "resolution", "next_response", "periodic_update")
SENDERS = (
    ("email", "email:a@x.org"), ("email", "email:b@x.org"), ("sms", "phone:+15550000001"),
    ("sms", "phone:+15550000002"), ("form", "email:c@x.org"), ("form", "email:a@x.org"),
)  # fmt: skip


@dataclass
class Workload:
    store: Store
    start: datetime
    seed: int
    name: str = "w"
    at: datetime = field(init=False)
    tickets: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.at = self.start

    async def run(self, steps: int) -> None:
        for n in range(steps):
            self.at += timedelta(minutes=self.rng.expovariate(1 / 50))
            with contextlib.suppress(HubError):  # a move the workflow refuses changes nothing
                await self._step(n)

    async def _step(self, n: int) -> None:
        roll = self.rng.random()
        if not self.tickets or roll < 0.22:
            await self._contact(n)
            return
        ticket = self.rng.choice(self.tickets[-12:])
        agent = self.rng.choice(AGENTS)
        if roll < 0.40:
            await self._change(ticket, TicketChange(status=Status.OPEN, assignee=agent))
        elif roll < 0.60:
            await self._reply(ticket, agent)
        elif roll < 0.74:
            await self._change(ticket, TicketChange(status=Status.RESOLVED))
        elif roll < 0.80:
            await self._change(ticket, TicketChange(status=self.rng.choice(list(Status))))
        elif roll < 0.86:
            await self._change(ticket, TicketChange(queue=self.rng.choice(QUEUES)))
        elif roll < 0.90:
            await self._change(ticket, TicketChange(assignee=""))
        elif roll < 0.94:
            clock = self.rng.choice(CLOCKS)
            detail = {"metric": clock, "key": f"{n}", "queue": "general"}
            await self._change(ticket, TicketChange(cause=Cause(EventKind.SLA_BREACH, detail)))
        else:
            await self._merge()

    async def _contact(self, n: int) -> None:
        channel, sender = self.rng.choice(SENDERS)
        policy = DAY_WINDOW if self.rng.random() < 0.4 else NO_WINDOW
        contact = inbound(f"{self.name}{n}", sender, channel=channel, at=self.at)
        made = await self.store.commit_inbound(
            contact, RecordingRouter(self.rng.choice(QUEUES)), policy
        )
        if made.ticket_id not in self.tickets:
            self.tickets.append(made.ticket_id)

    async def _change(self, ticket: int, change: TicketChange) -> None:
        actor = Actor.agent(self.rng.choice(AGENTS))
        if change.cause is not None:
            actor = Actor(ActorKind.CLOCK)
        fields = {f: getattr(change, f) for f in ("status", "queue", "assignee", "cause")}
        await self.store.update_ticket(ticket, TicketChange(**fields, actor=actor), self.at)

    async def _reply(self, ticket: int, agent: str) -> None:
        if (await self.store.get_ticket(ticket)).status is Status.CLOSED:  # takes no reply
            ticket = (await self.store.open_follow_up(ticket, agent, self.at)).id
            self.tickets.append(ticket)
        message = await self.store.append_outbound(ticket, "hello", agent, self.at)
        if self.rng.random() < 0.25:
            await self.store.record_delivery(message.id, Delivery("failed", "", "boom"))

    async def _merge(self) -> None:
        if len(self.tickets) < 2:
            return
        a, b = self.rng.sample(self.tickets, 2)
        first = (await self.store.get_ticket(a)).customer_id
        second = (await self.store.get_ticket(b)).customer_id
        if first != second:
            await self.store.merge_customers(first, second, "ann", self.at)


async def whole_record(store: Store) -> list[TicketEvent]:
    events, after = [], 0
    while page := await store.events_after(after, 500):
        events += page
        after = page[-1].seq
    return events


def replayed(events: list[TicketEvent], calendar: Calendar = UTC_CELLS) -> Replay:
    replay = Replay(calendar)
    for e in events:
        replay.add(e.ticket_id, e.kind, e.actor, e.at.timestamp(), e.detail)
    return replay
