"""SLA deadlines on Redis: a mixin of `RedisStore`, each operation one call of
`lua/deadlines.lua` (a sorted set by claimable time, claimed atomically across hubs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from core.deadlines import Deadline, SlaMarks
from core.errors import NotFound
from storage.redis.live import Scripted
from storage.redis.options import translated
from storage.redis.rows import sla_json, ts
from storage.sqlite.rows import dt


class RedisDeadlines:
    """The SLA watcher's deadlines on Redis."""

    @property
    def _live(self) -> Scripted:
        raise NotImplementedError  # RedisStore's open connection

    @translated
    async def _deadlines(self, *args: str | int) -> Any:
        return await self._live.scripts.run("deadlines", *args)

    async def set_deadlines(self, ticket_id: int, deadlines: Sequence[Deadline]) -> None:
        flat: list[str | int] = []
        for deadline in deadlines:
            flat += [deadline.metric, deadline.kind, deadline.key, ts(deadline.due)]
        await self._deadlines("set", ticket_id, *flat)

    async def set_sla(self, ticket_id: int, marks: SlaMarks) -> bool:
        written = await self._deadlines("marks", ticket_id, sla_json(marks))
        if written is None:
            raise NotFound("ticket", ticket_id)
        return bool(written)

    async def claim_deadlines(
        self, now: datetime, lease: timedelta, limit: int = 100
    ) -> list[Deadline]:
        replies = await self._deadlines("claim", ts(now), ts(now + lease), limit)
        return [_deadline(slot, value) for slot, value in replies]

    async def finish_deadline(self, deadline: Deadline) -> None:
        await self._deadlines("finish", deadline.slot, deadline.key, ts(deadline.due))


def _deadline(slot: str, value: str) -> Deadline:
    ticket_id, metric, kind = slot.split("|")
    key, _, due = value.rpartition("|")
    return Deadline(int(ticket_id), metric, kind, key, dt(float(due)))
