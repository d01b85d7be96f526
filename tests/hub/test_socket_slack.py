"""Slack's Socket Mode: events over a WebSocket from the emulator, acknowledged after the commit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.model import TicketFilter
from hub.demo.slack_emulator import SlackEmulator
from tests.conftest import Hub, MakeSettings, StartHub
from tests.slack_support import envelope, message, slack_emulator, slack_section

APP_TOKEN = "xapp-1-test-app-token"


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackEmulator]:
    async with slack_emulator(app_token=APP_TOKEN, ack_wait=0.5) as emulator:
        yield emulator


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings, slack_api: SlackEmulator) -> Hub:
    section = slack_section(slack_api.base_url, mode="socket", app_token=APP_TOKEN)
    del section["signing_secret"]  # Socket Mode needs none: the connection is the credential
    return await start_hub(make_settings(channels={"slack": section}))


async def messages(hub: Hub) -> list[str]:
    tickets = (await hub.store.list_tickets(TicketFilter())).items
    return [m.body for t in tickets for m in (await hub.store.get_ticket(t.id)).messages]


async def test_socket_mode_event_is_acknowledged_after_it_is_stored(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    await slack_api.push(envelope(message("Refund please")), "env-1")
    assert await slack_api.acked("env-1")
    assert await messages(hub) == ["Refund please"]  # stored before the ack was sent
    assert [c.method for c in slack_api.calls if c.method == "apps.connections.open"] == [
        "apps.connections.open"
    ]
    async with hub.http.post("/webhooks/slack/events", data=b"{}") as response:
        assert response.status == 404  # no webhook in Socket Mode


async def test_redelivered_envelope_is_acknowledged_and_stored_once(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    await slack_api.push(envelope(message("Refund please")), "env-1")
    await slack_api.push(envelope(message("Refund please")), "env-2", retry=1)
    assert await slack_api.acked("env-1")
    assert await slack_api.acked("env-2")
    assert await messages(hub) == ["Refund please"]


async def test_an_event_that_cannot_be_stored_is_not_acknowledged(
    hub: Hub, slack_api: SlackEmulator
) -> None:
    await slack_api.push(envelope(message("first")), "env-1")
    assert await slack_api.acked("env-1")
    await hub.store.close()  # storage gone: the commit fails with StorageUnavailable
    await slack_api.push(envelope(message("lost?", ts="1700000001.000001")), "env-2")
    assert not await slack_api.acked("env-2")  # so Slack redelivers it
    await hub.store.open()
    await slack_api.push(envelope(message("lost?", ts="1700000001.000001")), "env-3", retry=1)
    assert await slack_api.acked("env-3")
    assert sorted(await messages(hub)) == ["first", "lost?"]
