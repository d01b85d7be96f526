"""The Store contract for SLA deadlines, on every backend: kept per ticket and replaced
whole, claimed by one caller at a time until the claim's lease ends, finished only when
unchanged since the claim; and the router's business-hours due times kept on the ticket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.deadlines import BREACH, WARNING, Deadline
from core.model import Decision
from storage.base import Store
from tests.storage.test_contract import NO_WINDOW, fixed_decision
from tests.support import T0, inbound, later

LEASE = timedelta(seconds=30)


async def ticket(store: Store, external_id: str = "m1") -> int:
    result = await store.commit_inbound(
        inbound(external_id), fixed_decision(Decision("general")), NO_WINDOW
    )
    return result.ticket_id


def deadline(ticket_id: int, minutes: float, kind: str = BREACH, key: str = "k1") -> Deadline:
    return Deadline(ticket_id, "first_response", kind, key, later(minutes))


async def test_deadlines_are_claimed_when_due_oldest_first(store: Store) -> None:
    one, two = await ticket(store, "a"), await ticket(store, "b")
    await store.set_deadlines(one, [deadline(one, 10), deadline(one, 5, WARNING)])
    await store.set_deadlines(two, [deadline(two, 7)])
    assert await store.claim_deadlines(later(4), LEASE) == []
    claimed = await store.claim_deadlines(later(8), LEASE)
    assert claimed == [deadline(one, 5, WARNING), deadline(two, 7)]
    assert await store.claim_deadlines(later(8), LEASE) == []  # held by the first claim
    for done in claimed:
        await store.finish_deadline(done)
    assert await store.claim_deadlines(later(20), LEASE, limit=1) == [deadline(one, 10)]


async def test_concurrent_claims_hand_each_deadline_to_one_caller(store: Store) -> None:
    ids = [await ticket(store, f"m{n}") for n in range(5)]
    for n, ticket_id in enumerate(ids):
        await store.set_deadlines(ticket_id, [deadline(ticket_id, n)])
    claims = await asyncio.gather(*(store.claim_deadlines(later(10), LEASE) for _ in range(6)))
    taken = [d.ticket_id for claim in claims for d in claim]
    assert sorted(taken) == sorted(ids)


async def test_an_unfinished_claim_comes_back_when_its_lease_ends(store: Store) -> None:
    one = await ticket(store)
    await store.set_deadlines(one, [deadline(one, 1)])
    assert await store.claim_deadlines(later(2), LEASE) == [deadline(one, 1)]
    assert await store.claim_deadlines(later(2.4), LEASE) == []
    again = await store.claim_deadlines(later(2.6), LEASE)  # 30 s after the claim
    assert again == [deadline(one, 1)]
    await store.finish_deadline(again[0])
    assert await store.claim_deadlines(later(60), LEASE) == []


async def test_replacing_deadlines_drops_the_others_and_keeps_an_unchanged_claim(
    store: Store,
) -> None:
    one = await ticket(store)
    await store.set_deadlines(one, [deadline(one, 1), deadline(one, 1, WARNING)])
    held = await store.claim_deadlines(later(2), LEASE)
    assert len(held) == 2
    await store.set_deadlines(one, [deadline(one, 1)])  # unchanged: still held
    assert await store.claim_deadlines(later(2.1), LEASE) == []
    await store.set_deadlines(one, [deadline(one, 3, key="k2")])  # a new instance
    await store.finish_deadline(held[0])  # the claimed one was replaced: nothing to finish
    assert await store.claim_deadlines(later(4), LEASE) == [deadline(one, 3, key="k2")]
    await store.set_deadlines(one, [])
    assert await store.claim_deadlines(later(60 * 24), LEASE) == []


async def test_a_deadline_keeps_its_time_to_the_millisecond(store: Store) -> None:
    one = await ticket(store)
    due = datetime(2026, 11, 23, 15, 0, 1, 234_567, tzinfo=UTC)
    exact = Deadline(one, "resolution", BREACH, "2026-11-23T15:00:00.123456+00:00", due)
    await store.set_deadlines(one, [exact])
    (claimed,) = await store.claim_deadlines(due, LEASE)
    assert (claimed.key, abs(claimed.due - due) < timedelta(milliseconds=1)) == (exact.key, True)
    await store.finish_deadline(claimed)
    assert await store.claim_deadlines(due + timedelta(hours=1), LEASE) == []


async def test_the_ticket_keeps_the_routers_business_hours_due_times(store: Store) -> None:
    due = T0 + timedelta(hours=19)  # the next morning's opening, say
    decision = Decision("general", first_response=timedelta(hours=1), first_response_due=due)
    result = await store.commit_inbound(inbound("m9"), fixed_decision(decision), NO_WINDOW)
    assert (await store.get_ticket(result.ticket_id)).first_response_due == due
