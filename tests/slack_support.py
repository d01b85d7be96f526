"""Slack test helpers: the demo's Events API builders with the tests' secrets, and more events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from hub.demo import slack_events as events
from hub.demo.slack_emulator import SlackEmulator

SIGNING_SECRET = "test-slack-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-bot-token"
SUPPORT, ADA, TS = events.SUPPORT, events.ADA, events.TS
envelope, message = events.envelope, events.message


@contextlib.asynccontextmanager
async def slack_emulator(
    ada: str | None = "ada@example.com", **options: Any
) -> AsyncIterator[SlackEmulator]:
    """The local Slack Web API (hub/demo/slack_emulator.py), with Ada as a user whose
    profile has the `ada` address (None: no users), running for the block."""
    emulator = SlackEmulator(BOT_TOKEN, **options)
    if ada is not None:
        emulator.add_user(ADA, "Ada Lovelace", ada)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


def slack_signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    return events.slack_signature(body, timestamp, secret)


def slack_headers(
    body: bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry: int | None = None,
) -> dict[str, str]:
    return events.slack_headers(body, secret=secret, timestamp=timestamp, retry=retry)


def edited(
    text: str, *, ts: str = TS, at: str = "1700000100.000000", **fields: Any
) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": fields.pop("channel", SUPPORT),
        "channel_type": "channel",
        "ts": at,
        "event_ts": at,
        "message": {"type": "message", "user": ADA, "text": text, "ts": ts,
                    "edited": {"user": ADA, "ts": at}, **fields},
        "previous_message": {"type": "message", "user": ADA, "text": "before", "ts": ts},
    }  # fmt: skip


def deleted(*, ts: str = TS, at: str = "1700000200.000000") -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": SUPPORT,
        "channel_type": "channel",
        "ts": at,
        "event_ts": at,
        "deleted_ts": ts,
        "previous_message": {"type": "message", "user": ADA, "text": "before", "ts": ts},
    }


def body_of(event: dict[str, Any], event_id: str = "Ev0001") -> bytes:
    return json.dumps(envelope(event, event_id)).encode()


def slack_section(api_base: str, **fields: Any) -> dict[str, Any]:
    return {
        "signing_secret": SIGNING_SECRET,
        "bot_token": BOT_TOKEN,
        "api_base": api_base,
        "support_channels": [SUPPORT],
        **fields,
    }
