"""Following the record on Redis: a mixin of `RedisStore` for the live stream and reports.

The stream `{ch}:events` has one entry per event, ID "<seq>-1", so a reader waits for the
next event with XREAD BLOCK on the ID it has seen: Redis wakes it when any hub commits one,
with no polling. Times map to sequence numbers by a binary search in lua/events.lua.
"""

from __future__ import annotations

from datetime import datetime

from storage.redis.live import Live
from storage.redis.options import RedisOptions, translated
from storage.redis.rows import ts

MIN_BLOCK_MS = 10


class RedisEvents:
    """last_event_seq, event_seq_at and wait_for_events on Redis."""

    options: RedisOptions

    @property
    def _live(self) -> Live:
        raise NotImplementedError  # RedisStore's open connection

    def key(self, *parts: str | int) -> str:
        raise NotImplementedError  # RedisStore's key names

    @translated
    async def last_event_seq(self) -> int:
        return int(await self._live.scripts.run("events", "last"))

    @translated
    async def event_seq_at(self, at: datetime) -> int:
        return int(await self._live.scripts.run("events", "at", ts(at)))

    @translated
    async def wait_for_events(self, after: int, within: float) -> None:
        # A blocked read must end before the client's socket timeout would call it a failure.
        block = max(MIN_BLOCK_MS, int(min(within, self.options.timeout * 0.8) * 1000))
        await self._live.client.xread({self.key("events"): f"{after}-1"}, count=1, block=block)
