"""Live events fanned out: commit -> SSE client latency with many clients on one hub.

    .venv/bin/python -m bench.events_bench [--clients 200] [--rate 1000] [--seconds 10]
                                           [--sampled 10] [--store redis|sqlite]
                                           [--profile FILE]

Redis (the default): starts its own redis-server and one `contacthub serve` on it, and a
writer process commits notes through the Store at `--rate` events a second (Redis wakes the
hub's feed with XREAD BLOCK). SQLite: the hub on a file, the writer in the hub's process (the
writer thread wakes the feed after each commit, as for the API's own writes; another
process's commits would be seen only when the feed looks, once a second). Either way
`--clients` streams of `GET /api/events` are opened at once. Each client takes the time an
event reached it minus the event's `at` (the writer's clock when it asked for the commit, on
the same machine): p50, p99 and max, and the events every client received (each must get
all of them, in order, once). The clients run in this process, so on a small machine they
compete with the hub and the writer for the CPU (their CPU seconds are printed with the
hub's, the writer's and redis-server's): the figures are an upper bound. `--profile FILE`
samples the hub with py-spy while the writer runs (collapsed stacks; `pip install -e
'.[bench]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.redis_bench import start_redis
from bench.support import free_port
from bench.webhook_bench import wait_ready
from core.model import CustomerFacts, Decision, Identity, Inbound, Role, ThreadPolicy
from core.record import Actor
from hub.app import build_app
from hub.cli.collector import settle as settle_collector
from hub.settings.tree import load_settings
from hub.state import STORE
from hub.tokens import digest, new_secret
from storage.base import Store, open_store

TICKETS = 1000
"""Tickets the notes go to, in turn: a hundred-odd notes each in a 10 s run, as a busy
desk's tickets have (the SLA watcher reads the whole record of each ticket it sees)."""
NO_TIMEOUT = aiohttp.ClientTimeout()


class Client:
    """One stream. Every client counts the events' ids in what it reads; a sampled one also
    takes each event's latency from its `id:` and `"at":` (no JSON parsing: the clients
    share the CPU with the hub, and must not starve it)."""

    def __init__(self, sampled: bool) -> None:
        self.sampled = sampled
        self.latencies: list[float] = []
        self.seqs: list[int] = []
        self.count = 0
        self.status = 0
        self.ready = asyncio.Event()

    async def follow(self, http: aiohttp.ClientSession, auth: dict[str, str]) -> None:
        try:
            async with http.get("/api/events", headers=auth, timeout=NO_TIMEOUT) as response:
                self.status = response.status
                self.ready.set()
                await self._read(response)
        finally:
            self.ready.set()  # refused or failed: counted as such

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        tail = b""  # an event (or an id's start) cut by the end of a chunk
        async for chunk in response.content.iter_any():
            now, data = time.time(), tail + chunk
            if not self.sampled:
                self.count += data.count(b"\nid: ")
                tail = data[-4:]  # shorter than "\nid: ": never counted twice
                continue
            *events, tail = data.split(b"\n\n")
            for event in events:
                self._time(event, now)

    def _time(self, event: bytes, now: float) -> None:
        if not event.startswith(b"id: "):
            return  # the retry field, a heartbeat, a queue depth
        seq = int(event[4 : event.index(b"\n")])
        start = event.index(b'"at":"') + 6
        at = datetime.fromisoformat(event[start : start + 24].decode().replace("Z", "+00:00"))
        self.seqs.append(seq)
        self.count += 1
        self.latencies.append(now - at.timestamp())


def write(url: str, rate: int, seconds: float, ticket_ids: list[int], cpu: Any) -> None:
    """The writer process: notes at `rate` a second, a few at a time, for `seconds`; its CPU
    seconds in `cpu` (a shared double)."""
    cpu.value = asyncio.run(_write(url, rate, seconds, ticket_ids))


def cpu_seconds(pid: int | None = None) -> float:
    """User and system CPU seconds of a process so far (this one without a pid; Linux)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _write(url: str, rate: int, seconds: float, ticket_ids: list[int]) -> float:
    store = open_store(url)
    await store.open()
    try:
        return await write_notes(store, rate, seconds, ticket_ids)
    finally:
        await store.close()


async def write_notes(store: Store, rate: int, seconds: float, ticket_ids: list[int]) -> float:
    """Notes at `rate` a second, a few at a time, for `seconds`; the CPU seconds it took
    this process meanwhile."""
    cpu, ann, tick, n = cpu_seconds(), Actor.agent("ann"), 0.01, 0
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = min(int(elapsed * rate) - n, 256)  # a bounded number in flight
        notes = [store.add_note(ticket_ids[(n + i) % len(ticket_ids)], "bench", ann,
                                datetime.now(UTC)) for i in range(due)]  # fmt: skip
        n += due
        await asyncio.gather(*notes)
        await asyncio.sleep(tick)
    return cpu_seconds() - cpu


def serve_and_write(config: str, conn: Connection) -> None:
    """The SQLite hub's process: the hub, and the writer in its event loop once the bench
    sends the tickets (another process's commits would reach the hub's feed only when it
    looks, once a second); then word that it is done."""
    asyncio.run(_serve_and_write(Path(config), conn))


async def _serve_and_write(config: Path, conn: Connection) -> None:
    settings = load_settings(config, dict(os.environ))
    app = build_app(settings)
    app.on_startup.append(settle_collector)  # as `contacthub serve` does
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.server.port).start()
    try:
        rate, seconds, ticket_ids = await asyncio.to_thread(conn.recv)
        await write_notes(app[STORE], rate, seconds, ticket_ids)
        conn.send("written")
        await asyncio.to_thread(conn.recv)  # until the bench is done
    finally:
        await runner.cleanup()


async def prepare(url: str) -> tuple[list[int], str]:
    store = open_store(url)
    await store.open()
    try:
        contacts = [Inbound(channel="form", external_id=f"b{n}", text="hello",
                            sender=Identity("email", f"c{n}@example.com"),
                            received_at=datetime.now(UTC)) for n in range(TICKETS)]  # fmt: skip
        results = await asyncio.gather(
            *(store.commit_inbound(contact, _Router(), _POLICY) for contact in contacts)
        )
        ids = [result.ticket_id for result in results]
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
    await (run_sqlite if args.store == "sqlite" else run_redis)(args, workdir)


async def run_redis(args: argparse.Namespace, workdir: Path) -> None:
    """`contacthub serve` on a redis-server of its own, the writer in a process of its own."""
    process, redis_port = start_redis(workdir, "everysec")
    url = f"redis://127.0.0.1:{redis_port}/0"
    port, config = hub_config(workdir, url)
    command = [sys.executable, "-m", "hub.cli", "serve", "--workers", "1", "--config", str(config)]
    hub = await asyncio.to_thread(
        subprocess.Popen, command, env=dict(os.environ), stdout=subprocess.DEVNULL
    )
    try:
        await asyncio.to_thread(wait_ready, port, hub)
        pids = {"hub": hub.pid, "redis": process.pid}
        await measure(args, port, url, pids, lambda ids: run_writer(url, args, ids))
    finally:
        hub.terminate()
        hub.wait(timeout=30)
        process.terminate()
        process.wait()


async def run_sqlite(args: argparse.Namespace, workdir: Path) -> None:
    """The hub on a SQLite file, with the writer in its own process (see serve_and_write)."""
    url = f"sqlite:///{workdir / 'hub.db'}"
    port, config = hub_config(workdir, url)
    ours, theirs = multiprocessing.Pipe()
    hub = multiprocessing.get_context("spawn").Process(
        target=serve_and_write, args=(str(config), theirs)
    )
    hub.start()
    try:
        await asyncio.to_thread(wait_serving, port, hub)

        def writer(ticket_ids: list[int]) -> None:
            ours.send((args.rate, args.seconds, ticket_ids))
            ours.recv()  # the writer's CPU is the hub's: one process

        pids = {"hub and writer": hub.pid or 0}  # started: it has a pid
        await measure(args, port, url, pids, writer)
        ours.send("done")
    finally:
        hub.join(timeout=30)
        hub.terminate()


def hub_config(workdir: Path, url: str) -> tuple[int, Path]:
    port = free_port()
    config = workdir / "contacthub.toml"
    config.write_text(f'[server]\nport = {port}\n[storage]\nurl = "{url}"\n'
                      '[logging]\nlevel = "error"\n', encoding="utf-8")  # fmt: skip
    return port, config


def wait_serving(port: int, hub: multiprocessing.process.BaseProcess) -> None:
    for _ in range(400):
        if not hub.is_alive():
            raise SystemExit(f"the hub exited with {hub.exitcode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the hub did not start")


async def measure(
    args: argparse.Namespace,
    port: int,
    url: str,
    pids: dict[str, int],
    writer: Callable[[list[int]], float | None],
) -> None:
    """Open the streams at once, run the writer (its CPU seconds, if a process of its own),
    wait for the clients to catch up, report. `pids` names the hub's process first."""
    ticket_ids, secret = await prepare(url)
    before = await last_seq(url)
    auth = {"Authorization": f"Bearer {secret}"}
    every = max(1, args.clients // args.sampled)
    clients = [Client(n % every == 0) for n in range(args.clients)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as http:
        tasks = [asyncio.create_task(c.follow(http, auth)) for c in clients]  # all at once
        await asyncio.gather(*(c.ready.wait() for c in clients))
        load = os.getloadavg()[0]
        cpu = {name: -cpu_seconds(pid) for name, pid in pids.items()} | {"clients": -cpu_seconds()}
        with sampled(args.profile, next(iter(pids.values())), args.seconds):
            writer_cpu = await asyncio.to_thread(writer, ticket_ids)
        if writer_cpu is not None:
            cpu["writer"] = writer_cpu
        for name, pid in pids.items():
            cpu[name] += cpu_seconds(pid)
        cpu["clients"] += cpu_seconds()
        total = await last_seq(url) - before
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(c.count < total for c in clients):  # noqa: ASYNC110  # counters, no event to wait on
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
    report(args, clients, total)
    spent = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
    print(f"CPU seconds while writing: {spent} ({os.cpu_count()} cores; "
          f"load average {load:.1f} before)")  # fmt: skip


@contextlib.contextmanager
def sampled(profile: Path | None, pid: int, seconds: float) -> Iterator[None]:
    """py-spy sampling the hub into `profile` (collapsed stacks) while the block runs."""
    if profile is None:
        yield
        return
    spy = Path(sys.executable).parent / "py-spy"
    command = [str(spy) if spy.exists() else "py-spy", "record", "--format", "raw",
               "--rate", "250", "-p", str(pid), "-d", str(int(seconds)),
               "-o", str(profile)]  # fmt: skip
    spying = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spying.wait(timeout=60)


def run_writer(url: str, args: argparse.Namespace, ticket_ids: list[int]) -> float:
    """The writer process, run to its end; its CPU seconds."""
    spawn = multiprocessing.get_context("spawn")
    cpu = spawn.Value("d", 0.0)
    writer = spawn.Process(target=write, args=(url, args.rate, args.seconds, ticket_ids, cpu))
    writer.start()
    writer.join()
    return float(cpu.value)


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
    answered = sum(c.status == 200 for c in clients)
    ordered = sum(c.seqs == sorted(set(c.seqs)) for c in clients if c.sampled)
    print(f"{args.clients} clients opened at once, {answered} answered 200; "
          f"{args.rate} events/s asked for {args.seconds:.0f} s: {total} "
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
    parser.add_argument("--store", choices=["redis", "sqlite"], default="redis")
    parser.add_argument("--profile", type=Path, help="py-spy's collapsed stacks of the hub")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
