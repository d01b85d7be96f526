"""Progressive dialing: one call at a time for each ready agent of a progressive campaign.

An agent says they are ready (`PUT /api/campaigns/{id}/agents/me`, the seam where presence
will plug in); the hub then, at once, takes the agent (atomically: one dial per agent
across hubs), leases the most pressing callable contact and calls it (hub/campaigns/
dialer.py). When the call ends unanswered (no answer, busy, failed, a machine) the agent
stays ready and the next contact is dialled; after a conversation the agent wraps up (adds
the conversational outcome) and says ready again. A sweep every `dial_tick` dials for
ready agents that nothing woke (a window that opened, a contact now due, another hub's
agents, a hub restarted mid-call).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from core.campaigns import CallOutcome, CampaignState, DialerMode
from core.dialer import DialerAgent
from core.errors import HubError
from hub.campaigns.dialer import Dialer

log = structlog.get_logger("contacthub.dialer")


@dataclass(slots=True)
class DialStats:
    """What the dialer decided, for the benchmark and the logs."""

    decisions: int = 0  # dial_for calls that got as far as asking for a contact
    dialled: int = 0
    started: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class Progressive:
    dialer: Dialer
    stats: DialStats = field(default_factory=DialStats)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _gate: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        self.dialer.on_agent_freed = self.freed

    def freed(self, agent: str, outcome: CallOutcome) -> None:
        """A progressive call ended. After a conversation the agent wraps up (not ready);
        otherwise they go on, still held, to the next contact."""
        if outcome is CallOutcome.ANSWERED:
            self._spawn(self._wrap_up(agent))
        else:
            self._spawn(self._go_on(agent))

    def kick(self, agent: str) -> None:
        """Dial for `agent` now, without waiting (an API call or a webhook said so)."""
        self._spawn(self._kick(agent))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wrap_up(self, agent: str) -> None:
        await self.dialer.desk.store.release_dialer_agent(agent, self.dialer.clock(), ready=False)

    async def _go_on(self, name: str) -> None:
        store = self.dialer.desk.store
        try:
            agent = await store.get_dialer_agent(name)
            if not agent.ready:  # they said not ready during the call
                await store.release_dialer_agent(name, self.dialer.clock())
                return
            await self.dial_for(agent, taken=True)
        except HubError as exc:
            log.error("dial_failed", agent=name, error=exc.message)

    async def _kick(self, name: str) -> None:
        try:
            await self.dial_for(await self.dialer.desk.store.get_dialer_agent(name))
        except HubError as exc:
            log.error("dial_failed", agent=name, error=exc.message)

    async def dial_for(self, agent: DialerAgent, *, taken: bool = False) -> bool:
        """Take the agent (unless `taken`: held since their last call), lease a contact
        callable now and call it; False when nothing was dialled (not ready, busy, nobody
        callable, the campaign halted), the agent then free again."""
        dialer, now = self.dialer, self.dialer.clock()
        store, hold = dialer.desk.store, dialer.settings.dial_hold
        slots = await self._callable(agent, now)
        if not taken and (
            not slots or await store.take_dialer_agent(agent.name, now, now + hold) is None
        ):
            return False
        dialled = False
        try:
            if slots:
                self.stats.decisions += 1
                campaign = await dialer.recent.campaign(agent.campaign_id)
                lease = await dialer.desk.next_lease(campaign, agent.name, now, hold, slots)
                dialled = lease is not None and await dialer.dial(campaign, lease)
        finally:
            if not dialled:
                await store.release_dialer_agent(agent.name, dialer.clock())
        self.stats.dialled += dialled
        return dialled

    async def _callable(self, agent: DialerAgent, now: datetime) -> list[str]:
        """The slots of the agent's campaign callable now; [] unless it dials progressively."""
        recent = self.dialer.recent
        campaign = await recent.campaign(agent.campaign_id)
        if campaign.policy.dialer is not DialerMode.PROGRESSIVE:
            return []
        if self.dialer.desk.halted(campaign, now) is not None:
            return []
        return self.dialer.desk.hours(campaign).open_slots(await recent.slots(campaign.id), now)

    async def idle(self) -> None:
        """Wait for the dials under way to be placed (tests, the benchmark, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def sweep(self) -> int:
        """Dial for every ready agent of every running progressive campaign; how many."""
        store, now = self.dialer.desk.store, self.dialer.clock()
        gate = self._gate = self._gate or asyncio.Semaphore(self.dialer.settings.dial_concurrency)
        agents = []
        for campaign in await store.list_campaigns():
            if campaign.state is CampaignState.RUNNING and (
                campaign.policy.dialer is DialerMode.PROGRESSIVE
            ):
                agents += await store.ready_dialer_agents(campaign.id, now)

        async def one(agent: DialerAgent) -> bool:
            async with gate:
                return await self.dial_for(agent)

        return sum(await asyncio.gather(*(one(agent) for agent in agents)))

    async def run(self) -> AsyncIterator[None]:
        """The sweep's lifetime (an app's cleanup context)."""
        ticker = asyncio.get_running_loop().create_task(self._tick())
        yield
        ticker.cancel()
        for task in (ticker, *self._tasks):
            task.cancel()
        await asyncio.gather(ticker, *self._tasks, return_exceptions=True)

    async def _tick(self) -> None:
        interval = self.dialer.settings.dial_tick.total_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except HubError as exc:  # the store is down: try at the next tick
                log.error("dial_sweep_failed", error=exc.message)
