"""How a frame for a visitor reaches the hub that holds the visitor's socket.

Topics are visitors' identity keys (and `agents` for what the agents' side may show). A hub
subscribes to a visitor's topic while it holds one of their sockets; `publish` answers how
many hubs took the frame (0: the visitor has no open socket anywhere, the message waits for
`resume`). `LocalBus` serves one process (SQLite); the Redis bus (hub/wiring/webchat_bus.py)
carries frames between hubs.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Deliver = Callable[[dict[str, Any]], Awaitable[None]]
"""What a subscription does with a frame: send it down the visitor's socket."""

AGENTS = "agents"
"""The topic of the visitors' typing, for the agents' side."""


class Bus(Protocol):
    async def publish(self, topic: str, frame: dict[str, Any]) -> int:
        """Send `frame` to every subscriber of `topic`; how many hubs received it."""

    async def subscribe(self, topic: str, deliver: Deliver) -> None:
        """Receive the topic's frames until `unsubscribe` with the same callable."""

    async def unsubscribe(self, topic: str, deliver: Deliver) -> None:
        """Stop one subscription (a no-op for one not made)."""

    def running(self) -> AbstractAsyncContextManager[None]:
        """What the bus holds while the app runs (connections, a listener)."""


class LocalBus:
    """The bus of one process: subscribers in a dict."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Deliver]] = defaultdict(set)

    async def publish(self, topic: str, frame: dict[str, Any]) -> int:
        subscribers = list(self._subscribers.get(topic, ()))
        for deliver in subscribers:
            await deliver(frame)
        return 1 if subscribers else 0

    async def subscribe(self, topic: str, deliver: Deliver) -> None:
        self._subscribers[topic].add(deliver)

    async def unsubscribe(self, topic: str, deliver: Deliver) -> None:
        subscribers = self._subscribers.get(topic)
        if subscribers is not None:
            subscribers.discard(deliver)
            if not subscribers:
                del self._subscribers[topic]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        yield  # nothing to hold in one process

    def subscribed(self, topic: str) -> int:
        """How many subscriptions a topic has on this hub."""
        return len(self._subscribers.get(topic, ()))
