"""The Store contract for people and offers: agents, tokens, presence, load, offers that
are made, answered, withdrawn and expire exactly once, on every backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.errors import Conflict, NotFound
from core.model import Decision, Priority, Role, Status, TicketChange
from core.people import DEFAULT_CAPACITY, AgentChange, NewOffer, OfferState, Presence
from core.record import EventKind
from storage.base import Store
from tests.storage.test_contract import NO_WINDOW
from tests.support import T0, FunctionRouter, inbound, later


async def new_ticket(
    store: Store, n: int, queue: str = "q", channel: str = "form", priority: Priority | None = None
) -> int:
    decision = Decision(queue, priority=priority or Priority.NORMAL, skills=("billing",))
    router = FunctionRouter(lambda _c, _f: decision)
    contact = inbound(f"m{n}", f"email:c{n}@x.org", channel=channel, at=later(n))
    return (await store.commit_inbound(contact, router, NO_WINDOW)).ticket_id


async def online(store: Store, name: str, **capacity: int) -> None:
    change = AgentChange(roles=frozenset({Role.AGENT}), capacity=capacity or None)
    await store.put_agent(name, change, T0)
    await store.set_presence(name, Presence.ONLINE, T0)


def offer_of(ticket_id: int, agent: str, deadline_min: float = 2, queue: str = "q") -> NewOffer:
    return NewOffer(ticket_id, agent, queue, "form", later(deadline_min), ("chosen",))


# Agents and tokens


async def test_a_new_agent_has_default_capacity_and_is_offline(store: Store) -> None:
    agent = await store.put_agent(
        "ann", AgentChange(roles=frozenset({Role.AGENT}), skills=frozenset({"billing"})), T0
    )
    assert agent.capacity == DEFAULT_CAPACITY
    assert (agent.presence, agent.skills, agent.queues) == (
        Presence.OFFLINE,
        frozenset({"billing"}),
        frozenset(),
    )
    assert await store.get_agent("ann") == agent
    assert await store.known_person("ann")
    assert not await store.known_person("nobody")


async def test_an_update_changes_only_what_it_names(store: Store) -> None:
    await store.put_agent("ann", AgentChange(roles=frozenset({Role.AGENT})), T0)
    await store.put_agent("ann", AgentChange(capacity={"sms": 2}), later(1))
    await store.put_agent("ann", AgentChange(add_roles=frozenset({Role.OUTBOUND})), later(2))
    agent = await store.get_agent("ann")
    assert agent.roles == {Role.AGENT, Role.OUTBOUND}
    assert agent.capacity["sms"] == 2
    assert agent.capacity["email"] == DEFAULT_CAPACITY["email"]
    assert [a.name for a in await store.list_agents()] == ["ann"]


async def test_unknown_agent_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_agent("ghost")
    with pytest.raises(NotFound):
        await store.set_presence("ghost", Presence.ONLINE, T0)
    with pytest.raises(NotFound):
        await store.add_token("ghost", None, "a" * 64, T0)


async def test_a_token_grants_its_role_or_every_role_of_its_agent(store: Store) -> None:
    scoped = await store.add_token("alice", Role.AGENT, "d" * 64, T0)
    await store.add_token("alice", Role.OUTBOUND, "e" * 64, T0)
    whole = await store.add_token("alice", None, "f" * 64, T0)
    assert scoped.roles == {Role.AGENT}
    assert whole.roles == {Role.AGENT, Role.OUTBOUND}
    found = await store.find_token("d" * 64)
    assert found is not None
    assert (found.id, found.name, found.roles) == (
        scoped.id,
        "alice",
        frozenset({Role.AGENT}),
    )
    await store.put_agent("alice", AgentChange(roles=frozenset({Role.OUTBOUND})), later(1))
    narrowed = await store.find_token("d" * 64)
    assert narrowed is not None
    assert narrowed.roles == frozenset()
    assert await store.find_token("0" * 64) is None


async def test_revoking_by_id_or_by_name(store: Store) -> None:
    first = await store.add_token("alice", Role.AGENT, "d" * 64, T0)
    await store.add_token("alice", Role.AGENT, "e" * 64, T0)
    await store.add_token("bob", Role.AGENT, "f" * 64, T0)
    assert [t.id for t in await store.revoke_tokens(first.id, later(1))] == [first.id]
    assert await store.find_token("d" * 64) is None
    assert [t.name for t in await store.revoke_tokens("alice", later(2))] == ["alice"]
    assert await store.revoke_tokens("alice", later(3)) == []
    assert await store.find_token("e" * 64) is None
    assert await store.find_token("f" * 64) is not None
    listed = await store.list_tokens()
    assert [(t.name, t.revoked_at is not None) for t in listed] == [
        ("alice", True),
        ("alice", True),
        ("bob", False),
    ]


# Presence


async def test_presence_notes_the_heartbeat_and_lapses_once(store: Store) -> None:
    await online(store, "ann")
    await online(store, "bob")
    await store.set_presence("bob", Presence.ONLINE, later(5))  # a heartbeat
    lapsed = await asyncio.gather(*(store.lapse_presence(later(1), later(6)) for _ in range(3)))
    assert sorted(a.name for batch in lapsed for a in batch) == ["ann"]
    assert (await store.get_agent("ann")).presence is Presence.OFFLINE
    bob = await store.get_agent("bob")
    assert (bob.presence, bob.seen_at, bob.online_since) == (Presence.ONLINE, later(5), T0)


async def test_a_heartbeat_keeps_the_presence_as_it_is(store: Store) -> None:
    await online(store, "ann")
    await store.set_presence("ann", Presence.AWAY, later(1))
    agent, withdrawn = await store.set_presence("ann", None, later(2))
    assert (agent.presence, agent.seen_at, withdrawn) == (Presence.AWAY, later(2), [])
    assert await store.lapse_presence(later(1.5), later(3)) == []  # seen at 2: still away


# Load


async def test_load_counts_active_held_tickets_by_channel(store: Store) -> None:
    await online(store, "ann")
    ids = [await new_ticket(store, n, channel=ch) for n, ch in enumerate(["form", "form", "sms"])]
    for ticket_id in ids:
        await store.update_ticket(ticket_id, TicketChange(assignee="ann"), later(5))
    assert (await store.get_agent("ann")).load == {"form": 2, "sms": 1}
    await store.update_ticket(ids[0], TicketChange(status=Status.OPEN), later(6))
    await store.update_ticket(ids[0], TicketChange(status=Status.RESOLVED), later(6))
    await store.update_ticket(ids[2], TicketChange(assignee=""), later(7))
    agent = await store.get_agent("ann")
    assert {ch: n for ch, n in agent.load.items() if n} == {"form": 1}
    await store.commit_inbound(
        inbound("again", "email:c0@x.org", at=later(8)), _router(), NO_WINDOW
    )
    reopened = await store.get_ticket(ids[0])
    if reopened.status is Status.OPEN:  # the customer's message reopened it: held again
        assert (await store.get_agent("ann")).load_on("form") == 2


def _router() -> FunctionRouter:
    return FunctionRouter(lambda _c, _f: Decision("q"))


# Offers


async def test_an_offer_is_recorded_and_counts_as_load(store: Store) -> None:
    await online(store, "ann")
    ticket_id = await new_ticket(store, 1)
    offer = await store.make_offer(offer_of(ticket_id, "ann"), later(2))
    assert (offer.state, offer.agent, offer.explanation) == (OfferState.OPEN, "ann", ("chosen",))
    assert (await store.get_agent("ann")).load_on("form") == 1
    assert (await store.get_agent("ann")).last_offered_at == later(2)
    assert await store.waiting_for_offer("q", 10) == []
    assert [o.id for o in await store.list_offers("ann")] == [offer.id]
    assert await store.next_offer_deadline() == later(2)
    (event,) = [e for e in await store.ticket_events(ticket_id) if e.kind is EventKind.OFFERED]
    assert event.detail["agent"] == "ann"
    assert event.detail["explanation"] == ("chosen",)
    assert event.detail["offer_id"] == offer.id


async def test_waiting_for_offer_is_most_pressing_first(store: Store) -> None:
    low = await new_ticket(store, 1)
    urgent = await new_ticket(store, 2, priority=Priority.URGENT)
    await new_ticket(store, 3, queue="other")
    waiting = await store.waiting_for_offer("q", 10)
    assert [w.id for w in waiting] == [urgent, low]
    assert waiting[0].skills == {"billing"}
    assert waiting[0].declined_by == frozenset()
    assert (waiting[1].channel, waiting[1].created_at) == ("form", later(1))
    assert [w.id for w in await store.waiting_for_offer("q", 1)] == [urgent]


async def test_one_ticket_is_never_offered_twice(store: Store) -> None:
    for name in ("ann", "bob", "cat"):
        await online(store, name)
    ticket_id = await new_ticket(store, 1)
    tries = [store.make_offer(offer_of(ticket_id, n), later(2)) for n in ("ann", "bob", "cat")]
    results = await asyncio.gather(*tries, return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))


async def test_an_offer_never_takes_an_agent_above_capacity(store: Store) -> None:
    await online(store, "ann", form=2)
    ids = [await new_ticket(store, n) for n in range(4)]
    results = await asyncio.gather(
        *(store.make_offer(offer_of(t, "ann"), later(5)) for t in ids), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 2
    assert (await store.get_agent("ann")).load_on("form") == 2


async def test_offers_go_only_to_online_agents_and_waiting_tickets(store: Store) -> None:
    await store.put_agent("off", AgentChange(), T0)
    await online(store, "ann")
    ticket_id = await new_ticket(store, 1)
    with pytest.raises(Conflict, match="offline"):
        await store.make_offer(offer_of(ticket_id, "off"), later(2))
    with pytest.raises(Conflict, match="queue"):
        await store.make_offer(offer_of(ticket_id, "ann", queue="elsewhere"), later(2))
    await store.update_ticket(ticket_id, TicketChange(assignee="ann"), later(3))
    with pytest.raises(Conflict, match="held"):
        await store.make_offer(offer_of(ticket_id, "ann"), later(4))
    with pytest.raises(Conflict):
        await store.make_offer(offer_of(9999, "ann"), later(4))


async def test_accepting_assigns_and_opens_with_the_explanation(store: Store) -> None:
    await online(store, "ann")
    ticket_id = await new_ticket(store, 1)
    offer = await store.make_offer(offer_of(ticket_id, "ann"), later(1))
    accepted = await store.answer_offer(offer.id, "ann", later(1.5), accept=True)
    assert accepted.state is OfferState.ACCEPTED
    assert accepted.answered_at == later(1.5)
    ticket = await store.get_ticket(ticket_id)
    assert (ticket.assignee, ticket.status) == ("ann", Status.OPEN)
    agent = await store.get_agent("ann")
    assert (agent.load_on("form"), agent.last_assigned_at) == (1, later(1.5))
    assert await store.list_offers("ann") == []
    (assigned,) = [e for e in await store.ticket_events(ticket_id) if e.kind is EventKind.ASSIGNED]
    assert assigned.detail["offer_id"] == offer.id
    assert assigned.detail["to"] == "ann"
    assert assigned.detail["explanation"] == ("chosen",)
    with pytest.raises(Conflict):
        await store.answer_offer(offer.id, "ann", later(1.6), accept=True)


async def test_an_offer_is_answered_only_by_its_agent_before_its_deadline(store: Store) -> None:
    await online(store, "ann")
    await online(store, "bob")
    first = await store.make_offer(offer_of(await new_ticket(store, 1), "ann", 2), later(1))
    with pytest.raises(Conflict, match="ann"):
        await store.answer_offer(first.id, "bob", later(1.5), accept=True)
    with pytest.raises(Conflict, match="expired"):
        await store.answer_offer(first.id, "ann", later(2), accept=True)
    with pytest.raises(NotFound):
        await store.answer_offer(12345, "ann", later(1), accept=True)


async def test_rejecting_returns_the_ticket_and_remembers_who_declined(store: Store) -> None:
    await online(store, "ann")
    ticket_id = await new_ticket(store, 1)
    offer = await store.make_offer(offer_of(ticket_id, "ann"), later(1))
    rejected = await store.answer_offer(offer.id, "ann", later(1.2), accept=False)
    assert rejected.state is OfferState.REJECTED
    (waiting,) = await store.waiting_for_offer("q", 10)
    assert (waiting.id, waiting.declined_by) == (ticket_id, frozenset({"ann"}))
    assert (await store.get_agent("ann")).load_on("form") == 0
    kinds = [e.kind for e in await store.ticket_events(ticket_id)]
    assert kinds[-2:] == [EventKind.OFFERED, EventKind.OFFER_REJECTED]


async def test_expiry_happens_once_and_sends_the_agent_away(store: Store) -> None:
    await online(store, "ann")
    ticket_id = await new_ticket(store, 1)
    await store.make_offer(offer_of(ticket_id, "ann", 2), later(1))
    assert await store.expire_offers(later(1.9)) == []
    batches = await asyncio.gather(*(store.expire_offers(later(2)) for _ in range(4)))
    expired = [o for batch in batches for o in batch]
    assert [(o.ticket_id, o.state) for o in expired] == [(ticket_id, OfferState.EXPIRED)]
    agent = await store.get_agent("ann")
    assert (agent.presence, agent.load_on("form")) == (Presence.AWAY, 0)
    assert await store.next_offer_deadline() is None
    (waiting,) = await store.waiting_for_offer("q", 10)
    assert waiting.declined_by == {"ann"}
    (event,) = [e for e in await store.ticket_events(ticket_id) if e.kind.name.startswith("OFFER_")]
    assert (event.kind, str(event.actor)) == (EventKind.OFFER_TIMED_OUT, "clock")


async def test_leaving_online_withdraws_open_offers(store: Store) -> None:
    await online(store, "ann")
    ticket_id = await new_ticket(store, 1)
    offer = await store.make_offer(offer_of(ticket_id, "ann"), later(1))
    _agent, withdrawn = await store.set_presence("ann", Presence.AWAY, later(1.5))
    assert [(o.id, o.state) for o in withdrawn] == [(offer.id, OfferState.WITHDRAWN)]
    assert [w.id for w in await store.waiting_for_offer("q", 10)] == [ticket_id]
    assert (await store.get_agent("ann")).load_on("form") == 0
    kinds = [e.kind for e in await store.ticket_events(ticket_id)]
    assert kinds[-1] is EventKind.OFFER_WITHDRAWN


async def test_a_change_of_an_offered_ticket_withdraws_its_offer(store: Store) -> None:
    await online(store, "ann")
    await online(store, "bob")
    ticket_id = await new_ticket(store, 1)
    offer = await store.make_offer(offer_of(ticket_id, "ann"), later(1))
    await store.update_ticket(ticket_id, TicketChange(assignee="bob"), later(1.2))
    assert (await store.get_agent("ann")).load_on("form") == 0
    assert await store.list_offers("ann") == []
    with pytest.raises(Conflict):
        await store.answer_offer(offer.id, "ann", later(1.3), accept=True)
    assert (await store.get_ticket(ticket_id)).assignee == "bob"


async def test_claim_skips_offered_tickets_and_respects_capacity(store: Store) -> None:
    await online(store, "ann", form=1)
    await online(store, "bob")
    offered = await new_ticket(store, 1)
    free = await new_ticket(store, 2)
    await store.make_offer(offer_of(offered, "bob"), later(3))
    claimed = await store.claim_next("q", "ann", later(4))
    assert claimed is not None
    assert claimed.id == free
    assert await store.claim_next("q", "ann", later(5)) is None  # at capacity on form
    third = await new_ticket(store, 6)
    assert await store.claim_next("q", "bob", later(7), ticket_id=offered) is None
    assert (claimed_third := await store.claim_next("q", "bob", later(7), ticket_id=third))
    assert claimed_third.id == third


async def test_offer_deadline_is_the_earliest_open_one(store: Store) -> None:
    await online(store, "ann")
    a, b = await new_ticket(store, 1), await new_ticket(store, 2)
    await store.make_offer(offer_of(a, "ann", 9), later(3))
    await store.make_offer(offer_of(b, "ann", 4), later(3))
    assert await store.next_offer_deadline() == later(4)
    assert [o.ticket_id for o in await store.list_offers(None)] == [a, b]


async def test_offers_survive_reopening(store_url: str) -> None:
    from storage.base import open_store

    first = open_store(store_url)
    await first.open()
    try:
        await online(first, "ann")
        ticket_id = await new_ticket(first, 1)
        offer = await first.make_offer(offer_of(ticket_id, "ann", 2), later(1))
    finally:
        await first.close()
    second = open_store(store_url)
    await second.open()
    try:
        (expired,) = await second.expire_offers(later(2) + timedelta(seconds=1))
        assert expired.id == offer.id
    finally:
        await second.close()
