"""Slack test helpers: events shaped as the Events API sends them, signed as Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SIGNING_SECRET = "test-slack-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-bot-token"
SUPPORT = "C0SUPPORT"
ADA = "U0ADA"
TS = "1700000000.000100"


def slack_signature(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(
    body: bytes,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry: int | None = None,
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(body, stamp, secret),
    }
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def envelope(event: dict[str, Any], event_id: str = "Ev0001") -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": "T0HUB",
        "api_app_id": "A0HUB",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000000,
    }


def message(
    text: str = "Hello, I need a refund",
    *,
    user: str = ADA,
    channel: str = SUPPORT,
    ts: str = TS,
    channel_type: str = "channel",
    **fields: Any,
) -> dict[str, Any]:
    """A `message` event (add thread_ts, subtype, bot_id, files ... as `fields`)."""
    return {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        **fields,
    }


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
