"""The web chat's bus between the workers of one `serve --workers N` on SQLite.

The kernel spreads connections over the workers (SO_REUSEPORT), so a visitor's socket is
held by one worker and an agent's reply may be posted to another. Each worker keeps its
own subscribers and listens on a Unix socket of its own in a directory the supervisor made
for this run (hub/cli/workers.py, mode 0700); a publish is delivered to this worker's
subscribers and asked of every sibling, each answering how many it delivered to. The sum
is what LocalBus and the Redis bus answer: 0 when no worker holds a socket of the visitor
(the message waits, stored, for `resume`). A sibling that is not there (starting, gone)
counts 0, as a hub without the visitor would; the store stays the record.

The wire: one line of JSON per frame `{"topic", "frame"}`, answered by one line with the
count; one kept connection per sibling, one frame at a time on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from channels.webchat.bus import Deliver, LocalBus

log = structlog.get_logger("contacthub.chat")

DIRECTORY_ENV = "CONTACTHUB_WORKERS_DIR"
"""Where the supervisor tells its workers their sockets are."""

ANSWER_SECONDS = 2.0
"""How long a publish waits for a sibling's answer before counting it 0."""

_LIMIT = 1 << 20  # a line: frames are a chat message at most (max_frame_bytes and the reply's)


@dataclass(frozen=True, slots=True)
class Siblings:
    """This worker's place among the workers of one run, and where their sockets are."""

    directory: Path
    index: int
    count: int

    @classmethod
    def from_environment(cls, index: int, count: int) -> Siblings | None:
        """None for a worker started without a supervisor's directory (it serves alone)."""
        directory = os.environ.get(DIRECTORY_ENV)
        return None if not directory or count < 2 else cls(Path(directory), index, count)

    def path(self, index: int) -> Path:
        return self.directory / f"chat-{index}.sock"


class SiblingBus:
    def __init__(self, siblings: Siblings) -> None:
        self._siblings = siblings
        self._local = LocalBus()
        self._links = {i: _Link(siblings.path(i)) for i in range(siblings.count)}
        del self._links[siblings.index]
        self._served: set[asyncio.StreamWriter] = set()  # siblings' links to this worker

    async def publish(self, topic: str, frame: dict[str, Any]) -> int:
        here = await self._local.publish(topic, frame)
        line = json.dumps({"topic": topic, "frame": frame}).encode() + b"\n"
        there = await asyncio.gather(*(link.ask(line) for link in self._links.values()))
        return here + sum(there)

    async def subscribe(self, topic: str, deliver: Deliver) -> None:
        await self._local.subscribe(topic, deliver)

    async def unsubscribe(self, topic: str, deliver: Deliver) -> None:
        await self._local.unsubscribe(topic, deliver)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        path = self._siblings.path(self._siblings.index)
        path.unlink(missing_ok=True)  # a worker of this run that died left it
        server = await asyncio.start_unix_server(self._serve, path, limit=_LIMIT)
        try:
            yield
        finally:
            server.close()
            for writer in self._served:  # a stopped worker takes no more frames (3.11's
                writer.close()  # server.close leaves its connections open)
            for link in self._links.values():
                await link.close()
            await server.wait_closed()
            path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A sibling's frames, one line each, each answered with how many took it here."""
        self._served.add(writer)
        try:
            while line := await reader.readline():
                asked = json.loads(line)
                taken = await self._local.publish(str(asked["topic"]), dict(asked["frame"]))
                writer.write(b"%d\n" % taken)
                await writer.drain()
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a sibling going away
            log.debug("chat_sibling_link_ended", error=str(exc))
        finally:
            self._served.discard(writer)
            writer.close()


class _Link:
    """The kept connection to one sibling; opened when first needed, again after a cut."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = asyncio.Lock()  # one frame at a time, so answers pair with questions
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def ask(self, line: bytes) -> int:
        """How many subscribers the sibling delivered the frame to (0 when it is not there)."""
        async with self._lock:
            for attempt in range(2):  # a kept connection the sibling closed: open a new one
                try:
                    return await asyncio.wait_for(self._exchange(line), ANSWER_SECONDS)
                except TimeoutError:  # it may have taken the frame: never sent twice
                    await self._drop()
                    self._unanswered("no answer in time")
                    return 0
                except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                    await self._drop()
                    if attempt:
                        self._unanswered(str(exc) or type(exc).__name__)
        return 0

    def _unanswered(self, error: str) -> None:
        log.warning("chat_sibling_unanswered", path=str(self._path), error=error)

    async def _exchange(self, line: bytes) -> int:
        if self._stream is None:
            self._stream = await asyncio.open_unix_connection(self._path, limit=_LIMIT)
        reader, writer = self._stream
        writer.write(line)
        await writer.drain()
        return int(await reader.readuntil(b"\n"))

    async def _drop(self) -> None:
        if self._stream is not None:
            writer = self._stream[1]
            self._stream = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
