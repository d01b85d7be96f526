"""Slack event payloads -> Speech, Edit or Ignored (pure), and Slack's request signing."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.slack.channel import SlackSignature, to_bolt_request, with_profile
from channels.slack.events import (
    Edit,
    Ignored,
    Scope,
    Speech,
    message_key,
    parse_event,
    subject_of,
    thread_keys,
)
from channels.slack.web import Directory, Profile, web_client
from core.errors import PayloadError, SignatureError
from core.model import Identity
from hub.demo.slack_emulator import SlackEmulator
from tests.slack_support import (
    ADA,
    SIGNING_SECRET,
    SUPPORT,
    TS,
    deleted,
    edited,
    envelope,
    message,
    slack_signature,
)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SCOPE = Scope(frozenset({SUPPORT}))


def parse(event: dict[str, Any], scope: Scope = SCOPE) -> Any:
    return parse_event(envelope(event), NOW, scope)


def test_a_channel_message_is_speech_keyed_by_conversation_and_ts() -> None:
    speech = parse(message("Refund\nplease"))
    assert isinstance(speech, Speech)
    contact = speech.inbound
    assert (contact.key, contact.external_id, contact.recipient) == (
        f"slack:{SUPPORT}:{TS}", f"{SUPPORT}:{TS}", SUPPORT,
    )  # fmt: skip
    assert (contact.sender, contact.subject, contact.text) == (
        Identity("slack", ADA), "Refund", "Refund\nplease",
    )  # fmt: skip
    assert contact.thread_keys == (f"slack:{SUPPORT}:{TS}",)


@pytest.mark.parametrize(
    ("thread_ts", "direct", "keys"),
    [
        ("", False, ("slack:C1:5.1",)),
        ("4.1", False, ("slack:C1:4.1",)),
        ("", True, ("slack:C1",)),
        ("4.1", True, ("slack:C1:4.1", "slack:C1")),
    ],
    ids=["channel", "channel-thread", "dm", "dm-thread"],
)
def test_thread_keys_name_the_slack_thread_then_the_dm(
    thread_ts: str, direct: bool, keys: tuple[str, ...]
) -> None:
    assert thread_keys("C1", thread_ts, "5.1", direct=direct) == keys


@pytest.mark.parametrize(
    ("event", "scope", "reason"),
    [
        (message(channel="C0ELSE"), SCOPE, "outside the support channels"),
        (message(channel="D1", channel_type="im"), Scope(direct_messages=False), "outside"),
        (message(subtype="bot_message", bot_id="B1"), SCOPE, "bot message"),
        (message(bot_id="B1"), SCOPE, "bot message"),
        (message(subtype="channel_join"), SCOPE, "subtype channel_join"),
        (message(subtype="pinned_item"), SCOPE, "subtype pinned_item"),
        ({"type": "message", "subtype": "message_replied", "channel": SUPPORT}, SCOPE, "subtype"),
        ({"type": "reaction_added"}, SCOPE, "event reaction_added"),
        (message(user=""), SCOPE, "without a user"),
        (message(""), SCOPE, "without text or files"),
    ],
    ids=[
        "other-channel", "dms-off", "bot-subtype", "bot-id", "join", "pin", "replied",
        "reaction", "no-user", "empty",
    ],
)  # fmt: skip
def test_what_is_not_a_customer_speaking_is_ignored(
    event: dict[str, Any], scope: Scope, reason: str
) -> None:
    result = parse(event, scope)
    assert isinstance(result, Ignored)
    assert reason in result.reason


@pytest.mark.parametrize("subtype", ["file_share", "thread_broadcast", "me_message"])
def test_speech_subtypes_are_tickets(subtype: str) -> None:
    assert isinstance(parse(message(subtype=subtype)), Speech)


def test_edits_and_deletions_name_the_stored_message() -> None:
    key = message_key(SUPPORT, TS)
    assert parse(edited("new words")) == Edit(
        key, "new words", datetime(2023, 11, 14, 22, 15, tzinfo=UTC)
    )
    assert parse(deleted()) == Edit(key, None, datetime(2023, 11, 14, 22, 16, 40, tzinfo=UTC))


def test_message_changed_that_is_no_edit_is_ignored() -> None:
    unfurl = edited("Hello")
    del unfurl["message"]["edited"]
    same = edited("before")
    bot = edited("beep", bot_id="B1")
    assert [type(parse(e)) for e in (unfurl, same, bot)] == [Ignored] * 3
    bot_deleted = deleted()
    bot_deleted["previous_message"]["bot_id"] = "B1"
    assert isinstance(parse(bot_deleted), Ignored)


@pytest.mark.parametrize(
    "event",
    [
        message(ts="now"),
        message(thread_ts="1.x"),
        message(channel="d-lower", channel_type="im"),
        message(user="U 1"),
        {**message(), "text": 12},
        message(files="F1"),
        message(files=[1]),
        message("x" * 40_001),
        edited("x", ts="bad"),
    ],
    ids=["ts", "thread-ts", "channel", "user", "text", "files", "file", "long", "edit-ts"],
)
def test_malformed_events_are_payload_errors(event: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        parse(event)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "app_mention"])},
        optional={
            "subtype": st.sampled_from(["", "file_share", "message_changed", "message_deleted"]),
            "channel": st.sampled_from([SUPPORT, "D1", "x"]) | st.integers(),
            "channel_type": st.sampled_from(["im", "channel"]),
            "user": st.sampled_from([ADA, ""]) | json_values,
            "text": json_values,
            "ts": st.sampled_from([TS, "1"]) | json_values,
            "thread_ts": json_values,
            "files": json_values,
            "message": json_values,
            "previous_message": json_values,
            "deleted_ts": json_values,
            "bot_id": json_values,
        },
    )
)
def test_any_event_is_speech_an_edit_ignored_or_a_payload_error(event: dict[str, Any]) -> None:
    try:
        result = parse_event(envelope(event), NOW, SCOPE)
    except PayloadError:
        return
    assert isinstance(result, Speech | Edit | Ignored)


def test_subject_is_the_first_line_cut_to_80_characters() -> None:
    assert subject_of("\n  first line \nsecond", ()) == "first line"
    assert subject_of("y" * 100, ()) == "y" * 79 + "…"


def test_signature_is_slacks_v0_hmac_within_five_minutes() -> None:
    now = int(time.time())
    signature = SlackSignature(SIGNING_SECRET)
    body = '{"type":"event_callback"}'
    signature.verify(body, str(now), slack_signature(body.encode(), str(now)))
    stale = str(now - 301)
    with pytest.raises(SignatureError, match="stale"):
        signature.verify(body, stale, slack_signature(body.encode(), stale))
    with pytest.raises(SignatureError, match="does not match"):
        signature.verify(body + " ", str(now), slack_signature(body.encode(), str(now)))


def test_bolt_request_conversion_checks_the_shape() -> None:
    request = to_bolt_request('{"type": "url_verification", "challenge": "c"}', {"A": "b"}, "x=1")
    assert (request.body["challenge"], request.headers["a"], request.query["x"]) == (
        "c",
        ["b"],
        ["1"],
    )
    for bad in ("[]", '{"event": []}', "nope"):
        with pytest.raises(PayloadError):
            to_bolt_request(bad, {})


def test_profile_adds_the_email_identity_and_the_name() -> None:
    speech = parse(message())
    assert isinstance(speech, Speech)
    linked = with_profile(speech.inbound, Profile("Ada Lovelace", "Ada@Example.com"))
    assert linked.all_identities == (Identity("slack", ADA), Identity("email", "ada@example.com"))
    assert linked.sender_name == "Ada Lovelace"
    odd = with_profile(speech.inbound, Profile("", "not an email"))
    assert odd.all_identities == (Identity("slack", ADA),)


async def test_directory_looks_each_user_up_once_however_many_ask_at_once() -> None:
    api = SlackEmulator("xoxb-t")
    api.add_user(ADA, "Ada", "ada@example.com")
    await api.start()
    clock = [0.0]
    try:
        async with aiohttp.ClientSession() as session:
            directory = Directory(
                web_client("xoxb-t", api.base_url, session), ttl=60, clock=lambda: clock[0]
            )
            found = await asyncio.gather(*(directory.profile(ADA) for _ in range(10)))
            assert set(found) == {Profile("Ada", "ada@example.com")}
            assert await directory.profile("U0NOBODY") is None
            clock[0] = 61.0  # past the TTL: asked again
            await directory.profile(ADA)
    finally:
        await api.stop()
    assert [c.params.get("user") for c in api.calls] == [ADA, "U0NOBODY", ADA]
