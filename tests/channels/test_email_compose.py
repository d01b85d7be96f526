"""A reply or acknowledgement with ASCII addresses is written straight to bytes: the same bytes
compat32's generator writes for the message object the sender used to build (headers folded at
78 characters, an encoded-word subject, a 7-bit or quoted-printable body, "From " lines
escaped), with CRLF line endings, as the relay receives them."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import compat32
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from channels.email.sender import plain_message

_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _generated(headers: dict[str, str], body: str) -> bytes:
    """What the email package writes for the message, line endings made CRLF as the relay
    client makes them."""
    mail = Message()
    for key, value in headers.items():
        mail[key] = value if value.isascii() else Header(value, "utf-8")  # type: ignore[assignment]
    mail["MIME-Version"] = "1.0"
    seven_bit = body.isascii() and all(len(line) <= 998 for line in body.splitlines())
    mail.set_payload(body, "us-ascii" if seven_bit else _UTF8_QP)
    out = io.BytesIO()
    BytesGenerator(out, policy=compat32).flatten(mail)
    return re.sub(rb"\r\n|\r|\n", b"\r\n", out.getvalue())


def _joined(pieces: list[str], size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), max_size=size).map("".join)


_IDS = st.lists(
    st.from_regex(r"<[a-z0-9.]{1,30}@[a-z]{1,12}\.example>", fullmatch=True), max_size=12
)
_ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
_CONTROL = _joined(["a", " ", "\t", "\n", "\r\n", "\nBcc: x@y.example", "\x00", "\x7f"], 12)
_WORDS = _joined(["a", "b", " ", "  ", "\t", "é", "ü", "—", "x" * 30], 60)
_BODY = _joined(["a", " ", "\n", "\r\n", "\r", "From ", ".", "é", "=", "\t", "x" * 90], 80)


@given(_ASCII | _WORDS | _CONTROL, _IDS, _BODY, st.booleans())
def test_the_bytes_are_what_the_generator_writes(
    subject: str, references: list[str], body: str, automatic: bool
) -> None:
    headers = {
        "From": "support@hub.example",
        "To": "ada.lovelace+orders@example.com",
        "Subject": subject,
        "Message-ID": "<contacthub.7.12.1a2b3c4d@hub.example>",
        "Date": "Fri, 04 Dec 2026 12:22:57 +0000",
    }
    if references:
        headers["In-Reply-To"] = references[-1]
        headers["References"] = " ".join(references)
    if automatic:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    assert _outcome(plain_message, headers, body) == _outcome(_generated, headers, body)


def _outcome(write: Callable[[dict[str, str], str], bytes], *args: Any) -> object:
    """The bytes, or the kind of error (a subject with a header in it is refused)."""
    try:
        return write(*args)
    except Exception as exc:  # noqa: BLE001  # any error: the same one, both ways
        return type(exc)


def test_an_ordinary_acknowledgement_is_not_folded_and_long_references_are() -> None:
    ids = [f"<message-{n:04d}@mail.example.com>" for n in range(6)]
    headers = {"Subject": "Re: Order late [#42]", "References": " ".join(ids)}
    raw = plain_message(headers, "We have your message.\n")
    assert b"Subject: Re: Order late [#42]\r\n" in raw
    assert b"References: <message-0000@mail.example.com> <message-0001" in raw
    assert b"\r\n <message-0002@mail.example.com>" in raw  # folded, as RFC 5322 asks
    assert raw.endswith(b"\r\n\r\nWe have your message.\r\n")
    assert raw == _generated(headers, "We have your message.\n")
