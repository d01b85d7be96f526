"""Outside the queue's hours the widget hears so, and the conversation continues by email:
the agent's reply to a visitor who left goes by email (a local SMTP sink), the visitor's
answer by email threads back onto the chat ticket, and the widget still gets the reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.model import Direction, Role
from tests.channels.webchat.support import CHAT_SECRET, connect, signed
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import SUPPORT, Outbox, compose, outbox_server, send, smtp_port

SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


BOTH_STORES = True  # tests/conftest.py: each test on SQLite and on Redis


@pytest.fixture
async def outbox() -> AsyncIterator[tuple[Outbox, int]]:
    async with outbox_server() as running:
        yield running


@pytest.fixture
async def hub(
    start_hub: StartHub,
    make_settings: MakeSettings,
    tmp_path: Path,
    db_url: str,
    outbox: tuple[Outbox, int],
) -> Hub:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        'calendars:\n  office:\n    timezone: UTC\n    weekly: {mon-fri: "09:00-17:00"}\n'
        "queues:\n  general: {kind: inbound, calendar: office}\ndefault: {queue: general}\n",
        encoding="utf-8",
    )
    sections: dict[str, Any] = {
        "channels": {
            "webchat": {"secret": CHAT_SECRET},
            "smtp": {"port": 0, "mailboxes": [SUPPORT], "hostname": "hub.example"},
        },
        "outbound": {"smtp": {"port": outbox[1], "send_backoff": 0.01, "acknowledge": False}},
        "storage": {"url": db_url, "blob_dir": str(tmp_path / "blobs")},
        "routing": {"rules": str(rules)},
    }
    return await start_hub(make_settings(**sections), clock=lambda: SATURDAY_NOON)


async def _reply(hub: Hub, ticket_id: int, body: str) -> dict[str, Any]:
    headers = await hub.token(Role.AGENT, "jo")
    url = f"/api/tickets/{ticket_id}/reply"
    async with hub.http.post(url, json={"body": body}, headers=headers) as response:
        assert response.status == 201
        answer: dict[str, Any] = await response.json()
        return answer


async def test_a_closed_queue_continues_by_email_and_the_answer_threads_back(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    hello = {"visitor": {"name": "Ada"}, "identity": signed("u-42", email="ada@example.com")}
    visitor, welcome = await connect(hub, hello)
    assert welcome["status"] == {
        "open": False, "online": False, "next_open": "2026-11-30T09:00:00+00:00",
        "email": True,  # the relay is there: the widget may promise an answer by email
    }  # fmt: skip
    ack = await visitor.say("c1", "Is my order shipped?")
    await visitor.close()
    sent = await _reply(hub, ack["ticket_id"], "Yes, on Friday.")
    (mail,) = await outbox[0].wait_for(1)
    assert (mail["To"], mail["Message-ID"]) == ("ada@example.com", sent["external_id"])
    assert f"[#{ack['ticket_id']}]" in mail["Subject"]
    assert "Yes, on Friday." in mail.get_content()
    answer = compose("Great, thanks!", subject="Re: chat", message_id="<a1@example.com>",
                     In_Reply_To=sent["external_id"])  # fmt: skip
    assert await send(smtp_port(hub), answer) == 250
    ticket = await hub.store.get_ticket(ack["ticket_id"])
    assert [(m.direction, m.channel) for m in ticket.messages] == [
        (Direction.INBOUND, "chat"), (Direction.OUTBOUND, "chat"), (Direction.INBOUND, "email"),
    ]  # fmt: skip
    back, _ = await connect(hub, {**hello, "resume": ack["seq"]})
    assert (await back.frame_of("message"))["text"] == "Yes, on Friday."


async def test_a_visitor_on_the_socket_is_answered_there_and_not_by_email(
    hub: Hub, outbox: tuple[Outbox, int]
) -> None:
    visitor, _ = await connect(hub, {"visitor": {"email": "bob@example.com"}})
    ack = await visitor.say("c1", "hello?")
    assert (await _reply(hub, ack["ticket_id"], "Hi Bob"))["delivery"] == "delivered"
    assert (await visitor.frame_of("message"))["text"] == "Hi Bob"
    await visitor.close()
    await _reply(hub, ack["ticket_id"], "Still there?")  # gone: to the hint, by email
    (mail,) = await outbox[0].wait_for(1)
    assert mail["To"] == "bob@example.com"
    assert "Still there?" in mail.get_content()
