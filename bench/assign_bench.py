"""Offers under load: ticket arrival -> offer, a backlog drained when agents come online, and
two hubs on one Redis with every assignment audited.

    .venv/bin/python -m bench.assign_bench [--store sqlite|redis] [--hubs 1|2]
        [--agents 100] [--backlog 10000] [--rate 50] [--seconds 20]

Runs real `contacthub serve` processes (SQLite WAL synchronous=FULL, or its own redis-server
with AOF `always`), with one queue whose tickets are offered (least_loaded, 60 s offer timeout):

    drain    `--backlog` signed forms wait while every agent is offline; then 20 agents come
             online at once: the time until each of them holds an offer.
    arrival  all agents online (form capacity 3), forms arriving at `--rate` per second for
             `--seconds`, through the hubs in turn; a desk process accepts every offer (as its
             agent, through any hub) and resolves each ticket 1-3 s later. Arrival -> offer is
             the ticket's `created` event to its first `offered` event on its record.

Afterwards the record of every ticket is replayed (core/holdings.py): double assignments and
agents above capacity are counted (both must be 0), and every acknowledged form is a ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.support import free_port
from bench.webhook_bench import SECRET
from channels.base import hmac_sha256_hex
from core.holdings import replay
from core.model import Role, Ticket, TicketFilter
from core.people import AgentChange
from core.record import EventKind
from hub.tokens import digest, new_secret
from storage.base import Store, open_store

RULES = """
queues:
  support:
    kind: inbound
    tier: 1
    assign: {policy: least_loaded, offer_timeout: 60s}
default: {queue: support}
"""
CAPACITY = 3


def config(directory: Path, url: str, port: int, rules: Path) -> Path:
    path = directory / f"hub-{port}.toml"
    path.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "{url}"\n[routing]\nrules = "{rules}"\n'
        f'[channels.webform]\nsecret = "{SECRET}"\n[logging]\nlevel = "warning"\n'
        "[agents]\noffer_tick = 1.0\n",
        encoding="utf-8",
    )
    return path


@asynccontextmanager
async def hubs(directory: Path, url: str, count: int) -> AsyncIterator[list[str]]:
    rules = directory / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    processes, bases = [], []
    for _ in range(count):
        port = free_port()
        command = [sys.executable, "-m", "hub.cli", "serve", "--workers", "1", "--config"]
        command.append(str(config(directory, url, port, rules)))
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))  # noqa: ASYNC220  # started once, before the load
        bases.append(f"http://127.0.0.1:{port}")
    try:
        async with aiohttp.ClientSession() as http:
            for base in bases:
                await ready(http, base)
        yield bases
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)


async def ready(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(400):
        try:
            async with http.get(base + "/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit(f"{base} did not start")


@asynccontextmanager
async def redis_server(directory: Path) -> AsyncIterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: run scripts/setup --test-services")
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220  # started once, before the load
        [binary, "--port", str(port), "--dir", str(directory), "--appendonly", "yes",
         "--appendfsync", "always", "--save", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.3)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


async def seed(url: str, agents: int) -> tuple[dict[str, str], str]:
    """Agents (offline, form capacity 3) with a token each, and a supervisor's token."""
    store = open_store(url)
    await store.open()
    try:
        now = datetime.now(UTC)
        secrets = {}
        for n in range(agents):
            name = f"agent{n:03d}"
            change = AgentChange(roles=frozenset({Role.AGENT}), capacity={"form": CAPACITY})
            await store.put_agent(name, change, now)
            secrets[name] = new_secret()
            await store.add_token(name, None, digest(secrets[name]), now)
        boss = new_secret()
        await store.add_token("boss", Role.SUPERVISOR, digest(boss), now)
        return secrets, boss
    finally:
        await store.close()


def form(n: int) -> tuple[bytes, dict[str, str]]:
    body = (
        f'{{"external_id": "a{n}", "email": "c{n}@example.com", "name": "Customer {n}", '
        '"subject": "Order", "message": "Where is my order?"}'
    ).encode()
    signature = "sha256=" + hmac_sha256_hex(SECRET.encode(), body)
    return body, {"X-Contacthub-Signature": signature, "Content-Type": "application/json"}


async def submit(http: aiohttp.ClientSession, base: str, n: int) -> bool:
    body, headers = form(n)
    async with http.post(base + "/webhooks/form", data=body, headers=headers) as response:
        return response.status in (200, 201)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def presence(http: aiohttp.ClientSession, base: str, secret: str, status: str) -> None:
    path = base + "/api/agents/me/presence"
    async with http.post(path, json={"status": status}, headers=bearer(secret)) as response:
        assert response.status == 200, await response.text()


async def open_offers(http: aiohttp.ClientSession, base: str, boss: str) -> list[dict[str, Any]]:
    async with http.get(base + "/api/offers?agent=all", headers=bearer(boss)) as response:
        items: list[dict[str, Any]] = (await response.json())["items"]
        return items


async def drain(bases: list[str], secrets: dict[str, str], boss: str, backlog: int) -> None:
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        acked = await in_flight(http, bases, range(backlog), 32)
        print(f"backlog: {acked:,} forms acknowledged in {time.perf_counter() - started:.1f} s")
        chosen = list(secrets.items())[:20]
        t0 = time.perf_counter()
        await asyncio.gather(
            *(presence(http, bases[i % len(bases)], s, "online") for i, (_, s) in enumerate(chosen))
        )
        online = time.perf_counter() - t0
        while True:
            holders = {o["agent"] for o in await open_offers(http, bases[0], boss)}
            if len(holders) >= 20 or time.perf_counter() - t0 > 30:
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        print(
            f"drain: 20 agents online (the 20 calls took {online * 1000:.0f} ms); "
            f"{len(holders)} of them hold an offer {elapsed * 1000:.0f} ms after the first call"
        )


async def in_flight(
    http: aiohttp.ClientSession, bases: list[str], numbers: range, width: int
) -> int:
    queue = iter(numbers)
    acked = 0

    async def worker(w: int) -> None:
        nonlocal acked
        for n in queue:
            ok = await submit(http, bases[(n + w) % len(bases)], n)
            acked += ok

    await asyncio.gather(*(worker(w) for w in range(width)))
    return acked


async def arrival(
    bases: list[str], secrets: dict[str, str], boss: str, rate: float, seconds: float
) -> int:
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(
            *(
                presence(http, bases[i % len(bases)], s, "online")
                for i, s in enumerate(secrets.values())
            )
        )
        stop = asyncio.Event()
        desk = asyncio.create_task(work_offers(http, bases, secrets, boss, stop))
        acked, n, t0 = 0, 100_000, time.perf_counter()
        pending = []
        while time.perf_counter() - t0 < seconds:
            pending.append(asyncio.create_task(submit(http, bases[n % len(bases)], n)))
            n += 1
            await asyncio.sleep(max(0.0, t0 + (n - 100_000) / rate - time.perf_counter()))
        acked = sum(await asyncio.gather(*pending))
        await asyncio.sleep(3)
        stop.set()
        await desk
        return acked


async def work_offers(
    http: aiohttp.ClientSession,
    bases: list[str],
    secrets: dict[str, str],
    boss: str,
    stop: asyncio.Event,
) -> None:
    """Every open offer accepted by its agent; the ticket resolved 1-3 s later."""
    rng = random.Random(7)
    seen: set[int] = set()
    resolving: list[tuple[float, str, int]] = []
    while not stop.is_set():
        base = rng.choice(bases)
        for offer in await open_offers(http, base, boss):
            if offer["id"] in seen:
                continue
            seen.add(offer["id"])
            path = f"{rng.choice(bases)}/api/offers/{offer['id']}/accept"
            async with http.post(path, headers=bearer(secrets[offer["agent"]])) as response:
                if response.status == 200:
                    due = time.perf_counter() + rng.uniform(1, 3)
                    resolving.append((due, offer["agent"], offer["ticket_id"]))
        now = time.perf_counter()
        for _, agent, ticket in [r for r in resolving if r[0] <= now]:
            path = f"{rng.choice(bases)}/api/tickets/{ticket}"
            async with http.patch(
                path, json={"status": "resolved"}, headers=bearer(secrets[agent])
            ) as response:
                await response.read()
        resolving = [r for r in resolving if r[0] > now]
        await asyncio.sleep(0.02)


async def audit(url: str, agents: dict[str, str], *, latency: bool) -> None:
    store: Store = open_store(url)
    await store.open()
    try:
        tickets: list[Ticket] = []
        cursor = None
        while True:
            page = await store.list_tickets(TicketFilter(), limit=500, cursor=cursor)
            tickets += page.items
            if page.next is None:
                break
            cursor = page.next
        events = {t.id: await store.ticket_events(t.id) for t in tickets}
        waits = []
        for record in events.values():
            created = next(e for e in record if e.kind is EventKind.CREATED)
            offered = next((e for e in record if e.kind is EventKind.OFFERED), None)
            if offered is not None:
                waits.append((offered.at - created.at).total_seconds() * 1000)
        found = replay([e for r in events.values() for e in r], {t.id: t.channel for t in tickets})
        over = found.over({name: {"form": CAPACITY} for name in agents})
        print(f"tickets stored: {len(tickets):,}; offered at least once: {len(waits):,}")
        if latency and len(waits) > 1:
            q = statistics.quantiles(waits, n=100, method="inclusive")
            print(
                f"arrival -> offer: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(waits):.1f} ms"
            )
        print(f"double assignments: {len(found.double_assignments)}; over capacity: {len(over)}")
    finally:
        await store.close()


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for phase in ("drain", "arrival"):
            directory = Path(tmp) / phase
            directory.mkdir()
            async with store_url(args.store, directory) as url:
                secrets, boss = await seed(url, args.agents)
                async with hubs(directory, url, args.hubs) as bases:
                    print(f"== {phase}: {args.hubs} hub(s) on {args.store}, {args.agents} agents")
                    if phase == "drain":
                        await drain(bases, secrets, boss, args.backlog)
                    else:
                        acked = await arrival(bases, secrets, boss, args.rate, args.seconds)
                        print(f"arrival: {acked:,} forms acknowledged at {args.rate:g}/s")
                await audit(url, secrets, latency=phase == "arrival")


@asynccontextmanager
async def store_url(kind: str, directory: Path) -> AsyncIterator[str]:
    if kind == "redis":
        async with redis_server(directory) as url:
            yield url
    else:
        yield f"sqlite:///{directory / 'hub.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--hubs", type=int, default=1)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
