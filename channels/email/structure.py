"""Reading the MIME structure cheaply: the part of parsing that costs, made to cost less.

Python's email package with the `compat32` policy, not `policy.default` (which builds rich
header objects for every header, about 4x slower), plus two shortcuts that give exactly what
the feed parser gives (a property test holds them to it on the corpus and on any header block):
- a single-part message with a well-formed header block is split by hand: the feed parser's
  generic line machinery is most of its cost, and buys nothing for a body without parts;
- headers are looked up through an index, as a message is asked for twenty-odd of them.
"""

from __future__ import annotations

import hashlib
import re
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from typing import Any


class IndexedMessage(Message):
    """compat32's Message with a header index: `get` scans every header per call, and a
    message is asked for twenty-odd headers (the parser resets the index as it adds any)."""

    _index: dict[str, Any] | None = None
    raw_body: bytes | None = None  # a single-part body as received, when read without parser

    def get(self, name: str, failobj: Any = None) -> Any:
        if self._index is None:
            index: dict[str, Any] = {}
            for key, value in reversed(self._headers):  # type: ignore[attr-defined]  # Message's header list, untyped in typeshed
                index[key.lower()] = value
            self._index = index
        value = self._index.get(name.lower())
        return failobj if value is None else self.policy.header_fetch_parse(name, value)

    def set_raw(self, name: str, value: Any) -> None:
        self._index = None
        super().set_raw(name, value)

    def __setitem__(self, name: str, value: Any) -> None:
        self._index = None
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self._index = None
        super().__delitem__(name)


_PARSER = BytesParser(_class=IndexedMessage, policy=compat32)
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but ":"
_CTE = "Content-Transfer-Encoding"
_IDENTITY_ENCODING = re.compile(r"\s*(7bit|8bit|binary)?\s*$", re.IGNORECASE)


def read_message(raw: bytes) -> Message:
    """The MIME tree. A single-part message with a well-formed header block is read without
    the feed parser (whose generic line machinery is most of the cost); anything else, and
    every multipart, goes through it."""
    plain = _plain_headers(raw)
    if plain is None or plain[0].get_content_maintype() in ("multipart", "message"):
        return _PARSER.parsebytes(raw)
    message, body = plain
    message.set_payload(body.decode("ascii", "surrogateescape"))  # as the parser keeps bytes
    message.raw_body = body
    return message


def _plain_headers(raw: bytes) -> tuple[IndexedMessage, bytes] | None:
    """(headers split as compat32 would, the body), or None for anything unusual: no colon,
    a name with spaces (an mbox "From " line), a lone CR, a continuation first."""
    fields: list[list[str]] = []
    position = 0
    while position < len(raw):
        end = raw.find(b"\n", position)
        end = len(raw) if end < 0 else end + 1
        line = raw[position:end]
        position = end
        if line in (b"\n", b"\r\n"):  # the blank line; one of only spaces is a continuation
            break
        content = line.removesuffix(b"\n").removesuffix(b"\r")
        if b"\r" in content:
            return None
        text = line.decode("ascii", "surrogateescape")
        if text[0] in " \t":
            if not fields:
                return None
            fields[-1].append(text)
            continue
        name, colon, _ = text.partition(":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            return None
        fields.append([text])
    message = IndexedMessage(policy=compat32)
    for source in fields:
        message.set_raw(*compat32.header_source_parse(source))
    return message, raw[position:]


def split_body(raw: bytes) -> tuple[bytes, bytes]:
    """(header block with its blank line, body) at the first blank line, CRLF or LF."""
    cuts = [(at, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (at := raw.find(sep)) >= 0]
    if not cuts:
        return raw, b""
    at, size = min(cuts)
    return raw[: at + size], raw[at + size :]


def body_digest(raw: bytes) -> str:
    """sha256 of the body (after the header block), line endings normalised: relays add
    headers and may rewrite CRLF, the body they carry is the same message."""
    body = split_body(raw)[1]
    return hashlib.sha256(body.replace(b"\r\n", b"\n").rstrip()).hexdigest()


def decoded_payload(part: Message) -> bytes:
    raw = getattr(part, "raw_body", None)
    if isinstance(raw, bytes) and _IDENTITY_ENCODING.match(str(part.get(_CTE, ""))):
        return raw  # no transfer encoding to undo: the body as it came
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""
