"""A web-form customer who gave an email address gets the acknowledgement email customers
get: once per new ticket, rate-limited per address, kept on the ticket as an automatic
message that is no response; their answer to it comes back to the ticket. Over real HTTP,
with a real SMTP sink as the relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from core.model import Direction, Role, Status, Ticket
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import SUPPORT, Outbox, compose, outbox_server, send, smtp_port
from tests.support import FORM_SECRET, form_body, form_headers


@pytest.fixture
async def outbox() -> AsyncIterator[tuple[Outbox, int]]:
    async with outbox_server() as running:
        yield running


async def start(
    start_hub: StartHub,
    make_settings: MakeSettings,
    tmp_path: Path,
    port: int,
    *,
    listener: bool = True,
    **relay: Any,
) -> Hub:
    channels: dict[str, Any] = {"webform": {"secret": FORM_SECRET}}
    if listener:
        channels["smtp"] = {"port": 0, "mailboxes": [SUPPORT]}
    outbound = {"smtp": {"port": port, "send_backoff": 0.01, **relay}}
    storage = {"url": f"sqlite:///{tmp_path / 'hub.db'}", "blob_dir": str(tmp_path / "blobs")}
    return await start_hub(make_settings(channels=channels, outbound=outbound, storage=storage))


async def submit(hub: Hub, external_id: str, **fields: str) -> tuple[int, int]:
    body = form_body(external_id, **fields)
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
        return r.status, int((await r.json())["ticket_id"])


async def delivered(hub: Hub, ticket_id: int) -> Ticket:
    """The ticket once its last message's delivery is recorded (after the relay answered)."""
    async with asyncio.timeout(10):
        while True:
            ticket = await hub.store.get_ticket(ticket_id)
            if ticket.messages[-1].delivery not in ("", "queued"):
                return ticket
            await asyncio.sleep(0.02)


async def test_form_ticket_is_acknowledged_by_email_and_it_is_kept_on_the_ticket(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(start_hub, make_settings, tmp_path, outbox[1])
    status, ticket_id = await submit(hub, "w1", subject="Refund", phone="+15552010042")
    assert status == 201
    (ack,) = await outbox[0].wait_for(1)
    assert (ack["From"], ack["To"]) == (SUPPORT, "ada@example.com")
    assert ack["Subject"] == f"Re: Refund [#{ticket_id}]"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert f"ticket number is {ticket_id}" in ack.get_content()
    ticket = await delivered(hub, ticket_id)
    (_, kept) = ticket.messages
    assert (kept.direction, kept.channel, kept.author) == (Direction.OUTBOUND, "email", "system")
    assert (kept.automatic, kept.delivery, kept.external_id) == (
        "acknowledgement", "sent", ack["Message-ID"],
    )  # fmt: skip
    assert (ticket.status, ticket.first_responded_at) == (Status.NEW, None)
    headers = await hub.token(Role.AGENT)
    async with hub.http.get(f"/api/tickets/{ticket_id}", headers=headers) as response:
        shown = (await response.json())["messages"][-1]
    assert (shown["author"], shown["automatic"], shown["channel"]) == (
        "system", "acknowledgement", "email",
    )  # fmt: skip
    await submit(hub, "w1", subject="Refund")  # the form posted again: a duplicate
    answer = compose("Thanks", subject="Re: your ticket", message_id="<c1@example.com>",
                     In_Reply_To=ack["Message-ID"])  # fmt: skip
    assert await send(smtp_port(hub), answer) == 250
    messages = (await hub.store.get_ticket(ticket_id)).messages
    assert [(m.direction, m.channel) for m in messages] == [
        (Direction.INBOUND, "form"), (Direction.OUTBOUND, "email"), (Direction.INBOUND, "email"),
    ]  # fmt: skip
    assert len(outbox[0].received) == 1


async def test_acknowledgements_to_one_address_are_rate_limited_across_forms(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(start_hub, make_settings, tmp_path, outbox[1], acknowledgements_per_address=1)
    for n in range(3):
        assert (await submit(hub, f"w{n}"))[0] == 201
    await submit(hub, "w9", email="grace@example.com")
    await outbox[0].wait_for(2)
    await asyncio.sleep(0.3)
    assert sorted(str(m["To"]) for m in await outbox[0].wait_for(2)) == [
        "ada@example.com", "grace@example.com",
    ]  # fmt: skip
    assert len(outbox[0].received) == 2


async def test_a_form_with_only_a_phone_gets_no_acknowledgement_email(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(start_hub, make_settings, tmp_path, outbox[1])
    _, ticket_id = await submit(hub, "w1", email="", phone="+15552010042")
    await asyncio.sleep(0.3)
    assert outbox[0].received == []
    assert len((await hub.store.get_ticket(ticket_id)).messages) == 1


async def test_a_hub_without_an_email_listener_acknowledges_forms_from_its_address(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(
        start_hub, make_settings, tmp_path, outbox[1],
        listener=False, from_address="help@hub.example",
    )  # fmt: skip
    await submit(hub, "w1")
    (ack,) = await outbox[0].wait_for(1)
    assert ack["From"] == "help@hub.example"


async def test_no_address_to_send_from_is_logged_and_nothing_is_kept(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(start_hub, make_settings, tmp_path, outbox[1], listener=False)
    with structlog.testing.capture_logs() as logs:
        _, ticket_id = await submit(hub, "w1")
        await asyncio.sleep(0.3)
    (failure,) = [entry for entry in logs if entry["event"] == "acknowledgement_failed"]
    assert failure["to"] == "a***@example.com"
    assert "set outbound.smtp.from_address" in failure["error"]
    assert outbox[0].received == []
    assert len((await hub.store.get_ticket(ticket_id)).messages) == 1


async def test_acknowledgements_can_be_switched_off(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(start_hub, make_settings, tmp_path, outbox[1], acknowledge=False)
    await submit(hub, "w1")
    await asyncio.sleep(0.3)
    assert outbox[0].received == []


async def test_plus_addressed_variants_of_one_inbox_share_the_limit(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(start_hub, make_settings, tmp_path, outbox[1], acknowledgements_per_address=2)
    variants = ["ada+1@example.com", "Ada+2@Example.com", "ada@example.com", "ada+x+y@example.com"]
    for n, address in enumerate(variants):
        assert (await submit(hub, f"w{n}", email=address))[0] == 201
    await outbox[0].wait_for(2)
    await asyncio.sleep(0.3)
    assert len(outbox[0].received) == 2


async def test_the_limit_is_one_for_every_hub_on_the_store_and_outlives_a_restart(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    first = await start(
        start_hub, make_settings, tmp_path, outbox[1], acknowledgements_per_address=1
    )
    second = await start(
        start_hub, make_settings, tmp_path, outbox[1], acknowledgements_per_address=1
    )
    await submit(first, "w1")
    await outbox[0].wait_for(1)
    await submit(second, "w2")
    await first.app.shutdown()  # the first hub goes; a third starts on the same store
    third = await start(
        start_hub, make_settings, tmp_path, outbox[1], acknowledgements_per_address=1
    )
    await submit(third, "w3")
    await asyncio.sleep(0.3)
    assert len(outbox[0].received) == 1


async def test_mail_claiming_to_come_from_our_own_mailbox_is_not_acknowledged(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, outbox: tuple[Outbox, int]
) -> None:
    hub = await start(start_hub, make_settings, tmp_path, outbox[1])
    assert await send(smtp_port(hub), compose(sender=f"Support <{SUPPORT}>")) == 250
    _, ticket_id = await submit(hub, "w1", email=SUPPORT.replace("@", "+loop@").upper())
    await submit(hub, "w2", email="grace@example.com")
    (ack,) = await outbox[0].wait_for(1)
    await asyncio.sleep(0.3)
    assert ack["To"] == "grace@example.com"
    assert len(outbox[0].received) == 1
    assert len((await hub.store.get_ticket(ticket_id)).messages) == 1
