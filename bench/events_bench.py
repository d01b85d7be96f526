"""Live events fanned out: commit -> SSE client latency with many clients on one hub.

    .venv/bin/python -m bench.events_bench [--clients 200] [--rate 1000] [--seconds 10]
                                           [--sampled 10]

Starts its own redis-server and one `contacthub serve` on it, opens `--clients` streams of
`GET /api/events` on the hub, and has a writer process commit notes through the Store at
`--rate` events a second (Redis wakes the hub's feed with XREAD BLOCK). Each client takes
the time an event reached it minus the event's `at` (the writer's clock when it asked for
the commit, on the same machine): p50, p99 and max, and the events every client received
(each must get all of them, in order, once). The clients run in this process, so on a small
machine they compete with the hub and the writer for the CPU: the figures are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.redis_bench import start_redis
from bench.support import free_port
from bench.webhook_bench import wait_ready
from core.model import CustomerFacts, Decision, Identity, Inbound, Role, ThreadPolicy
from core.record import Actor
from hub.tokens import digest, new_secret
from storage.base import open_store
from storage.redis.store import RedisStore

TICKETS = 50
WAVE = 25
"""Streams opened at a time: each opening reads the store a few times, and 200 at once
exceed the Redis client's pool (64 connections): they would be answered 503."""


class Client:
    """One stream. A sampled one parses every event (its latency, its numbers); the others
    only count the events' ids in what they read, so the clients' parsing does not starve the
    hub of the CPU they share."""

    def __init__(self, sampled: bool) -> None:
        self.sampled = sampled
        self.latencies: list[float] = []
        self.seqs: list[int] = []
        self.count = 0
        self.ready = asyncio.Event()

    async def follow(self, http: aiohttp.ClientSession, auth: dict[str, str]) -> None:
        async with http.get("/api/events", headers=auth, timeout=aiohttp.ClientTimeout()) as r:
            self.ready.set()
            if not self.sampled:
                async for chunk in r.content.iter_any():
                    self.count += chunk.count(b"\nid: ") + chunk.startswith(b"id: ")
                return
            async for raw in r.content:
                if raw.startswith(b'data: {"seq"'):
                    now = time.time()
                    data = json.loads(raw[6:])
                    self.seqs.append(data["seq"])
                    self.count += 1
                    at = datetime.fromisoformat(data["at"].replace("Z", "+00:00"))
                    self.latencies.append(now - at.timestamp())


def write(url: str, rate: int, seconds: float, ticket_ids: list[int]) -> None:
    """The writer process: notes at `rate` a second, a few at a time, for `seconds`."""
    asyncio.run(_write(url, rate, seconds, ticket_ids))


async def _write(url: str, rate: int, seconds: float, ticket_ids: list[int]) -> None:
    store = open_store(url)
    await store.open()
    ann, tick, n = Actor.agent("ann"), 0.01, 0
    started = time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            due = min(int(elapsed * rate) - n, 256)  # more in flight would empty the pool
            notes = [store.add_note(ticket_ids[(n + i) % len(ticket_ids)], "bench", ann,
                                    datetime.now(UTC)) for i in range(due)]  # fmt: skip
            n += due
            await asyncio.gather(*notes)
            await asyncio.sleep(tick)
    finally:
        await store.close()


async def prepare(url: str) -> tuple[list[int], str]:
    store = RedisStore(url)
    await store.open()
    try:
        ids = []
        for n in range(TICKETS):
            contact = Inbound(channel="form", external_id=f"b{n}", text="hello",
                              sender=Identity("email", f"c{n}@example.com"),
                              received_at=datetime.now(UTC))  # fmt: skip
            ids.append((await store.commit_inbound(contact, _Router(), _POLICY)).ticket_id)
        secret = new_secret()
        await store.add_token("bench", Role.SUPERVISOR, digest(secret), datetime.now(UTC))
        return ids, secret
    finally:
        await store.close()


class _Router:
    needs_history = False

    def decide(self, _contact: Inbound, _facts: CustomerFacts) -> Decision:
        return Decision("general")

    def sla_after(self, _events: object, _now: object) -> None:
        return None


_POLICY = ThreadPolicy({}, timedelta(0))


async def run(args: argparse.Namespace, workdir: Path) -> None:
    process, redis_port = start_redis(workdir, "everysec")
    url = f"redis://127.0.0.1:{redis_port}/0"
    port = free_port()
    config = workdir / "contacthub.toml"
    config.write_text(f'[server]\nport = {port}\n[storage]\nurl = "{url}"\n'
                      '[logging]\nlevel = "error"\n', encoding="utf-8")  # fmt: skip
    command = [sys.executable, "-m", "hub.cli", "serve", "--config", str(config)]
    hub = await asyncio.to_thread(
        subprocess.Popen, command, env=dict(os.environ), stdout=subprocess.DEVNULL
    )
    try:
        await asyncio.to_thread(wait_ready, port, hub)
        ticket_ids, secret = await prepare(url)
        before = await last_seq(url)
        auth = {"Authorization": f"Bearer {secret}"}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as http:
            every = max(1, args.clients // args.sampled)
            clients = [Client(n % every == 0) for n in range(args.clients)]
            tasks = []
            for first in range(0, len(clients), WAVE):  # 200 at once would empty the pool
                wave = clients[first : first + WAVE]
                tasks += [asyncio.create_task(c.follow(http, auth)) for c in wave]
                await asyncio.gather(*(c.ready.wait() for c in wave))
            writer = multiprocessing.get_context("spawn").Process(
                target=write, args=(url, args.rate, args.seconds, ticket_ids)
            )
            writer.start()
            await asyncio.to_thread(writer.join)
            total = await last_seq(url) - before
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(c.count < total for c in clients):  # noqa: ASYNC110  # counters, no event to wait on
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            report(args, clients, total)
    finally:
        hub.terminate()
        hub.wait(timeout=30)
        process.terminate()
        process.wait()


async def last_seq(url: str) -> int:
    store = open_store(url)
    await store.open()
    try:
        return await store.last_event_seq()
    finally:
        await store.close()


def report(args: argparse.Namespace, clients: list[Client], total: int) -> None:
    latencies = sorted(x for c in clients for x in c.latencies)
    whole = sum(c.count == total for c in clients)
    ordered = sum(c.seqs == sorted(set(c.seqs)) for c in clients if c.sampled)
    print(f"{args.clients} clients, {args.rate} events/s asked for {args.seconds:.0f} s: {total} "
          f"events ({total / args.seconds:.0f}/s), {whole}/{len(clients)} clients got them all "
          f"({ordered} sampled clients in order, once)")  # fmt: skip
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        print(f"commit -> client ({len(latencies)} samples): "
              f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sampled", type=int, default=10, help="clients timing every event")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
