"""Reports over a year of tickets, on SQLite and on Redis: from the rollups and the record.

    .venv/bin/python -m bench.reports_bench [--tickets 100000] [--runs 5] [--fold-runs 1]
                                            [--only sqlite|redis] [--direct] [--dir DIR]
                                            [--zone America/New_York]

Generates `--tickets` tickets spread over the 12 months to now straight into each store
through the Store's own writes (no HTTP): a new contact (email, SMS, form, Slack; 40,000
customers, one ticket in 20 from a customer of a few hours before), for most a claim by one
of 50 agents, one or two replies and a resolution, some reopened by the customer and
resolved again. Writes run in time order, 256 at a time (one ticket's steps in order), so
the record's times follow its numbers as in a live hub; the rollups are written by the same
commits. Then, p50 and max of `--runs` runs each, what the API answers from the rollup cells
(hub/api/report_rollups.py): the 12-month summary (to the hour after the newest event), the
daily volume series (America/New_York) by channel and by queue with first responses and SLA
met, the 12-month summary of one queue, the last 30 days' summary. And `--fold-runs` runs of
reports folded from the record (what answers a window the cells cannot: a closed period),
reading the events of the window through the time index and folding them (hub/api/
reports.py's `read_report`). Both give the same figures (printed). Deliveries are left out:
a provider's report is stamped with the wall clock, not the generated one. `--zone` keeps
the cells by that zone's days first (`contacthub reports zone`), timing the change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import redis

from bench import record_writer
from bench.support import free_port
from bench.year_of_tickets import (
    CHANNELS,
    QUEUES,
    START,
    Step,
    breach_detail,
    customer_of,
    plan,
    source_of,
)
from core.model import (
    Cause,
    Decision,
    Identity,
    Inbound,
    Priority,
    Status,
    ThreadPolicy,
    TicketChange,
)
from core.periods import Calendar
from core.record import Actor, ActorKind, EventKind
from hub.api.report_rollups import rolled_series, rolled_summary
from hub.api.reports import read_report
from router.report_facts import Window
from router.reports import (
    Grouping,
    Key,
    Metric,
    Scope,
    Summary,
    behind,
    calendar_seconds,
    summarize,
)
from router.series import series
from storage.base import Store, open_store

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(days=1))
IN_FLIGHT = 256
PAUSE_EVERY = 100
"""Batches between two truncating checkpoints of SQLite's WAL (see `truncate_wal`)."""


class Routed:
    """A router that sends each contact to the queue its external id names."""

    needs_history = False

    def decide(self, contact: Inbound, _facts: object) -> Decision:
        return Decision(contact.external_id.split(":")[0], Priority.NORMAL, rule="bench")

    def sla_after(self, _events: object, _now: object) -> None:
        return None


class Writer:
    """Runs the planned steps against a store, one ticket's steps in order."""

    def __init__(
        self, store: Store, seed: int = 11, pause: Callable[[], None] | None = None
    ) -> None:
        self.store = store
        self.pause = pause
        self.batches = 0
        self.ids: dict[int, int] = {}
        self.rng = random.Random(seed)

    async def run(self, steps: list[Step]) -> None:
        """Up to IN_FLIGHT steps at once, one ticket's in order; a customer's contact or
        resolution waits for the batch before it when that batch holds another of their
        tickets' (a hub stamps what it commits with its clock, so a customer's message never
        lands before their earlier resolution: a repeat contact depends on it)."""
        batch: dict[int, list[Step]] = defaultdict(list)
        customers: dict[int, int] = {}
        count = 0
        for step in steps:
            customer = customer_of(step[1]) if step[2] != "claim" and step[2] != "reply" else -1
            if count >= IN_FLIGHT or customers.get(customer, step[1]) != step[1]:
                await self._batch(batch)
                batch, customers, count = defaultdict(list), {}, 0
            batch[step[1]].append(step)
            count += 1
            if customer >= 0:
                customers[customer] = step[1]
        await self._batch(batch)

    async def _batch(self, batch: dict[int, list[Step]]) -> None:
        await asyncio.gather(*[self._ticket(mine) for mine in batch.values()])
        self.batches += 1
        if self.pause is not None and self.batches % PAUSE_EVERY == 0:
            self.pause()

    async def _ticket(self, steps: list[Step]) -> None:
        for at, n, what, who in steps:
            await self._step(at, n, what, who)

    async def _step(self, at: datetime, n: int, what: str, who: str) -> None:
        if what in ("create", "reopen"):
            self.ids[n] = (await self.store.commit_inbound(
                self._contact(at, n, what), Routed(), DAY_WINDOW if what == "reopen" else NO_WINDOW
            )).ticket_id  # fmt: skip
        elif what == "claim":
            change = TicketChange(status=Status.OPEN, assignee=who, actor=Actor.agent(who))
            await self.store.update_ticket(self.ids[n], change, at)
        elif what == "reply":
            await self.store.append_outbound(self.ids[n], "Thanks, done.", who, at)
        elif what == "breach":
            cause = Cause(EventKind.SLA_BREACH, breach_detail(n, who, at))
            change = TicketChange(actor=Actor(ActorKind.CLOCK, "sla"), cause=cause, once=True)
            await self.store.update_ticket(self.ids[n], change, at)
        else:
            change = TicketChange(status=Status.RESOLVED, actor=Actor.agent(who))
            await self.store.update_ticket(self.ids[n], change, at)

    def _contact(self, at: datetime, n: int, what: str) -> Inbound:
        source = source_of(n)
        channel, kind = CHANNELS[source % len(CHANNELS)]
        customer = source % 40_000
        value = f"+1555{customer:07d}" if kind == "phone" else f"c{customer}@example.com"
        return Inbound(
            channel=channel, external_id=f"{QUEUES[n % len(QUEUES)]}:{n}:{what}",
            sender=Identity(kind, value), text="Hello, a question about my order",
            received_at=at, subject="Order",
        )  # fmt: skip


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """p50 and max seconds of `runs` calls."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), max(seconds)


async def window_end(store: Store) -> datetime:
    """The first whole hour after the newest event and the clock: the rollups answer a
    report of the record as it stands."""
    newest = datetime.fromtimestamp(await store.rollup_horizon() or 0, UTC)
    moment = max(newest, datetime.now(UTC))
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def every_route(*_: object) -> frozenset[str]:
    """Every route has targets for the first response and the resolution (`plan`'s)."""
    return TARGETS


TARGETS = frozenset({"first_response", "resolution"})


async def measure_rollups(store: Store, runs: int) -> dict[str, tuple[float, float]]:
    """What the API answers from the rollup cells (hub/api/report_rollups.py)."""
    end, now = await window_end(store), datetime.now(UTC)
    year, month = Window(START, end), Window(end - timedelta(days=30), end)
    zone = ZoneInfo("America/New_York")

    async def summary(window: Window, scope: Scope) -> object:
        figures = await rolled_summary(store, window, scope, now, every_route)
        assert figures is not None, "the cells could not answer"
        return figures

    async def daily(by: Key, where: tzinfo = zone) -> object:
        shape = (Grouping.DAY, by, where)
        rows = await rolled_series(store, year, Scope(), now, shape, every_route)
        assert rows is not None, "the cells could not answer"
        return rows

    return {
        "12-month summary": await timed(runs, lambda: summary(year, Scope())),
        "12-month daily volume+SLA": await timed(runs, lambda: daily(Key.CHANNEL)),
        "12-month daily by queue": await timed(runs, lambda: daily(Key.QUEUE)),
        "12-month daily volume, UTC": await timed(runs, lambda: daily(Key.CHANNEL, UTC)),
        "12-month summary, 1 queue": await timed(runs, lambda: summary(year, Scope("billing"))),
        "last-30-days summary": await timed(runs, lambda: summary(month, Scope())),
    }


async def measure_fold(store: Store, runs: int) -> dict[str, tuple[float, float]]:
    """The same from the record (what answers a window the cells cannot)."""
    end = await window_end(store)
    year = Window(START, end)
    month = Window(START + timedelta(days=180), START + timedelta(days=210))
    day = Window(START + timedelta(days=200), START + timedelta(days=201))
    zone = ZoneInfo("America/New_York")

    async def summary(window: Window) -> object:
        return summarize(await read_report(store, window, calendar_seconds, every_route))

    async def drill() -> object:
        return behind(
            await read_report(store, day, calendar_seconds, every_route), Metric.FIRST_RESPONSE
        )

    async def daily_series() -> object:
        report = await read_report(store, year, calendar_seconds, every_route)
        rows = series(report, Grouping.DAY, Key.CHANNEL, zone)
        return rows, series(report, Grouping.DAY, None, zone)

    return {
        "12-month summary": await timed(runs, lambda: summary(year)),
        "12-month daily volume+SLA": await timed(runs, daily_series),
        "1-month summary (closed)": await timed(runs, lambda: summary(month)),
        "1-day drill-down": await timed(runs, drill),
    }


def truncate_wal(url: str) -> Callable[[], None] | None:
    """For SQLite, a checkpoint that empties the WAL, run between batches: the store's
    PASSIVE checkpoints never catch up with writes that never pause (the WAL would grow by
    gigabytes), while a hub's traffic has gaps in which they do."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?")[0]

    def checkpoint() -> None:
        db = sqlite3.connect(path)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            db.close()

    return checkpoint


async def bench(
    url: str, count: int, runs: int, fold_runs: int, direct: bool, calendar: Calendar
) -> None:
    store = open_store(url)
    started = time.perf_counter()
    await store.open()  # a kept store written before the rollups fills them here
    try:
        if await store.last_event_seq() == 0 and direct:
            await store.close()
            written = write_record(url, plan(count))
            print(f"  wrote {count} tickets' record, {written} events, straight into the store "
                  f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
            started = time.perf_counter()
            await store.open()
            print(f"  filled the rollups from the record at open in "
                  f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        elif await store.last_event_seq() == 0:
            await Writer(store, pause=truncate_wal(url)).run(plan(count))
            print(f"  generated {count} tickets in {time.perf_counter() - started:.0f} s")
        else:
            print(f"  opened the kept store in {time.perf_counter() - started:.0f} s")
        print(f"  {await store.last_event_seq()} events")
        if await store.report_calendar() != calendar:
            started = time.perf_counter()
            await store.set_report_calendar(calendar)
            print(f"  kept the cells by {calendar.zone} in {time.perf_counter() - started:.0f} s")
        year = Window(START, await window_end(store))
        rolled = await rolled_summary(store, year, Scope(), datetime.now(UTC), every_route)
        assert rolled is not None
        print(f"  rollups: {brief(rolled)}")
        if fold_runs:
            folded = summarize(await read_report(store, year, calendar_seconds, every_route))
            print(f"  record:  {brief(folded)}")
        for name, (p50, worst) in (await measure_rollups(store, runs)).items():
            print(f"  rollups {name:27} p50 {p50:6.3f} s   max {worst:6.3f} s")
        if fold_runs:
            for name, (p50, worst) in (await measure_fold(store, fold_runs)).items():
                print(f"  record  {name:27} p50 {p50:6.2f} s   max {worst:6.2f} s")
    finally:
        await store.close()


def write_record(url: str, steps: list[Step]) -> int:
    if url.startswith("sqlite:///"):
        return record_writer.write_sqlite(Path(url.removeprefix("sqlite:///").split("?")[0]), steps)
    port = int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    return record_writer.write_redis(port, steps)


def brief(figures: Summary) -> str:
    return (
        f"created {figures.created}, resolved {figures.resolved}, first response p50 "
        f"{figures.first_response.p50:.1f} s mean {figures.first_response.mean} s, "
        f"repeat contact {figures.repeat_contact.percent} %, SLA met {figures.sla.percent} % "
        f"of {figures.sla.of} ("
        + ", ".join(f"{c} {s.percent} % of {s.of}" for c, s in figures.sla_clocks if s.of)
        + ")"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--fold-runs", type=int, default=1, help="runs of the reports folded from the record"
    )
    parser.add_argument("--only", choices=["sqlite", "redis"])
    parser.add_argument(
        "--direct", action="store_true",
        help="write the record straight into the store's tables or keys (bench/record_writer.py)"
        " and let the store fill its rollups from it at open, instead of the Store's commits",
    )  # fmt: skip
    parser.add_argument(
        "--dir", type=Path, help="keep the stores here (a later run with it reuses them)"
    )
    parser.add_argument(
        "--zone", default="UTC",
        help="keep the cells by this zone's days (`contacthub reports zone`) before reading",
    )  # fmt: skip
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        where = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.only != "redis":
            print("SQLite (WAL, synchronous=normal)")
            await bench(
                f"sqlite:///{where}/reports.db?synchronous=normal", args.tickets, args.runs,
                args.fold_runs, args.direct, Calendar.of(args.zone),
            )  # fmt: skip
        if args.only != "sqlite":
            (where / "redis").mkdir(exist_ok=True)
            process, port = start_kept_redis(where / "redis")
            try:
                print("Redis (AOF everysec)")
                await bench(
                    f"redis://127.0.0.1:{port}/0", args.tickets, args.runs, args.fold_runs,
                    args.direct, Calendar.of(args.zone),
                )  # fmt: skip
            finally:
                process.terminate()
                process.wait()


def start_kept_redis(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """redis-server (AOF everysec) on `directory`, once it has loaded what it holds."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(directory),
         "--logfile", "redis.log"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(3000):
        try:
            client.ping()
            return process, port
        except redis.ConnectionError:  # not listening yet, or loading its AOF
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("redis-server did not start")


if __name__ == "__main__":
    asyncio.run(main())
