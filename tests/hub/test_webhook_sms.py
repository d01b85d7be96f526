"""Twilio SMS webhooks over real HTTP, signed exactly as Twilio signs them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from core.model import Direction, Status, TicketFilter
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FORM_SECRET, T0
from tests.twilio_support import (
    ADA,
    OLD_AUTH_TOKEN,
    PUBLIC_URL,
    post_twilio,
    signature,
    sms_params,
    twilio_section,
)

SMS = "/webhooks/twilio/sms"
MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME"


def twilio_settings(
    make_settings: MakeSettings, public_url: str | None = PUBLIC_URL, **twilio: Any
) -> Any:
    server: dict[str, Any] = {"port": 0, "max_body_bytes": 65536}
    if public_url is not None:
        server["public_url"] = public_url
    channels = {"webform": {"secret": FORM_SECRET}, "twilio": twilio_section(**twilio)}
    return make_settings(server=server, channels=channels)


@pytest.fixture
async def sms_hub(start_hub: StartHub, make_settings: MakeSettings) -> Hub:
    return await start_hub(twilio_settings(make_settings))


def replies(twiml: str) -> list[str]:
    """The <Message> texts of a TwiML answer (which must be valid XML)."""
    root = ET.fromstring(twiml)  # noqa: S314  # the hub's own answer, parsed to check it
    assert root.tag == "Response"
    return [message.text or "" for message in root.iter("Message")]


async def tickets(hub: Hub, queue: str | None = None) -> int:
    return len((await hub.store.list_tickets(TicketFilter(queue=queue))).items)


async def test_first_sms_creates_a_ticket_and_is_acknowledged_with_its_number(
    sms_hub: Hub,
) -> None:
    status, answer = await post_twilio(sms_hub, SMS, sms_params("SM1", "Refund please"))
    assert status == 200
    assert replies(answer) == ["Thanks, we got your message. Your ticket number is 1."]
    ticket = await sms_hub.store.get_ticket(1)
    assert (ticket.channel, ticket.queue) == ("sms", "general")
    assert ticket.messages[0].body == "Refund please"
    assert ticket.messages[0].sender == f"phone:{ADA}"
    ack = ticket.messages[1]  # what the TwiML said is on the ticket, and no response
    assert (ack.direction, ack.channel, ack.delivery) == (Direction.OUTBOUND, "sms", "sent")
    assert (ack.author, ack.automatic, ack.body) == (
        "system",
        "acknowledgement",
        replies(answer)[0],
    )
    assert (ticket.status, ticket.first_responded_at) == (Status.NEW, None)


async def test_follow_up_appends_silently_and_a_replay_appends_nothing(sms_hub: Hub) -> None:
    await post_twilio(sms_hub, SMS, sms_params("SM1", "Refund please"))
    status, answer = await post_twilio(sms_hub, SMS, sms_params("SM2", "order 1042"))
    assert (status, replies(answer)) == (200, [])
    for _ in range(3):  # Twilio retrying a webhook it thinks failed
        status, answer = await post_twilio(sms_hub, SMS, sms_params("SM2", "order 1042"))
        assert (status, replies(answer)) == (200, [])
    messages = (await sms_hub.store.get_ticket(1)).messages
    assert [(m.external_id, m.automatic) for m in messages] == [
        ("SM1", ""), ("", "acknowledgement"), ("SM2", ""),
    ]  # fmt: skip


async def test_mms_media_are_kept_as_attachment_references(sms_hub: Hub) -> None:
    media = [(MEDIA + "1", "image/jpeg"), (MEDIA + "2", "application/pdf")]
    status, _ = await post_twilio(sms_hub, SMS, sms_params("MM1", "photo", media=media))
    assert status == 200
    (message, _acknowledgement) = (await sms_hub.store.get_ticket(1)).messages
    assert [(a.name, a.content_type, a.url) for a in message.attachments] == [
        ("ME1", "image/jpeg", MEDIA + "1"),
        ("ME2", "application/pdf", MEDIA + "2"),
    ]


@pytest.mark.parametrize("kind", ["forged", "stale-token", "other-params", "missing", "local-url"])
async def test_bad_signature_is_403_and_stores_nothing(sms_hub: Hub, kind: str) -> None:
    params = sms_params("SM1")
    choices: dict[str, dict[str, Any]] = {
        "forged": {"headers": {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}},
        "stale-token": {"token": OLD_AUTH_TOKEN},
        "missing": {"headers": {"X-Twilio-Signature": ""}},
        "local-url": {"signed_url": f"http://127.0.0.1{SMS}"},  # not what Twilio calls
    }
    options = choices.get(kind, {})
    if kind == "other-params":  # a captured signature replayed with another body
        signed = sms_params("SM1", "hello")
        options = {"headers": {"X-Twilio-Signature": signature(PUBLIC_URL + SMS, signed)}}
        params = sms_params("SM1", "send the refund to account 666")
    status, answer = await post_twilio(sms_hub, SMS, params, **options)
    assert status == 403
    assert "signature" in answer
    assert await tickets(sms_hub) == 0


async def test_rejection_is_logged_and_counted_with_the_url_checked(sms_hub: Hub) -> None:
    await post_twilio(sms_hub, SMS, sms_params("SM1"), token=OLD_AUTH_TOKEN)
    async with sms_hub.http.get("/metrics") as response:
        text = await response.text()
    labels = f'channel="sms",path="{PUBLIC_URL}{SMS}",reason="SignatureError"'
    assert f"contacthub_webhook_rejected_total{{{labels}}} 1.0" in text


async def test_signature_with_the_default_port_is_accepted(sms_hub: Hub) -> None:
    url = PUBLIC_URL.replace(".com", ".com:443") + SMS
    status, answer = await post_twilio(sms_hub, SMS, sms_params("SM1"), signed_url=url)
    assert status == 200
    assert len(replies(answer)) == 1


async def test_without_public_url_the_request_url_is_checked(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await start_hub(twilio_settings(make_settings, public_url=None))
    local = str(hub.http._base_url).rstrip("/") + SMS  # the URL the hub sees
    status, _ = await post_twilio(hub, SMS, sms_params("SM1"), signed_url=local)
    assert status == 200
    status, _ = await post_twilio(hub, SMS, sms_params("SM2"))  # signed for the public URL
    assert status == 403


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ([("MessageSid", "SM1"), ("Body", "x")], "From is required"),
        ([("MessageSid", "SM1"), ("From", "not a number")], "not a phone number"),
        ([("MessageSid", "SM1"), ("From", ADA), ("NumMedia", "x")], "NumMedia"),
    ],
    ids=["no-from", "bad-from", "bad-num-media"],
)
async def test_malformed_signed_sms_is_400_with_the_reason(
    sms_hub: Hub, params: list[tuple[str, str]], reason: str
) -> None:
    status, answer = await post_twilio(sms_hub, SMS, params)
    assert status == 400
    assert reason in answer
    assert await tickets(sms_hub) == 0


async def test_oversize_sms_is_413(sms_hub: Hub) -> None:
    status, _ = await post_twilio(sms_hub, SMS, sms_params("SM1", "x" * 70_000))
    assert status == 413


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "Unsubscribe", "CANCEL", "END", "QUIT", "STOPALL"]
)
async def test_stop_records_the_opt_out_and_answers_nothing(sms_hub: Hub, word: str) -> None:
    status, answer = await post_twilio(sms_hub, SMS, sms_params("SM1", word))
    assert (status, replies(answer)) == (200, [])
    assert await sms_hub.store.sms_opted_out(f"phone:{ADA}") is True
    assert (await sms_hub.store.get_ticket(1)).messages[0].body == word  # kept, like any message


@pytest.mark.parametrize("word", ["START", "yes", "UNSTOP"])
async def test_start_records_the_opt_in(sms_hub: Hub, word: str) -> None:
    await post_twilio(sms_hub, SMS, sms_params("SM1", "STOP"))
    status, answer = await post_twilio(sms_hub, SMS, sms_params("SM2", word))
    assert (status, replies(answer)) == (200, [])
    assert await sms_hub.store.sms_opted_out(f"phone:{ADA}") is False


async def test_help_answers_the_help_text(start_hub: StartHub, make_settings: MakeSettings) -> None:
    hub = await start_hub(twilio_settings(make_settings, help_text="Acme support: call 555-0100."))
    for _ in range(2):  # the second time, Twilio retrying: answered again, kept once
        status, answer = await post_twilio(hub, SMS, sms_params("SM1", "help"))
        assert (status, replies(answer)) == (200, ["Acme support: call 555-0100."])
    (_, kept) = (await hub.store.get_ticket(1)).messages
    assert (kept.body, kept.automatic, kept.delivery) == (
        "Acme support: call 555-0100.", "help", "sent",
    )  # fmt: skip


async def test_opted_out_customer_is_not_acknowledged(sms_hub: Hub) -> None:
    await sms_hub.store.set_sms_opt_out(f"phone:{ADA}", opted_out=True, at=T0)
    status, answer = await post_twilio(sms_hub, SMS, sms_params("SM1", "a question"))
    assert (status, replies(answer)) == (200, [])
    assert await tickets(sms_hub) == 1
    assert len((await sms_hub.store.get_ticket(1)).messages) == 1  # nothing went out


async def test_empty_acknowledgement_setting_answers_nothing(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await start_hub(twilio_settings(make_settings, acknowledgement=""))
    status, answer = await post_twilio(hub, SMS, sms_params("SM1", "a question"))
    assert (status, replies(answer)) == (200, [])
    assert len((await hub.store.get_ticket(1)).messages) == 1


async def test_quarantine_keeps_unverified_sms_apart_and_unanswered(
    start_hub: StartHub, make_settings: MakeSettings
) -> None:
    hub = await start_hub(twilio_settings(make_settings, on_bad_signature="quarantine"))
    status, answer = await post_twilio(hub, SMS, sms_params("SM1", "hi"), token=OLD_AUTH_TOKEN)
    assert (status, replies(answer)) == (200, [])
    kept = await hub.store.get_ticket(1)
    assert (kept.queue, kept.tags) == ("quarantine", ("unverified",))
    assert "not routed" in kept.route.explanation[0]
    customer = await hub.store.get_customer(kept.customer_id)
    assert [i.kind for i in customer.identities] == ["unverified"]  # joined to nobody
    # The genuine message with the same MessageSid is still taken, and routed.
    status, answer = await post_twilio(hub, SMS, sms_params("SM1", "hi"))
    assert (status, len(replies(answer))) == (200, 1)
    assert (await hub.store.get_ticket(2)).queue == "general"
    async with hub.http.get("/metrics") as response:
        text = await response.text()
    assert f'path="{PUBLIC_URL}{SMS}",reason="quarantined"' in text
