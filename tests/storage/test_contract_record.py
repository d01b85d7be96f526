"""The Store contract for the tickets' record: every write path records what it changed, in
its own commit, numbered by one gap-free sequence across tickets, on every backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

import pytest

from core.errors import (
    Conflict,
    HeldByOther,
    InvalidRequest,
    MoveRefused,
    NotFound,
    ReplyOnFinal,
    TicketFinal,
)
from core.model import (
    UNASSIGN,
    Cause,
    Decision,
    Delivery,
    Priority,
    Role,
    Status,
    ThreadPolicy,
    TicketChange,
    TicketFilter,
    Via,
)
from core.record import SYSTEM, Actor, ActorKind, Detail, EventKind, TicketEvent
from core.workflow import allowed_moves
from storage.base import Store
from tests.support import T0, FunctionRouter, RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(days=1))
ANN = Actor.agent("ann")
Shape = tuple[EventKind, Actor, Mapping[str, Detail]]


def shapes(events: list[TicketEvent]) -> list[Shape]:
    return [(e.kind, e.actor, e.detail) for e in events]


async def new_ticket(
    store: Store, external_id: str = "m1", sender: str = "email:ada@example.com"
) -> int:
    result = await store.commit_inbound(inbound(external_id, sender), RecordingRouter(), DAY_WINDOW)
    return result.ticket_id


async def since(store: Store, ticket_id: int, seen: int) -> list[Shape]:
    """The ticket's events after the first `seen` of them."""
    return shapes((await store.ticket_events(ticket_id))[seen:])


async def test_a_new_ticket_records_its_route_then_the_message(store: Store) -> None:
    result = await store.commit_inbound(inbound("m1"), RecordingRouter("billing"), NO_WINDOW)
    customer = Actor(ActorKind.CUSTOMER, str(result.customer_id))
    events = await store.ticket_events(result.ticket_id)
    assert shapes(events) == [
        (EventKind.CREATED, Actor(ActorKind.RULE, "test"),
         {"queue": "billing", "priority": "normal", "rule": "test"}),
        (EventKind.MESSAGE_IN, customer, {"message_id": result.message_id, "channel": "form"}),
    ]  # fmt: skip
    assert {e.at for e in events} == {T0}
    assert {e.ticket_id for e in events} == {result.ticket_id}


async def test_the_default_route_is_the_systems(store: Store) -> None:
    default = FunctionRouter(lambda _c, _f: Decision("general", Priority.HIGH))
    result = await store.commit_inbound(inbound("m1"), default, NO_WINDOW)
    created = (await store.ticket_events(result.ticket_id))[0]
    assert (created.actor, created.detail) == (
        SYSTEM, {"queue": "general", "priority": "high", "rule": None},
    )  # fmt: skip


async def test_duplicates_record_nothing_and_follow_ups_their_message(store: Store) -> None:
    ticket_id = await new_ticket(store)
    await store.commit_inbound(inbound("m1"), RecordingRouter(), DAY_WINDOW)
    follow_up = await store.commit_inbound(
        inbound("m2", at=later(1)), RecordingRouter(), DAY_WINDOW
    )
    customer = Actor.customer(follow_up.customer_id)
    assert await since(store, ticket_id, 2) == [
        (EventKind.MESSAGE_IN, customer, {"message_id": follow_up.message_id, "channel": "form"})
    ]


@pytest.mark.parametrize("status", [Status.PENDING, Status.RESOLVED])
async def test_a_customer_message_reopens_and_the_record_says_who(
    store: Store, status: Status
) -> None:
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(status=status, actor=ANN), later(1))
    again = await store.commit_inbound(inbound("m2", at=later(2)), RecordingRouter(), DAY_WINDOW)
    customer = Actor.customer(again.customer_id)
    assert await since(store, ticket_id, 3) == [
        (EventKind.MESSAGE_IN, customer, {"message_id": again.message_id, "channel": "form"}),
        (EventKind.STATUS, customer, {"from": status, "to": "open"}),
    ]
    ticket = await store.get_ticket(ticket_id)
    assert (ticket.status, ticket.resolved_at) == (Status.OPEN, None)


async def test_a_change_records_each_field_it_moves_in_order(store: Store) -> None:
    ticket_id = await new_ticket(store)
    change = TicketChange(
        status=Status.PENDING, priority=Priority.URGENT, queue="billing", assignee="bob",
        tags=("vip", "refund"), actor=ANN,
    )  # fmt: skip
    await store.update_ticket(ticket_id, change, later(1))
    assert await since(store, ticket_id, 2) == [
        (EventKind.STATUS, ANN, {"from": "new", "to": "pending"}),
        (EventKind.PRIORITY, ANN, {"from": "normal", "to": "urgent"}),
        (EventKind.QUEUE, ANN, {"from": "general", "to": "billing"}),
        (EventKind.TAGS, ANN, {"from": (), "to": ("vip", "refund")}),
        (EventKind.ASSIGNED, ANN, {"from": None, "to": "bob"}),
    ]
    undo = TicketChange(tags=(), assignee=UNASSIGN, actor=ANN)
    await store.update_ticket(ticket_id, undo, later(2))
    assert await since(store, ticket_id, 7) == [
        (EventKind.TAGS, ANN, {"from": ("vip", "refund"), "to": ()}),
        (EventKind.UNASSIGNED, ANN, {"from": "bob", "to": None}),
    ]
    assert all(e.at == later(2) for e in (await store.ticket_events(ticket_id))[7:])


async def test_a_change_of_nothing_writes_nothing(store: Store) -> None:
    ticket_id = await new_ticket(store)
    before = await store.get_ticket(ticket_id)
    same = TicketChange(
        status=Status.NEW, priority=Priority.NORMAL, queue="general", assignee=UNASSIGN, tags=(),
        actor=ANN,
    )  # fmt: skip
    after = await store.update_ticket(ticket_id, same, later(5))
    assert after == before
    assert len(await store.ticket_events(ticket_id)) == 2


REFUSED = {(s, Status.NEW) for s in Status if s is not Status.NEW} | {
    (Status.CLOSED, s) for s in Status if s is not Status.CLOSED
}
"""Nothing goes back to new, nothing leaves closed; every other move is allowed."""


async def test_every_status_move_is_allowed_or_refused_as_the_workflow_says(store: Store) -> None:
    """From each status to each other: an allowed move is made and recorded; a refused one
    names the moves allowed from where the ticket is, and changes nothing."""
    for n, (current, wanted) in enumerate((a, b) for a in Status for b in Status if a != b):
        ticket_id = await new_ticket(store, f"m{n}", f"email:c{n}@x.org")
        if current is not Status.NEW:
            await store.update_ticket(ticket_id, TicketChange(status=current), later(1))
        count = len(await store.ticket_events(ticket_id))
        if (current, wanted) in REFUSED:
            with pytest.raises(MoveRefused) as refused:
                await store.update_ticket(ticket_id, TicketChange(status=wanted), later(2))
            assert (refused.value.current, refused.value.wanted) == (current, wanted)
            assert refused.value.allowed == tuple(map(str, allowed_moves(current)))
            assert len(await store.ticket_events(ticket_id)) == count
            assert (await store.get_ticket(ticket_id)).status is current
        else:
            moved = await store.update_ticket(ticket_id, TicketChange(status=wanted), later(2))
            assert moved.status is wanted
            (event,) = (await store.ticket_events(ticket_id))[count:]
            assert (event.kind, event.detail) == (
                EventKind.STATUS, {"from": current, "to": wanted},
            )  # fmt: skip


async def test_a_refusal_names_the_moves_allowed_from_where_the_ticket_is(store: Store) -> None:
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(status=Status.RESOLVED), later(1))
    with pytest.raises(MoveRefused) as refused:
        await store.update_ticket(ticket_id, TicketChange(status=Status.NEW), later(2))
    assert refused.value.allowed == ("open", "pending", "closed")
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(3))
    with pytest.raises(MoveRefused) as final:
        await store.update_ticket(ticket_id, TicketChange(status=Status.OPEN), later(4))
    assert final.value.allowed == ()
    assert "none" in final.value.message


@pytest.mark.parametrize(
    "change",
    [
        TicketChange(priority=Priority.URGENT),
        TicketChange(queue="l2"),
        TicketChange(tags=("late",)),
        TicketChange(assignee="ann"),
        TicketChange(assignee=UNASSIGN),
        TicketChange(queue="l2", assignee=UNASSIGN, cause=Cause(EventKind.ESCALATED, {})),
        TicketChange(cause=Cause(EventKind.TRANSFERRED, {"note": "to you"})),
    ],
    ids=["priority", "queue", "tags", "assignee", "unassign", "escalation", "cause alone"],
)
async def test_a_closed_ticket_takes_no_change(store: Store, change: TicketChange) -> None:
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(assignee="bob"), later(1))
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(2))
    before, count = await store.get_ticket(ticket_id), len(await store.ticket_events(ticket_id))
    with pytest.raises(TicketFinal) as final:
        await store.update_ticket(ticket_id, replace(change, actor=ANN), later(3))
    assert (final.value.ticket_id, final.value.status) == (ticket_id, "closed")
    after = await store.get_ticket(ticket_id)
    assert (after.queue, after.priority, after.tags, after.assignee, after.updated_at) == (
        before.queue, before.priority, before.tags, before.assignee, before.updated_at,
    )  # fmt: skip
    assert len(await store.ticket_events(ticket_id)) == count


async def test_a_clocks_act_is_recorded_on_a_ticket_closed_after_its_deadline(
    store: Store,
) -> None:
    """The watcher writes a breach a few seconds after its deadline; the ticket may have
    closed in between. The breach is on its record; an action with it would be refused."""
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(1))
    breach = Cause(EventKind.SLA_BREACH, {"metric": "first_response", "key": "k"})
    acted = TicketChange(priority=Priority.URGENT, actor=SYSTEM, cause=breach, once=True)
    with pytest.raises(TicketFinal):
        await store.update_ticket(ticket_id, acted, later(2))
    bare = TicketChange(actor=SYSTEM, cause=breach, once=True)
    assert (await store.update_ticket(ticket_id, bare, later(2))).status is Status.CLOSED
    record = await store.ticket_events(ticket_id)
    assert (record[-1].kind, record[-1].detail["metric"]) == (
        EventKind.SLA_BREACH,
        "first_response",
    )
    with pytest.raises(Conflict):  # once: a second hub's late attempt
        await store.update_ticket(ticket_id, bare, later(3))


async def test_a_closed_ticket_takes_a_change_of_nothing_and_notes(store: Store) -> None:
    """A retried close, or a form sent again as it is, is no change: it is answered, not
    refused; a note is no change of the ticket."""
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(1))
    again = TicketChange(status=Status.CLOSED, priority=Priority.NORMAL, queue="general")
    assert (await store.update_ticket(ticket_id, again, later(2))).status is Status.CLOSED
    await store.add_note(ticket_id, "called back, all fine", ANN, later(3))
    kinds = [e.kind for e in await store.ticket_events(ticket_id)]
    assert kinds[-2:] == [EventKind.STATUS, EventKind.NOTE]


async def test_a_closed_ticket_takes_no_reply_and_writes_nothing(store: Store) -> None:
    """The customer would answer a ticket nobody works; an automatic message (a reply to a
    keyword the ticket's channel sends) still goes."""
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(1))
    before = await store.get_ticket(ticket_id)
    count = len(await store.ticket_events(ticket_id))
    with pytest.raises(ReplyOnFinal) as final:
        await store.append_outbound(ticket_id, "One more thing", "ann", later(2))
    assert (final.value.ticket_id, final.value.status) == (ticket_id, "closed")
    assert "no reply goes out" in final.value.message
    after = await store.get_ticket(ticket_id)
    assert (after.messages, after.updated_at) == (before.messages, before.updated_at)
    assert len(await store.ticket_events(ticket_id)) == count
    assert (await store.list_tickets(TicketFilter(text="thing"))).items == ()
    automatic = Via(automatic="help")
    await store.append_outbound(ticket_id, "Reply STOP to stop", "", later(3), automatic)
    assert len((await store.get_ticket(ticket_id)).messages) == len(before.messages) + 1


async def test_guards_refuse_a_change_and_write_nothing(store: Store) -> None:
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(assignee="bob"), later(1))
    with pytest.raises(HeldByOther) as held:
        await store.update_ticket(ticket_id, TicketChange(assignee="ann", holder="ann"), later(2))
    assert held.value.holder == "bob"
    with pytest.raises(Conflict):
        await store.update_ticket(ticket_id, TicketChange(queue="l2", in_queue="billing"), later(3))
    mine = TicketChange(assignee=UNASSIGN, holder="bob", in_queue="general")
    assert (await store.update_ticket(ticket_id, mine, later(4))).assignee is None
    assert [e.kind for e in await store.ticket_events(ticket_id)][2:] == [
        EventKind.ASSIGNED, EventKind.UNASSIGNED,
    ]  # fmt: skip


async def test_a_cause_is_recorded_before_the_fields_it_moves(store: Store) -> None:
    ticket_id = await new_ticket(store)
    await store.update_ticket(ticket_id, TicketChange(assignee="ann"), later(1))
    escalation = TicketChange(
        queue="l2", assignee=UNASSIGN, actor=ANN, in_queue="general",
        cause=Cause(EventKind.ESCALATED, {"reason": "needs an engineer"}),
    )  # fmt: skip
    ticket = await store.update_ticket(ticket_id, escalation, later(2))
    assert (ticket.queue, ticket.assignee) == ("l2", None)
    assert await since(store, ticket_id, 3) == [
        (EventKind.ESCALATED, ANN, {"reason": "needs an engineer"}),
        (EventKind.QUEUE, ANN, {"from": "general", "to": "l2"}),
        (EventKind.UNASSIGNED, ANN, {"from": "ann", "to": None}),
    ]


async def test_a_claim_is_the_agents(store: Store) -> None:
    ticket_id = await new_ticket(store)
    claimed = await store.claim_next("general", "ann", later(1))
    assert claimed is not None
    assert await since(store, ticket_id, 2) == [
        (EventKind.STATUS, ANN, {"from": "new", "to": "open"}),
        (EventKind.ASSIGNED, ANN, {"from": None, "to": "ann"}),
    ]
    assert {e.at for e in (await store.ticket_events(ticket_id))[2:]} == {later(1)}


async def test_a_reply_and_its_deliveries_are_recorded(store: Store) -> None:
    ticket_id = await new_ticket(store)
    reply = await store.append_outbound(ticket_id, "On it", "ann", later(1))
    await store.record_delivery(reply.id, Delivery("queued", "SM1"))  # the sender's: news
    await store.update_delivery("form", "SM1", Delivery("sent", "SM1"))
    await store.update_delivery("form", "SM1", Delivery("sent", "SM1"))  # nothing new
    await store.update_delivery("form", "SM1", Delivery("failed", "SM1", "30003"))
    await store.update_delivery("form", "SM1", Delivery("delivered", "SM1"))  # final stays
    events = (await store.ticket_events(ticket_id))[2:]
    assert shapes(events) == [
        (EventKind.REPLY_OUT, ANN, {"message_id": reply.id}),
        (EventKind.STATUS, ANN, {"from": "new", "to": "open"}),
        (EventKind.DELIVERY, SYSTEM, {"message_id": reply.id, "status": "queued"}),
        (EventKind.DELIVERY, SYSTEM, {"message_id": reply.id, "status": "sent"}),
        (EventKind.DELIVERY, SYSTEM, {"message_id": reply.id, "status": "failed",
                                      "error": "30003"}),
    ]  # fmt: skip
    assert [e.at for e in events[:2]] == [later(1), later(1)]
    system_reply = await store.append_outbound(ticket_id, "Thanks", "", later(2))
    assert (await store.ticket_events(ticket_id))[-1].actor == SYSTEM
    assert (await store.ticket_events(ticket_id))[-1].detail == {"message_id": system_reply.id}


async def test_an_automatic_message_is_the_systems_acknowledgement_and_moves_nothing(
    store: Store,
) -> None:
    ticket_id = await new_ticket(store)
    via = Via("email", automatic="acknowledgement", delivery="sent")
    ack = await store.append_outbound(ticket_id, "We got your message", "system", later(1), via)
    await store.record_delivery(ack.id, Delivery("sent", "<ack-1@hub>"))
    events = (await store.ticket_events(ticket_id))[2:]
    assert shapes(events) == [
        (EventKind.ACKNOWLEDGED, SYSTEM, {"message_id": ack.id, "automatic": "acknowledgement"}),
        (EventKind.DELIVERY, SYSTEM, {"message_id": ack.id, "status": "sent"}),
    ]
    assert events[0].at == later(1)
    assert (await store.get_ticket(ticket_id)).status is Status.NEW  # no reply_out, no move


async def test_edits_and_deletions_that_take_effect_are_the_customers(store: Store) -> None:
    contact = inbound("C1:1.1", "slack:U0ADA", channel="slack", text="refund pls")
    result = await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)
    await store.edit_message(contact.key, "refund please", later(2))
    await store.edit_message(contact.key, "older words", later(1))  # stale: no effect
    await store.edit_message(contact.key, None, later(3))
    await store.edit_message(contact.key, "after deletion", later(4))  # no effect
    customer, message = Actor.customer(result.customer_id), {"message_id": result.message_id}
    events = (await store.ticket_events(result.ticket_id))[2:]
    assert shapes(events) == [
        (EventKind.MESSAGE_EDITED, customer, message),
        (EventKind.MESSAGE_DELETED, customer, message),
    ]
    assert [e.at for e in events] == [later(2), later(3)]


async def test_a_note_is_kept_on_the_record_only(store: Store) -> None:
    ticket_id = await new_ticket(store)
    before = await store.get_ticket(ticket_id)
    note = await store.add_note(ticket_id, "Customer is on holiday until Monday", ANN, later(1))
    assert (await store.ticket_events(ticket_id))[-1] == note
    assert (note.kind, note.actor, note.at) == (EventKind.NOTE, ANN, later(1))
    assert note.detail == {"body": "Customer is on holiday until Monday"}
    assert await store.get_ticket(ticket_id) == before  # no message, no change
    with pytest.raises(NotFound):
        await store.add_note(9999, "lost", ANN, later(1))


async def test_an_unknown_tickets_record_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.ticket_events(9999)


async def test_sequence_numbers_are_gap_free_across_tickets_under_concurrency(
    store: Store,
) -> None:
    """Concurrent writes of every kind, some of them failing (which on SQLite rolls their
    group commit back and runs each job again alone): the committed events are numbered
    1..n with no gap, and each ticket's record is its part of that sequence, in order."""
    ids = [await new_ticket(store, f"m{i}", f"email:c{i}@x.org") for i in range(4)]
    writes = []
    for i in range(40):
        ticket_id = ids[i % 4]
        writes += [
            store.update_ticket(ticket_id, TicketChange(priority=list(Priority)[i % 4]), later(i)),
            store.add_note(ticket_id, f"note {i}", ANN, later(i)),
            store.update_ticket(9999, TicketChange(priority=Priority.HIGH), later(i)),  # fails
            store.update_ticket(ticket_id, TicketChange(status=Status.NEW), later(i)),  # refused?
            store.commit_inbound(inbound(f"x{i}", f"email:c{i % 4}@x.org", at=later(i)),
                                 RecordingRouter(), DAY_WINDOW),
        ]  # fmt: skip
    await asyncio.gather(*writes, return_exceptions=True)
    everything = await store.events_after(0, 10_000)
    assert [e.seq for e in everything] == list(range(1, len(everything) + 1))
    for ticket_id in ids:
        mine = [e for e in everything if e.ticket_id == ticket_id]
        assert await store.ticket_events(ticket_id) == mine
    assert sum(e.kind is EventKind.NOTE for e in everything) == 40


async def test_events_after_resumes_after_any_sequence_number(store: Store) -> None:
    first = await new_ticket(store, "m1", "email:a@x.org")
    second = await new_ticket(store, "m2", "email:b@x.org")
    await store.add_note(first, "one", ANN, later(1))
    everything = await store.events_after(0)
    assert [(e.seq, e.ticket_id) for e in everything] == [
        (1, first), (2, first), (3, second), (4, second), (5, first),
    ]  # fmt: skip
    assert await store.events_after(2, limit=2) == everything[2:4]
    assert await store.events_after(5) == []
    assert await store.events_after(99) == []


async def test_a_failed_ingest_records_nothing(store: Store) -> None:
    def broken(_contact: object, _facts: object) -> Decision:
        raise RuntimeError("boom")

    with contextlib.suppress(RuntimeError):
        await store.commit_inbound(inbound("m1"), FunctionRouter(broken), NO_WINDOW)
    assert await store.events_after(0) == []
    await new_ticket(store)
    assert [e.seq for e in await store.events_after(0)] == [1, 2]


async def test_people_are_the_names_of_live_tokens(store: Store) -> None:
    assert not await store.known_person("ann")
    await store.add_token("ann", Role.AGENT, "a" * 64, T0)
    assert await store.known_person("ann")
    assert not await store.known_person("an")
    assert not await store.known_person("")


async def test_a_merge_and_its_undoing_are_on_each_moved_tickets_record(store: Store) -> None:
    ada = await store.commit_inbound(inbound("a1"), RecordingRouter(), NO_WINDOW)
    bobs = [
        await store.commit_inbound(
            inbound(f"b{n}", "email:bob@example.com", at=later(n)), RecordingRouter(), NO_WINDOW
        )
        for n in (1, 2)
    ]
    bob = bobs[0].customer_id
    merge = await store.merge_customers(ada.customer_id, bob, "ann", later(10))
    merged = {"merge_id": merge.id, "from": bob, "to": ada.customer_id}
    for moved in bobs:
        assert await since(store, moved.ticket_id, 2) == [(EventKind.CUSTOMER_MERGED, ANN, merged)]
    assert len(await store.ticket_events(ada.ticket_id)) == 2  # not moved: nothing recorded
    seen = await store.events_after(0)
    with pytest.raises(InvalidRequest):
        await store.merge_customers(bob, bob, "ann", later(11))
    await store.unmerge_customers(ada.customer_id, merge.id, "bea", later(20))
    with pytest.raises(Conflict):  # undone already: refused, nothing recorded
        await store.unmerge_customers(ada.customer_id, merge.id, "bea", later(21))
    back = {"merge_id": merge.id, "from": ada.customer_id, "to": bob}
    events = await store.events_after(seen[-1].seq)
    assert [(e.ticket_id, e.kind, e.actor, e.at, e.detail) for e in events] == [
        (moved.ticket_id, EventKind.CUSTOMER_UNMERGED, Actor.agent("bea"), later(20), back)
        for moved in bobs
    ]
    merges = [e for e in seen if e.kind is EventKind.CUSTOMER_MERGED]
    assert [e.at for e in merges] == [later(10), later(10)]
    assert [e.seq for e in merges] == [seen[-2].seq, seen[-1].seq]  # one commit, in order


async def test_a_clocks_act_is_made_once_whoever_tries_it(store: Store) -> None:
    made = await store.commit_inbound(inbound("m1"), RecordingRouter("q"), NO_WINDOW)
    clock = Actor(ActorKind.CLOCK)

    def breach(key: str) -> TicketChange:
        detail: dict[str, Detail] = {"metric": "first_response", "key": key, "queue": "q"}
        cause = Cause(EventKind.SLA_BREACH, detail)
        return TicketChange(priority=Priority.URGENT, actor=clock, cause=cause, once=True)

    tries = await asyncio.gather(
        *(store.update_ticket(made.ticket_id, breach("k1"), later(1)) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(t, BaseException) for t in tries) == 1
    assert all(isinstance(t, Conflict) for t in tries if isinstance(t, BaseException))
    await store.update_ticket(made.ticket_id, breach("k2"), later(2))  # another instance
    kinds = [e.kind for e in await store.ticket_events(made.ticket_id)]
    assert kinds.count(EventKind.SLA_BREACH) == 2
