"""Replies to web-form tickets over real HTTP: by email through a real SMTP sink (threaded,
and the customer's answer through the hub's SMTP listener back on the same ticket), by SMS
through the local Twilio emulator when only a phone was given, 409 with the reason when
nothing can carry them. On SQLite and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from channels.email.mime import OUR_MESSAGE_ID
from core.model import Direction, Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import SUPPORT, Outbox, compose, outbox_server, send, smtp_port
from tests.support import FORM_SECRET, form_body, form_headers
from tests.twilio_emulator import TwilioEmulator
from tests.twilio_support import (
    ACCOUNT_SID,
    ADA,
    AUTH_TOKEN,
    HUB_NUMBER,
    PUBLIC_URL,
    post_twilio,
    sms_params,
    twilio_section,
)

WEBFORM = {"secret": FORM_SECRET}


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def outbox() -> AsyncIterator[tuple[Outbox, int]]:
    async with outbox_server() as running:
        yield running


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioEmulator]:
    emulator = TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN)
    yield emulator
    await emulator.close()


def email_sections(port: int, tmp_path: Path, **relay: Any) -> dict[str, Any]:
    """The form, the hub's SMTP listener, and the relay (acknowledgements off unless asked)."""
    relay = {"port": port, "send_backoff": 0.01, "acknowledge": False, **relay}
    return {
        "channels": {
            "webform": WEBFORM,
            "smtp": {"port": 0, "mailboxes": [SUPPORT], "hostname": "hub.example"},
        },
        "outbound": {"smtp": relay},
        "storage": {"url": "", "blob_dir": str(tmp_path / "blobs")},
    }


async def start_email_hub(
    start_hub: StartHub, make_settings: MakeSettings, db_url: str, sections: dict[str, Any]
) -> Hub:
    sections["storage"]["url"] = db_url
    return await start_hub(make_settings(**sections))


async def submit(hub: Hub, external_id: str, **fields: str) -> int:
    body = form_body(external_id, **fields)
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
        assert r.status == 201
        return int((await r.json())["ticket_id"])


async def reply(hub: Hub, ticket_id: int, body: str) -> tuple[int, dict[str, Any]]:
    headers = await hub.token(Role.AGENT, "alice")
    async with hub.http.post(
        f"/api/tickets/{ticket_id}/reply", json={"body": body}, headers=headers
    ) as response:
        return response.status, await response.json()


async def reply_way(hub: Hub, ticket_id: int) -> dict[str, Any]:
    """The way a reply would go, as the ticket's page reads it."""
    headers = await hub.token(Role.AGENT, "alice")
    async with hub.http.get(f"/api/tickets/{ticket_id}", headers=headers) as response:
        assert response.status == 200
        return dict((await response.json())["reply"])


async def test_form_ticket_is_answered_by_email_in_one_thread_the_customer_answers_on(
    start_hub: StartHub,
    make_settings: MakeSettings,
    db_url: str,
    tmp_path: Path,
    outbox: tuple[Outbox, int],
) -> None:
    hub = await start_email_hub(
        start_hub, make_settings, db_url, email_sections(outbox[1], tmp_path)
    )
    ticket_id = await submit(hub, "w1", subject="Refund", phone="+1 555 201 0042")
    way = {"channel": "email", "to": "ada@example.com", "refused": None}
    assert await reply_way(hub, ticket_id) == way
    status, first = await reply(hub, ticket_id, "We are on it.")
    assert status == 201
    assert (first["channel"], first["delivery"], first["author"]) == ("email", "sent", "alice")
    (mail,) = await outbox[0].wait_for(1)
    assert (mail["From"], mail["To"]) == (SUPPORT, "ada@example.com")
    assert mail["Subject"] == f"Re: Refund [#{ticket_id}]"
    assert mail["Message-ID"] == first["external_id"]
    assert OUR_MESSAGE_ID.match(first["external_id"])
    assert (mail["In-Reply-To"], mail["References"]) == (None, None)  # it starts the thread
    ticket = await hub.store.get_ticket(ticket_id)
    assert ticket.first_responded_at == ticket.messages[-1].at
    _, second = await reply(hub, ticket_id, "Refunded.")
    (_, mail) = await outbox[0].wait_for(2)
    assert (mail["In-Reply-To"], mail["References"]) == (first["external_id"], first["external_id"])
    assert mail["Subject"] == f"Re: Refund [#{ticket_id}]"
    # the customer answers our second mail, with a subject of their own: back on the ticket
    answer = compose("Thanks!", subject="thanks", message_id="<c1@example.com>",
                     In_Reply_To=second["external_id"])  # fmt: skip
    assert await send(smtp_port(hub), answer) == 250
    ticket = await hub.store.get_ticket(ticket_id)
    assert [(m.direction, m.channel) for m in ticket.messages] == [
        (Direction.INBOUND, "form"), (Direction.OUTBOUND, "email"),
        (Direction.OUTBOUND, "email"), (Direction.INBOUND, "email"),
    ]  # fmt: skip
    await reply(hub, ticket_id, "You are welcome.")
    (*_, mail) = await outbox[0].wait_for(3)
    assert mail["In-Reply-To"] == "<c1@example.com>"
    assert str(mail["References"]).split() == [
        first["external_id"], second["external_id"], "<c1@example.com>",
    ]  # fmt: skip


async def test_a_stranger_quoting_the_form_ticket_gets_a_ticket_of_their_own(
    start_hub: StartHub,
    make_settings: MakeSettings,
    db_url: str,
    tmp_path: Path,
    outbox: tuple[Outbox, int],
) -> None:
    hub = await start_email_hub(
        start_hub, make_settings, db_url, email_sections(outbox[1], tmp_path)
    )
    ticket_id = await submit(hub, "w1", subject="Refund")
    _, first = await reply(hub, ticket_id, "We are on it.")
    stranger = compose("me too", "eve@example.net", message_id="<e1@example.net>",
                       In_Reply_To=first["external_id"])  # fmt: skip
    assert await send(smtp_port(hub), stranger, sender="eve@example.net") == 250
    assert len((await hub.store.get_ticket(ticket_id)).messages) == 2
    assert (await hub.store.get_ticket(ticket_id + 1)).channel == "email"


async def test_a_refused_form_reply_is_kept_logged_and_no_response(
    start_hub: StartHub,
    make_settings: MakeSettings,
    db_url: str,
    tmp_path: Path,
    outbox: tuple[Outbox, int],
) -> None:
    hub = await start_email_hub(
        start_hub, make_settings, db_url, email_sections(outbox[1], tmp_path)
    )
    ticket_id = await submit(hub, "w1")
    outbox[0].refuse = "554 5.7.1 Rejected by policy"
    with structlog.testing.capture_logs() as logs:
        status, answer = await reply(hub, ticket_id, "We are on it.")
    assert status == 502
    assert (answer["message"]["channel"], answer["message"]["delivery"]) == ("email", "failed")
    (failure,) = [entry for entry in logs if entry["event"] == "reply_failed"]
    assert (failure["ticket"], failure["channel"], failure["to"]) == (
        ticket_id, "email", "a***@example.com",
    )  # fmt: skip
    assert "554" in failure["error"]
    ticket = await hub.store.get_ticket(ticket_id)
    assert ticket.first_responded_at is None
    assert (ticket.messages[-1].delivery, ticket.messages[-1].channel) == ("failed", "email")


async def test_a_form_ticket_is_answered_from_the_configured_address(
    start_hub: StartHub,
    make_settings: MakeSettings,
    db_url: str,
    tmp_path: Path,
    outbox: tuple[Outbox, int],
) -> None:
    sections = email_sections(outbox[1], tmp_path, from_address="help@hub.example")
    hub = await start_email_hub(start_hub, make_settings, db_url, sections)
    await reply(hub, await submit(hub, "w1"), "Hello")
    (mail,) = await outbox[0].wait_for(1)
    assert mail["From"] == "help@hub.example"


async def test_form_ticket_with_only_a_phone_is_answered_by_sms(
    start_hub: StartHub, make_settings: MakeSettings, twilio_api: TwilioEmulator
) -> None:
    base = await twilio_api.start()
    twilio = twilio_section(api_base=base, send_backoff="0", from_number=HUB_NUMBER)
    hub = await start_hub(
        make_settings(
            server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
            channels={"webform": WEBFORM, "twilio": twilio},
        )
    )
    ticket_id = await submit(hub, "w1", email="", phone="(555) 201-0042")
    status, message = await reply(hub, ticket_id, "We are on it.")
    assert status == 201
    assert (message["channel"], message["delivery"]) == ("sms", "queued")
    (received,) = twilio_api.received
    assert (received.form["To"], received.form["From"]) == (ADA, HUB_NUMBER)
    assert (await hub.store.get_ticket(ticket_id)).first_responded_at is not None
    report = [("MessageSid", message["external_id"]), ("MessageStatus", "undelivered"),
              ("ErrorCode", "30003")]  # fmt: skip
    assert (await post_twilio(hub, "/webhooks/twilio/sms/status", report))[0] == 204
    ticket = await hub.store.get_ticket(ticket_id)
    assert (ticket.messages[-1].delivery, ticket.first_responded_at) == ("undelivered", None)


async def test_form_ticket_with_email_and_phone_and_only_sms_is_answered_by_sms(
    start_hub: StartHub, make_settings: MakeSettings, twilio_api: TwilioEmulator
) -> None:
    base = await twilio_api.start()
    twilio = twilio_section(api_base=base, send_backoff="0", from_number=HUB_NUMBER)
    hub = await start_hub(
        make_settings(
            server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
            channels={"webform": WEBFORM, "twilio": twilio},
        )
    )
    ticket_id = await submit(hub, "w1", phone=ADA)
    assert await reply_way(hub, ticket_id) == {"channel": "sms", "to": ADA, "refused": None}
    status, message = await reply(hub, ticket_id, "We are on it.")
    assert (status, message["channel"]) == (201, "sms")
    assert twilio_api.received[0].form["To"] == ADA
    await post_twilio(hub, "/webhooks/twilio/sms", sms_params("SM9", "STOP"))
    status, answer = await reply(hub, ticket_id, "Still there?")
    assert status == 409
    assert "opted out of SMS" in answer["error"]
    assert await reply_way(hub, ticket_id) == {
        "channel": None,
        "to": None,
        "refused": answer["error"],
    }
    assert len(twilio_api.received) == 1


async def test_form_sms_needs_a_number_to_send_from(
    start_hub: StartHub, make_settings: MakeSettings, twilio_api: TwilioEmulator
) -> None:
    base = await twilio_api.start()
    hub = await start_hub(
        make_settings(
            server={"port": 0, "max_body_bytes": 65536, "public_url": PUBLIC_URL},
            channels={"webform": WEBFORM, "twilio": twilio_section(api_base=base)},
        )
    )
    ticket_id = await submit(hub, "w1", email="", phone=ADA)
    status, answer = await reply(hub, ticket_id, "Hello")
    assert status == 409
    assert "set channels.twilio.from_number" in answer["error"]
    assert twilio_api.received == []
    assert len((await hub.store.get_ticket(ticket_id)).messages) == 1  # nothing stored


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "can be answered by email ([outbound.smtp]), which is not configured"),
        ({"email": "", "phone": ADA}, "by sms ([channels.twilio]), which is not configured"),
        ({"phone": ADA}, "by email ([outbound.smtp]) or sms ([channels.twilio]); none is"),
    ],
    ids=["email", "phone", "both"],
)
async def test_form_ticket_nothing_can_answer_is_409_with_the_reason(
    hub: Hub, fields: dict[str, str], reason: str
) -> None:
    ticket_id = await submit(hub, "w1", **fields)
    status, answer = await reply(hub, ticket_id, "Hello")
    assert status == 409
    assert answer["error"].startswith("replies on the form channel cannot be sent: ")
    assert reason in answer["error"]
    assert len((await hub.store.get_ticket(ticket_id)).messages) == 1
    assert (await reply_way(hub, ticket_id))["refused"] == answer["error"]  # said before
