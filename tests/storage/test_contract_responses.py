"""The Store contract for first responses and automatic messages, on every backend: a ticket's
`first_responded_at` is its first agent reply a provider accepted, kept true by every
delivery report (a failure, a bounce later); acknowledgements never count and change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import NotFound
from core.model import Delivery, Direction, Status, ThreadPolicy, Via
from storage.base import Store
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))


async def form_ticket(store: Store) -> int:
    result = await store.commit_inbound(inbound("f1"), RecordingRouter(), NO_WINDOW)
    return result.ticket_id


async def first_response(store: Store, ticket_id: int) -> object:
    return (await store.get_ticket(ticket_id)).first_responded_at


@pytest.mark.parametrize(
    ("delivery", "counts"),
    [
        (Delivery("sent", "<r1@hub.example>"), True),
        (Delivery("queued", "SM1"), True),  # Twilio took it: its own queue
        (Delivery("delivered", "C1:1.0"), True),
        (Delivery("failed", "<r1@hub.example>", "smtp 554: refused"), False),
        (Delivery("failed", "", "twilio 400: 21211"), False),
        (Delivery("undelivered", "SM1", "30003"), False),
        (Delivery("sent"), False),  # no provider named it: nobody took it
    ],
    ids=["sent", "accepted", "delivered", "refused", "not-taken", "undelivered", "no-id"],
)
async def test_a_reply_is_the_first_response_once_a_provider_accepts_it(
    store: Store, delivery: Delivery, counts: bool
) -> None:
    ticket_id = await form_ticket(store)
    reply = await store.append_outbound(ticket_id, "On it!", "alice", later(3))
    assert await first_response(store, ticket_id) is None  # stored, not sent yet
    recorded = await store.record_delivery(reply.id, delivery)
    assert recorded.delivery == delivery.status
    assert await first_response(store, ticket_id) == (later(3) if counts else None)


async def test_a_failed_reply_leaves_the_clock_to_the_next_one_that_goes_out(
    store: Store,
) -> None:
    ticket_id = await form_ticket(store)
    failed = await store.append_outbound(ticket_id, "first try", "alice", later(1))
    await store.record_delivery(failed.id, Delivery("failed", "", "relay unreachable"))
    sent = await store.append_outbound(ticket_id, "second try", "alice", later(2))
    await store.record_delivery(sent.id, Delivery("sent", "<r2@hub.example>"))
    assert await first_response(store, ticket_id) == later(2)


async def test_a_reply_that_fails_later_stops_counting(store: Store) -> None:
    ticket_id = await form_ticket(store)
    first = await store.append_outbound(ticket_id, "one", "alice", later(1), Via("sms"))
    await store.record_delivery(first.id, Delivery("queued", "SM1"))
    second = await store.append_outbound(ticket_id, "two", "alice", later(2), Via("sms"))
    await store.record_delivery(second.id, Delivery("queued", "SM2"))
    assert await first_response(store, ticket_id) == later(1)
    await store.update_delivery("sms", "SM1", Delivery("undelivered", "SM1", "30003"))
    assert await first_response(store, ticket_id) == later(2)
    await store.update_delivery("sms", "SM2", Delivery("failed", "SM2", "30008"))
    assert await first_response(store, ticket_id) is None
    await store.update_delivery("sms", "SM2", Delivery("delivered", "SM2"))  # final: kept
    assert await first_response(store, ticket_id) is None


async def test_reports_in_any_order_keep_the_earliest_accepted_reply(store: Store) -> None:
    ticket_id = await form_ticket(store)
    early = await store.append_outbound(ticket_id, "one", "alice", later(1))
    late = await store.append_outbound(ticket_id, "two", "bob", later(2))
    await store.record_delivery(late.id, Delivery("sent", "<r2@hub.example>"))
    assert await first_response(store, ticket_id) == later(2)
    await store.record_delivery(early.id, Delivery("sent", "<r1@hub.example>"))
    assert await first_response(store, ticket_id) == later(1)
    await store.update_delivery("form", "<r2@hub.example>", Delivery("failed", "", "bounced"))
    assert await first_response(store, ticket_id) == later(1)  # not the one that counted


async def test_an_automatic_message_is_kept_but_changes_nothing_of_the_ticket(
    store: Store,
) -> None:
    ticket_id = await form_ticket(store)
    before = await store.get_ticket(ticket_id)
    via = Via("email", automatic="acknowledgement")
    ack = await store.append_outbound(
        ticket_id, "Your ticket number is 1.", "system", later(1), via
    )
    assert (ack.direction, ack.channel, ack.delivery) == (Direction.OUTBOUND, "email", "queued")
    assert (ack.automatic, ack.author) == ("acknowledgement", "system")
    await store.record_delivery(ack.id, Delivery("sent", "<ack@hub.example>"))
    ticket = await store.get_ticket(ticket_id)
    assert (ticket.status, ticket.updated_at, ticket.first_responded_at) == (
        Status.NEW, before.updated_at, None,
    )  # fmt: skip
    (_, stored) = ticket.messages
    assert (stored.id, stored.automatic, stored.delivery) == (ack.id, "acknowledgement", "sent")
    assert (await store.queue_depth("general")).waiting == 1  # still waiting for the team


async def test_a_message_keeps_the_channel_it_went_out_on(store: Store) -> None:
    ticket_id = await form_ticket(store)
    by_email = await store.append_outbound(ticket_id, "Hi", "alice", later(1), Via("email"))
    own = await store.append_outbound(ticket_id, "Hi", "alice", later(2))
    assert (by_email.channel, by_email.automatic, own.channel) == ("email", "", "form")
    await store.record_delivery(by_email.id, Delivery("sent", "<r1@hub.example>"))
    assert await store.update_delivery("form", "<r1@hub.example>", Delivery("failed")) is None
    bounced = await store.update_delivery("email", "<r1@hub.example>", Delivery("failed"))
    assert bounced is not None
    assert (bounced.id, bounced.channel, bounced.delivery) == (by_email.id, "email", "failed")
    ticket = await store.get_ticket(ticket_id)
    assert [m.channel for m in ticket.messages] == ["form", "email", "form"]


async def test_an_outbound_message_on_no_ticket_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.append_outbound(9999, "Hi", "alice", later(1), Via("email"))


async def test_a_text_the_providers_answer_carries_is_stored_sent(store: Store) -> None:
    ticket_id = await form_ticket(store)
    via = Via("sms", automatic="acknowledgement", delivery="sent")
    ack = await store.append_outbound(ticket_id, "Ticket 1.", "system", later(1), via)
    assert (ack.channel, ack.delivery, ack.automatic) == ("sms", "sent", "acknowledgement")
    ticket = await store.get_ticket(ticket_id)
    assert ticket.messages[-1] == ack
    assert (ticket.status, ticket.first_responded_at) == (Status.NEW, None)
