"""The Store contract for outbound messages: delivery results and SMS consent, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import NotFound
from core.model import Delivery, ThreadPolicy
from storage.base import Store, open_store
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
ADA = "phone:+15552010042"


async def _reply(store: Store, external_id: str = "m1", channel: str = "sms") -> tuple[int, int]:
    """A ticket with one inbound and one outbound message: (inbound id, outbound id)."""
    contact = inbound(external_id, ADA, channel=channel)
    result = await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)
    reply = await store.append_outbound(result.ticket_id, "On it!", "alice", later(1))
    assert reply.delivery == "queued"
    return result.message_id, reply.id


async def test_record_delivery_keeps_status_provider_id_and_reason(store: Store) -> None:
    _, reply_id = await _reply(store)
    sent = await store.record_delivery(reply_id, Delivery("queued", "SM1"))
    assert (sent.id, sent.delivery, sent.external_id, sent.error) == (reply_id, "queued", "SM1", "")
    failed = await store.record_delivery(reply_id, Delivery("failed", "", "twilio 400: 21211"))
    assert (failed.delivery, failed.error) == ("failed", "twilio 400: 21211")
    ticket = await store.get_ticket(failed.ticket_id)
    assert ticket.messages[-1] == failed


async def test_record_delivery_of_unknown_or_inbound_message_is_not_found(store: Store) -> None:
    inbound_id, _ = await _reply(store)
    for message_id in (inbound_id, 9999):
        with pytest.raises(NotFound):
            await store.record_delivery(message_id, Delivery("sent", "SM1"))


async def test_update_delivery_finds_the_message_by_channel_and_provider_id(store: Store) -> None:
    _, reply_id = await _reply(store)
    await store.record_delivery(reply_id, Delivery("queued", "SM1"))
    assert await store.update_delivery("sms", "SM-unknown", Delivery("sent")) is None
    assert await store.update_delivery("email", "SM1", Delivery("sent")) is None
    updated = await store.update_delivery("sms", "SM1", Delivery("sent", "SM1"))
    assert updated is not None
    assert (updated.id, updated.delivery, updated.external_id) == (reply_id, "sent", "SM1")


@pytest.mark.parametrize("final", ["delivered", "undelivered", "failed", "read"])
async def test_final_delivery_status_is_never_replaced(store: Store, final: str) -> None:
    _, reply_id = await _reply(store)
    await store.record_delivery(reply_id, Delivery("queued", "SM1"))
    await store.update_delivery(
        "sms", "SM1", Delivery(final, "SM1", "30003" if final != "read" else "")
    )
    late = await store.update_delivery("sms", "SM1", Delivery("sent", "SM1"))
    assert late is not None
    assert late.delivery == final


async def test_sms_opt_out_keeps_the_newest_word(store: Store) -> None:
    assert await store.sms_opted_out(ADA) is False
    await store.set_sms_opt_out(ADA, opted_out=True, at=later(10))
    assert await store.sms_opted_out(ADA) is True
    assert await store.sms_opted_out("phone:+15550000000") is False
    await store.set_sms_opt_out(ADA, opted_out=False, at=later(5))  # an older START arriving late
    assert await store.sms_opted_out(ADA) is True
    await store.set_sms_opt_out(ADA, opted_out=False, at=later(20))
    assert await store.sms_opted_out(ADA) is False
    await store.set_sms_opt_out(
        ADA, opted_out=False, at=later(20)
    )  # a retried START changes nothing
    assert await store.sms_opted_out(ADA) is False


async def test_sms_opt_out_survives_reopening_the_store(store_url: str) -> None:
    first = open_store(store_url)
    await first.open()
    await first.set_sms_opt_out(ADA, opted_out=True, at=later(1))
    await first.close()
    second = open_store(store_url)
    await second.open()
    try:
        assert await second.sms_opted_out(ADA) is True
    finally:
        await second.close()
