"""Report rollups on Redis: a mixin of `RedisStore` (core/tally.py, lua/tally.lua).

The scripts keep the tallies and cells in the script of every event (lua/tally.lua); this
module reads them: a report's spans are read in one MULTI/EXEC (one instant's cells) and
summed here. A store written by hubs before the rollups has events but no cells, and one
whose tallies were written before they kept each SLA clock's breaches lacks those: the first
hub to open it fills them from the record (`backfill_rollups`, once, claimed by a flag in
`{P}:ids`); stop the older hubs first, since what they write meanwhile is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import structlog

from core.json_text import dumps
from core.periods import Calendar
from core.record import TicketEvent
from core.tally import (
    HeldBin,
    Replay,
    RollupRow,
    RunningHold,
    Span,
    Tally,
    held_bins,
    kind_of,
    running_hold,
)
from storage.redis.live import Live
from storage.redis.options import translated

log = structlog.get_logger("contacthub.redis")

PAGE = 2000
FILL = 2000
"""Tallies, or cells, the backfill writes in one command (one script call)."""
ZONE = "report_zone"
"""The field of `{P}:ids` naming the calendar the cells are kept by (absent: UTC)."""
FLAG = "rollups"
"""The field of `{P}:ids` saying whether the cells count the whole record: a hub's claim
while it fills them ("filling:<deadline>:<owner>", lua/rollup_claim.lua), then `FILLED`.
None, or "1" (filled before the tallies kept which SLA clocks were breached): filled at
the next open."""
FILLED = "2"
LEASE = 300.0
"""Seconds a fill's claim holds unless renewed (every `LEASE / 10`): a hub that died filling
is taken over once it lapses. Long, as the fill's sums of a million tickets keep the loop
(and the renewal) busy for tens of seconds."""
WAIT_POLL = 1.0
"""Seconds between two looks of a hub waiting at open for another's fill."""


class RedisRollups:
    """rollup and held_bins on Redis, and the backfill of an older store."""

    @property
    def _live(self) -> Live:
        raise NotImplementedError  # RedisStore's open connection

    def key(self, *parts: str | int) -> str:
        raise NotImplementedError

    async def events_after(self, seq: int, limit: int = 500) -> list[TicketEvent]:
        raise NotImplementedError

    @translated
    async def rollup(
        self, spans: Sequence[Span], by: str | None, queue: str | None, channel: str | None,
        *, kinds: Sequence[str],
    ) -> list[RollupRow]:  # fmt: skip
        # Each hash read once: a day of a series in New York adds the first five hours of
        # the next UTC day, which the next day's bucket takes away.
        read: dict[str, list[tuple[int, int]]] = {}
        for level, period, bucket, sign in spans:
            for kind in kinds:
                read.setdefault(self.key(f"r{kind}", level, f"{period:.0f}"), []).append(
                    (bucket, sign)
                )
        async with self._live.client.pipeline(transaction=True) as pipe:
            for key in read:
                pipe.hgetall(key)
            found = await pipe.execute()
        keyed = {"queue": 0, "channel": 1}.get(by or "")
        fields = _Fields(queue, channel, keyed)
        buckets: dict[int, list[float]] = {}
        for targets, cells in zip(read.values(), found, strict=True):
            for bucket, sign in targets:
                fields.add_to(buckets.setdefault(bucket, []), cells, sign)
        return [row for bucket, sums in buckets.items() for row in fields.rows(bucket, sums)]

    @translated
    async def held_bins(
        self, start: float, end: float, at: float, queue: str | None, channel: str | None
    ) -> list[HeldBin]:
        found = await self._live.client.zrangebyscore(self.key("rhz"), repr(start), f"({end!r}")
        # core.tally.held_at inline, no RunningHold made: a year's summary reads ~135,000
        # holds, and making each tuple (and a call per hold) doubled the loop's time.
        values: dict[str, list[float]] = {}
        for text in found:
            _, held, since, q, ch, agent, _ = text.split("\t", 6)
            if (queue is not None and q != queue) or (channel is not None and ch != channel):
                continue
            ran, before = at - float(since), float(held)
            mine = values.get(agent)
            if mine is None:
                mine = values[agent] = []
            mine.append(before + ran if ran > 0 else before)
        return held_bins(values)

    @translated
    async def rollup_horizon(self) -> float | None:
        horizon, flag = await self._live.client.hmget(self.key("ids"), "horizon", FLAG)
        return float(horizon or 0) if flag == FILLED else None

    @translated
    async def report_calendar(self) -> Calendar:
        # its zone checked by Calendar.of when it was set
        return Calendar(await self._live.client.hget(self.key("ids"), ZONE) or "UTC")

    rollups_poll = WAIT_POLL

    async def refill_by(self, calendar: Calendar) -> None:
        """The cells made again by `calendar` (RedisStore.set_report_calendar)."""
        owner = uuid.uuid4().hex
        await self._fill_claim("force", owner)
        await self._live.client.hset(self.key("ids"), ZONE, calendar.zone)
        await self._refill(calendar, owner)

    async def backfill_rollups(self) -> None:
        """Fill the tallies and cells from the record when no hub has, or one of an older
        version did (at open). A hub that finds another filling waits until it is done, so
        that it commits nothing the fill would count twice or lose; it takes the fill over
        if the other's claim lapses (that hub died)."""
        waited = 0.0
        while True:
            owner = uuid.uuid4().hex
            if await self._fill_claim("claim", owner):
                await self._refill(await self.report_calendar(), owner)
                return
            if await self._live.client.hget(self.key("ids"), FLAG) == FILLED:
                return
            if waited % 30 < self.rollups_poll:
                log.info("rollups_fill_waiting", seconds=round(waited))
            await asyncio.sleep(self.rollups_poll)
            waited += self.rollups_poll

    async def _fill_claim(self, what: str, owner: str) -> bool:
        return bool(await self._live.scripts.run("rollup_claim", what, owner, repr(LEASE)))

    async def _keep_claim(self, owner: str) -> None:
        """Renew the fill's claim while it runs (cancelled when it ends)."""
        while True:
            await asyncio.sleep(LEASE / 10)
            if not await self._fill_claim("renew", owner):
                log.warning("rollups_fill_claim_lost", owner=owner)
                return

    async def _refill(self, calendar: Calendar, owner: str) -> None:
        """The cells and holds dropped, and the tallies and cells of the whole record written
        by `calendar` (tallies over the old ones), under the caller's claim."""
        renewing = asyncio.create_task(self._keep_claim(owner))
        try:
            await self._fill(calendar)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _fill(self, calendar: Calendar) -> None:
        client = self._live.client
        cells = self.key("r[vtas]:*")  # the cells' hashes, not rp, rh, rhz or rr:<customer>
        found = [key async for key in client.scan_iter(match=cells, count=FILL)]
        for at in range(0, len(found), FILL):
            await client.unlink(*found[at : at + FILL])
        # The holds too: the fill writes them again, its numbers formatted by Python
        await client.unlink(self.key("rh"), self.key("rhz"))
        replay, after = Replay(calendar), 0
        while events := await self.events_after(after, PAGE):
            for e in events:
                replay.add(e.ticket_id, e.kind, e.actor, e.at.timestamp(), e.detail)
            after = events[-1].seq
        await self._write_replay(replay)
        horizon = float(await client.hget(self.key("ids"), "horizon") or 0)
        if replay.horizon > horizon:
            await client.hset(self.key("ids"), "horizon", repr(replay.horizon))
        await client.hset(self.key("ids"), FLAG, FILLED)

    async def _write_replay(self, replay: Replay) -> None:
        client = self._live.client
        pipe = client.pipeline(transaction=False)
        tallies: dict[str, str] = {}
        for ticket_id, tally in replay.tallies.items():
            tallies[str(ticket_id)] = lua_tally(tally, replay.calendar)
            hold = running_hold(tally)
            if hold is not None:
                text = hold_text(hold, ticket_id)
                pipe.hset(self.key("rh"), str(ticket_id), text)
                pipe.zadd(self.key("rhz"), {text: hold.created})
            if tally.customer and tally.resolved is not None and not tally.repeat:
                pipe.zadd(self.key("rr", tally.customer), {str(ticket_id): tally.resolved})
            if len(tallies) >= FILL:
                pipe.hset(self.key("rp"), mapping=tallies)
                tallies = {}
                await pipe.execute()
        if tallies:
            pipe.hset(self.key("rp"), mapping=tallies)
        await pipe.execute()
        cells: list[list[Any]] = []
        for (level, period, q, ch, agent, name), (n, total) in replay.cells().items():
            kind = kind_of(q, agent, name)
            cells.append([f"r{kind}:{level}:{period:.0f}", f"{q}\t{ch}\t{agent}\t{name}", n,
                          repr(total) if total else "0"])  # fmt: skip
            if len(cells) >= FILL:
                await self._live.scripts.run("rollup_fill", dumps(cells))
                cells = []
        if cells:
            await self._live.scripts.run("rollup_fill", dumps(cells))


Cell = tuple[str, str, str]
"""A summed cell's report key, agent and name."""


class _Fields:
    """The cells' fields of one report, each parsed once (the same fields recur in every
    period) into the place of its sum: cell i's count at 2i, its total at 2i + 1, in a
    bucket's flat list of sums; None when the report's queue or channel leaves it out."""

    def __init__(self, queue: str | None, channel: str | None, keyed: int | None) -> None:
        self.queue, self.channel, self.keyed = queue, channel, keyed
        self.known: dict[str, int | None] = {}
        self.cells: list[Cell] = []
        self.at: dict[Cell, int] = {}

    def add_to(self, sums: list[float], cells: dict[str, str], sign: int) -> None:
        """One hash's fields times `sign` into a bucket's `sums` (a year's series reads
        ~420,000 fields: per field one lookup and one addition; counts are summed as floats,
        exact far beyond any count, and made integers in `rows`)."""
        known = self.known
        if len(sums) < 2 * len(self.cells):
            sums.extend([0.0] * (2 * len(self.cells) - len(sums)))
        for field, value in cells.items():
            place = known.get(field)
            if place is None:
                if field in known:
                    continue
                place = known[field] = self.place(field)
                if place is None:
                    continue
                if place >= len(sums):
                    sums.extend([0.0] * (2 * len(self.cells) - len(sums)))
            sums[place] += sign * float(value)

    def place(self, field: str) -> int | None:
        q, ch, agent, name, *total = field.split("\t")
        if (self.queue is not None and q != self.queue) or (
            self.channel is not None and ch != self.channel
        ):
            return None
        cell = ("" if self.keyed is None else (q, ch)[self.keyed], agent, name)
        index = self.at.get(cell)
        if index is None:
            index = self.at[cell] = len(self.cells)
            self.cells.append(cell)
        return 2 * index + (1 if total else 0)

    def rows(self, bucket: int, sums: list[float]) -> Iterator[RollupRow]:
        """A bucket's summed cells (those that summed to nothing left out)."""
        for index in range(len(sums) // 2):
            count, total = sums[2 * index], sums[2 * index + 1]
            if count or total:
                yield (bucket, *self.cells[index], int(count), total)


def lua_tally(tally: Tally, calendar: Calendar) -> str:
    """A tally as lua/tally.lua keeps it (times as strings; its cells' day and month when
    the calendar is not UTC's)."""
    state: dict[str, Any] = {
        "c": repr(tally.created), "q": tally.queue, "rt": tally.route, "ch": tally.channel,
        "rp": [[mid, repr(at), agent] for mid, at, agent in tally.replies],
        "held": {agent: repr(s) for agent, s in tally.held.items()}, "ag": tally.agents,
        "rep": tally.repeat, "br": tally.breached, "mb": tally.missed,
    }  # fmt: skip
    optional = {"cu": tally.customer, "as": tally.assignee}
    optional |= {"res": _time(tally.resolved), "hs": _time(tally.hold_start)}
    optional |= {"ak": _time(tally.asked)}
    state |= {k: v for k, v in optional.items() if v is not None}
    if not calendar.utc:
        _, (_, state["pd"]), (_, state["pm"]) = calendar.periods(tally.created)
    return dumps(state)


def _time(value: float | None) -> str | None:
    return None if value is None else repr(value)


def hold_text(hold: RunningHold, ticket_id: int) -> str:
    """A running hold as lua/tally.lua keeps it."""
    values = (repr(hold.created), repr(hold.held), repr(hold.since))
    return "\t".join((*values, hold.queue, hold.channel, hold.agent, str(ticket_id)))
