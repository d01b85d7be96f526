"""A small server-sent-events client for the tests: the events of a real HTTP stream."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(slots=True)
class Sse:
    event: str = "message"
    data: Any = None
    id: int | None = None
    comments: list[str] = field(default_factory=list)


class SseStream:
    """An open stream; `next()` is its next event (comments are kept on the way)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []
        self.retry: int | None = None

    async def next(self, within: float = 5) -> Sse:
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> Sse:
        current = Sse()
        seen = False
        while True:
            raw = await self.response.content.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line == "":
                if seen:
                    return current
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                self.comments.append(value)
            elif name == "retry":
                self.retry = int(value)
            else:
                seen = True
                _set(current, name, value)

    async def until(self, predicate: Any, within: float = 10) -> list[Sse]:
        """Events until (and with) the first that satisfies `predicate`."""
        seen: list[Sse] = []
        deadline = asyncio.get_running_loop().time() + within
        while True:
            event = await self.next(deadline - asyncio.get_running_loop().time())
            seen.append(event)
            if predicate(event):
                return seen

    def close(self) -> None:
        self.response.close()


def _set(event: Sse, name: str, value: str) -> None:
    if name == "event":
        event.event = value
    elif name == "data":
        event.data = json.loads(value)
    elif name == "id":
        event.id = int(value)


async def open_stream(
    http: aiohttp.ClientSession, auth: dict[str, str], query: str = "", last_id: int | None = None
) -> SseStream:
    headers = dict(auth)
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    response = await http.get(f"/api/events{query}", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return SseStream(response)
