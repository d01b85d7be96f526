"""An SMTP DATA phase read through its ending at once, not a line at a time.

aiosmtpd reads DATA with one `readuntil(b"\\r\\n")` per line, then unstuffs and joins them:
on real mail (5 KB, ~100 lines) that loop was a tenth of the hub's CPU per email. Here the
reader asks for everything up to the ending, `\\r\\n.\\r\\n`: one read for most messages
(byte by byte only where what was read could be the ending's start, as at the data's
start, which follows a line's end). It keeps the rules aiosmtpd keeps (RFC 5321 4.5.2, and
its fix for SMTP smuggling):
- the data ends at the first `.\\r\\n` that starts a line, lines being split at CRLF only
  (a dot after a bare LF is data, so `\\n.\\r\\n` does not end it);
- a line's leading dot is removed;
- more than `size_limit` bytes (the lines as sent, without the final `.\\r\\n`): 552;
  else a line longer than `line_limit` bytes with its CRLF: 500; both only once the data
  has been read to its end, so the session can go on. What is over the size limit is not
  kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

_END = b".\r\n"
_ENDING = b"\r\n.\r\n"  # the end: a line of one dot
_CRLF = b"\r\n"
TOO_MUCH = "552 Error: Too much mail data"
TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"


@dataclass(frozen=True, slots=True)
class Data:
    """The message as the client meant it (unstuffed), or the refusal to answer with."""

    content: bytes
    refusal: str | None = None


async def read_data(reader: asyncio.StreamReader, size_limit: int, line_limit: int) -> Data:
    """Read one DATA phase from `reader` (just after the 354) through its ending line."""
    parts: list[bytes] = []
    size, kept_limit = 0, size_limit + len(_END)  # what is read ends with the ending's line
    tail = _CRLF  # the last bytes read (at most four): the data starts at a line's start
    while True:
        if _open_ending(tail):  # what was read may be the start of the ending: a byte at a time
            run = await reader.readexactly(1)
            if (tail + run).endswith(_ENDING):
                size = _keep(parts, run, size, kept_limit)
                break
        else:
            try:
                run = await reader.readuntil(_ENDING)
            except asyncio.LimitOverrunError as exc:  # none within the reader's limit yet
                run = await reader.read(exc.consumed)
            else:
                size = _keep(parts, run, size, kept_limit)
                break
        size = _keep(parts, run, size, kept_limit)
        tail = (tail + run)[-4:]
    size -= len(_END)  # the ending line is not data
    if size > size_limit:
        return Data(b"", TOO_MUCH)
    sent = b"".join(parts)[: -len(_END)]
    if len(sent) > line_limit and _longest_line(sent) > line_limit:
        return Data(b"", TOO_LONG)
    return Data(_unstuffed(sent))


def _open_ending(tail: bytes) -> bool:
    """Whether the bytes read end with a start of `\r\n.\r\n` (`readuntil` would look for
    the ending only in what follows, and miss one that began in them)."""
    return any(tail.endswith(_ENDING[:k]) for k in (4, 3, 2, 1))


def _unstuffed(sent: bytes) -> bytes:
    """Each line's leading dot removed (the client doubled the dots that start lines)."""
    return (sent[1:] if sent.startswith(b".") else sent).replace(b"\r\n.", _CRLF)


def _keep(parts: list[bytes], run: bytes, size: int, size_limit: int) -> int:
    """Add a run to what is kept, unless the data is already over its limit (then drop all)."""
    size += len(run)
    if size > size_limit:
        parts.clear()
    else:
        parts.append(run)
    return size


def _longest_line(sent: bytes) -> int:
    """The longest CRLF line's length with its CRLF (the piece after the last has none)."""
    *lines, last = sent.split(_CRLF)
    return max([len(line) + 2 for line in lines] + [len(last)])
