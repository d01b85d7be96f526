"""Reports over a year of tickets, on SQLite and on Redis, from the record alone.

    .venv/bin/python -m bench.reports_bench [--tickets 100000] [--runs 5] [--only sqlite|redis]

Generates `--tickets` tickets spread over 12 months straight into each store through the
Store's own writes (no HTTP): a new contact (email, SMS, form, Slack; 40,000 customers, one
ticket in 20 from a customer of a few hours before), for most a claim by one of 50 agents,
one or two replies and a resolution, some reopened by the customer and resolved again.
Writes run in time order, 256 at a time (one ticket's steps in order), so the record's times
follow its numbers as in a live hub.
Then, p50 and max of `--runs` runs each: the 12-month summary, a daily volume series by
channel, a one-month summary, the drill-down behind a one-day number, the daily series with
first responses and SLA met (what `/api/reports/volume` answers) and one day's series by
queue (what the supervisor's live queues read on every burst of events) (reading the events
of the window through the time index, `Store.event_seq_at` then `events_after`, and folding
them: hub/api/reports.py's `read_report`). Deliveries are left out: a provider's report is
stamped with the wall clock, not the generated one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.redis_bench import start_redis
from core.model import Decision, Identity, Inbound, Priority, Status, ThreadPolicy, TicketChange
from core.record import Actor
from hub.api.reports import read_report
from router.report_facts import Window
from router.reports import Grouping, Key, Metric, behind, calendar_seconds, summarize, volume
from router.series import SlaLedger, series
from storage.base import Store, open_store

START = datetime(2025, 12, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
CHANNELS = (("email", "email"), ("sms", "phone"), ("form", "email"), ("slack", "slack"))
QUEUES = ("general", "billing", "support", "sales")
AGENTS = tuple(f"agent{n}" for n in range(50))
NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(days=1))
IN_FLIGHT = 256

Step = tuple[datetime, int, str, str]  # when, ticket number, what, who


class Routed:
    """A router that sends each contact to the queue its external id names."""

    needs_history = False

    def decide(self, contact: Inbound, _facts: object) -> Decision:
        return Decision(contact.external_id.split(":")[0], Priority.NORMAL, rule="bench")

    def sla_after(self, _events: object, _now: object) -> None:
        return None


def plan(count: int, seed: int = 7) -> list[Step]:
    """Every ticket's steps, in time order."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for n in range(count):
        at = START + YEAR * (n / count)
        agent = rng.choice(AGENTS)
        steps.append((at, n, "create", ""))
        if rng.random() < 0.9:
            at += timedelta(minutes=rng.expovariate(1 / 40))
            steps.append((at, n, "claim", agent))
            for _ in range(1 if rng.random() < 0.6 else 2):
                at += timedelta(minutes=rng.expovariate(1 / 90))
                steps.append((at, n, "reply", agent))
            if rng.random() < 0.85:
                at += timedelta(minutes=rng.expovariate(1 / 600))
                steps.append((at, n, "resolve", agent))
                if rng.random() < 0.08:
                    at += timedelta(hours=rng.uniform(1, 20))
                    steps.append((at, n, "reopen", ""))
                    at += timedelta(minutes=rng.expovariate(1 / 120))
                    steps.append((at, n, "resolve", agent))
    steps.sort()
    return steps


class Writer:
    """Runs the planned steps against a store, one ticket's steps in order."""

    def __init__(self, store: Store, seed: int = 11) -> None:
        self.store = store
        self.ids: dict[int, int] = {}
        self.rng = random.Random(seed)

    async def run(self, steps: list[Step]) -> None:
        for first in range(0, len(steps), IN_FLIGHT):
            by_ticket: dict[int, list[Step]] = defaultdict(list)
            for step in steps[first : first + IN_FLIGHT]:
                by_ticket[step[1]].append(step)
            await asyncio.gather(*[self._ticket(mine) for mine in by_ticket.values()])

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
        else:
            change = TicketChange(status=Status.RESOLVED, actor=Actor.agent(who))
            await self.store.update_ticket(self.ids[n], change, at)

    def _contact(self, at: datetime, n: int, what: str) -> Inbound:
        # one ticket in 20 is a customer of the last 30 tickets (hours ago) coming back
        source = n - 1 - (n * 7919) % 30 if n % 20 == 0 and n > 30 else n
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


async def measure(store: Store, runs: int) -> dict[str, tuple[float, float]]:
    year = Window(START, START + YEAR)
    month = Window(START + timedelta(days=180), START + timedelta(days=210))
    day = Window(START + timedelta(days=200), START + timedelta(days=201))
    zone = ZoneInfo("America/New_York")

    async def summary(window: Window) -> object:
        return summarize(await read_report(store, window, calendar_seconds))

    async def daily() -> object:
        report = await read_report(store, year, calendar_seconds)
        return volume(report, Grouping.DAY, Key.CHANNEL, zone)

    async def drill() -> object:
        return behind(await read_report(store, day, calendar_seconds), Metric.FIRST_RESPONSE)

    async def daily_series() -> object:
        # What GET /api/reports/volume does now: the volume rows with their first responses
        # and SLA met (a second fold over the same events), and the totals a day.
        sla = SlaLedger(year)
        report = await read_report(store, year, calendar_seconds, sla.add)
        rows = series(report, sla, lambda *_: True, Grouping.DAY, Key.CHANNEL, zone)
        return rows, series(report, sla, lambda *_: True, Grouping.DAY, None, zone)

    async def today_by_queue() -> object:
        # The supervisor's live queues: one day's series by queue, read on every burst.
        sla = SlaLedger(day)
        report = await read_report(store, day, calendar_seconds, sla.add)
        return series(report, sla, lambda *_: True, Grouping.DAY, Key.QUEUE, zone)

    return {
        "12-month summary": await timed(runs, lambda: summary(year)),
        "12-month daily volume": await timed(runs, daily),
        "1-month summary": await timed(runs, lambda: summary(month)),
        "1-day drill-down": await timed(runs, drill),
        "12-month daily series+SLA": await timed(runs, daily_series),
        "1-day series by queue": await timed(runs, today_by_queue),
    }


async def bench(url: str, count: int, runs: int) -> None:
    store = open_store(url)
    await store.open()
    try:
        started = time.perf_counter()
        await Writer(store).run(plan(count))
        events = await store.last_event_seq()
        print(
            f"  generated {count} tickets, {events} events in {time.perf_counter() - started:.0f} s"
        )
        figures = summarize(await read_report(store, Window(START, START + YEAR), calendar_seconds))
        print(f"  created {figures.created}, resolved {figures.resolved}, "
              f"first response p50 {figures.first_response.p50} s, "
              f"repeat contact {figures.repeat_contact.percent} %")  # fmt: skip
        for name, (p50, worst) in (await measure(store, runs)).items():
            print(f"  {name:24} p50 {p50:6.2f} s   max {worst:6.2f} s")
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "redis"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "redis":
            print("SQLite (WAL, synchronous=normal)")
            await bench(f"sqlite:///{tmp}/reports.db?synchronous=normal", args.tickets, args.runs)
        if args.only != "sqlite":
            process, port = start_redis(Path(tmp), "everysec")
            try:
                print("Redis (AOF everysec)")
                await bench(f"redis://127.0.0.1:{port}/0", args.tickets, args.runs)
            finally:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    asyncio.run(main())
