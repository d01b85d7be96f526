"""Agents' Slack replies through chat.postMessage (a local Web API emulator), in the thread."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.model import Role
from hub.demo.slack_emulator import SlackEmulator
from tests.conftest import Hub, MakeSettings, StartHub
from tests.slack_support import (
    SUPPORT,
    TS,
    body_of,
    message,
    slack_emulator,
    slack_headers,
    slack_section,
)


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator() as emulator:
        yield emulator


async def start(
    start_hub: StartHub, make_settings: MakeSettings, api: SlackEmulator, **slack: Any
) -> Hub:
    section = slack_section(api.base_url, send_backoff="0", **slack)
    return await start_hub(make_settings(channels={"slack": section}))


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, slack_api: SlackEmulator) -> Hub:
    return await start(start_hub, make_settings, slack_api)


async def slack_ticket(hub: Hub, event: dict[str, Any] | None = None) -> int:
    body = body_of(event or message("Refund please"))
    async with hub.http.post("/webhooks/slack/events", data=body, headers=slack_headers(body)) as r:
        assert r.status == 200
        return int((await r.json())["ticket_id"])


async def reply(hub: Hub, ticket_id: int, body: Any) -> tuple[int, Any]:
    headers = await hub.token(Role.AGENT, "alice")
    async with hub.http.post(f"/api/tickets/{ticket_id}/reply", json=body, headers=headers) as r:
        return r.status, await r.json()


async def test_reply_posts_into_the_customers_thread_with_the_bot_token(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    ticket_id = await slack_ticket(hub)
    status, sent = await reply(hub, ticket_id, {"body": "Refunded, sorry!"})
    assert status == 201, sent
    assert (sent["delivery"], sent["error"]) == ("delivered", None)
    assert sent["external_id"] == f"{SUPPORT}:1800000000.000001"
    post = slack_api.posts[-1]
    assert (post["channel"], post["thread_ts"], post["text"]) == (SUPPORT, TS, "Refunded, sorry!")
    assert [c.authorized for c in slack_api.calls if c.method == "chat.postMessage"] == [True]


async def test_reply_in_a_thread_goes_to_the_thread_root(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    reply_event = message("any news?", ts="1700000500.000001", thread_ts=TS)
    ticket_id = await slack_ticket(hub, reply_event)
    await reply(hub, ticket_id, {"body": "Yes"})
    assert slack_api.posts[-1]["thread_ts"] == TS


async def test_reply_to_a_direct_message_is_a_plain_answer_in_the_dm(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    ticket_id = await slack_ticket(hub, message("hi", channel="D0ADA", channel_type="im"))
    status, _ = await reply(hub, ticket_id, {"body": "Hello Ada"})
    assert status == 201
    assert slack_api.posts[-1]["channel"] == "D0ADA"
    assert "thread_ts" not in slack_api.posts[-1]


async def test_rate_limited_reply_waits_for_retry_after_then_is_delivered(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    ticket_id = await slack_ticket(hub)
    slack_api.rate_limit("chat.postMessage", times=1, retry_after=1)
    started = time.monotonic()
    status, sent = await reply(hub, ticket_id, {"body": "On it"})
    assert (status, sent["delivery"]) == (201, "delivered")
    assert time.monotonic() - started >= 0.9  # Retry-After: 1, not the zero backoff
    assert slack_api.count("chat.postMessage") == 2
    assert len(slack_api.posts) == 1


@pytest.mark.parametrize(
    ("trouble", "error", "calls"),
    [
        ({"status": 200, "error": "channel_not_found"}, "slack: channel_not_found", 1),
        ({"status": 200, "error": "not_in_channel"}, "slack: not_in_channel", 1),
        ({"status": 503, "times": 4}, "slack: http_503 (after 4 attempts)", 4),
    ],
    ids=["gone", "not-a-member", "down"],
)
async def test_final_failure_is_recorded_on_the_message(
    hub: Hub, slack_api: SlackEmulator, trouble: dict[str, Any], error: str, calls: int
) -> None:
    ticket_id = await slack_ticket(hub)
    slack_api.fail("chat.postMessage", **trouble)
    status, answer = await reply(hub, ticket_id, {"body": "On it"})
    assert (status, answer["error"]) == (502, f"not delivered: {error}")
    assert (answer["message"]["delivery"], answer["message"]["error"]) == ("failed", error)
    assert slack_api.count("chat.postMessage") == calls
    ticket = await hub.store.get_ticket(ticket_id)
    assert (ticket.messages[-1].delivery, ticket.messages[-1].error) == ("failed", error)


async def test_a_wrong_bot_token_is_a_failed_delivery(
    start_hub: StartHub, make_settings: MakeSettings, slack_api: SlackEmulator
) -> None:
    hub = await start(start_hub, make_settings, slack_api, bot_token="xoxb-revoked-token")
    ticket_id = await slack_ticket(hub)
    status, answer = await reply(hub, ticket_id, {"body": "On it"})
    assert (status, answer["message"]["error"]) == (502, "slack: invalid_auth")


@pytest.mark.parametrize(
    ("body", "status"),
    [({"body": "  "}, 400), ({"body": "x" * 40_001}, 400)],
    ids=["blank", "too-long"],
)
async def test_unsendable_reply_is_refused_before_anything_is_stored(
    hub: Hub, slack_api: SlackEmulator, body: dict[str, str], status: int
) -> None:
    ticket_id = await slack_ticket(hub)
    assert (await reply(hub, ticket_id, body))[0] == status
    assert slack_api.count("chat.postMessage") == 0
    assert len((await hub.store.get_ticket(ticket_id)).messages) == 1
