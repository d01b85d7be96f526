"""The SMTP listener's DATA reader: the same message, the same replies as aiosmtpd's own
line-by-line reader, whatever the dots, bare CRs and LFs, long lines and packet boundaries."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.smtp import _ListenerSMTP
from channels.email.smtp_data import TOO_LONG, TOO_MUCH, Data, read_data
from tests.support import free_port

LINE_LIMIT = 48  # small, so long lines (and the reader's limit) come up often
SIZE_LIMIT = 4096

# pieces that make dots at lines' starts, stuffed dots, bare CR and LF, `.\r\n` inside lines
_PIECES = st.sampled_from(
    [b"a", b"b.", b".", b"..", b"\r", b"\n", b"\r\n", b".\r\n", b"\r\n.", b"x" * 30, b" "]
)
_BODIES = st.lists(_PIECES, max_size=60).map(b"".join)


@dataclass
class _Kept:
    contents: list[bytes] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        self.contents.append(envelope.content)
        return "250 kept"


class _Theirs(SMTP):
    line_length_limit = LINE_LIMIT


class _Ours(_ListenerSMTP):
    line_length_limit = LINE_LIMIT


class _Serving(Controller):
    def __init__(self, kind: type[SMTP], kept: _Kept) -> None:
        super().__init__(kept, hostname="127.0.0.1", port=free_port())
        self.kind = kind

    def factory(self) -> SMTP:
        return self.kind(self.handler, data_size_limit=SIZE_LIMIT, decode_data=False)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[_Serving, _Kept]]]:
    running = {}
    for name, kind in (("theirs", _Theirs), ("ours", _Ours)):
        kept = _Kept()
        controller = _Serving(kind, kept)
        controller.start()
        running[name] = (controller, kept)
    yield running
    for controller, _ in running.values():
        controller.stop()


def _session(port: int, payload: bytes) -> bytes:
    """A whole session sending `payload` after DATA's 354; everything the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        answers = [reader.readline()]
        for command in (b"HELO bench\r\n", b"MAIL FROM:<a@example.com>\r\n",
                        b"RCPT TO:<b@example.com>\r\n", b"DATA\r\n"):  # fmt: skip
            sock.sendall(command)
            answers.append(reader.readline())
        sock.sendall(payload + b"QUIT\r\n")
        answers.extend(reader)  # until the server closes after QUIT
        return b"".join(answers[1:])  # the greeting names the host and the time


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_BODIES)
def test_the_message_and_the_replies_are_aiosmtpds(
    servers: dict[str, tuple[_Serving, _Kept]], body: bytes
) -> None:
    payload = body + b"\r\n.\r\n"  # ended at the latest here; an earlier ending leaves commands
    seen = {}
    for name, (controller, kept) in servers.items():
        kept.contents.clear()
        transcript = _session(controller.port, payload)
        seen[name] = (transcript, list(kept.contents))
    assert seen["ours"] == seen["theirs"]


@given(body=_BODIES, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_packet_boundaries_change_nothing(body: bytes, cuts: list[int]) -> None:
    payload = body + b"\r\n.\r\n"
    whole = asyncio.run(_read_in_pieces([payload]))
    points = sorted({0, len(payload), *(c for c in cuts if c < len(payload))})
    pieces = [payload[a:b] for a, b in itertools.pairwise(points)]
    assert asyncio.run(_read_in_pieces(pieces)) == whole


async def _read_in_pieces(pieces: list[bytes]) -> tuple[bytes, str | None, bytes]:
    """What read_data makes of the pieces fed one at a time, and what it left unread."""
    reader = asyncio.StreamReader(limit=LINE_LIMIT)

    async def feed() -> None:
        for piece in pieces:
            reader.feed_data(piece)
            await asyncio.sleep(0)
        reader.feed_eof()

    feeding = asyncio.create_task(feed())
    data = await read_data(reader, SIZE_LIMIT, LINE_LIMIT)
    await feeding
    return data.content, data.refusal, await reader.read()


async def test_dots_bare_line_feeds_and_the_ending() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"..leading\r\nmid.\r\nbare\n.\r\n.\r\nQUIT\r\n")
    data = await read_data(reader, SIZE_LIMIT, 1000)
    # a dot after a bare LF is data (no SMTP smuggling); the dot starting a line goes
    assert data.content == b".leading\r\nmid.\r\nbare\n.\r\n"
    assert await reader.read(6) == b"QUIT\r\n"


async def test_an_empty_message() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b".\r\n")
    assert (await read_data(reader, SIZE_LIMIT, 1000)).content == b""


async def test_too_much_data_is_read_to_its_end_and_refused_with_552() -> None:
    reader = asyncio.StreamReader(limit=64)
    reader.feed_data(b"y" * 50 + b"\r\n" + (b"z" * 60 + b"\r\n") * 100 + b".\r\nNOOP\r\n")
    data = await read_data(reader, 1000, 10_000)
    assert (data.content, data.refusal) == (b"", TOO_MUCH)
    assert await reader.read(6) == b"NOOP\r\n"  # the session goes on after the refusal


async def test_a_line_over_the_limit_is_refused_with_500() -> None:
    reader = asyncio.StreamReader(limit=100)
    reader.feed_data(b"short\r\n" + b"w" * 99 + b"\r\n.\r\n")
    assert (await read_data(reader, SIZE_LIMIT, 100)).refusal == TOO_LONG
    reader = asyncio.StreamReader(limit=100)
    reader.feed_data(b"short\r\n" + b"w" * 98 + b"\r\n.\r\n")  # 100 with its CRLF: allowed
    assert (await read_data(reader, SIZE_LIMIT, 100)).refusal is None


async def test_a_long_run_without_a_dot_line_is_read_whole() -> None:
    """A base64 attachment has no `.\\r\\n` for longer than the reader's limit."""
    lines = b"".join(b"QUJD" * 19 + b"\r\n" for _ in range(2000))
    reader = asyncio.StreamReader(limit=1024)
    reader.feed_data(lines + b".\r\n")
    assert (await read_data(reader, 10**7, 1024)).content == lines


@pytest.mark.parametrize("extra", [-1, 0, 1])
async def test_the_size_limit_is_the_datas_own_size(extra: int) -> None:
    """aiosmtpd's count: the lines as sent, without the ending line."""
    lines = b"v" * 38 + b"\r\n"
    sent = lines * 25 + b"w" * (extra + 2) + b"\r\n"
    reader = asyncio.StreamReader(limit=64)
    reader.feed_data(sent + b".\r\n")
    data = await read_data(reader, len(lines) * 25 + 4, 10_000)
    assert data == (Data(sent) if extra <= 0 else Data(b"", TOO_MUCH))
