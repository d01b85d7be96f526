"""What only the Redis backend promises of customers: its keys, its name index, and short
pages when one call would look at too many entries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.customers import CustomerChange, CustomerQuery
from core.model import ThreadPolicy
from storage.redis.store import RedisStore
from tests.storage.redis_server import RedisServer
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_url)
    await store.open()
    yield store
    await store.close()


async def customers(store: RedisStore, *names: str) -> list[int]:
    made = []
    for i, name in enumerate(names):
        contact = inbound(f"m{i}", f"email:c{i}@x.org", sender_name=name, at=later(i))
        made.append((await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)).customer_id)
    return made


async def test_names_are_one_sorted_set_of_live_customers_words(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    ada, bob = await customers(redis_store, "Ada Lovelace", "Bob")
    with redis_server.client() as client:
        assert client.zrange("{ch}:names", 0, -1) == [
            f"ada\0{ada:012d}", f"bob\0{bob:012d}", f"lovelace\0{ada:012d}",
        ]  # fmt: skip
        await redis_store.update_customer(ada, CustomerChange(name="Ada King"))
        assert client.zcard("{ch}:names") == 3
        merge = await redis_store.merge_customers(bob, ada, "alice", later(9))
        assert client.zrange("{ch}:names", 0, -1) == [f"bob\0{bob:012d}"]
        await redis_store.unmerge_customers(bob, merge.id, "alice", later(10))
        assert client.zcard("{ch}:names") == 3


async def test_every_customer_key_carries_the_hash_tag(
    redis_server: RedisServer, redis_url: str
) -> None:
    store = RedisStore(f"{redis_url}?prefix=tenant7")
    await store.open()
    try:
        ada, bob = await customers(store, "Ada", "Bob")
        await store.update_customer(ada, CustomerChange(name="Ada L", tags=("vip",)))
        merge = await store.merge_customers(ada, bob, "alice", later(9))
        await store.unmerge_customers(ada, merge.id, "alice", later(10))
    finally:
        await store.close()
    with redis_server.client() as client:
        keys = client.keys("*")
    assert {"{tenant7}:names", f"{{tenant7}}:merge:{merge.id}"} <= set(keys)
    assert all(key.startswith("{tenant7}:") for key in keys)


async def test_sparse_matches_answer_in_short_pages_that_resume(redis_store: RedisStore) -> None:
    redis_store.customer_scan_cap = 3
    names = ["Sam Ash", "Sam Bo", "Sam Cy", "Sam Di", "Sam Ed", "Ann Bo"]
    made = dict(zip(names, await customers(redis_store, *names), strict=True))
    query = CustomerQuery(words=("sam", "e"))  # the index holds five sams; one has an e-word
    seen, pages, cursor = [], 0, None
    while True:
        page = await redis_store.list_customers(query, 10, cursor)
        seen += [c.id for c in page.items]
        pages += 1
        if page.next is None:
            break
        cursor = page.next
    assert (seen, pages) == ([made["Sam Ed"]], 2)
    newest, cursor, pages = [], None, 0
    while True:
        page = await redis_store.list_customers(None, 10, cursor)
        newest += [c.id for c in page.items]
        pages += 1
        if page.next is None:
            break
        cursor = page.next
    assert (newest, pages) == (sorted(made.values(), reverse=True), 2)


async def test_opening_indexes_the_names_of_customers_an_older_hub_made(
    redis_server: RedisServer, redis_url: str
) -> None:
    first = RedisStore(redis_url)
    await first.open()
    try:
        made = await customers(first, "Élodie Martin", "Ada Lovelace", "", "Bob")
        await first.update_customer(made[3], CustomerChange(name="Bob Byron"))
    finally:
        await first.close()
    with redis_server.client() as client:  # as an older hub left the first three
        client.hdel("{ch}:ids", "names_upto", "names_done")
        for customer_id in made[:3]:
            client.hdel(f"{{ch}}:c:{customer_id}", "words")
        old = [m for m in client.zrange("{ch}:names", 0, -1) if int(m[-12:]) in made[:3]]
        client.zrem("{ch}:names", *old)
    store = RedisStore(redis_url)
    store.index_batch = 2
    await store.open()
    try:
        for text, found in (("elo", made[0]), ("lovelace", made[1]), ("byron", made[3])):
            page = await store.list_customers(CustomerQuery(words=(text,)))
            assert [c.id for c in page.items] == [found]
    finally:
        await store.close()
    with redis_server.client() as client:
        assert client.zcard("{ch}:names") == 6
        assert client.hmget("{ch}:ids", "names_upto", "names_done") == ["4", "4"]


async def test_addresses_an_older_hub_linked_are_found_by_domain_after_the_next_open(
    redis_server: RedisServer, redis_store: RedisStore, redis_url: str
) -> None:
    """A store written before the domain index: no {ch}:dom:<domain> sets and no mark of
    the scan. The next hub to open it indexes every address, in batches."""
    made = await customers(redis_store, "Ada", "Bob", "Cy")  # c0@x.org, c1@x.org, c2@x.org
    await redis_store.close()
    with redis_server.client() as client:
        assert client.delete("{ch}:dom:x.org") == 1
        assert client.hdel("{ch}:ids", "domains_at") == 1
    store = RedisStore(redis_url)
    store.index_batch = 1
    await store.open()
    try:
        page = await store.list_customers(CustomerQuery(domain="x.org"))
        assert [c.id for c in page.items] == made
        with redis_server.client() as client:
            assert client.hget("{ch}:ids", "domains_at") == "done"
    finally:
        await store.close()
