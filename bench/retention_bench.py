"""Retention and erasure on a filled store, on SQLite and on Redis.

    .venv/bin/python -m bench.retention_bench [--tickets 20000] [--batch 100]
        [--only sqlite|redis]

Fills each store through its own writes (no HTTP) with `--tickets` tickets, each a customer's
email with a subject, a second message and an agent's reply, then closed; one customer in
the middle has 50 of them. Then:

    purge   every closed ticket purged by `Store.purge_closed` in batches of `--batch` (the
            sweeper's step): tickets per second, and the p50 and max of one batch, which is
            one atomic step (on Redis, how long one script holds the server).
    erase   the customer with 50 tickets erased (`Store.erase_customer`) on a store still
            holding every other ticket (the purge runs after it): the whole call. On SQLite
            it includes rewriting the search tables; on Redis, reading the dedupe and thread
            hashes whole.

SQLite runs WAL with synchronous=full; Redis is its own redis-server with AOF everysec.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as redis

from bench.redis_bench import start_redis
from core.customers import CustomerQuery
from core.model import Decision, Identity, Inbound, Status, ThreadPolicy, TicketChange
from storage.base import Store, open_store
from storage.redis.store import RedisStore

START = datetime(2025, 1, 1, tzinfo=UTC)
NO_WINDOW = ThreadPolicy({}, timedelta(0))
IN_FLIGHT = 256
HEAVY = 50  # tickets of the customer that is erased
HEAVY_SENDER = Identity("email", "heavy.customer@example.org")


class General:
    """Every contact to one queue."""

    needs_history = False

    def decide(self, _contact: Inbound, _facts: object) -> Decision:
        return Decision("general", rule="bench")

    def sla_after(self, _events: object, _now: object) -> None:
        return None  # no clocks: the benchmark purges, it does not time


def sender(n: int, count: int) -> Identity:
    middle = count // 2
    if middle <= n < middle + HEAVY:
        return HEAVY_SENDER
    return Identity("email", f"customer{n}@example.com")


async def one_ticket(store: Store, n: int, count: int) -> None:
    at = START + timedelta(seconds=n)
    first = Inbound(
        "email", f"m{n}", sender(n, count), f"my order {n} arrived broken, please refund",
        at, subject=f"Order {n} broken", sender_name=f"Customer Number{n}",
    )  # fmt: skip
    made = await store.commit_inbound(first, General(), NO_WINDOW)
    again = Inbound(
        "email", f"r{n}", sender(n, count), "any news about the refund?", at,
        thread_keys=(f"ticket:{made.ticket_id}",),
    )  # fmt: skip
    await store.commit_inbound(again, General(), NO_WINDOW)
    await store.append_outbound(made.ticket_id, "refund on its way", "ann", at)
    await store.update_ticket(made.ticket_id, TicketChange(status=Status.CLOSED), at)


async def fill(store: Store, count: int) -> None:
    for start in range(0, count, IN_FLIGHT):
        batch = range(start, min(start + IN_FLIGHT, count))
        await asyncio.gather(*(one_ticket(store, n, count) for n in batch))


async def bench(url: str, count: int, batch: int) -> None:
    store = open_store(url)
    await store.open()
    try:
        started = time.perf_counter()
        await fill(store, count)
        print(f"  filled {count} tickets in {time.perf_counter() - started:.1f} s")
        found = await store.list_customers(CustomerQuery((HEAVY_SENDER.key,)))
        heavy = found.items[0].id
        started = time.perf_counter()
        receipt = await store.erase_customer(heavy, "bench", datetime.now(UTC))
        took = time.perf_counter() - started
        print(
            f"  erase: {len(receipt.tickets)} tickets, {receipt.messages} messages, "
            f"{receipt.keys} keys in {took * 1000:.0f} ms"
        )
        await purge_all(store, count, batch)
    finally:
        await store.close()


async def purge_all(store: Store, count: int, batch: int) -> None:
    cutoff = START + timedelta(days=365)
    durations, purged = [], 0
    server = (
        redis.Redis.from_url(store.options.server_url) if isinstance(store, RedisStore) else None
    )
    if server is not None:
        await server.config_resetstat()
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        done = await store.purge_closed(cutoff, datetime.now(UTC), batch)
        durations.append(time.perf_counter() - began)
        purged += len(done.tickets)
        if len(done.tickets) < batch:
            break
    took = time.perf_counter() - started
    assert purged == count, (purged, count)
    p50, worst = statistics.median(durations) * 1000, max(durations) * 1000
    print(
        f"  purge: {purged} tickets in {took:.1f} s ({purged / took:.0f} tickets/s); "
        f"one batch of {batch}: p50 {p50:.0f} ms, max {worst:.0f} ms"
    )
    if server is not None:  # the scripts alone: how long each batch held the server
        evalsha = (await server.info("commandstats"))["cmdstat_evalsha"]
        print(f"  purge script: {evalsha['usec_per_call'] / 1000:.1f} ms per batch (mean)")
        await server.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--only", choices=["sqlite", "redis"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "redis":
            print("SQLite (WAL, synchronous=full)")
            await bench(f"sqlite:///{tmp}/retention.db", args.tickets, args.batch)
        if args.only != "sqlite":
            process, port = start_redis(Path(tmp), "everysec")
            try:
                print("Redis (AOF everysec)")
                await bench(f"redis://127.0.0.1:{port}/0", args.tickets, args.batch)
            finally:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    asyncio.run(main())
