"""Hostile input to every provider's parser, as bytes and as JSON of any shape: each parses
into text that can be stored (UTF-8, no lone surrogates) or raises PayloadError. Never
another exception: the hub maps PayloadError to 400 and anything else to a 500.

Covered elsewhere and not repeated: arbitrary MIME bytes (test_email_mime.py), chat frames
(webchat/test_frames.py), SMS and voice parameters (test_sms.py, test_voice.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy

from channels.slack.channel import decode, to_bolt_request
from channels.slack.events import Edit, Ignored, Scope, Speech, parse_event
from channels.twilio.dialer import parse_event as parse_call_event
from channels.twilio.sms import parse_status
from channels.twilio.webhook import parse_form as parse_twilio_form
from channels.webform import parse_form
from core.errors import PayloadError
from core.model import Inbound

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SUPPORT = "C0SUPPORT"

HOSTILE_TEXT = st.sampled_from(
    ["\ud800", "a\udfffb", "\x00", "\u202e", "\ufeff", "١٢", "²", "x" * 5000, "", " ", "null"]
)
TEXT = st.text(max_size=20) | HOSTILE_TEXT
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=15,
)
RAW_JSON = st.sampled_from(
    [b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b"9" * 5000,
     b'{"external_id": ' + b"9" * 5000 + b"}", b'"\\ud800"', b"\xff\xfe", b"{}", b"[]"]
)  # fmt: skip


def storable(inbound: Inbound) -> None:
    """Every text of an Inbound encodes as UTF-8: SQLite and Redis will take it."""
    texts = [inbound.external_id, inbound.text, inbound.subject, inbound.sender_name,
             inbound.sender.value, inbound.recipient, *inbound.meta.values()]  # fmt: skip
    for text in texts:
        text.encode("utf-8")


def form_bodies() -> st.SearchStrategy[bytes]:
    fields = st.sampled_from(["external_id", "email", "phone", "message", "name", "subject", "x"])
    documents = st.dictionaries(fields, json_values, max_size=6)
    return RAW_JSON | st.binary(max_size=200) | documents.map(lambda d: json.dumps(d).encode())


@given(form_bodies())
@example(b'{"external_id": "f1", "email": "a@example.com", "message": "\\ud800"}')
def test_any_form_body_is_storable_or_a_payload_error(body: bytes) -> None:
    try:
        inbound = parse_form(body, NOW)
    except PayloadError:
        return
    storable(inbound)


def slack_bodies() -> st.SearchStrategy[bytes]:
    event = st.fixed_dictionaries(
        {"type": st.just("message"), "channel": st.just(SUPPORT) | TEXT},
        optional={"user": st.just("U0ADA") | TEXT, "text": json_values, "ts": TEXT
                  | st.just("1700000000.000100"), "subtype": TEXT, "thread_ts": json_values,
                  "files": json_values, "channel_type": TEXT, "bot_id": json_values},
    )  # fmt: skip
    envelope = st.fixed_dictionaries(
        {"type": st.just("event_callback") | TEXT, "event": event | json_values},
        optional={"team_id": json_values, "event_id": json_values, "authorizations": json_values},
    )
    return RAW_JSON | st.binary(max_size=200) | envelope.map(lambda d: json.dumps(d).encode())


@given(slack_bodies())
@example(b'{"type": "event_callback", "event": {}, "authorizations": false}')  # once a 500
@example(json.dumps({"type": "event_callback", "event": {
    "type": "message", "channel": SUPPORT, "user": "U0ADA", "ts": "1700000000.000100",
    "text": "\ud800 refund"}}).encode())  # fmt: skip
def test_any_slack_body_is_an_event_with_storable_text_or_a_payload_error(body: bytes) -> None:
    """The webhook's steps in order: UTF-8, the shape bolt needs, then our event parser."""
    try:
        request = to_bolt_request(decode(body), {})
        payload = json.loads(request.raw_body)
        result = parse_event(payload, NOW, Scope(frozenset({SUPPORT})))
    except PayloadError:
        return
    assert isinstance(result, Speech | Edit | Ignored)
    if isinstance(result, Speech):
        storable(result.inbound)


TWILIO_KEYS = st.sampled_from(
    ["CallSid", "CallStatus", "AnsweredBy", "MessageSid", "MessageStatus", "ErrorCode",
     "ErrorMessage", "From", "To", "X"]
)  # fmt: skip


def params(pairs: list[tuple[str, str]]) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(pairs))


@given(
    st.lists(st.tuples(TWILIO_KEYS, TEXT), max_size=8),
    st.dictionaries(st.sampled_from(["attempt", "campaign", "agent", "bridge"]), TEXT),
)
def test_any_dialer_callback_is_an_event_or_a_payload_error(
    pairs: list[tuple[str, str]], query: dict[str, str]
) -> None:  # fmt: skip
    try:
        event = parse_call_event(params(pairs), query)
        event.number("attempt")
    except PayloadError:
        return
    assert event.call_sid.isalnum()


@given(st.lists(st.tuples(TWILIO_KEYS, TEXT), max_size=8))
def test_any_delivery_report_is_a_status_or_a_payload_error(pairs: list[tuple[str, str]]) -> None:
    try:
        sid, delivery = parse_status(params(pairs))
    except PayloadError:
        return
    assert sid
    assert delivery is not None


@given(RAW_JSON | st.binary(max_size=300))
def test_any_twilio_body_is_parameters_or_a_payload_error(body: bytes) -> None:
    try:
        parsed = parse_twilio_form(body, "voice")
    except PayloadError:
        return
    for key, value in parsed.items():
        (key + value).encode("utf-8")
