"""A customer's burst succeeds on the first try on Redis, as on SQLite (issue 19, part 2).

The router reads history (tags, open tickets), so every new ticket of a known customer is
decided on facts the next ticket changes: concurrent contacts of one customer contend.
Bursts arrive at one hub (one store) or are spread over two hubs (two stores on one Redis).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest

from core.model import Inbound, IngestResult, Outcome, ThreadPolicy
from storage.redis.ingest import LOCK_STRIPES, IdentityLocks
from storage.redis.store import RedisStore
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
SERVERS = ["redis_url", "redis_cluster_url"]


@pytest.fixture(params=SERVERS)
async def hubs(request: pytest.FixtureRequest) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two stores on one Redis (or Cluster), standing for two hubs."""
    url = str(request.getfixturevalue(request.param))
    first, second = RedisStore(url), RedisStore(url)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def burst(stores: Sequence[RedisStore], contacts: Sequence[Inbound]) -> list[IngestResult]:
    """Every contact at once, dealt round-robin to the stores; any failure fails the test."""
    router = RecordingRouter()
    commits = [
        stores[i % len(stores)].commit_inbound(contact, router, NO_WINDOW)
        for i, contact in enumerate(contacts)
    ]
    return list(await asyncio.gather(*commits))


def mailboxes(count: int) -> list[Inbound]:
    """One email from a new customer, copied to `count` support mailboxes."""
    return [inbound(f"mail-{i}", "email:new@example.com", channel="email") for i in range(count)]


def forms(count: int, minute: float = 1) -> list[Inbound]:
    return [inbound(f"form-{i}", at=later(minute)) for i in range(count)]


def assert_all_created(results: Sequence[IngestResult]) -> None:
    assert [r.outcome for r in results] == [Outcome.CREATED] * len(results)
    assert len({r.customer_id for r in results}) == 1
    assert len({r.ticket_id for r in results}) == len(results)


@pytest.mark.parametrize("count", [8, 50])
async def test_one_email_to_many_mailboxes_of_a_new_customer(
    hubs: tuple[RedisStore, RedisStore], count: int
) -> None:
    assert_all_created(await burst(hubs[:1], mailboxes(count)))


@pytest.mark.parametrize("count", [10, 20])
async def test_concurrent_forms_of_a_known_customer(
    hubs: tuple[RedisStore, RedisStore], count: int
) -> None:
    store = hubs[0]
    first = await store.commit_inbound(inbound("known"), RecordingRouter(), NO_WINDOW)
    results = await burst(hubs[:1], forms(count))
    assert_all_created(results)
    assert {r.customer_id for r in results} == {first.customer_id}


@pytest.mark.parametrize("count", [10, 20, 50])
async def test_a_burst_spread_over_two_hubs(
    hubs: tuple[RedisStore, RedisStore], count: int
) -> None:
    await hubs[0].commit_inbound(inbound("known"), RecordingRouter(), NO_WINDOW)
    assert_all_created(await burst(hubs, forms(count)))


async def test_a_new_customers_mail_spread_over_two_hubs(
    hubs: tuple[RedisStore, RedisStore],
) -> None:
    assert_all_created(await burst(hubs, mailboxes(50)))


async def test_each_ticket_was_decided_on_the_facts_it_was_stored_with(
    hubs: tuple[RedisStore, RedisStore],
) -> None:
    """Serialised or retried, every stored route saw the tickets opened before it."""
    results = await burst(hubs, forms(12))
    opens = sorted(
        [(await hubs[0].get_ticket(r.ticket_id)).route.facts.open_tickets for r in results]
    )
    assert opens == [0, *range(1, 12)]


async def test_contacts_of_unrelated_customers_do_not_wait_on_each_other() -> None:
    """A held identity blocks only its own stripe: another customer's commit goes on."""
    locks = IdentityLocks(LOCK_STRIPES)
    other = next(f"email:{i}@x.org" for i in range(99) if stripe(f"email:{i}@x.org") != stripe("a"))
    async with locks.holding(["a"]):
        async with asyncio.timeout(1), locks.holding([other]):
            pass
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05), locks.holding([other, "a"]):
                pass


def stripe(key: str) -> int:
    return hash(key) % LOCK_STRIPES
