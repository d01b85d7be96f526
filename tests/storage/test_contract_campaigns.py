"""The Store contract for outbound campaigns, on every backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from core.campaigns import (
    APPOINTMENT_RANK,
    DUPLICATE_IN_CAMPAIGN,
    DUPLICATE_IN_LIST,
    SMS_OPT_OUT,
    CallOutcome,
    Campaign,
    CampaignSpec,
    CampaignState,
    ContactState,
    Lease,
    NewContact,
    OutcomeChange,
)
from core.errors import Conflict, NotFound
from storage.base import Store
from tests.support import T0, later

NY, LA = "America/New_York", "America/Los_Angeles"
LEASE = timedelta(minutes=10)


def contact(
    phone: str, line: int = 1, *, slot: str = NY, at: datetime = T0, **fields: str
) -> NewContact:
    return NewContact(phone, slot, at, line=line, **fields)  # type: ignore[arg-type]  # optional fields of several types, as tests pass them


def phone(n: int) -> str:
    return f"+1212555{n:04d}"


async def running(store: Store, name: str = "spring") -> Campaign:
    spec = CampaignSpec(name, "callbacks", "+15550001111", state=CampaignState.RUNNING)
    return await store.create_campaign(spec, T0)


async def lease_next(
    store: Store,
    campaign: Campaign,
    slots: tuple[str, ...] = (NY,),
    *,
    agent: str = "ann",
    at: datetime = T0,
) -> Lease | None:
    return await store.next_contact(campaign.id, slots, agent, at, at + LEASE)


def change(
    outcome: CallOutcome, state: ContactState, at: datetime, rank: int = 1, **extra: object
) -> OutcomeChange:
    return OutcomeChange(outcome, state, at, rank, **extra)  # type: ignore[arg-type]  # optional fields of several types, as tests pass them


async def test_a_campaign_is_found_by_id_and_name_and_listed(store: Store) -> None:
    created = await store.create_campaign(CampaignSpec("spring", "callbacks", "+15550001111"), T0)
    assert (created.name, created.state, created.caller_id) == (
        "spring",
        CampaignState.PAUSED,
        "+15550001111",
    )
    assert await store.get_campaign(created.id) == created
    assert await store.get_campaign("spring") == created
    other = await running(store, "autumn")
    assert [c.name for c in await store.list_campaigns()] == ["spring", "autumn"]
    assert other.policy == created.policy


async def test_a_taken_name_and_unknown_campaigns_are_refused(store: Store) -> None:
    await running(store)
    with pytest.raises(Conflict):
        await running(store)
    with pytest.raises(NotFound):
        await store.get_campaign(99)
    with pytest.raises(NotFound):
        await store.get_campaign("nope")
    with pytest.raises(NotFound):
        await store.add_contacts(99, [contact(phone(1))], "csv:a", T0)


async def test_start_pause_and_stop_for_good(store: Store) -> None:
    campaign = await running(store)
    paused = await store.set_campaign_state(campaign.id, CampaignState.PAUSED, later(1))
    assert (paused.state, paused.updated_at) == (CampaignState.PAUSED, later(1))
    await store.set_campaign_state(campaign.id, CampaignState.STOPPED, later(2))
    with pytest.raises(Conflict):
        await store.set_campaign_state(campaign.id, CampaignState.RUNNING, later(3))
    with pytest.raises(NotFound):
        await store.set_campaign_state(99, CampaignState.RUNNING, later(3))


async def test_duplicates_within_the_list_and_against_the_campaign(store: Store) -> None:
    campaign = await running(store)
    first = await store.add_contacts(
        campaign.id, [contact(phone(1), 2), contact(phone(2), 3)], "csv:a", T0
    )
    assert (first.accepted, first.duplicates) == (2, ())
    batch = [contact(phone(3), 2), contact(phone(3), 3), contact(phone(1), 4)]
    second = await store.add_contacts(campaign.id, batch, "csv:b", T0)
    assert second.accepted == 1
    assert {(r.line, r.phone, r.reason) for r in second.duplicates} == {
        (3, phone(3), DUPLICATE_IN_LIST),
        (4, phone(1), DUPLICATE_IN_CAMPAIGN),
    }
    counts = await store.campaign_counts(campaign.id, [NY], T0)
    assert counts.by_state == {"queued": 3}


async def test_a_refused_rows_slot_never_joins_the_campaign(store: Store) -> None:
    """A duplicate (in the list or the campaign) or a suppressed row carrying preferred hours
    leaves the slots, and so the stats' next opening, as they were."""
    campaign = await running(store)
    await store.add_do_not_call([phone(9)], "registry", T0)
    await store.add_contacts(campaign.id, [contact(phone(1))], "csv:a", T0)
    batch = [
        contact(phone(1), 2, slot=f"{NY}|14:00-17:00"),
        contact(phone(2), 3),
        contact(phone(2), 4, slot=f"{LA}|08:00-12:00"),
        contact(phone(9), 5, slot=f"{LA}|17:00-21:00"),
    ]
    result = await store.add_contacts(campaign.id, batch, "csv:b", T0)
    assert (result.accepted, len(result.duplicates), len(result.suppressed)) == (1, 2, 1)
    assert await store.campaign_slots(campaign.id) == [NY]


async def test_do_not_call_and_sms_opt_outs_are_suppressed_never_stored(store: Store) -> None:
    campaign = await running(store)
    assert await store.add_do_not_call([phone(1)], "national list", T0) == 1
    await store.set_sms_opt_out(f"phone:{phone(2)}", opted_out=True, at=T0)
    await store.set_sms_opt_out(f"phone:{phone(3)}", opted_out=False, at=T0)
    batch = [contact(phone(1), 2), contact(phone(2), 3), contact(phone(3), 4)]
    result = await store.add_contacts(campaign.id, batch, "csv:a", T0)
    assert result.accepted == 1
    assert {(r.line, r.reason) for r in result.suppressed} == {
        (2, "do not call (national list)"),
        (3, SMS_OPT_OUT),
    }
    assert (await store.campaign_counts(campaign.id, [NY], T0)).contacts == 1


async def test_the_next_contact_is_the_highest_rank_then_the_longest_due(store: Store) -> None:
    campaign = await running(store)
    batch = [
        contact(phone(1), 1, at=later(-30)),
        contact(phone(2), 2, at=later(-60), slot=LA),
        contact(phone(3), 3, at=later(-10)),
        NewContact(phone(4), NY, later(-1), priority=3, line=4),
        contact(phone(5), 5, at=later(5)),  # not due yet
    ]
    await store.add_contacts(campaign.id, batch, "csv:a", T0)
    order = []
    for _ in range(5):
        lease = await lease_next(store, campaign, (NY, LA))
        if lease is None:
            break
        order.append(lease.contact.phone)
    assert order == [phone(4), phone(2), phone(1), phone(3)]


async def test_only_open_slots_are_called(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1), slot=LA)], "csv:a", T0)
    assert sorted(await store.campaign_slots(campaign.id)) == [LA]
    assert await lease_next(store, campaign, (NY,)) is None
    assert await lease_next(store, campaign, ()) is None
    lease = await lease_next(store, campaign, (NY, LA))
    assert lease is not None
    assert lease.contact.slot == LA


async def test_a_paused_campaign_hands_out_nothing(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1))], "csv:a", T0)
    await store.set_campaign_state(campaign.id, CampaignState.PAUSED, T0)
    assert await lease_next(store, campaign) is None
    await store.set_campaign_state(campaign.id, CampaignState.RUNNING, T0)
    assert await lease_next(store, campaign) is not None


async def test_a_lease_holds_the_contact_and_opens_an_attempt(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1), name="Ada")], "csv:a", T0)
    lease = await lease_next(store, campaign, agent="bob")
    assert lease is not None
    assert (lease.contact.state, lease.contact.name, lease.contact.lease_until) == (
        ContactState.LEASED,
        "Ada",
        T0 + LEASE,
    )
    assert (lease.attempt.agent, lease.attempt.started_at, lease.attempt.outcome) == (
        "bob",
        T0,
        None,
    )
    assert lease.contact.attempt_id == lease.attempt.id
    assert await lease_next(store, campaign, at=later(1)) is None


async def test_concurrent_agents_each_get_a_different_contact(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(i), i) for i in range(12)], "csv:a", T0)
    leases = await asyncio.gather(
        *(lease_next(store, campaign, agent=f"agent{i}") for i in range(30))
    )
    handed = [lease.contact.phone for lease in leases if lease is not None]
    assert sorted(handed) == sorted(phone(i) for i in range(12))
    assert len({lease.attempt.id for lease in leases if lease is not None}) == 12


async def test_an_expired_lease_returns_the_contact_and_expires_its_attempt(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1))], "csv:a", T0)
    first = await lease_next(store, campaign, agent="ann")
    assert first is not None
    assert await lease_next(store, campaign, agent="bob", at=later(9)) is None
    again = await lease_next(store, campaign, agent="bob", at=later(10))
    assert again is not None
    assert again.contact.id == first.contact.id
    history = await store.get_contact(first.contact.id)
    assert [(a.agent, a.outcome) for a in history.attempts] == [
        ("ann", CallOutcome.EXPIRED),
        ("bob", None),
    ]
    assert history.attempts[0].ended_at == T0 + LEASE
    with pytest.raises(Conflict, match="lease ended"):
        await store.record_outcome(
            first.attempt.id,
            change(CallOutcome.ANSWERED, ContactState.COMPLETED, later(11)),
            later(11),
        )


async def test_a_late_outcome_is_taken_while_nobody_took_the_contact_back(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1))], "csv:a", T0)
    lease = await lease_next(store, campaign)
    assert lease is not None
    done = await store.record_outcome(
        lease.attempt.id, change(CallOutcome.RESOLVED, ContactState.COMPLETED, later(15)), later(15)
    )
    assert done.state is ContactState.COMPLETED


async def test_an_outcome_moves_the_contact_and_is_recorded_once(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1))], "csv:a", T0)
    lease = await lease_next(store, campaign)
    assert lease is not None
    retry = change(CallOutcome.BUSY, ContactState.QUEUED, later(30), note="line busy")
    moved = await store.record_outcome(lease.attempt.id, retry, later(2))
    assert (moved.state, moved.attempts, moved.next_at, moved.last_outcome) == (
        ContactState.QUEUED,
        1,
        later(30),
        "busy",
    )
    assert (moved.attempt_id, moved.lease_until) == (None, None)
    with pytest.raises(Conflict, match="recorded"):
        await store.record_outcome(lease.attempt.id, retry, later(3))
    assert await lease_next(store, campaign, at=later(29)) is None
    second = await lease_next(store, campaign, at=later(30))
    assert second is not None
    attempt, held = await store.get_attempt(second.attempt.id)
    assert (attempt.contact_id, held.state) == (held.id, ContactState.LEASED)
    history = await store.get_contact(held.id)
    assert [(a.outcome, a.note) for a in history.attempts] == [
        (CallOutcome.BUSY, "line busy"),
        (None, ""),
    ]


async def test_a_callback_appointment_comes_first_when_due(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(
        campaign.id, [contact(phone(1), 1), contact(phone(2), 2, at=later(-60))], "csv:a", T0
    )
    lease = await lease_next(store, campaign)
    assert lease is not None
    assert lease.contact.phone == phone(2)
    appointment = change(
        CallOutcome.CALLBACK,
        ContactState.QUEUED,
        later(60),
        APPOINTMENT_RANK,
        callback_at=later(60),
    )
    await store.record_outcome(lease.attempt.id, appointment, later(1))
    later_lease = await lease_next(store, campaign, at=later(61))
    assert later_lease is not None
    assert later_lease.contact.phone == phone(2)
    history = await store.get_contact(later_lease.contact.id)
    assert history.attempts[0].callback_at == later(60)


async def test_an_agents_do_not_call_suppresses_the_number_everywhere(store: Store) -> None:
    spring, autumn = await running(store, "spring"), await running(store, "autumn")
    await store.add_contacts(spring.id, [contact(phone(1))], "csv:a", T0)
    await store.add_contacts(autumn.id, [contact(phone(1))], "csv:b", T0)
    lease = await lease_next(store, spring)
    assert lease is not None
    stop = change(
        CallOutcome.DO_NOT_CALL, ContactState.SUPPRESSED, later(1), do_not_call="agent:ann"
    )
    await store.record_outcome(lease.attempt.id, stop, later(1))
    entry = await store.get_do_not_call(phone(1))
    assert entry is not None
    assert (entry.source, entry.added_at) == ("agent:ann", later(1))
    assert await lease_next(store, autumn, at=later(2)) is None
    assert (await store.campaign_counts(autumn.id, [NY], later(2))).by_state == {"suppressed": 1}


async def test_a_number_put_on_do_not_call_after_loading_is_never_handed_out(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1), 1), contact(phone(2), 2)], "csv:a", T0)
    await store.set_sms_opt_out(f"phone:{phone(1)}", opted_out=True, at=T0)
    lease = await lease_next(store, campaign)
    assert lease is not None
    assert lease.contact.phone == phone(2)
    assert await store.add_do_not_call([phone(2), phone(3)], "upload", T0) == 2
    assert await store.add_do_not_call([phone(3)], "again", T0) == 0
    entry = await store.get_do_not_call(phone(3))
    assert entry is not None
    assert entry.source == "upload"
    counts = await store.campaign_counts(campaign.id, [NY], T0)
    assert counts.by_state == {"suppressed": 1, "leased": 1}


async def test_a_new_callback_request_renews_a_finished_contact(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(1))], "ticket:1", T0)
    lease = await lease_next(store, campaign)
    assert lease is not None
    await store.record_outcome(
        lease.attempt.id, change(CallOutcome.ANSWERED, ContactState.COMPLETED, later(1)), later(1)
    )
    again = await store.add_contacts(
        campaign.id, [contact(phone(1), 0, at=later(5))], "ticket:2", later(5), renew=True
    )
    assert (again.accepted, again.renewed, again.duplicates) == (0, 1, ())
    renewed = await lease_next(store, campaign, at=later(6))
    assert renewed is not None
    assert (renewed.contact.source, renewed.contact.attempts) == ("ticket:2", 0)
    waiting = await store.add_contacts(
        campaign.id, [contact(phone(1))], "ticket:3", later(7), renew=True
    )
    assert [d.reason for d in waiting.duplicates] == [DUPLICATE_IN_CAMPAIGN]


async def test_counts_by_state_outcome_attempts_and_due_now(store: Store) -> None:
    campaign = await running(store)
    batch = [
        contact(phone(1), 1),
        contact(phone(2), 2),
        contact(phone(3), 3, slot=LA),
        contact(phone(4), 4, at=later(60)),
    ]
    await store.add_contacts(campaign.id, batch, "csv:a", T0)
    lease = await lease_next(store, campaign)
    assert lease is not None
    await store.record_outcome(
        lease.attempt.id, change(CallOutcome.NO_ANSWER, ContactState.QUEUED, later(240)), T0
    )
    counts = await store.campaign_counts(campaign.id, [NY], T0)
    assert counts.by_state == {"queued": 4}
    assert counts.by_outcome == {"no_answer": 1}
    assert counts.attempts_per_contact == {0: 3, 1: 1}
    assert counts.callable_now == 1
    assert (await store.campaign_counts(campaign.id, [NY, LA], later(60))).callable_now == 3


async def test_unknown_attempts_and_contacts_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_attempt(42)
    with pytest.raises(NotFound):
        await store.get_contact(42)
    with pytest.raises(NotFound):
        await store.record_outcome(42, change(CallOutcome.ANSWERED, ContactState.COMPLETED, T0), T0)
    with pytest.raises(NotFound):
        await store.campaign_counts(42, [], T0)
    with pytest.raises(NotFound):
        await store.next_contact(42, [], "ann", T0, T0 + LEASE)
    assert await store.get_do_not_call(phone(1)) is None


async def test_duplicates_are_found_when_rows_carry_no_line_numbers(store: Store) -> None:
    campaign = await running(store)
    await store.add_contacts(campaign.id, [contact(phone(9), 0)], "api:a", T0)
    batch = [contact(phone(1), 0), contact(phone(1), 0), contact(phone(2), 0), contact(phone(9), 0)]
    result = await store.add_contacts(campaign.id, batch, "api:b", T0)
    assert result.accepted == 2
    assert sorted((r.phone, r.reason) for r in result.duplicates) == [
        (phone(1), DUPLICATE_IN_LIST),
        (phone(9), DUPLICATE_IN_CAMPAIGN),
    ]
