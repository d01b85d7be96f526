"""Slack Events API payloads -> what the hub does with them (pure: dicts in, values out).

    message                   a customer's words (plain, file_share, thread_broadcast, /me)
    message/message_changed   an edit of a stored message
    message/message_deleted   a deletion of a stored message
    anything else             ignored: bots (our app included), joins, topics, pins ...

A message is known by its conversation and its `ts`, so its idempotency key is
`slack:<channel>:<ts>`: every copy of an event (Slack's retries carry the same event_id) and
every event type that carries the same message is stored once. A message threads onto the
ticket of its Slack thread (`slack:<channel>:<thread_ts>`); a direct message outside a
thread joins the live ticket of its conversation (`slack:<channel>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import PayloadError
from core.identity import SLACK
from core.json_input import repaired
from core.model import Attachment, Identity, Inbound

NAME = "slack"
SPEECH_SUBTYPES = frozenset({"", "file_share", "thread_broadcast", "me_message"})
"""Message subtypes that are a person speaking; every other subtype is Slack's bookkeeping."""
MAX_TEXT_CHARS = 40_000  # Slack truncates messages longer than this itself
MAX_FILES = 20
_SUBJECT_CHARS = 80
_ID = re.compile(r"[A-Z0-9]{1,40}")  # channel, user and team ids: C0123ABC, U0123ABC, W...
_TS = re.compile(r"[0-9]{1,10}\.[0-9]{1,8}")

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Speech:
    """A customer's message: an Inbound still without the identities of users.info."""

    inbound: Inbound
    user: str


@dataclass(frozen=True, slots=True)
class Edit:
    """An edit (`body`) or a deletion (`body` None) of the message stored under `key`."""

    key: str
    body: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing for the hub: `kind` is its metric label, `setting` the one that would take it."""

    reason: str
    kind: str
    setting: str = ""


SlackEvent = Speech | Edit | Ignored


@dataclass(frozen=True, slots=True)
class Scope:
    """Which conversations the hub listens to: the support channels, and DMs to the app."""

    support_channels: frozenset[str] = frozenset()
    direct_messages: bool = True

    def covers(self, event: Json) -> bool:
        if event.get("channel_type") == "im":
            return self.direct_messages
        return event.get("channel") in self.support_channels


def message_key(channel: str, ts: str) -> str:
    """The idempotency key of a Slack message (Inbound.key of its contact)."""
    return f"{NAME}:{channel}:{ts}"


def parse_event(payload: Json, received_at: datetime, scope: Scope) -> SlackEvent:
    """An `event_callback` payload as Speech, an Edit or Ignored; PayloadError when malformed."""
    event = payload.get("event")
    if not isinstance(event, Mapping):
        raise PayloadError("event_callback without an event object", NAME)
    if event.get("type") != "message":
        return Ignored(f"event {event.get('type')}", "not_a_message")
    if not scope.covers(event):
        return _outside(event)
    return _message(payload, event, received_at)


def _outside(event: Json) -> Ignored:
    if event.get("channel_type") == "im":
        return Ignored(
            "direct message outside the support channels (direct messages are off)",
            "direct_messages_off",
            "channels.slack.direct_messages",
        )
    return Ignored(
        f"conversation {str(event.get('channel'))[:40]} outside the support channels",
        "outside_support_channels",
        "channels.slack.support_channels",
    )


def _message(payload: Json, event: Json, received_at: datetime) -> SlackEvent:
    subtype = _str(event, "subtype")
    if subtype == "message_changed":
        return _edit(event)
    if subtype == "message_deleted":
        return _deletion(event)
    if _is_bot(event):
        return Ignored("bot message", "bot_message")
    if subtype not in SPEECH_SUBTYPES:
        return Ignored(f"subtype {subtype}", "not_speech")
    return _speech(payload, event, received_at)


def _speech(payload: Json, event: Json, received_at: datetime) -> SlackEvent:
    user, channel, ts = _str(event, "user"), _id(event, "channel"), _ts(event, "ts")
    if not user:
        return Ignored("message without a user", "no_user")
    if not _ID.fullmatch(user):
        raise PayloadError("user is not a Slack user id", NAME)
    text, replaced = _text(event, "text")
    if len(text) > MAX_TEXT_CHARS:
        raise PayloadError(f"text is longer than {MAX_TEXT_CHARS} characters", NAME)
    files = parse_files(event.get("files"))
    if not text.strip() and not files:
        return Ignored("message without text or files", "empty_message")
    thread_ts = _ts(event, "thread_ts") if event.get("thread_ts") else ""
    direct = event.get("channel_type") == "im"
    inbound = Inbound(
        channel=NAME,
        external_id=f"{channel}:{ts}",
        sender=Identity(SLACK, user),
        recipient=channel,
        subject=subject_of(text, files),
        text=text,
        received_at=received_at,
        attachments=files,
        thread_keys=thread_keys(channel, thread_ts, ts, direct=direct),
        meta=_meta(payload, channel, thread_ts or ("" if direct else ts)) | repair_note(replaced),
    )
    return Speech(inbound, user)


def _meta(payload: Json, channel: str, reply_thread: str) -> dict[str, str]:
    """What a reply needs: the conversation and the thread (none: a DM's plain answer)."""
    return {
        "event_id": _str(payload, "event_id"),
        "team": _str(payload, "team_id"),
        "channel": channel,
        "thread_ts": reply_thread,
    }


def repair_note(replaced: int) -> dict[str, str]:
    """The flag on a message whose text had lone surrogates replaced (none: no flag)."""
    if not replaced:
        return {}
    return {"repaired": f"{replaced} lone surrogate(s) replaced with U+FFFD"}


def thread_keys(channel: str, thread_ts: str, ts: str, *, direct: bool) -> tuple[str, ...]:
    """Most specific first: the Slack thread, then (for DMs) the whole conversation."""
    if not direct:
        return (f"{NAME}:{channel}:{thread_ts or ts}",)
    if thread_ts:
        return (f"{NAME}:{channel}:{thread_ts}", f"{NAME}:{channel}")
    return (f"{NAME}:{channel}",)


def _edit(event: Json) -> SlackEvent:
    message = event.get("message")
    if not isinstance(message, Mapping) or _is_bot(message):
        return Ignored("edit of no customer message", "edit_of_bot_message")
    previous = event.get("previous_message")
    edited = message.get("edited")
    # Slack also sends message_changed for unfurls and reply counts: only `edited` is an edit.
    if not isinstance(edited, Mapping):
        return Ignored("message_changed without an edit", "not_an_edit")
    if isinstance(previous, Mapping) and previous.get("text") == message.get("text"):
        return Ignored("edit that leaves the text as it was", "not_an_edit")
    key = message_key(_id(event, "channel"), _ts(message, "ts"))
    return Edit(key, _str(message, "text"), slack_time(_ts(edited, "ts")))


def _deletion(event: Json) -> SlackEvent:
    previous = event.get("previous_message")
    if isinstance(previous, Mapping) and _is_bot(previous):
        return Ignored("deletion of a bot message", "edit_of_bot_message")
    key = message_key(_id(event, "channel"), _ts(event, "deleted_ts"))
    return Edit(key, None, slack_time(_ts(event, "ts")))


def parse_files(raw: object) -> tuple[Attachment, ...]:
    """Shared files as references to Slack's URLs (never downloaded here)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_FILES:
        raise PayloadError(f"files must be a list of at most {MAX_FILES}", NAME)
    found = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise PayloadError("a file must be an object", NAME)
        url = _str(item, "url_private") or _str(item, "permalink")
        if not url:  # a tombstone or a file hidden by the plan's limits: nothing to point at
            continue
        size = item.get("size")
        found.append(
            Attachment(
                name=_str(item, "name") or _str(item, "title") or _str(item, "id") or "file",
                content_type=_str(item, "mimetype") or "application/octet-stream",
                size=size if isinstance(size, int) and size >= 0 else None,
                url=url,
            )
        )
    return tuple(found)


def subject_of(text: str, files: tuple[Attachment, ...]) -> str:
    """Slack has no subjects: the first line of the first message stands in for one."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    if not line and files:
        line = files[0].name
    return line if len(line) <= _SUBJECT_CHARS else line[: _SUBJECT_CHARS - 1] + "…"


def slack_time(ts: str) -> datetime:
    """A Slack `ts` ("1700000000.000100": epoch seconds and a sequence) as a time."""
    return datetime.fromtimestamp(float(ts), UTC)  # _TS bounds it below the year 2287


def _is_bot(event: Json) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def _str(data: Json, key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{key} must be a string", NAME)
    return repaired(value)[0]


def _text(data: Json, key: str) -> tuple[str, int]:
    """A text field with its lone surrogates replaced, and how many were. Slack signs the
    body and retries what we refuse: refusing would lose the customer's message for a bad
    escape its client made, so it is kept, repaired, and flagged (meta "repaired")."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise PayloadError(f"{key} must be a string", NAME)
    return repaired(value or "")


def _id(data: Json, key: str) -> str:
    value = _str(data, key)
    if not _ID.fullmatch(value):
        raise PayloadError(f"{key} must be a Slack id", NAME)
    return value


def _ts(data: Json, key: str) -> str:
    value = _str(data, key)
    if not _TS.fullmatch(value):
        raise PayloadError(f"{key} must be a Slack timestamp", NAME)
    return value
