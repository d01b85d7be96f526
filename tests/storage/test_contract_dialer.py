"""The Store contract for the dialer, on every backend: outbound agents taken for one dial
at a time, an attempt's call recorded once, an agent's outcome of an answered call, and
numbers taken off the do-not-call list with who and why."""

from __future__ import annotations

import asyncio

import pytest

from core.campaigns import CallOutcome, ContactState, Lease
from core.errors import Conflict, NotFound
from storage.base import Store
from tests.storage.test_contract_campaigns import change, contact, lease_next, phone, running
from tests.support import T0, later

BUSY = later(60)


async def dialled(store: Store) -> Lease:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1))], "csv:a", T0)
    lease = await lease_next(store, campaign)
    assert lease is not None
    return lease


async def test_an_agent_is_taken_for_one_dial_at_a_time(store: Store) -> None:
    campaign = await running(store)
    ann = await store.put_dialer_agent("ann", campaign.id, "+12125550199", T0, ready=True)
    assert (ann.ready, ann.busy_until, ann.endpoint) == (True, None, "+12125550199")
    await store.put_dialer_agent("bob", campaign.id, "client:bob", T0, ready=False)
    assert [a.name for a in await store.ready_dialer_agents(campaign.id, T0)] == ["ann"]
    taken = await asyncio.gather(*(store.take_dialer_agent("ann", T0, BUSY) for _ in range(8)))
    assert sum(agent is not None for agent in taken) == 1
    assert await store.ready_dialer_agents(campaign.id, later(1)) == []
    assert await store.take_dialer_agent("bob", T0, BUSY) is None  # not ready
    freed = await store.release_dialer_agent("ann", later(2))
    assert freed is not None
    assert (freed.ready, freed.busy_until) == (True, None)
    assert await store.take_dialer_agent("ann", later(3), later(4)) is not None
    # A dial whose end was never heard of holds the agent only until its bound.
    assert await store.take_dialer_agent("ann", later(5), later(70)) is not None
    wrapped = await store.release_dialer_agent("ann", later(6), ready=False)
    assert wrapped is not None
    assert wrapped.ready is False
    assert await store.release_dialer_agent("nobody", T0) is None
    with pytest.raises(NotFound):
        await store.get_dialer_agent("nobody")
    with pytest.raises(NotFound):
        await store.put_dialer_agent("cy", 99, "+12125550198", T0, ready=True)


async def test_an_agent_moves_between_campaigns(store: Store) -> None:
    spring, autumn = await running(store), await running(store, "autumn")
    await store.put_dialer_agent("ann", spring.id, "+12125550199", T0, ready=True)
    moved = await store.put_dialer_agent("ann", autumn.id, "client:ann", later(1), ready=True)
    assert (moved.campaign_id, moved.client) == (autumn.id, "ann")
    assert await store.ready_dialer_agents(spring.id, later(1)) == []
    assert [a.name for a in await store.ready_dialer_agents(autumn.id, later(1))] == ["ann"]


async def test_a_calls_outcome_is_recorded_once_with_its_sid(store: Store) -> None:
    lease = await dialled(store)
    noted = await store.set_call(lease.attempt.id, "CA1", "")
    assert (noted.call_sid, noted.answered_by) == ("CA1", "")
    noted = await store.set_call(lease.attempt.id, "CA2", "machine_start")
    assert (noted.call_sid, noted.answered_by) == ("CA1", "machine_start")  # the first sid stays
    voicemail = change(CallOutcome.VOICEMAIL, ContactState.QUEUED, later(60), call_sid="CA1")
    moved = await store.record_outcome(lease.attempt.id, voicemail, later(1))
    assert (moved.state, moved.attempts) == (ContactState.QUEUED, 1)
    with pytest.raises(Conflict, match="recorded"):
        await store.record_outcome(lease.attempt.id, voicemail, later(2))
    attempt, _ = await store.get_attempt(lease.attempt.id)
    assert (attempt.outcome, attempt.call_outcome, attempt.refinable) == (
        CallOutcome.VOICEMAIL, CallOutcome.VOICEMAIL, False,
    )  # fmt: skip
    with pytest.raises(NotFound):
        await store.set_call(999, "CA9")


async def test_an_agent_refines_an_answered_call_once(store: Store) -> None:
    lease = await dialled(store)
    answered = change(CallOutcome.ANSWERED, ContactState.COMPLETED, later(1), call_sid="CA1")
    await store.record_outcome(lease.attempt.id, answered, later(1))
    attempt, _ = await store.get_attempt(lease.attempt.id)
    assert attempt.refinable
    callback = change(
        CallOutcome.CALLBACK, ContactState.QUEUED, later(600), rank=4,
        callback_at=later(600), refines=True, note="after lunch",
    )  # fmt: skip
    moved = await store.record_outcome(lease.attempt.id, callback, later(2))
    assert (moved.state, moved.attempts, moved.last_outcome) == (ContactState.QUEUED, 1, "callback")
    counts = await store.campaign_counts(lease.contact.campaign_id, [], later(2))
    assert (dict(counts.by_outcome), dict(counts.by_state)) == ({"callback": 1}, {"queued": 1})
    history = await store.get_contact(lease.contact.id)
    (refined,) = history.attempts
    assert (refined.outcome, refined.call_outcome, refined.note) == (
        CallOutcome.CALLBACK, CallOutcome.ANSWERED, "after lunch",
    )  # fmt: skip
    with pytest.raises(Conflict, match="recorded"):
        await store.record_outcome(lease.attempt.id, callback, later(3))


async def test_an_agents_do_not_call_of_an_answered_call_lists_the_number(store: Store) -> None:
    lease = await dialled(store)
    answered = change(CallOutcome.ANSWERED, ContactState.COMPLETED, later(1), call_sid="CA1")
    await store.record_outcome(lease.attempt.id, answered, later(1))
    dnc = change(
        CallOutcome.DO_NOT_CALL, ContactState.SUPPRESSED, later(2), refines=True,
        do_not_call="agent:ann",
    )  # fmt: skip
    moved = await store.record_outcome(lease.attempt.id, dnc, later(2))
    assert moved.state == ContactState.SUPPRESSED
    entry = await store.get_do_not_call(phone(1))
    assert entry is not None
    assert entry.source == "agent:ann"


async def test_an_open_or_hand_recorded_attempt_cannot_be_refined(store: Store) -> None:
    lease = await dialled(store)
    resolved = change(CallOutcome.RESOLVED, ContactState.COMPLETED, later(1), refines=True)
    with pytest.raises(Conflict):
        await store.record_outcome(lease.attempt.id, resolved, later(1))
    by_hand = change(CallOutcome.ANSWERED, ContactState.COMPLETED, later(1))
    await store.record_outcome(lease.attempt.id, by_hand, later(1))
    with pytest.raises(Conflict):
        await store.record_outcome(lease.attempt.id, resolved, later(2))


async def test_a_number_comes_off_the_do_not_call_list_with_who_and_why(store: Store) -> None:
    await store.add_do_not_call([phone(1)], "registry", T0)
    removed = await store.remove_do_not_call(phone(1), "sue", "listed by mistake", later(1))
    assert removed is not None
    assert (removed.source, removed.added_at, removed.removed_by, removed.reason) == (
        "registry", T0, "sue", "listed by mistake",
    )  # fmt: skip
    assert removed.removed_at == later(1)
    assert await store.get_do_not_call(phone(1)) is None
    assert await store.remove_do_not_call(phone(1), "sue", "again", later(2)) is None
    await store.add_do_not_call([phone(1)], "complaint", later(3))
    await store.remove_do_not_call(phone(1), "tom", "consent given", later(4))
    history = await store.do_not_call_removals(phone(1))
    assert [(r.source, r.removed_by) for r in history] == [
        ("registry", "sue"), ("complaint", "tom"),
    ]  # fmt: skip
    assert await store.do_not_call_removals(phone(2)) == []


async def test_a_calls_end_is_noted_once(store: Store) -> None:
    lease = await dialled(store)
    assert await store.end_call(lease.attempt.id, "CA1", CallOutcome.NO_ANSWER) is True
    assert await store.end_call(lease.attempt.id, "CA1", CallOutcome.NO_ANSWER) is False
    attempt, _ = await store.get_attempt(lease.attempt.id)
    assert (attempt.call_sid, attempt.call_outcome, attempt.outcome) == (
        "CA1", CallOutcome.NO_ANSWER, None,
    )  # fmt: skip
    with pytest.raises(NotFound):
        await store.end_call(999, "CA9", CallOutcome.BUSY)
