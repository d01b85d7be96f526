"""The Store contract for follow-ups of closed tickets, on every backend: a new ticket of the
closed one's customer, channel, queue and subject, the agent's and open at once, with its
record, counters and rollups as a claim's; the closed ticket as it was."""

from __future__ import annotations

import pytest

from core.errors import NotFinal, NotFound
from core.model import Decision, Priority, Role, Status, TicketChange
from core.people import AgentChange
from core.record import Actor, ActorKind, EventKind
from storage.base import Store
from tests.storage.test_contract import NO_WINDOW
from tests.storage.test_contract_rollups import recount_matches
from tests.storage.workload import DAY_WINDOW as DAY
from tests.storage.workload import replayed, whole_record
from tests.support import FunctionRouter, inbound, later

ANN = Actor.agent("ann")


async def closed_ticket(store: Store) -> int:
    decision = Decision("billing", priority=Priority.HIGH, skills=("billing",))
    router = FunctionRouter(lambda _c, _f: decision)
    contact = inbound("m1", "phone:+15550001111", channel="sms", at=later(0))
    ticket_id = (await store.commit_inbound(contact, router, NO_WINDOW)).ticket_id
    await store.update_ticket(ticket_id, TicketChange(assignee="bob", actor=ANN), later(1))
    await store.append_outbound(ticket_id, "Refunded", "bob", later(2))
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED, actor=ANN), later(3))
    return ticket_id


async def test_a_follow_up_is_a_new_ticket_of_the_agent_and_the_closed_one_stays(
    store: Store,
) -> None:
    await store.put_agent("ann", AgentChange(roles=frozenset({Role.AGENT})), later(0))
    closed_id = await closed_ticket(store)
    closed = await store.get_ticket(closed_id)
    closed_record = await store.ticket_events(closed_id)
    before = await store.queue_depth("billing")
    made = await store.open_follow_up(closed_id, "ann", later(60))
    assert made.id > closed_id
    assert (made.status, made.assignee, made.customer_id, made.channel) == (
        Status.OPEN, "ann", closed.customer_id, "sms",
    )  # fmt: skip
    assert (made.queue, made.priority, made.subject, made.tags) == (
        "billing", Priority.HIGH, closed.subject, (),
    )  # fmt: skip
    assert made.messages == ()
    assert made.route.explanation == (f"a follow-up of #{closed_id} by ann",)
    record = await store.ticket_events(made.id)
    assert [(e.kind, e.actor) for e in record] == [
        (EventKind.CREATED, ANN), (EventKind.STATUS, ANN), (EventKind.ASSIGNED, ANN),
    ]  # fmt: skip
    assert record[0].detail == {
        "queue": "billing", "priority": "high", "rule": None, "channel": "sms",
        "follow_up_of": closed_id,
    }  # fmt: skip
    assert (record[1].detail, record[2].detail) == (
        {"from": "new", "to": "open"}, {"from": None, "to": "ann"},
    )  # fmt: skip
    after = await store.queue_depth("billing")
    assert (after.open, after.waiting) == (before.open + 1, before.waiting)  # the agent's
    assert (await store.get_agent("ann")).load_on("sms") == 1
    assert await store.get_ticket(closed_id) == closed
    assert await store.ticket_events(closed_id) == closed_record


async def test_only_a_closed_ticket_is_followed_up(store: Store) -> None:
    router = FunctionRouter(lambda _c, _f: Decision("general"))
    live = (await store.commit_inbound(inbound("m1"), router, NO_WINDOW)).ticket_id
    events = await store.last_event_seq()
    with pytest.raises(NotFinal) as refused:
        await store.open_follow_up(live, "ann", later(1))
    assert refused.value.message == (
        f"ticket {live} is new: reply on it (a follow-up is of a closed ticket)"
    )
    with pytest.raises(NotFound):
        await store.open_follow_up(404, "ann", later(1))
    assert await store.last_event_seq() == events  # nothing written


async def test_a_follow_ups_opening_message_is_no_response_and_the_rollups_agree(
    store: Store,
) -> None:
    """The agent's message before the customer wrote answers nothing: no first response,
    until the customer's answer and the reply to it; the cells stay a recount."""
    closed_id = await closed_ticket(store)
    closed = await store.get_ticket(closed_id)
    made = await store.open_follow_up(closed_id, "ann", later(60))
    await store.append_outbound(made.id, "Is all well now?", "ann", later(61))
    again = inbound("m2", "phone:+15550001111", channel="sms", at=later(90))
    answer = await store.commit_inbound(again, FunctionRouter(lambda _c, _f: Decision("x")), DAY)
    assert answer.ticket_id == made.id  # the customer's answer threads onto the follow-up
    await store.append_outbound(made.id, "Glad to hear", "ann", later(95))
    await recount_matches(store)
    tally = replayed(await whole_record(store)).tallies[made.id]
    assert (tally.channel, tally.customer) == ("sms", str(closed.customer_id))
    assert [at for _, at, _ in tally.replies] == [later(95).timestamp()]  # the first response
    assert tally.asked == later(90).timestamp()  # counted from the customer's answer
    waits = [v for key, v in tally.contribution().items() if key[2] == "" and key[3][0] == "f"]
    assert waits == [(1, (later(95) - later(90)).total_seconds())]
    assert tally.agents == ["ann"]
    record = await store.ticket_events(made.id)
    kinds = [e.kind for e in record]
    assert kinds[3:] == [EventKind.REPLY_OUT, EventKind.MESSAGE_IN, EventKind.REPLY_OUT]
    assert record[4].actor.kind is ActorKind.CUSTOMER


async def test_a_follow_up_is_replayed_from_its_customers_first_message(store: Store) -> None:
    """`rules simulate` replays each ticket's first contact: a follow-up has none until the
    customer answers (its first message is the agent's), then the answer."""
    closed_id = await closed_ticket(store)
    made = await store.open_follow_up(closed_id, "ann", later(60))
    await store.append_outbound(made.id, "Is all well now?", "ann", later(61))
    assert [r.ticket_id for r in (await store.replay()).items] == [closed_id]
    again = inbound("m2", "phone:+15550001111", channel="sms", at=later(90), text="yes")
    await store.commit_inbound(again, FunctionRouter(lambda _c, _f: Decision("x")), DAY)
    replays = (await store.replay()).items
    assert [(r.ticket_id, r.inbound.text) for r in replays][1:] == [(made.id, "yes")]
