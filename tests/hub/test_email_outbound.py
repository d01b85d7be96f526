"""Outbound email through a real SMTP sink: replies that thread back, acknowledgements that
never answer automatic mail, bounces that mark our reply failed."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.email.mime import OUR_MESSAGE_ID
from core.model import Direction, Role, Status, TicketFilter
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import (
    SUPPORT,
    Outbox,
    compose,
    email_settings,
    outbox_server,
    send,
    smtp_port,
)
from tests.hub.test_reply import close

_OUTBOUND = re.compile(
    r'^contacthub_outbound_total\{channel="(\w+)",kind="(\w+)",status="(\w+)"\} (\S+)$', re.M
)


@pytest.fixture
async def outbox() -> AsyncIterator[tuple[Outbox, int]]:
    async with outbox_server() as running:
        yield running


@pytest.fixture
async def hub(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> Hub:
    return await start_hub(email_settings(make_settings, tmp_path, outbound_port=outbox[1]))


async def only_ticket_id(hub: Hub) -> int:
    (ticket,) = (await hub.store.list_tickets(TicketFilter())).items
    return ticket.id


async def reply(hub: Hub, ticket_id: int, body: str) -> tuple[int, dict[str, object]]:
    headers = await hub.token(Role.AGENT, "alice")
    async with hub.http.post(
        f"/api/tickets/{ticket_id}/reply", json={"body": body}, headers=headers
    ) as response:
        return response.status, await response.json()


async def test_new_ticket_is_acknowledged_once_with_its_number(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    port = smtp_port(hub)
    await send(port, compose())
    (ack,) = await outbox[0].wait_for(1)
    ticket_id = await only_ticket_id(hub)
    assert ack["To"] == "ada@example.com"
    assert ack["From"] == SUPPORT
    assert ack["Subject"] == f"Re: Order 1042 [#{ticket_id}]"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<m1@example.com>"
    assert f"ticket number is {ticket_id}" in ack.get_content()
    follow_up = compose("more", message_id="<m2@example.com>", In_Reply_To="<m1@example.com>")
    await send(port, follow_up)
    await send(port, compose())  # a retry
    await asyncio.sleep(0.3)
    assert len(outbox[0].received) == 1
    ticket = await hub.store.get_ticket(ticket_id)
    assert ticket.first_responded_at is None  # an acknowledgement is not the team's answer
    assert ticket.status is Status.NEW  # and it still waits for the team
    (kept,) = [m for m in ticket.messages if m.direction is Direction.OUTBOUND]
    assert (kept.channel, kept.author, kept.automatic) == ("email", "system", "acknowledgement")
    assert (kept.delivery, kept.external_id, kept.body) == (
        "sent", ack["Message-ID"], ack.get_content().strip(),
    )  # fmt: skip


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X_Auto_Response_Suppress": "OOF"},
        {"sender": "MAILER-DAEMON@mx.example"},
    ],
    ids=["auto-submitted", "precedence", "x-auto-response-suppress", "mailer-daemon"],
)
async def test_automatic_mail_is_ticketed_but_never_acknowledged(
    hub: Hub, outbox: tuple[Outbox, int], headers: dict[str, str]
) -> None:
    await send(smtp_port(hub), compose(**headers))
    await only_ticket_id(hub)
    await asyncio.sleep(0.3)
    assert outbox[0].received == []


async def test_empty_envelope_sender_is_never_acknowledged(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    await send(smtp_port(hub), compose(), sender="")
    await only_ticket_id(hub)
    await asyncio.sleep(0.3)
    assert outbox[0].received == []


async def test_acknowledgements_are_rate_limited_per_address(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    settings = email_settings(make_settings, tmp_path, outbound_port=outbox[1])
    assert settings.outbound.smtp is not None
    relay = settings.outbound.smtp.model_copy(update={"acknowledgements_per_address": 2})
    outbound = settings.outbound.model_copy(update={"smtp": relay})
    hub = await start_hub(settings.model_copy(update={"outbound": outbound}))
    for n in range(4):
        await send(smtp_port(hub), compose(f"ticket {n}", message_id=f"<n{n}@example.com>"))
    await outbox[0].wait_for(2)
    await asyncio.sleep(0.3)
    assert len(outbox[0].received) == 2
    assert len((await hub.store.list_tickets(TicketFilter())).items) == 4


async def test_reply_threads_and_the_customers_answer_comes_back_to_the_ticket(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    port = smtp_port(hub)
    await send(port, compose())
    await outbox[0].wait_for(1)  # the acknowledgement
    ticket_id = await only_ticket_id(hub)
    status, answer = await reply(hub, ticket_id, "We are on it.")
    assert status == 201
    (_, sent) = await outbox[0].wait_for(2)
    assert sent["Subject"] == f"Re: Order 1042 [#{ticket_id}]"
    assert sent["In-Reply-To"] == "<m1@example.com>"
    assert sent["References"] == "<m1@example.com>"
    assert sent.get("Auto-Submitted") is None
    our_id = sent["Message-ID"]
    assert OUR_MESSAGE_ID.match(our_id)
    assert answer["external_id"] == our_id
    assert answer["delivery"] == "sent"
    # the customer answers with only In-Reply-To and a new subject: it threads by our id
    answer_mail = compose("Thanks!", subject="ok", message_id="<m3@example.com>",
                          In_Reply_To=our_id)  # fmt: skip
    await send(port, answer_mail)
    ticket = await hub.store.get_ticket(ticket_id)
    assert [(m.direction, m.automatic) for m in ticket.messages] == [
        (Direction.INBOUND, ""), (Direction.OUTBOUND, "acknowledgement"),
        (Direction.OUTBOUND, ""), (Direction.INBOUND, ""),
    ]  # fmt: skip


async def test_subject_token_threads_only_the_tickets_own_customer(hub: Hub) -> None:
    port = smtp_port(hub)
    await send(port, compose())
    ticket_id = await only_ticket_id(hub)
    token = f"Re: lost headers [#{ticket_id}]"
    await send(port, compose("again", subject=token, message_id="<m5@example.com>"))
    stranger = compose("me too", "eve@example.net", subject=token, message_id="<e1@x.example>")
    await send(port, stranger, sender="eve@example.net")
    tickets = (await hub.store.list_tickets(TicketFilter())).items
    assert len(tickets) == 2
    messages = (await hub.store.get_ticket(ticket_id)).messages
    assert len([m for m in messages if m.direction is Direction.INBOUND]) == 2


async def test_bounce_of_our_reply_marks_it_failed_and_takes_back_the_first_response(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    port = smtp_port(hub)
    await send(port, compose())
    ticket_id = await only_ticket_id(hub)
    _, answer = await reply(hub, ticket_id, "We are on it.")
    our_id = str(answer["external_id"])
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: support@hub.example\r\n"
        "Subject: Undelivered Mail\r\nMessage-ID: <dsn-1@mx.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nmailbox unknown\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n"
        "\r\nFinal-Recipient: rfc822; ada@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {our_id}\r\n--B--\r\n"
    ).encode()
    assert (await hub.store.get_ticket(ticket_id)).first_responded_at is not None
    assert await send(port, bounce, sender="") == 250
    ticket = await hub.store.get_ticket(ticket_id)
    (outbound,) = [m for m in ticket.messages if m.external_id == our_id]
    assert (outbound.delivery, outbound.error) == ("failed", "bounced (5.1.1)")
    assert ticket.first_responded_at is None  # a reply that never arrived is no response


async def test_relay_refusal_is_a_failed_reply_with_the_reason(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    await send(smtp_port(hub), compose())
    ticket_id = await only_ticket_id(hub)
    await outbox[0].wait_for(1)
    outbox[0].refuse = "554 5.7.1 Rejected by policy"
    status, answer = await reply(hub, ticket_id, "We are on it.")
    assert status == 502
    message = answer["message"]
    assert isinstance(message, dict)
    assert message["delivery"] == "failed"
    assert "554" in str(message["error"])


async def test_what_went_out_is_counted_by_channel_kind_and_status(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    await send(smtp_port(hub), compose())
    ticket_id = await only_ticket_id(hub)
    await outbox[0].wait_for(1)  # the acknowledgement
    assert (await reply(hub, ticket_id, "On its way."))[0] == 201
    outbox[0].refuse = "554 5.7.1 Rejected by policy"
    assert (await reply(hub, ticket_id, "Refused."))[0] == 502
    async with hub.http.get("/metrics") as response:
        text = await response.text()
    counted = {(c, k, s): n for c, k, s, n in _OUTBOUND.findall(text)}
    assert counted == {
        ("email", "acknowledgement", "sent"): "1.0",
        ("email", "reply", "sent"): "1.0",
        ("email", "reply", "failed"): "1.0",
    }


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[int]:
    """A relay that takes connections and never says a word (a host that swallows them)."""
    held: list[asyncio.Transport] = []

    class Silent(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            held.append(transport)  # type: ignore[arg-type]  # a stream transport

    server = await asyncio.get_running_loop().create_server(Silent, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for transport in held:
            transport.close()
        await server.wait_closed()


async def test_acknowledgements_waiting_for_a_silent_relay_are_bounded(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path
) -> None:
    async with black_hole() as port:
        settings = make_settings(
            storage={"url": f"sqlite:///{tmp_path / 'hub.db'}", "blob_dir": str(tmp_path / "b")},
            channels={"smtp": {"port": 0, "mailboxes": [SUPPORT]}},
            outbound={"smtp": {"port": port, "acknowledgement_backlog": 2, "timeout": "2s",
                               "send_attempts": 1}},
        )  # fmt: skip
        hub = await start_hub(settings)
        for n in range(3):  # three new customers, three new tickets: every one answered 250
            sender = f"Customer {n} <c{n}@example.com>"
            answer = await send(smtp_port(hub), compose(sender=sender, message_id=f"<b{n}@x>"))
            assert answer == 250
        async with hub.http.get("/metrics") as response:
            text = await response.text()
        assert (
            'contacthub_dropped_total{channel="email",reason="acknowledgement_backlog"} 1.0' in text
        )
        tickets = (await hub.store.list_tickets(TicketFilter())).items
        assert len(tickets) == 3  # the contacts are all kept; only the third's answer is not


async def test_a_follow_up_of_a_closed_ticket_answers_its_thread_and_the_answer_comes_back(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    port = smtp_port(hub)
    await send(port, compose())
    await outbox[0].wait_for(1)  # the acknowledgement
    closed_id = await only_ticket_id(hub)
    await close(hub, closed_id)
    alice = await hub.token(Role.AGENT, "alice")
    async with hub.http.post(
        f"/api/tickets/{closed_id}/follow-up", json={"body": "All well?"}, headers=alice
    ) as response:
        assert response.status == 201
        made = (await response.json())["ticket"]
    (_, sent) = await outbox[0].wait_for(2)
    assert sent["Subject"] == f"Re: Order 1042 [#{made['id']}]"
    assert sent["In-Reply-To"] == "<m1@example.com>"  # the closed conversation's thread
    both = f"<m1@example.com> {sent['Message-ID']}"  # the closed ticket's message first
    answer_mail = compose("Yes!", subject="Re: x", message_id="<m4@example.com>",
                          In_Reply_To=sent["Message-ID"], References=both)  # fmt: skip
    await send(port, answer_mail)
    follow_up = await hub.store.get_ticket(made["id"])
    assert [(m.direction, m.body.strip()) for m in follow_up.messages] == [
        (Direction.OUTBOUND, "All well?"), (Direction.INBOUND, "Yes!"),
    ]  # fmt: skip
    assert (follow_up.status, follow_up.assignee) == (Status.OPEN, "alice")
    assert (await hub.store.get_ticket(closed_id)).status is Status.CLOSED
