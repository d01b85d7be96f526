"""The dialer's part of the Store protocol on Redis: a mixin of `RedisStore`.

Outbound agents are one call of `lua/dialer.lua` each (taking an agent for a dial is atomic
across hubs); an attempt's call and the do-not-call removals are calls of
`lua/campaign.lua` and `lua/campaign_read.lua`, beside the campaign data they touch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.campaigns import Attempt, CallOutcome, DoNotCallRemoval
from core.dialer import DialerAgent
from core.errors import NotFound
from storage.redis.campaigns import attempt_from
from storage.redis.live import Scripted
from storage.redis.options import translated
from storage.redis.rows import opt_dt, pairs, ts
from storage.sqlite.rows import dt


class RedisDialer:
    """Outbound agents, attempts' calls and do-not-call removals on Redis."""

    @property
    def _live(self) -> Scripted:
        raise NotImplementedError  # RedisStore's open connection

    @translated
    async def _run(self, script: str, *args: str | int) -> Any:
        return await self._live.scripts.run(script, *args)

    async def remove_do_not_call(
        self, phone: str, by: str, reason: str, now: datetime
    ) -> DoNotCallRemoval | None:
        reply = await self._run("campaign", "dnc_remove", phone, by, reason, ts(now))
        return None if reply is None else _removal(phone, reply)

    async def do_not_call_removals(self, phone: str) -> list[DoNotCallRemoval]:
        replies = await self._run("campaign_read", "dnc_removed", phone)
        return [_removal(phone, reply) for reply in replies]

    async def set_call(self, attempt_id: int, call_sid: str, answered_by: str = "") -> Attempt:
        reply = await self._run("campaign", "call", attempt_id, call_sid, answered_by)
        if reply is None:
            raise NotFound("attempt", attempt_id)
        return attempt_from(pairs(reply))

    async def end_call(self, attempt_id: int, call_sid: str, outcome: CallOutcome) -> bool:
        reply = await self._run("campaign", "end_call", attempt_id, call_sid, outcome)
        if reply is None:
            raise NotFound("attempt", attempt_id)
        return bool(reply)

    async def put_dialer_agent(
        self, name: str, campaign_id: int, endpoint: str, now: datetime, *, ready: bool
    ) -> DialerAgent:
        reply = await self._run("dialer", "put", name, campaign_id, endpoint, int(ready), ts(now))
        if reply == "missing":
            raise NotFound("campaign", campaign_id)
        return _agent(reply)

    async def get_dialer_agent(self, name: str) -> DialerAgent:
        reply = await self._run("dialer", "get", name)
        if reply is None:
            raise NotFound("dialer agent", name)
        return _agent(reply)

    async def ready_dialer_agents(self, campaign_id: int, now: datetime) -> list[DialerAgent]:
        replies = await self._run("dialer", "ready", campaign_id, ts(now))
        return sorted((_agent(r) for r in replies), key=lambda agent: agent.name)

    async def take_dialer_agent(
        self, name: str, now: datetime, busy_until: datetime
    ) -> DialerAgent | None:
        reply = await self._run("dialer", "take", name, ts(now), ts(busy_until))
        return None if reply is None else _agent(reply)

    async def release_dialer_agent(
        self, name: str, now: datetime, ready: bool | None = None
    ) -> DialerAgent | None:
        flag = "" if ready is None else int(ready)
        reply = await self._run("dialer", "release", name, ts(now), flag)
        return None if reply is None else _agent(reply)


def _agent(reply: Sequence[Any]) -> DialerAgent:
    name, flat = reply
    f = pairs(flat)
    return DialerAgent(
        name, int(f["campaign"]), f["endpoint"], f["ready"] == "1", dt(float(f["updated"])),
        opt_dt(f.get("busy_until") or None),
    )  # fmt: skip


def _removal(phone: str, text: str) -> DoNotCallRemoval:
    f = json.loads(text)
    return DoNotCallRemoval(
        phone, f["source"], dt(float(f["added"])), f["by"], f["reason"], dt(float(f["removed"]))
    )
