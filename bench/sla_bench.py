"""The SLA watcher with 100,000 open tickets on clocks: its cost at idle, and how late it acts.

    .venv/bin/python -m bench.sla_bench [--store sqlite|redis|both] [--tickets 100000]
        [--deadlines 1000] [--spread 10] [--idle 10]

For each store (SQLite WAL synchronous=FULL in a temporary file; or its own redis-server, AOF
`everysec`), through the Store directly (no HTTP), with the real rules router:

    load      `--tickets` new tickets, each of a new customer, in a queue whose first response
              is due in 30 days and resolution in 90: every ticket has running clocks, and its
              marks and four deadlines come with its commit (no watcher needed to make them)
    idle      one SlaWatcher (hub/desk/sla_watch.py, its 1 s rounds) runs in this process with
              nothing due and no new event, for `--idle` seconds: the process's CPU time (and
              redis-server's) over that time, per second of wall time
    latency   `--deadlines` tickets more, in a queue whose first response is due in 30 s,
              their contacts dated so that their breaches fall evenly over `--spread`
              seconds from 6 s on (warnings at 90%, 3 s before each); the watcher acts on each:
              deadline -> the `sla_breach` event's time on the record, p50/p99/max (and the
              same for the warnings)

The watcher is the one hubs run; its checkpoint starts at the newest event of the load (what
it would have followed then, the commits already did).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from bench.redis_bench import start_redis
from core.model import Identity, Inbound, ThreadPolicy
from core.record import EventKind, TicketEvent
from hub.desk.sla_watch import CHECKPOINT, SlaWatcher
from hub.metrics import Metrics
from hub.rules.routing import Rules, RulesRouter
from router import load_ruleset
from storage.base import Store, open_store

RULES = """
queues:
  general: {sla: {first_response: 30d, resolution: 90d}}
  fast: {sla: {first_response: 30s, warn_at: 90%}}
rules:
  - name: fast
    when: {body: {contains: fast}}
    then: {queue: fast}
default: {queue: general}
"""
TARGET = timedelta(seconds=30)
NO_THREADS = ThreadPolicy({}, timedelta(0))
IN_FLIGHT = 64


def contact(n: int, text: str, at: datetime) -> Inbound:
    return Inbound("form", f"b{n}", Identity("email", f"c{n}@example.com"), text, at)


async def commit_all(store: Store, router: RulesRouter, contacts: list[Inbound]) -> None:
    left = iter(contacts)

    async def worker() -> None:
        for inbound in left:
            await store.commit_inbound(inbound, router, NO_THREADS)

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


def cpu_of(pid: int | None) -> float:
    """CPU seconds (user + system) of a process: this one, or another by its /proc entry."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle_cost(seconds: float, server: int | None) -> tuple[float, float | None]:
    """CPU ms per second of this process (and of the server) while the watcher idles."""
    await asyncio.sleep(2)  # its first rounds
    mine, theirs, started = cpu_of(None), server and cpu_of(server), time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - started
    own = (cpu_of(None) - mine) / wall * 1000
    other = None if server is None or theirs is None else (cpu_of(server) - theirs) / wall * 1000
    return own, other


async def fired(store: Store, after: int, kind: EventKind, count: int) -> list[TicketEvent]:
    """The first `count` events of `kind` after `after`, waiting for them (up to a minute)."""
    found: list[TicketEvent] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events = await store.events_after(after, 1000)
        found += [e for e in events if e.kind is kind]
        if not events and len(found) >= count:
            return found
        if not events:
            await asyncio.sleep(0.2)
        else:
            after = events[-1].seq
    return found


def lateness(events: list[TicketEvent]) -> list[float]:
    return sorted(
        (e.at - datetime.fromisoformat(str(e.detail["due"]))).total_seconds() for e in events
    )


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    p99 = values[min(len(values) - 1, round(len(values) * 0.99) - 1)]
    return (
        f"p50 {statistics.median(values) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {values[-1] * 1000:.0f} ms (n={len(values)})"
    )


async def measure(store: Store, args: argparse.Namespace, server: int | None) -> None:
    router = RulesRouter(Rules(load_ruleset(RULES, "bench.yaml")))
    now = datetime.now(UTC)
    started = time.perf_counter()
    await commit_all(store, router, [contact(n, "hello", now) for n in range(args.tickets)])
    took = time.perf_counter() - started
    print(f"  load      {args.tickets} tickets with clocks in {took:.1f} s "
          f"({args.tickets / took:.0f}/s, deadlines and marks in each commit)")  # fmt: skip
    await store.set_checkpoint(CHECKPOINT, str(await store.last_event_seq()))
    watcher = SlaWatcher(store, router, Metrics(), lambda: datetime.now(UTC))
    task = asyncio.create_task(watcher.run())
    try:
        own, other = await idle_cost(args.idle, server)
        theirs = "" if other is None else f", redis-server {other:.2f} ms/s"
        print(f"  idle      watcher process {own:.2f} ms CPU per second{theirs}")
        await latency(store, router, args)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def latency(store: Store, router: RulesRouter, args: argparse.Namespace) -> None:
    after = await store.last_event_seq()
    first = datetime.now(UTC) + timedelta(seconds=6)  # the first breach, once all are made
    if args.spread > 20:
        raise SystemExit("--spread: up to 20 s (the contacts must be dated in the past)")
    step = args.spread / args.deadlines
    contacts = [
        contact(args.tickets + n, "fast please", first - TARGET + timedelta(seconds=n * step))
        for n in range(args.deadlines)
    ]
    await commit_all(store, router, contacts)
    breaches = await fired(store, after, EventKind.SLA_BREACH, args.deadlines)
    warnings = await fired(store, after, EventKind.SLA_WARNING, 1)  # all came before
    print(f"  latency   deadline -> breach recorded: {quantiles(lateness(breaches))}")
    print(f"            deadline -> warning recorded: {quantiles(lateness(warnings))}")


async def run_sqlite(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'sla.db'}")
        await store.open()
        try:
            await measure(store, args, None)
        finally:
            await store.close()


async def run_redis(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_redis(Path(tmp), "everysec")
        store = open_store(f"redis://127.0.0.1:{port}/0")
        await store.open()
        try:
            await measure(store, args, process.pid)
        finally:
            await store.close()
            process.terminate()
            process.wait()


RUNS: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, None]]] = {
    "sqlite": run_sqlite,
    "redis": run_redis,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "redis", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--deadlines", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.store != "sqlite" and shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed: run scripts/setup --test-services")
    for name in ("sqlite", "redis") if args.store == "both" else (args.store,):
        print(f"{name}:")
        asyncio.run(RUNS[name](args))


if __name__ == "__main__":
    main()
