"""The web chat's bus across hubs: Redis pub/sub on the store's Redis.

Each hub holds one subscriber connection and subscribes to a visitor's channel while it
holds a socket of theirs, so PUBLISH answers how many hubs took a frame (0: no socket is
open anywhere; the message waits, stored, for the visitor's `resume`). Pub/sub is a nudge,
not the record: a frame lost while a connection drops is still in the store. A Redis
Cluster is reached through the node the storage URL names (classic pub/sub reaches every
node's subscribers, and one node answers every hub, so the count stays true).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from channels.webchat.bus import Deliver, LocalBus
from storage.redis.options import RedisOptions

log = structlog.get_logger("contacthub.chat")
_HUBS = "hubs"  # a channel every hub listens on, so the subscriber connection always exists


class RedisBus:
    def __init__(self, url: str) -> None:
        options = RedisOptions.from_url(url)
        self._prefix = f"{options.prefix}:chat:"
        self._redis: Redis = Redis.from_url(options.server_url, socket_timeout=options.timeout)
        self._pubsub: PubSub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._local = LocalBus()
        self._lock = asyncio.Lock()  # a topic's first subscribe and last unsubscribe, in order

    async def publish(self, topic: str, frame: dict[str, Any]) -> int:
        try:
            return int(await self._redis.publish(self._prefix + topic, json.dumps(frame)))
        except (RedisError, OSError) as exc:  # the frame waits, stored, for resume
            log.warning("chat_publish_failed", error=str(exc))
            return 0

    async def subscribe(self, topic: str, deliver: Deliver) -> None:
        async with self._lock:
            first = self._local.subscribed(topic) == 0
            await self._local.subscribe(topic, deliver)
            if first:
                await self._pubsub.subscribe(self._prefix + topic)

    async def unsubscribe(self, topic: str, deliver: Deliver) -> None:
        async with self._lock:
            await self._local.unsubscribe(topic, deliver)
            if self._local.subscribed(topic) == 0:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(self._prefix + topic)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self._pubsub.subscribe(self._prefix + _HUBS)
        listener = asyncio.create_task(self._listen())
        try:
            yield
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            # untyped before redis-py 8.2, typed since: a typed name takes either
            close: Callable[[], Awaitable[None]] = self._pubsub.aclose
            await close()
            await self._redis.aclose()

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:  # redis-py reconnects and subscribes again
                log.warning("chat_bus_interrupted", error=str(exc))
                await asyncio.sleep(1)
                continue
            if message is not None and message.get("type") == "message":
                await self._dispatch(message)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        topic = (channel.decode() if isinstance(channel, bytes) else channel)[len(self._prefix) :]
        try:
            frame = json.loads(message["data"])
        except (ValueError, TypeError):
            return  # not one of ours
        await self._local.publish(topic, frame)
