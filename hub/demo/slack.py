"""The demo's Slack traffic: Events API requests signed as Slack signs them, and a local
stand-in for Slack's Web API (users.info tells Ada's email, so her Slack identity joins the
customer she already is; chat.postMessage takes the agent's reply)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from hub.demo.request import DemoRequest
from hub.demo.slack_emulator import BOT_ID, SlackEmulator
from hub.demo.slack_events import ADA, SUPPORT, slack_headers

PATH = "/webhooks/slack/events"
GRACE = "U0GRACE"
ROOT = "1700000000.000100"


def new_secrets() -> tuple[str, str]:
    """(signing secret, bot token)."""
    return secrets.token_hex(16), "xoxb-demo-" + secrets.token_hex(8)


def emulator(bot_token: str) -> SlackEmulator:
    api = SlackEmulator(bot_token)
    api.add_user(ADA, "Ada Lovelace", "ada@example.com")
    api.add_user(GRACE, "Grace Hopper")  # no email shared: a Slack identity only
    return api


def slack_section(signing_secret: str, bot_token: str, api_base: str) -> dict[str, Any]:
    return {
        "signing_secret": signing_secret,
        "bot_token": bot_token,
        "api_base": api_base,
        "support_channels": [SUPPORT],
        "send_backoff": "0",
    }


def requests(signing_secret: str) -> Iterator[DemoRequest]:
    first = _message("My refund for order 1042 has still not arrived", ADA, ROOT)
    yield _signed(signing_secret, "slack message in #support", first, "Ev1")
    reply = _message("It was the second charge, on May 3", ADA, "1700000060.000200", ROOT)
    yield _signed(signing_secret, "slack reply in its thread", reply, "Ev2")
    yield _signed(signing_secret, "slack retry (X-Slack-Retry-Num)", first, "Ev1", retry=1)
    edit = {
        "type": "message", "subtype": "message_changed", "channel": SUPPORT,
        "channel_type": "channel", "ts": "1700000090.000300",
        "message": {"type": "message", "user": ADA, "ts": ROOT, "edited": {"ts": "1700000090.0"},
                    "text": "My refund for order 1042 (card ending 4242) has still not arrived"},
    }  # fmt: skip
    yield _signed(signing_secret, "slack edit of the first message", edit, "Ev3")
    bot = {**_message("Deploy finished", "U0CI", "1700000095.000400"), "bot_id": "B0CI"}
    yield _signed(signing_secret, "slack bot message (ignored)", bot, "Ev4")
    dm = {**_message("Cannot log in since this morning", GRACE, "1700000100.000500")}
    dm.update(channel="D0GRACE", channel_type="im")
    yield _signed(signing_secret, "slack DM to the app", dm, "Ev5")
    stale = _signed(signing_secret, "", first, "Ev1", age=600)
    yield DemoRequest("slack replayed (10 minutes old)", PATH, stale.body, stale.headers)


def _message(text: str, user: str, ts: str, thread_ts: str = "") -> dict[str, Any]:
    event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": SUPPORT}
    event["channel_type"] = "channel"
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def _signed(
    secret: str, label: str, event: dict[str, Any], event_id: str, retry: int = 0, age: int = 0
) -> DemoRequest:
    payload = {"type": "event_callback", "team_id": "T0HUB", "event": event, "event_id": event_id}
    body = json.dumps(payload).encode()
    stamp = int(time.time()) - age
    headers = slack_headers(body, secret=secret, timestamp=stamp, retry=retry or None)
    return DemoRequest(label, PATH, body, headers)


def posted(api: SlackEmulator) -> str:
    """What the agent's reply became in Slack, for the demo's last line."""
    if not api.posts:
        return "nothing posted"
    post = api.posts[-1]
    where = f"thread {post['thread_ts']}" if post.get("thread_ts") else "the conversation"
    return f"chat.postMessage by {BOT_ID} into {post['channel']}, {where}: {post['text']!r}"
