"""The store's CPU per new contact: what the ingest's commit costs, robust on a loaded machine.

    .venv/bin/python -m bench.ingest_cpu [--contacts 20000] [--rounds 3] [--only sqlite|redis]
                                         [--in-flight 64]

New customers' first contacts (a customer, a ticket, a message and its events, and with the
reports' rollups their tally and cells) through `Store.commit_inbound`, 64 in flight (a busy
hub's group commits; `--in-flight 2` gives the few contacts a commit of ordinary load); then
each of those tickets worked: claimed, answered and resolved (three commits). SQLite
(a file, WAL, synchronous=normal, so the disk's fsync is not what is measured) runs in this
process: the figure is this process's CPU per contact. Redis: the figure is redis-server's CPU
per contact (INFO's used_cpu_user + used_cpu_sys before and after), the scripts' cost; the
client's is printed beside it. Run it on two revisions, alternated, to compare them
(`PYTHONPATH=<other checkout> .venv/bin/python -m bench.ingest_cpu`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from bench.redis_bench import start_redis
from core.model import Decision, Identity, Inbound, Priority, Status, ThreadPolicy, TicketChange
from core.record import Actor
from storage.base import Store, open_store

IN_FLIGHT = 64
NO_WINDOW = ThreadPolicy({}, timedelta(0))
T0 = datetime(2026, 6, 1, tzinfo=UTC)


class Routed:
    needs_history = False

    def decide(self, contact: Inbound, _facts: object) -> Decision:
        return Decision("general", Priority.NORMAL, rule="bench")

    def sla_after(self, _events: object, _now: object) -> None:
        return None


def contact(n: int, tag: str) -> Inbound:
    return Inbound(
        channel="email", external_id=f"{tag}-{n}", sender=Identity("email", f"{tag}{n}@x.org"),
        text="Hello, a question about my order", received_at=T0 + timedelta(seconds=n),
        subject="Order",
    )  # fmt: skip


async def ingest(store: Store, count: int, tag: str, in_flight: int = IN_FLIGHT) -> list[int]:
    router, numbers, made = Routed(), iter(range(count)), []

    async def worker() -> None:
        for n in numbers:
            result = await store.commit_inbound(contact(n, tag), router, NO_WINDOW)
            made.append(result.ticket_id)

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return made


async def work(store: Store, tickets: list[int], in_flight: int = IN_FLIGHT) -> None:
    """Each ticket claimed, answered and resolved: three commits."""
    pending = iter(tickets)

    async def worker() -> None:
        for ticket_id in pending:
            at = T0 + timedelta(days=1)
            claim = TicketChange(status=Status.OPEN, assignee="ann", actor=Actor.agent("ann"))
            await store.update_ticket(ticket_id, claim, at)
            await store.append_outbound(ticket_id, "Thanks, done.", "ann", at)
            done = TicketChange(status=Status.RESOLVED, actor=Actor.agent("ann"))
            await store.update_ticket(ticket_id, done, at + timedelta(minutes=5))

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def server_cpu(port: int) -> float:
    info = redis.Redis(port=port).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def sqlite_round(
    directory: Path, count: int, n: int, in_flight: int = IN_FLIGHT
) -> tuple[float, float]:
    """CPU per new contact, and per ticket worked (claim, reply, resolve)."""
    store = open_store(f"sqlite:///{directory}/cpu{n}.db?synchronous=normal")
    await store.open()
    try:
        await ingest(store, 1000, f"warm{n}")
        started = time.process_time()
        made = await ingest(store, count, f"r{n}", in_flight)
        middle = time.process_time()
        await work(store, made, in_flight)
        return (middle - started) / count, (time.process_time() - middle) / count
    finally:
        await store.close()


async def redis_round(port: int, count: int, n: int) -> tuple[float, float, float]:
    """redis-server's CPU per new contact and per ticket worked; the client's per contact."""
    store = open_store(f"redis://127.0.0.1:{port}/{n % 16}")
    await store.open()
    try:
        await ingest(store, 1000, f"warm{n}")
        server, client = server_cpu(port), time.process_time()
        made = await ingest(store, count, f"r{n}")
        middle, client_end = server_cpu(port), time.process_time()
        await work(store, made)
        return (
            (middle - server) / count,
            (server_cpu(port) - middle) / count,
            (client_end - client) / count,
        )
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "redis"])
    parser.add_argument(
        "--in-flight", type=int, default=IN_FLIGHT, help="SQLite's contacts at once"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "redis":
            for n in range(args.rounds):
                cpu, worked = await sqlite_round(Path(tmp), args.contacts, n, args.in_flight)
                print(f"SQLite: {cpu * 1e6:6.1f} µs CPU per new contact, {worked * 1e6:6.1f} µs "
                      "per ticket worked (this process)")  # fmt: skip
        if args.only != "sqlite":
            process, port = start_redis(Path(tmp), "everysec")
            try:
                for n in range(args.rounds):
                    server, worked, client = await redis_round(port, args.contacts, n)
                    print(f"Redis: {server * 1e6:6.1f} µs redis-server CPU per new contact, "
                          f"{worked * 1e6:6.1f} µs per ticket worked (client {client * 1e6:.0f} "
                          "µs per contact)")  # fmt: skip
            finally:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    asyncio.run(main())
