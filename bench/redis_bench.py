"""Ingest through the Store on Redis and on SQLite in the same run; round trips; memory.

    .venv/bin/python -m bench.redis_bench [--contacts 10000] [--in-flight 64]

Starts its own redis-server (a temporary directory, a free port, AOF on, no RDB), once with
`appendfsync everysec` and once with `always`, and runs the same phases through the Store
directly (no HTTP), 64 contacts in flight, on each and on SQLite (WAL, synchronous=FULL):

    new          first contacts of new customers (a new customer, ticket and message)
    known+hist   a known customer's new ticket, rules that read customer history
    known        a known customer's new ticket, rules that do not
    appended     a follow-up threaded by the reopen window
    duplicate    provider retries of the first contacts

RulesRouter is the real router: config/rules.example.yaml (it reads `customer.tags`) and, for
`known`, the same file without its history rules. Round trips are the commands our client
sent (EVALSHA, EVAL, SCRIPT LOAD, MULTI) from INFO commandstats before and after a phase;
commands run inside the scripts are counted apart. Memory per ticket is INFO used_memory
before and after a phase, divided by the tickets it made.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import yaml
from redis.asyncio import Redis

from bench.support import free_port
from core.model import Identity, Inbound, Router, ThreadPolicy
from router import load_ruleset
from storage.base import Store, open_store
from storage.redis.store import RedisStore

RULES = Path(__file__).resolve().parent.parent / "config" / "rules.example.yaml"
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(hours=24))
SENT = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_script|load", "cmdstat_multi")
BODY = "Hello, I have a question about my order number 1042 and the invoice I got, thanks!"


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    contacts: list[Inbound]
    router: Router
    policy: ThreadPolicy
    tickets: int


@dataclass(frozen=True, slots=True)
class Figures:
    rate: float
    round_trips: float | None = None
    writes: float | None = None
    inner_commands: float | None = None
    bytes_per_ticket: float | None = None


def contact(n: int, external_id: str, minutes: float) -> Inbound:
    """A form contact of customer `n`."""
    return Inbound(
        channel="form", external_id=external_id,
        sender=Identity("email", f"customer{n}@example.com"), text=BODY,
        received_at=T0 + timedelta(minutes=minutes), sender_name=f"Customer {n}",
        subject="Order question",
    )  # fmt: skip


def routers() -> tuple[Router, Router]:
    """The example rules, and the same rules without those that read customer history."""
    source = RULES.read_text(encoding="utf-8")
    with_history = load_ruleset(source, str(RULES))
    doc = yaml.safe_load(source)
    doc["rules"] = [r for r in doc["rules"] if "customer." not in str(r.get("when", ""))]
    without = load_ruleset(yaml.safe_dump(doc), "rules without history")
    if not with_history.needs_history or without.needs_history:
        raise SystemExit("the example rules changed: pick rules with and without history")
    return with_history, without


def phases(count: int) -> list[Phase]:
    history, plain = routers()
    ids = range(count)
    return [
        Phase("new", [contact(n, f"a{n}", 0) for n in ids], history, NO_WINDOW, count),
        Phase("known+hist", [contact(n, f"b{n}", 1) for n in ids], history, NO_WINDOW, count),
        Phase("known", [contact(n, f"c{n}", 2) for n in ids], plain, NO_WINDOW, count),
        Phase("appended", [contact(n, f"d{n}", 3) for n in ids], history, DAY_WINDOW, 0),
        Phase("duplicate", [contact(n, f"a{n}", 0) for n in ids], history, NO_WINDOW, 0),
    ]


async def run_phase(store: Store, phase: Phase, in_flight: int) -> float:
    """Contacts per second with `in_flight` ingests outstanding at any time."""
    queue = iter(phase.contacts)

    async def worker() -> None:
        for item in queue:
            await store.commit_inbound(item, phase.router, phase.policy)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return len(phase.contacts) / (time.perf_counter() - started)


class RedisProbe:
    """INFO counters of the benchmark's redis-server."""

    def __init__(self, port: int) -> None:
        self.client = redis.Redis(port=port, decode_responses=True)

    def counters(self) -> tuple[int, int, int]:
        stats: dict[str, Any] = self.client.info("commandstats")
        sent = sum(int(stats.get(name, {}).get("calls", 0)) for name in SENT)
        total = sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")
        memory = int(self.client.info("memory")["used_memory"])
        return sent, total - sent, memory


def start_redis(directory: Path, fsync: str) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: run scripts/setup --test-services")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "yes", "--appendfsync", fsync, "--dir", str(directory), "--logfile", "redis.log"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):
        try:
            redis.Redis(port=port).ping()
            return process, port
        except redis.ConnectionError:
            time.sleep(0.02)
    raise SystemExit("redis-server did not start")


async def bench_redis(fsync: str, count: int, in_flight: int) -> dict[str, Figures]:
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_redis(Path(tmp), fsync)
        try:
            return await _measure_redis(port, count, in_flight)
        finally:
            process.terminate()
            process.wait()


async def _measure_redis(port: int, count: int, in_flight: int) -> dict[str, Figures]:
    store = RedisStore(f"redis://127.0.0.1:{port}/0?max_connections={in_flight}")
    await store.open()
    probe = RedisProbe(port)
    results = {}
    try:
        for phase in phases(count):
            sent, inner, memory = probe.counters()
            writes = store.pipelines_sent
            rate = await run_phase(store, phase, in_flight)
            sent2, inner2, memory2 = probe.counters()
            per_ticket = (memory2 - memory) / phase.tickets if phase.tickets else None
            n = len(phase.contacts)
            results[phase.name] = Figures(
                rate, (sent2 - sent) / n, (store.pipelines_sent - writes) / n,
                (inner2 - inner) / n, per_ticket,
            )  # fmt: skip
        results["bare insert"] = Figures(await bare_insert(port, count, in_flight))
    finally:
        await store.close()
    return results


BARE_INSERT = """
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', '{ch}:bare:' .. id, 'queue', ARGV[1], 'status', 'new', 'body', ARGV[2])
return id
"""


async def bare_insert(port: int, count: int, in_flight: int) -> float:
    """The reference: an atomic Lua 'ticket insert' called with `in_flight` outstanding."""
    client = Redis(port=port, max_connections=in_flight)
    script = client.register_script(BARE_INSERT)
    left = iter(range(count))

    async def worker() -> None:
        for _ in left:
            await script(keys=["{ch}:bare"], args=["general", BODY])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    rate = count / (time.perf_counter() - started)
    await client.aclose()
    return rate


async def bench_sqlite(count: int, in_flight: int) -> dict[str, Figures]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await store.open()
        try:
            return {p.name: Figures(await run_phase(store, p, in_flight)) for p in phases(count)}
        finally:
            await store.close()


def _hub_process(url: str, index: int, count: int, in_flight: int, barrier: Any, out: Any) -> None:
    """One hub's share of first contacts (its own customers), timed from a common start."""

    async def run() -> tuple[float, float]:
        store = open_store(url)
        await store.open()
        history, _ = routers()
        ids = range(index * count, (index + 1) * count)
        phase = Phase("new", [contact(n, f"a{n}", 0) for n in ids], history, NO_WINDOW, count)
        await asyncio.to_thread(barrier.wait)
        started = time.time()
        await run_phase(store, phase, in_flight)
        ended = time.time()
        await store.close()
        return started, ended

    out.put(asyncio.run(run()))


def hubs_rate(url: str, processes: int, count: int, in_flight: int) -> float:
    """First contacts per second of `processes` hub processes sharing one store."""
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_hub_process, args=(url, i, count, in_flight, barrier, out))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    spans: list[tuple[float, float]] = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return processes * count / (max(e for _, e in spans) - min(s for s, _ in spans))


def scale_out(processes: int, count: int, in_flight: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        server, port = start_redis(Path(tmp), "everysec")
        try:
            url = f"redis://127.0.0.1:{port}/0"
            on_redis = hubs_rate(url, processes, count, in_flight)
        finally:
            server.terminate()
            server.wait()
        on_sqlite = hubs_rate(f"sqlite:///{Path(tmp) / 'hubs.db'}", processes, count, in_flight)
    yield f"{processes} hub processes, first contacts, {count:,} each, {in_flight} in flight each"
    yield f"{'redis everysec':<16}{on_redis:>10,.0f} /s"
    yield f"{'sqlite FULL':<16}{on_sqlite:>10,.0f} /s"


def table(runs: dict[str, dict[str, Figures]]) -> Iterator[str]:
    yield f"{'phase':<12}" + "".join(f"{name:>22}" for name in runs)
    for phase in next(iter(runs.values())):
        if phase != "bare insert":
            yield f"{phase:<12}" + "".join(f"{r[phase].rate:>18,.0f} /s " for r in runs.values())
    redis_runs = {k: v for k, v in runs.items() if k.startswith("redis")}
    first = next(iter(redis_runs.values()))
    yield f"{'bare insert':<12}" + "".join(
        f"{r['bare insert'].rate:>18,.0f} /s " if "bare insert" in r else f"{'':>22}"
        for r in runs.values()
    )
    yield ""
    yield "per ingest     commands   writes   cmds in script   bytes/ticket"
    for phase, figures in first.items():
        if figures.round_trips is None:
            continue
        memory = "" if figures.bytes_per_ticket is None else f"{figures.bytes_per_ticket:,.0f}"
        yield (
            f"{phase:<12}{figures.round_trips:>11.2f}{figures.writes or 0:>9.3f}"
            f"{figures.inner_commands or 0:>17.1f}{memory:>15}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts per phase")
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2, help="hubs sharing one store")
    args = parser.parse_args()
    runs = {
        "redis everysec": await bench_redis("everysec", args.contacts, args.in_flight),
        "redis always": await bench_redis("always", args.contacts, args.in_flight),
        "sqlite FULL": await bench_sqlite(args.contacts, args.in_flight),
    }
    print(f"{args.contacts:,} contacts per phase, {args.in_flight} in flight, one process")
    for line in table(runs):
        print(line)
    print()
    for line in scale_out(args.processes, args.contacts, args.in_flight):
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
