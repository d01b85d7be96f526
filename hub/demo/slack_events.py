"""Slack Events API requests as Slack sends them: envelopes, message events, v0 signatures.

The demo drives the hub with them; tests and benchmarks build their traffic from them too.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

SUPPORT = "C0SUPPORT"
ADA = "U0ADA"
TS = "1700000000.000100"


def slack_signature(body: bytes, timestamp: str, secret: str) -> str:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(
    body: bytes, *, secret: str, timestamp: int | None = None, retry: int | None = None
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
