"""The web chat's frames: JSON text frames in, typed values out (pure, no I/O).

Visitor to hub:
    {"type": "hello", "visitor": {"name", "email", "session"?},
     "identity": {"id", "hash", "email"?, "email_hash"?}?, "resume": SEQ?}
    {"type": "message", "client_id": "...", "text": "..."}
    {"type": "typing"}
Hub to visitor:
    {"type": "welcome", "session", "status": {...}, "ask": {...}}
    {"type": "ack", "client_id", "ticket_id", "seq"}
    {"type": "message", "seq", "from": "agent"|"visitor", "text", "at"}
    {"type": "typing"}
    {"type": "error", "code", "reason", "client_id"?}

A frame that cannot be read raises `FrameError` with a code the widget can act on; the
socket answers it with an error frame and goes on (nothing is stored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.json_input import has_lone_surrogates, load_json
from core.model import MAX_ID, without_controls

_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SHORT_CHARS = 320  # a name, an email address, an identity id, a session


class FrameError(Exception):
    """A frame the hub refuses: `code` for programs, `reason` for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignedId:
    """The website's id of a signed-in visitor and its HMAC-SHA256 (hex) by the website; and
    the user's email address with its own HMAC, when the website vouches for that too."""

    id: str
    hash: str
    email: str = ""
    email_hash: str = ""


@dataclass(frozen=True, slots=True)
class Hello:
    name: str = ""
    email: str = ""
    session: str = ""
    identity: SignedId | None = None
    resume: int | None = None


@dataclass(frozen=True, slots=True)
class Say:
    client_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Typing:
    pass


Frame = Hello | Say | Typing


def parse_frame(raw: str, max_text_chars: int) -> Frame:
    """One text frame from the visitor; FrameError says what is wrong with it."""
    encoded = raw.encode("utf-8", "surrogatepass")  # a text frame is UTF-8: nothing to pass
    try:
        data = load_json(encoded)
    except ValueError as exc:  # deep nesting and huge integers too, not only bad syntax
        raise FrameError("bad_json", str(exc).replace("body is", "frame is")) from None
    if has_lone_surrogates(encoded, data):  # the visitor's page can say so and send again
        raise FrameError("bad_text", "a lone surrogate escape (\\ud800-\\udfff) is not text")
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame is a JSON object with a type")
    kind = data.get("type")
    if kind == "hello":
        return _hello(data)
    if kind == "message":
        return _say(data, max_text_chars)
    if kind == "typing":
        return Typing()
    raise FrameError("unknown_type", f"unknown frame type {str(kind)[:40]!r}")


def _hello(data: dict[str, Any]) -> Hello:
    visitor = _object(data, "visitor")
    identity = _object(data, "identity")
    signed = None
    if identity:
        signed = SignedId(
            _short(identity, "id"), _short(identity, "hash"),
            _short(identity, "email"), _short(identity, "email_hash"),
        )  # fmt: skip
        if not signed.id or not signed.hash:
            raise FrameError("bad_frame", "identity needs both id and hash")
        if bool(signed.email) != bool(signed.email_hash):
            raise FrameError("bad_frame", "identity's email needs its email_hash (and back)")
    resume = data.get("resume")
    if resume is not None and (
        isinstance(resume, bool) or not isinstance(resume, int) or not 0 <= resume <= MAX_ID
    ):
        raise FrameError("bad_frame", "resume must be a sequence number (a whole number >= 0)")
    return Hello(
        _short(visitor, "name"), _short(visitor, "email"), _short(visitor, "session"), signed,
        resume,
    )  # fmt: skip


def _say(data: dict[str, Any], max_chars: int) -> Say:
    client_id, text = data.get("client_id"), data.get("text")
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise FrameError("bad_frame", "client_id must be 1-64 letters, digits or _.:-")
    if not isinstance(text, str) or not without_controls(text).strip():
        raise FrameError("bad_frame", "text must be a non-empty string")
    if len(text) > max_chars:
        raise FrameError("too_long", f"text is longer than {max_chars} characters")
    return Say(client_id, text)


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FrameError("bad_frame", f"{key} must be an object")
    return value


def _short(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FrameError("bad_frame", f"{key} must be a string")
    if len(value) > _SHORT_CHARS:
        raise FrameError("bad_frame", f"{key} is longer than {_SHORT_CHARS} characters")
    return value.strip()


def error_frame(code: str, reason: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "reason": reason}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame
