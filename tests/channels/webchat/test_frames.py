"""The frame parser and the identity check, pure: whatever a socket sends, the answer is a
frame or a FrameError with a code, never another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.webchat.frames import FrameError, Hello, Say, SignedId, Typing, parse_frame
from channels.webchat.visitor import identify
from tests.channels.webchat.support import CHAT_SECRET, signed

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
TYPES = st.sampled_from(["hello", "message", "typing", "other"])


def _refusal(raw: str) -> str | None:
    """The code of the FrameError a frame raises; None when it parses."""
    try:
        parse_frame(raw, 100)
    except FrameError as exc:
        return exc.code
    return None


@given(st.text(max_size=200))
def test_any_text_is_a_frame_or_a_frame_error(raw: str) -> None:
    assert _refusal(raw) in {None, "bad_json", "bad_frame", "unknown_type", "too_long", "bad_text"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("[" * 5000 + "]" * 5000, "bad_json"),
        ('{"type": "typing", "n": ' + "9" * 5000 + "}", "bad_json"),
        ('{"type": "message", "text": "hi \\ud800"}', "bad_text"),
        ('{"type": "hello", "visitor": {"name": "\\udfff"}}', "bad_text"),
    ],
    ids=["deep", "huge-int", "surrogate-text", "surrogate-name"],
)
def test_frames_that_json_cannot_hold_as_text_are_frame_errors(raw: str, code: str) -> None:
    assert _refusal(raw) == code


@given(TYPES, st.dictionaries(st.sampled_from(["visitor", "identity", "resume", "client_id",
                                               "text"]), JSON, max_size=5))  # fmt: skip
def test_any_json_object_is_a_frame_or_a_frame_error(kind: str, fields: dict[str, object]) -> None:
    try:
        frame = parse_frame(json.dumps({"type": kind, **fields}), 100)
    except FrameError:
        return
    assert isinstance(frame, Hello | Say | Typing)


@pytest.mark.parametrize(
    ("resume", "ok"),
    [(0, True), (41, True), (-1, False), (True, False), ("3", False), (2**60, False)],
)
def test_resume_is_a_sequence_number(resume: object, ok: bool) -> None:
    raw = json.dumps({"type": "hello", "resume": resume})
    if ok:
        assert parse_frame(raw, 100) == Hello(resume=resume)  # type: ignore[arg-type]
    else:
        with pytest.raises(FrameError):
            parse_frame(raw, 100)


def test_a_signed_id_matches_in_any_hex_case_and_a_session_is_issued_once() -> None:
    digest = signed("u-1")["hash"]
    secret = CHAT_SECRET.encode()
    lower, upper = (
        Hello(identity=SignedId("u-1", digest)),
        Hello(identity=SignedId("u-1", digest.upper())),
    )
    assert identify(lower, secret, require_identity=True).identity.key == "chat:u-1"
    assert identify(upper, secret, require_identity=True).signed
    first = identify(Hello(), secret, require_identity=False)
    again = identify(Hello(session=first.session), secret, require_identity=False)
    assert again.identity == first.identity
    assert identify(Hello(), secret, require_identity=False).identity != first.identity
