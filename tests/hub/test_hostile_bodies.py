"""Signed bodies of any shape, over real HTTP: the Slack and form webhooks answer 2xx or
4xx, never a 5xx (the parsers' properties, tests/channels/test_hostile_input.py, seen from
outside, through bolt and the error middleware)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hub.demo.slack_emulator import SlackEmulator
from tests.channels.test_hostile_input import SUPPORT, form_bodies, slack_bodies
from tests.conftest import Hub, MakeSettings, StartHub
from tests.slack_support import BOT_TOKEN, slack_headers, slack_section
from tests.support import FORM_SECRET, form_headers

pytestmark = pytest.mark.slow
# One hub serves every example: what earlier examples stored changes no later answer's class.
ONE_HUB = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
async def hub(start_hub: StartHub, make_settings: MakeSettings) -> AsyncIterator[Hub]:
    api = SlackEmulator(BOT_TOKEN)
    await api.start()
    slack = slack_section(api.base_url, support_channels=[SUPPORT])
    yield await start_hub(make_settings(channels={"webform": {"secret": FORM_SECRET},
                                                  "slack": slack}))  # fmt: skip
    await api.stop()


@ONE_HUB
@given(body=slack_bodies())
@example(body=b'{"type": "event_callback", "event": {}, "authorizations": false}')  # once a 500
async def test_any_signed_slack_body_is_answered_2xx_or_4xx(hub: Hub, body: bytes) -> None:
    async with hub.http.post("/webhooks/slack/events", data=body, headers=slack_headers(body)) as r:
        assert r.status < 500, (body[:200], await r.text())


@ONE_HUB
@given(body=form_bodies() | st.just(b'{"external_id": "f1", "email": "a@example.com"}'))
async def test_any_signed_form_body_is_answered_2xx_or_4xx(hub: Hub, body: bytes) -> None:
    async with hub.http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
        assert r.status < 500, (body[:200], await r.text())
