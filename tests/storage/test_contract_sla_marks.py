"""The Store contract for SLA marks, on every backend: a ticket's standing, clocks and
deadlines written whole (by `set_sla`, or with the change, reply or new ticket they come
with, in its atomic step), never from a record that moved on since they were computed; the
standing listed through its index for running tickets only; running tickets at risk counted
per queue as every change moves them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from core.deadlines import AT_RISK, BREACH, BREACHED, WARNING, ClockMark, Deadline, SlaMarks
from core.errors import NotFound
from core.model import Decision, Status, ThreadPolicy, TicketChange, TicketFilter
from core.record import Actor, TicketEvent
from storage.base import Store
from tests.storage.test_contract import NO_WINDOW, fixed_decision
from tests.support import FunctionRouter, inbound, later

LEASE = timedelta(seconds=30)
ANN = Actor.agent("ann")


async def ticket(store: Store, external_id: str = "m1", queue: str = "general") -> int:
    result = await store.commit_inbound(
        inbound(external_id), fixed_decision(Decision(queue)), NO_WINDOW
    )
    return result.ticket_id


async def newest(store: Store, ticket_id: int) -> int:
    return (await store.ticket_events(ticket_id))[-1].seq


def marks(
    ticket_id: int, standing: str = "", basis: int | None = None, minutes: float = 60
) -> SlaMarks:
    state = {"": "active", AT_RISK: "warning", BREACHED: "breached"}[standing]
    due, warn = later(minutes), later(minutes * 0.75)
    clock = ClockMark("first_response", state, due, warn, 42.5, running=True)
    breach = Deadline(ticket_id, "first_response", BREACH, "k1", later(minutes))
    return SlaMarks(later(1), standing, (clock,), (breach,), basis)


async def listed(store: Store, standing: str) -> list[int]:
    return [t.id for t in (await store.list_tickets(TicketFilter(sla=standing))).items]


async def at_risk(store: Store) -> dict[str, int]:
    return {q.name: q.at_risk for q in await store.queue_stats() if q.at_risk}


async def test_marks_are_kept_with_the_ticket_and_its_standing_listed(store: Store) -> None:
    one, two, three = await ticket(store, "a"), await ticket(store, "b"), await ticket(store, "c")
    written = marks(one, AT_RISK, await newest(store, one))
    assert await store.set_sla(one, written)
    assert await store.set_sla(two, marks(two, BREACHED))
    assert await store.set_sla(three, marks(three))
    kept = (await store.get_ticket(one)).sla
    assert kept == SlaMarks(written.at, AT_RISK, written.clocks)  # the deadlines are apart
    assert await listed(store, AT_RISK) == [one]
    assert await listed(store, BREACHED) == [two]
    page = await store.list_tickets(TicketFilter(queue="general"))
    assert {t.id: t.sla.standing for t in page.items if t.sla} == {
        one: AT_RISK,
        two: BREACHED,
        three: "",
    }
    assert (await store.list_tickets(TicketFilter(sla=AT_RISK))).items[0].sla == kept
    assert await at_risk(store) == {"general": 1}
    claimed = await store.claim_deadlines(later(61), LEASE)
    assert sorted(d.ticket_id for d in claimed) == [one, two, three]


async def test_marks_from_a_record_that_moved_on_are_not_written(store: Store) -> None:
    one = await ticket(store)
    stale = marks(one, AT_RISK, await newest(store, one))
    await store.add_note(one, "in between", ANN, later(1))
    assert not await store.set_sla(one, stale)
    assert (await store.get_ticket(one)).sla is None
    assert await listed(store, AT_RISK) == []
    assert await store.claim_deadlines(later(61), LEASE) == []
    with pytest.raises(NotFound):
        await store.set_sla(one + 100, marks(one + 100))


async def test_a_change_writes_the_marks_it_carries_in_its_step(store: Store) -> None:
    one = await ticket(store)
    basis = await newest(store, one)
    change = TicketChange(status=Status.OPEN, actor=ANN, sla=marks(one, BREACHED, basis))
    after = await store.update_ticket(one, change, later(1))
    assert after.sla is not None
    assert after.sla.standing == BREACHED
    assert await listed(store, BREACHED) == [one]
    # a change whose basis the record has passed is applied, its marks are not
    stale = TicketChange(tags=("x",), actor=ANN, sla=marks(one, "", basis))
    after = await store.update_ticket(one, stale, later(2))
    assert after.tags == ("x",)
    assert after.sla is not None
    assert after.sla.standing == BREACHED
    # a change of nothing writes nothing, its marks neither
    same = TicketChange(tags=("x",), actor=ANN, sla=marks(one, "", await newest(store, one)))
    assert (await store.update_ticket(one, same, later(3))).sla == after.sla


async def test_a_reply_writes_the_marks_it_leaves(store: Store) -> None:
    one = await ticket(store)
    left = marks(one, "", await newest(store, one), minutes=600)
    await store.set_sla(one, marks(one, AT_RISK))
    assert await at_risk(store) == {"general": 1}
    await store.append_outbound(one, "on it", "ann", later(1), sla=left)
    assert (await store.get_ticket(one)).sla == SlaMarks(left.at, "", left.clocks)
    assert await at_risk(store) == {}
    assert [d.due for d in await store.claim_deadlines(later(601), LEASE)] == [later(600)]


async def test_only_running_tickets_stand_and_are_counted(store: Store) -> None:
    one, two = await ticket(store, "a"), await ticket(store, "b", queue="sales")
    await store.set_sla(one, marks(one, AT_RISK))
    await store.set_sla(two, marks(two, AT_RISK))
    assert await at_risk(store) == {"general": 1, "sales": 1}
    await store.update_ticket(one, TicketChange(status=Status.PENDING, actor=ANN), later(1))
    assert await listed(store, AT_RISK) == [two]
    assert await at_risk(store) == {"sales": 1}
    await store.update_ticket(one, TicketChange(status=Status.OPEN, actor=ANN), later(2))
    assert await listed(store, AT_RISK) == [two, one]
    await store.update_ticket(two, TicketChange(queue="general", actor=ANN), later(3))
    assert await at_risk(store) == {"general": 2}
    await store.set_sla(one, marks(one, BREACHED))
    await store.update_ticket(two, TicketChange(status=Status.RESOLVED, actor=ANN), later(4))
    assert await at_risk(store) == {}
    assert await listed(store, AT_RISK) == []
    assert await listed(store, BREACHED) == [one]


async def test_a_new_ticket_keeps_its_decisions_marks_in_its_commit(store: Store) -> None:
    placeholder = marks(0, minutes=30)
    warn = Deadline(0, "first_response", WARNING, "k1", later(20))
    decision = Decision("general", sla=SlaMarks(
        placeholder.at, "", placeholder.clocks, (*placeholder.deadlines, warn)
    ))  # fmt: skip
    made = await store.commit_inbound(inbound("m1"), fixed_decision(decision), NO_WINDOW)
    assert (await store.get_ticket(made.ticket_id)).sla == SlaMarks(
        placeholder.at, "", placeholder.clocks
    )
    claimed = await store.claim_deadlines(later(31), LEASE)
    assert sorted((d.ticket_id, d.kind, d.due) for d in claimed) == [
        (made.ticket_id, BREACH, later(30)),
        (made.ticket_id, WARNING, later(20)),
    ]


async def test_a_message_on_a_clocked_ticket_keeps_the_routers_marks(store: Store) -> None:
    seen: list[int] = []

    def after(events: Sequence[TicketEvent], now: datetime) -> SlaMarks:
        seen.append(len(events))
        return SlaMarks(now, BREACHED, marks(events[0].ticket_id).clocks)

    router = FunctionRouter(lambda _c, _f: Decision("general"), sla_after=after)
    policy = ThreadPolicy({}, timedelta(days=1))
    unclocked = await store.commit_inbound(inbound("a"), router, policy)
    await store.commit_inbound(inbound("b", at=later(1)), router, policy)
    assert seen == []  # no clocks kept on it yet: nothing to follow
    assert (await store.get_ticket(unclocked.ticket_id)).sla is None
    await store.set_sla(unclocked.ticket_id, marks(unclocked.ticket_id))
    again = await store.commit_inbound(inbound("c", at=later(2)), router, policy)
    assert again.ticket_id == unclocked.ticket_id
    assert seen == [len(await store.ticket_events(again.ticket_id))]  # its whole record
    assert await listed(store, BREACHED) == [again.ticket_id]
