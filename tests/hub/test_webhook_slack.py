"""The Slack Events API webhook over real HTTP, signed as Slack signs, with a local Web API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.model import Role, TicketFilter
from hub.demo.slack_emulator import BOT_ID, BOT_USER_ID, SlackEmulator
from tests.conftest import Hub, MakeSettings, StartHub
from tests.slack_support import (
    ADA,
    SUPPORT,
    TS,
    body_of,
    deleted,
    edited,
    message,
    slack_emulator,
    slack_headers,
    slack_section,
)
from tests.support import FORM_SECRET, form_body, form_headers

EVENTS = "/webhooks/slack/events"
Answer = tuple[int, Any]


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator("Ada@Example.com") as emulator:
        yield emulator


async def start(
    start_hub: StartHub, make_settings: MakeSettings, api: SlackEmulator, **slack: Any
) -> Hub:
    section = slack_section(api.base_url, **slack)
    return await start_hub(
        make_settings(channels={"webform": {"secret": FORM_SECRET}, "slack": section})
    )


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, slack_api: SlackEmulator) -> Hub:
    return await start(start_hub, make_settings, slack_api)


async def post(hub: Hub, body: bytes, headers: dict[str, str] | None = None) -> Answer:
    async with hub.http.post(
        EVENTS, data=body, headers=slack_headers(body) if headers is None else headers
    ) as response:
        text = await response.text()
        return response.status, json.loads(text) if text.startswith("{") else text


async def send(hub: Hub, event: dict[str, Any], event_id: str = "Ev0001", **kw: Any) -> Answer:
    body = body_of(event, event_id)
    return await post(hub, body, slack_headers(body, **kw))


async def tickets(hub: Hub) -> int:
    return len((await hub.store.list_tickets(TicketFilter())).items)


async def test_message_in_a_support_channel_becomes_a_ticket(hub: Hub) -> None:
    status, answer = await send(hub, message("Refund for order 1042\nI was charged twice"))
    assert status == 200
    assert answer["outcome"] == "created"
    ticket = await hub.store.get_ticket(answer["ticket_id"])
    first = ticket.messages[0]
    assert (ticket.channel, ticket.subject) == ("slack", "Refund for order 1042")
    assert (first.sender, first.recipient, first.external_id) == (
        f"slack:{ADA}", SUPPORT, f"{SUPPORT}:{TS}",
    )  # fmt: skip
    assert first.meta == {
        "event_id": "Ev0001",
        "team": "T0HUB",
        "channel": SUPPORT,
        "thread_ts": TS,
    }
    customer = await hub.store.get_customer(ticket.customer_id)
    assert customer.name == "Ada Lovelace"


async def test_url_verification_is_answered_with_the_challenge(hub: Hub) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}
    )
    status, answer = await post(hub, body.encode())
    assert (status, answer) == (200, {"challenge": "3eZbrw1aBm2rZgRNFdxV"})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        slack_headers(body_of(message()), secret="another-signing-secret-entirely"),
        slack_headers(body_of(message("a different text"))),
        {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"},
    ],
    ids=["missing", "forged", "other-secret", "other-body", "bad-timestamp"],
)
async def test_forged_request_is_403_and_reaches_nothing(
    hub: Hub, slack_api: SlackEmulator, headers: dict[str, str]
) -> None:
    status, _ = await post(hub, body_of(message()), headers)
    assert status == 403
    assert await tickets(hub) == 0
    assert slack_api.count("users.info") == 0  # the listener never ran


# 30 s past the 300 s window each way: a loaded machine may take seconds to answer.
@pytest.mark.parametrize("age", [-330, 330, 3600], ids=["future", "just-stale", "an-hour"])
async def test_stale_or_replayed_request_is_403(hub: Hub, age: int) -> None:
    status, answer = await send(hub, message(), timestamp=int(time.time()) - age)
    assert status == 403
    assert "stale or replayed" in answer["error"]
    assert await tickets(hub) == 0


async def test_slack_retries_append_nothing(hub: Hub) -> None:
    first = await send(hub, message())
    again = [await send(hub, message(), retry=n) for n in (1, 2, 3)]
    assert first[0] == 200
    assert again == [(200, {"ticket_id": first[1]["ticket_id"], "outcome": "duplicate"})] * 3
    assert len((await hub.store.get_ticket(first[1]["ticket_id"])).messages) == 1


async def test_concurrent_copies_of_one_event_store_one_message(hub: Hub) -> None:
    """A retry for http_timeout can arrive while the first copy is still being committed."""
    body = body_of(message())
    answers = await asyncio.gather(
        *(post(hub, body, slack_headers(body, retry=n % 4 or None)) for n in range(25))
    )
    outcomes = sorted(answer["outcome"] for status, answer in answers if status == 200)
    assert outcomes == ["created"] + ["duplicate"] * 24
    assert {answer["ticket_id"] for _, answer in answers} == {1}
    assert len((await hub.store.get_ticket(1)).messages) == 1


async def test_the_same_message_under_another_event_id_is_one_message(hub: Hub) -> None:
    first = await send(hub, message(), "Ev0001")
    second = await send(hub, message(), "Ev0002")
    assert second == (200, {"ticket_id": first[1]["ticket_id"], "outcome": "duplicate"})


async def test_thread_replies_append_to_the_thread_ticket(hub: Hub) -> None:
    _, root = await send(hub, message("Refund please"), "Ev1")
    _, reply = await send(hub, message("Order 1042", ts="1700000050.000200", thread_ts=TS), "Ev2")
    _, other = await send(hub, message("Also: log in broken", ts="1700000090.000300"), "Ev3")
    assert reply == {"ticket_id": root["ticket_id"], "outcome": "appended"}
    assert other["outcome"] == "created"  # a new top-level message is a new Slack thread
    ticket = await hub.store.get_ticket(root["ticket_id"])
    assert [m.body for m in ticket.messages] == ["Refund please", "Order 1042"]
    assert ticket.messages[1].meta["thread_ts"] == TS


async def test_direct_messages_join_the_live_ticket_of_the_conversation(hub: Hub) -> None:
    dm = {"channel": "D0ADA", "channel_type": "im"}
    _, first = await send(hub, message("hi", **dm), "Ev1")
    _, second = await send(hub, message("refund?", ts="1700000010.000001", **dm), "Ev2")
    assert first["outcome"] == "created"
    assert second == {"ticket_id": first["ticket_id"], "outcome": "appended"}
    ticket = await hub.store.get_ticket(first["ticket_id"])
    assert ticket.messages[0].meta["thread_ts"] == ""  # answered in the DM, not in a thread


async def test_edits_and_deletions_are_recorded_on_the_message(hub: Hub) -> None:
    _, answer = await send(hub, message("refund pls"), "Ev1")
    status, _ = await send(hub, edited("refund please, order 1042"), "Ev2")
    assert status == 200
    ticket = await hub.store.get_ticket(answer["ticket_id"])
    assert ticket.messages[0].body == "refund please, order 1042"
    assert ticket.messages[0].edited_at is not None
    assert (await send(hub, deleted(), "Ev3"))[0] == 200
    assert (await send(hub, deleted(), "Ev3"))[0] == 200  # a retried deletion changes nothing
    headers = await hub.token(Role.AGENT)
    async with hub.http.get(f"/api/tickets/{answer['ticket_id']}", headers=headers) as response:
        shown = (await response.json())["messages"][0]
    assert shown["body"] == "refund please, order 1042"
    assert shown["edited_at"] == "2023-11-14T22:15:00.000Z"
    assert shown["deleted_at"] == "2023-11-14T22:16:40.000Z"
    assert len(ticket.messages) == 1
    assert await tickets(hub) == 1


async def test_edit_of_a_message_never_stored_is_acknowledged(hub: Hub) -> None:
    assert (await send(hub, edited("new words"), "Ev1"))[0] == 200
    assert (await send(hub, message(), "Ev2"))[0] == 200
    unfurl = edited("Hello, I need a refund https://example.com")
    del unfurl["message"]["edited"]  # Slack's message_changed for an unfurl: no edit
    assert (await send(hub, unfurl, "Ev3"))[0] == 200
    ticket = await hub.store.get_ticket(1)
    assert (ticket.messages[0].body, ticket.messages[0].edited_at) == (message()["text"], None)


@pytest.mark.parametrize(
    "event",
    [
        message("beep", subtype="bot_message", bot_id="B0OTHER"),
        message("beep", bot_id="B0OTHER", bot_profile={"name": "other"}),
        message("our own reply", user=BOT_USER_ID, bot_id=BOT_ID),
        message("our own words, no bot id", user=BOT_USER_ID),
        message("", subtype="channel_join"),
        message("topic", subtype="channel_topic"),
        message("elsewhere", channel="C0RANDOM"),
        message("   "),
        {"type": "reaction_added", "user": ADA, "reaction": "thumbsup"},
        {"type": "app_mention", "user": ADA, "text": "<@U0BOT> hi", "ts": TS, "channel": SUPPORT},
    ],
    ids=[
        "bot-message", "other-bot", "self", "self-user", "join", "topic", "other-channel", "blank",
        "reaction", "mention",
    ],
)  # fmt: skip
async def test_bots_our_own_messages_and_non_speech_are_acknowledged_and_ignored(
    hub: Hub, event: dict[str, Any]
) -> None:
    status, _ = await send(hub, event)
    assert status == 200
    assert await tickets(hub) == 0


async def test_shared_files_become_attachment_references(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    files: list[dict[str, Any]] = [
        {"id": "F1", "name": "invoice.pdf", "mimetype": "application/pdf", "size": 1234,
         "url_private": "https://files.slack.com/files-pri/T0HUB-F1/invoice.pdf"},
        {"id": "F2", "mode": "tombstone"},
    ]  # fmt: skip
    _, answer = await send(hub, message("see attached", subtype="file_share", files=files))
    attachment = (await hub.store.get_ticket(answer["ticket_id"])).messages[0].attachments
    assert [(a.name, a.content_type, a.size, a.url) for a in attachment] == [
        ("invoice.pdf", "application/pdf", 1234, files[0]["url_private"])
    ]
    assert all(call.method != "files.info" for call in slack_api.calls)  # nothing downloaded


async def test_slack_user_joins_the_customer_of_their_email(hub: Hub) -> None:
    body = form_body("w1", email="ada@example.com", message="Refund?")
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
        form_customer = (await hub.store.get_ticket((await r.json())["ticket_id"])).customer_id
    _, answer = await send(hub, message())
    ticket = await hub.store.get_ticket(answer["ticket_id"])
    customer = await hub.store.get_customer(ticket.customer_id)
    assert ticket.customer_id == form_customer
    assert {i.key for i in customer.identities} == {"email:ada@example.com", f"slack:{ADA}"}


async def test_users_info_is_cached_and_its_failure_never_fails_the_ingest(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    slack_api.fail("users.info", status=500)
    _, first = await send(hub, message(user="U0GRACE"), "Ev1")
    assert first["outcome"] == "created"
    ticket = await hub.store.get_ticket(first["ticket_id"])
    customer = await hub.store.get_customer(ticket.customer_id)
    assert [i.key for i in customer.identities] == ["slack:U0GRACE"]
    for n in range(3):
        await send(hub, message(ts=f"1700000001.00000{n}"), f"Ev2{n}")
    assert slack_api.count("users.info") == 2  # U0GRACE once (failed), ADA once (cached)


async def test_storage_unavailable_is_503_so_slack_retries(
    start_hub: StartHub, make_settings: MakeSettings, slack_api: SlackEmulator, tmp_path: Path
) -> None:
    section = slack_section(slack_api.base_url)
    hub = await start_hub(
        make_settings(
            storage={"url": f"sqlite:///{tmp_path}/cap.db?max_size_mb=1"},
            channels={"slack": section},
        )
    )
    statuses = []
    for n in range(40):
        status, answer = await send(hub, message("z" * 39_000, ts=f"1700000000.{n:06d}"), f"E{n}")
        statuses.append(status)
        if status == 503:
            assert "storage unavailable" in answer["error"]
            break
    assert 503 in statuses
    assert await tickets(hub) == statuses.count(200)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{oops", 400),
        (b"[1, 2]", 400),
        (b"\xff\xfe", 400),
        (json.dumps({"type": "event_callback", "event": "nope"}).encode(), 400),
        (body_of(message(ts="yesterday")), 400),
        (body_of(message("x" * 70_000)), 413),
    ],
    ids=["broken-json", "not-an-object", "not-utf8", "no-event", "bad-ts", "oversize"],
)
async def test_malformed_signed_events_are_refused_with_a_reason(
    hub: Hub, body: bytes, status: int
) -> None:
    answer = await post(hub, body)
    assert answer[0] == status
    assert answer[1]["error"]
    assert await tickets(hub) == 0


async def test_rejections_are_counted_and_the_bot_identity_is_learned(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    await post(hub, body_of(message()), {"X-Slack-Signature": "v0=00"})
    async with hub.http.get("/metrics") as response:
        text = await response.text()
    labels = f'channel="slack",path="{EVENTS}",reason="SignatureError"'
    assert f"contacthub_webhook_rejected_total{{{labels}}} 1.0" in text
    assert slack_api.calls[0].method == "auth.test"
    assert slack_api.calls[0].authorized  # with the bot token
