"""What only the Redis backend risks with people and offers: loads are counters (they must
agree with the tickets and offers after any sequence of changes), its scripts walk sets
(they must end whatever they are given), its keys (one hash tag), and tokens that older
hubs wrote (they keep working)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.errors import Conflict, MoveRefused, TicketFinal
from core.model import (
    ACTIVE_STATUSES,
    UNASSIGN,
    Priority,
    Role,
    Status,
    ThreadPolicy,
    TicketChange,
)
from core.people import NewOffer, Presence
from storage.redis.store import RedisStore
from tests.storage.redis_server import RedisServer
from tests.storage.test_contract_depths import ROUTER, all_tickets
from tests.storage.test_contract_people import new_ticket, offer_of, online
from tests.support import T0, inbound, later

T = TypeVar("T")


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_url)
    await store.open()
    yield store
    await store.close()


async def test_people_keys_carry_the_hash_tag(redis_server: RedisServer, redis_url: str) -> None:
    store = RedisStore(f"{redis_url}?prefix=tenant7")
    await store.open()
    try:
        await store.add_token("ann", Role.AGENT, "d" * 64, T0)
        await online(store, "ann")
        first, second = await new_ticket(store, 1), await new_ticket(store, 2)
        offer = await store.make_offer(offer_of(first, "ann", 2), later(1))
        await store.answer_offer(offer.id, "ann", later(1.5), accept=False)
        await store.make_offer(offer_of(second, "ann", 3), later(1))
        await store.expire_offers(later(4))
        await store.lapse_presence(later(9), later(9))
        await store.revoke_tokens("ann", later(10))
    finally:
        await store.close()
    with redis_server.client() as client:
        keys = client.keys("*")
    assert any(":of:" in key for key in keys)
    assert all(key.startswith("{tenant7}:") for key in keys)


async def test_claim_and_waiting_pass_over_many_offered_tickets(redis_store: RedisStore) -> None:
    """More offered tickets than one chunk of a script's walk lie ahead of the free ones."""
    await online(redis_store, "ann", form=500)
    urgent = await new_ticket(redis_store, 0, priority=Priority.URGENT)
    ids = [await new_ticket(redis_store, n) for n in range(1, 141)]
    await redis_store.make_offer(offer_of(urgent, "ann", 60), later(200))
    for ticket_id in ids[:130]:
        await redis_store.make_offer(offer_of(ticket_id, "ann", 60), later(200))
    waiting = await redis_store.waiting_for_offer("q", 5)
    assert [w.id for w in waiting] == ids[130:135]
    claimed = await redis_store.claim_next("q", "bob", later(201))
    assert claimed is not None
    assert claimed.id == ids[130]
    assert (await redis_store.get_agent("ann")).load_on("form") == 131


@pytest.mark.parametrize("limit", ["nan", "inf", "-inf", "1e308", "-1", "x", "9007199254740993"])
async def test_scripts_end_whatever_their_numbers(redis_store: RedisStore, limit: str) -> None:
    await online(redis_store, "ann")
    ticket_id = await new_ticket(redis_store, 1)
    await redis_store.make_offer(offer_of(ticket_id, "ann", 1), later(1))
    await new_ticket(redis_store, 2)
    scripts = redis_store._live.scripts  # the scripts themselves, unguarded
    async with asyncio.timeout(5):
        waiting = await scripts.run("people_read", "waiting", "q", limit)
        assert len(waiting) <= 1
        await scripts.run("offer", "expire", "1e308", limit)
        assert await scripts.run("claim", "q", "bob", "0", limit) is None
    assert await redis_store.list_offers(None) == []


async def test_two_hubs_expire_each_offer_once_and_never_overfill(redis_url: str) -> None:
    """Two stores on one Redis (two hubs): offers raced from both never give a ticket two
    offers or an agent more than their capacity, and concurrent expiries in small batches
    share out every expired offer exactly once."""
    hubs = [RedisStore(redis_url), RedisStore(redis_url)]
    for hub in hubs:
        await hub.open()
    try:
        for name in ("ann", "bob", "cat"):
            await online(hubs[0], name, form=3)
        ids = [await new_ticket(hubs[0], n) for n in range(12)]
        tries = [
            hubs[i % 2].make_offer(offer_of(t, name, 5), later(1))
            for i, (t, name) in enumerate(itertools.product(ids, ("ann", "bob", "cat")))
        ]
        made = [
            r
            for r in await asyncio.gather(*tries, return_exceptions=True)
            if not isinstance(r, BaseException)
        ]
        assert len(made) == 9  # three agents at capacity 3
        assert len({o.ticket_id for o in made}) == 9
        for name in ("ann", "bob", "cat"):
            assert (await hubs[1].get_agent(name)).load == {"form": 3}
        batches = await asyncio.gather(*(hubs[i % 2].expire_offers(later(6), 2) for i in range(8)))
        expired = [o.id for batch in batches for o in batch]
        assert sorted(expired) == sorted(o.id for o in made)
        assert await hubs[0].list_offers(None) == []
    finally:
        for hub in hubs:
            await hub.close()


async def test_tokens_of_an_older_hub_keep_working(
    redis_server: RedisServer, redis_url: str
) -> None:
    """An older hub kept tokens with a role and no agents, and no loads."""
    store = RedisStore(redis_url)
    await store.open()
    ticket_id = await new_ticket(store, 1)
    await store.update_ticket(ticket_id, TicketChange(assignee="olga"), later(2))
    old = {"id": 7, "name": "olga", "role": "agent", "created_at": T0.timestamp()}
    with redis_server.client() as client:
        client.delete("{ch}:load:olga")
        client.hset("{ch}:tokens", "a" * 64, json.dumps(old))
        client.hset("{ch}:ids", "token", 7)
    found = await store.find_token("a" * 64)
    assert found is not None
    assert (found.name, found.roles) == ("olga", frozenset({Role.AGENT}))
    assert not await store.known_person("olga")
    await store.close()
    reopened = RedisStore(redis_url)
    await reopened.open()
    try:
        olga = await reopened.get_agent("olga")
        assert (olga.roles, olga.created_at) == (frozenset({Role.AGENT}), T0)
        assert olga.load == {"form": 1}
        assert await reopened.known_person("olga")
        (info,) = await reopened.list_tokens()
        assert (info.id, info.role, info.created_at) == (7, Role.AGENT, T0)
        whole = await reopened.add_token("olga", None, "b" * 64, later(3))
        assert (whole.id, whole.roles) == (8, frozenset({Role.AGENT}))
    finally:
        await reopened.close()


# Loads are counters: after any sequence of changes they equal a count of the tickets held
# and the offers open.

AGENTS = ("ann", "bob")
QUEUES = ("billing", "sales")
CHANNELS = ("form", "sms")
CAPACITY = {"form": 2, "sms": 1}
WINDOW = ThreadPolicy({}, timedelta(hours=2))


class Loads(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.store = RedisStore(type(self).url)
        self.run(self.store.open())
        self.clock = itertools.count(1)
        for name in AGENTS:
            self.run(online(self.store, name, **CAPACITY))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(work)

    def teardown(self) -> None:
        self.run(self.store.close())
        self.runner.close()

    def now(self) -> Any:
        return later(next(self.clock))

    def ticket_ids(self) -> list[int]:
        return sorted(t.id for t in self.run(all_tickets(self.store)))

    def target(self, n: int, offered: bool) -> int:
        """A ticket, one on offer when asked and there is one (the changes that end offers)."""
        on_offer = [o.ticket_id for o in self.run(self.store.list_offers(None))]
        ids = on_offer if offered and on_offer else self.ticket_ids()
        return ids[n % len(ids)]

    @rule(customer=st.integers(0, 5), queue=st.sampled_from(QUEUES), ch=st.sampled_from(CHANNELS))
    def ingest(self, customer: int, queue: str, ch: str) -> None:
        n = next(self.clock)
        contact = inbound(
            f"m{n}", f"email:c{customer}@x.org", channel=ch, subject=queue, at=later(n)
        )
        self.run(self.store.commit_inbound(contact, ROUTER, WINDOW))

    @precondition(lambda self: self.ticket_ids())
    @rule(
        n=st.integers(0, 99), offered=st.booleans(), agent=st.sampled_from((*AGENTS, "dee", None))
    )
    def assign(self, n: int, offered: bool, agent: str | None) -> None:
        change = TicketChange(assignee=agent or UNASSIGN)
        with contextlib.suppress(TicketFinal):  # a closed ticket keeps its holder
            self.run(self.store.update_ticket(self.target(n, offered), change, self.now()))

    @precondition(lambda self: self.ticket_ids())
    @rule(n=st.integers(0, 99), offered=st.booleans(), status=st.sampled_from(Status))
    def move(self, n: int, offered: bool, status: Status) -> None:
        with contextlib.suppress(MoveRefused):
            change = TicketChange(status=status)
            self.run(self.store.update_ticket(self.target(n, offered), change, self.now()))

    @precondition(lambda self: self.ticket_ids())
    @rule(n=st.integers(0, 99), offered=st.booleans(), queue=st.sampled_from(QUEUES))
    def requeue(self, n: int, offered: bool, queue: str) -> None:
        change = TicketChange(queue=queue)
        with contextlib.suppress(TicketFinal):  # a closed ticket keeps its queue
            self.run(self.store.update_ticket(self.target(n, offered), change, self.now()))

    @rule(n=st.integers(0, 99), agent=st.sampled_from(AGENTS), queue=st.sampled_from(QUEUES))
    def offer(self, n: int, agent: str, queue: str) -> None:
        """Offer a ticket that waits (any ticket when none does: refused)."""
        waiting = [w.id for w in self.run(self.store.waiting_for_offer(queue, 100))]
        ids = waiting or self.ticket_ids()
        if not ids:
            return
        ticket = self.run(self.store.get_ticket(ids[n % len(ids)]))
        load = self.run(self.store.get_agent(agent)).load_on(ticket.channel)
        now = self.now()
        new = NewOffer(
            ticket.id, agent, ticket.queue, ticket.channel, now + timedelta(minutes=3), ("why",)
        )
        with contextlib.suppress(Conflict):
            self.run(self.store.make_offer(new, now))
            assert load < CAPACITY[ticket.channel]

    @rule(n=st.integers(0, 9), accept=st.booleans())
    def answer(self, n: int, accept: bool) -> None:
        offers = self.run(self.store.list_offers(None))
        if offers:
            chosen = offers[n % len(offers)]
            with contextlib.suppress(Conflict):  # past its deadline
                self.run(
                    self.store.answer_offer(chosen.id, chosen.agent, self.now(), accept=accept)
                )

    @rule(agent=st.sampled_from(AGENTS), presence=st.sampled_from([*Presence, Presence.ONLINE]))
    def presence(self, agent: str, presence: Presence) -> None:
        self.run(self.store.set_presence(agent, presence, self.now()))

    @rule()
    def expire(self) -> None:
        self.run(self.store.expire_offers(self.now()))

    @rule(queue=st.sampled_from(QUEUES), agent=st.sampled_from((*AGENTS, "dee")))
    def claim(self, queue: str, agent: str) -> None:
        before = {a: self.run(self.store.get_agent(a)) for a in AGENTS}
        claimed = self.run(self.store.claim_next(queue, agent, self.now()))
        if claimed is not None and agent in before:
            assert before[agent].load_on(claimed.channel) < CAPACITY[claimed.channel]

    @invariant()
    def loads_are_what_is_held_and_offered(self) -> None:
        tickets = self.run(all_tickets(self.store))
        offers = self.run(self.store.list_offers(None))
        for name in AGENTS:
            counted = Counter(
                t.channel for t in tickets if t.assignee == name and t.status in ACTIVE_STATUSES
            ) + Counter(o.channel for o in offers if o.agent == name)
            assert dict(self.run(self.store.get_agent(name)).load) == dict(counted)

    @invariant()
    def an_open_offer_is_of_a_waiting_ticket_alone(self) -> None:
        tickets = {t.id: t for t in self.run(all_tickets(self.store))}
        offers = self.run(self.store.list_offers(None))
        assert len({o.ticket_id for o in offers}) == len(offers)
        for offer in offers:
            ticket = tickets[offer.ticket_id]
            assert (ticket.assignee, ticket.queue) == (None, offer.queue)
            assert ticket.status in ACTIVE_STATUSES
        offered = {o.ticket_id for o in offers}
        for queue in QUEUES:
            waiting = {
                t.id for t in tickets.values()
                if t.queue == queue and t.status in ACTIVE_STATUSES and t.assignee is None
            }  # fmt: skip
            found = {w.id for w in self.run(self.store.waiting_for_offer(queue, 100))}
            assert found == waiting - offered


def test_loads_agree_with_tickets_and_offers(redis_server: RedisServer) -> None:
    class OnRedis(Loads):
        def __init__(self) -> None:
            redis_server.flush()
            type(self).url = redis_server.url
            super().__init__()

    run_state_machine_as_test(
        OnRedis, settings=settings(max_examples=25, stateful_step_count=30, deadline=None)
    )
