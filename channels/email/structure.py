"""Reading the MIME structure cheaply: the part of parsing that costs, made to cost less.

Python's email package with the `compat32` policy, not `policy.default` (which builds rich
header objects for every header, about 4x slower), plus shortcuts that give exactly what the
feed parser gives (property tests hold them to it on the corpus, on any header block and on
any multipart shape):
- a message whose header blocks are well formed is split by hand, a multipart one at its
  boundary lines (found with `bytes.find`, not a regular expression compiled per message for
  its boundary): the feed parser's generic line machinery is most of its cost and buys
  nothing for ordinary mail. Anything unusual (a lone CR, a missing boundary, empty parts, a
  message/* or digest part) goes through the feed parser whole;
- headers are looked up through an index, as a message is asked for twenty-odd of them.
"""

from __future__ import annotations

import hashlib
import itertools
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
_LF = ord("\n")
_LONE_CR = re.compile(rb"\r(?!\n)")


def read_message(raw: bytes) -> Message:
    """The MIME tree. A message whose header blocks and boundaries are well formed is read
    without the feed parser (whose generic line machinery is most of the cost); anything
    else goes through it."""
    plain = _plain_headers(raw)
    if plain is None:
        return _PARSER.parsebytes(raw)
    message, body = plain
    kind = message.get_content_maintype()
    if kind == "message":
        return _PARSER.parsebytes(raw)
    if kind == "multipart":
        # The feed parser ends a line at a lone CR too: such a body is left to it.
        if _LONE_CR.search(body) or not _read_parts(message, body, nested=False):
            return _PARSER.parsebytes(raw)
        return message
    _set_body(message, body)
    return message


def _set_body(message: IndexedMessage, body: bytes) -> None:
    message.set_payload(body.decode("ascii", "surrogateescape"))  # as the parser keeps bytes
    message.raw_body = body


def _read_parts(message: IndexedMessage, body: bytes, *, nested: bool) -> bool:
    """A multipart's parts, preamble and epilogue as the feed parser sets them; False for a
    shape it would read with a defect or otherwise unusually (then it reads the message)."""
    boundary = message.get_boundary()
    encoding = str(message.get(_CTE, "8bit")).lower()
    if boundary is None or encoding not in ("7bit", "8bit", "binary"):
        return False
    if message.get_content_type() == "multipart/digest":  # its parts default to message/*
        return False
    lines = _boundary_lines(body, b"--" + boundary.encode("ascii", "surrogateescape"))
    if lines is None:
        return False
    if lines[0][0]:
        message.preamble = _without_eol(body[: lines[0][0]]).decode("ascii", "surrogateescape")
    for (_, start), (end, _) in itertools.pairwise(lines):
        part = _part(body[start:end])
        if part is None:
            return False
        message.attach(part)
    epilogue = body[lines[-1][1] :]
    if nested and not epilogue:  # what the feed parser does to an inner multipart's epilogue
        message.epilogue = None
    else:
        epilogue = _without_eol(epilogue) if nested else epilogue
        message.epilogue = epilogue.decode("ascii", "surrogateescape")
    return True


def _part(region: bytes) -> IndexedMessage | None:
    """One part, from the line after its boundary to the line ending before the next."""
    plain = _plain_headers(region)
    if plain is None:
        return None
    part, body = plain
    kind = part.get_content_maintype()
    if kind == "message":
        return None
    if kind == "multipart":
        return part if _read_parts(part, body, nested=True) else None
    _set_body(part, _without_eol(body))
    return part


def _boundary_lines(body: bytes, separator: bytes) -> list[tuple[int, int]] | None:
    """(start, end after its line ending) of each boundary line up to the closing one, or
    None when there is no opening or closing boundary, or a part is empty (two boundary
    lines in a row, which the feed parser reads as one)."""
    found: list[tuple[int, int]] = []
    at = body.find(separator)
    while at >= 0:
        newline = body.find(b"\n", at)
        end = len(body) if newline < 0 else newline + 1
        if at == 0 or body[at - 1] == _LF:
            rest = body[at + len(separator) : end].rstrip(b"\r\n")
            closing = rest.startswith(b"--")
            if not (rest[2:] if closing else rest).strip(b" \t"):
                if (found and found[-1][1] == at) or (closing and not found):
                    return None
                found.append((at, end))
                if closing:
                    return found
        at = body.find(separator, at + 1)
    return None


def _without_eol(data: bytes) -> bytes:
    """Without the one line ending the feed parser gives to the boundary line after it."""
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


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
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n", 0, len(raw) if crlf < 0 else crlf + 1)  # only an earlier one
    at, size = (lf, 2) if lf >= 0 else (crlf, 4)
    if at < 0:
        return raw, b""
    return raw[: at + size], raw[at + size :]


def body_digest(raw: bytes) -> str:
    """sha256 of the body (after the header block), line endings normalised: relays add
    headers and may rewrite CRLF, the body they carry is the same message."""
    body = split_body(raw)[1]
    if _LONE_CR.search(body) is None:  # every CR ends a line: dropping them is faster
        return hashlib.sha256(body.translate(None, b"\r").rstrip()).hexdigest()
    return hashlib.sha256(body.replace(b"\r\n", b"\n").rstrip()).hexdigest()


def decoded_payload(part: Message) -> bytes:
    raw = getattr(part, "raw_body", None)
    if isinstance(raw, bytes) and _IDENTITY_ENCODING.match(str(part.get(_CTE, ""))):
        return raw  # no transfer encoding to undo: the body as it came
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""
