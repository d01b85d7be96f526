"""What only the Redis backend promises: its URL, round trips, routing guesses, keys, faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import ConfigError, StorageError, StorageUnavailable
from core.model import (
    CustomerFacts,
    Decision,
    Inbound,
    Outcome,
    Role,
    Status,
    ThreadPolicy,
    TicketChange,
    TicketFilter,
)
from storage.base import Store, open_store
from storage.redis.ingest import MAX_ROUNDS
from storage.redis.options import RedisOptions
from storage.redis.store import RedisStore
from tests.storage.redis_server import RedisClusterServers, RedisServer
from tests.support import FunctionRouter, RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(hours=24))


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_url)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, which it may stop, kill and restart."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def round_trips(server: RedisServer) -> int:
    """Commands our client sent: scripts and transactions (what runs inside is not a trip)."""
    with server.client() as client:
        stats = client.info("commandstats")
    sent = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_script|load", "cmdstat_multi")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in sent)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6400/0", RedisOptions("redis://127.0.0.1:6400/0")),
        (
            "redis://:pw@h:1/2?prefix=acme&timeout=0.5&max_connections=8",
            RedisOptions("redis://:pw@h:1/2", "acme", 0.5, 8),
        ),
        ("redis+cluster://h:1", RedisOptions("redis://h:1", cluster=True)),
    ],
    ids=["defaults", "all-parameters", "cluster"],
)
def test_url_options(url: str, expected: RedisOptions) -> None:
    assert RedisOptions.from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://h:1/0?db=2", "unknown parameter"),
        ("redis://h:1/0?prefix={x}", "prefix must be"),
        ("redis://h:1/0?timeout=soon", "could not convert"),
        ("redis://h:1/0?max_connections=0", "must be positive"),
        ("redis+cluster://h:1/2", "only database 0"),
    ],
    ids=["unknown", "braces-in-prefix", "bad-timeout", "no-connections", "cluster-db"],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RedisOptions.from_url(url)


def test_redis_scheme_opens_the_redis_store() -> None:
    store: Store = open_store("redis://127.0.0.1:6400/0")
    assert isinstance(store, RedisStore)
    with pytest.raises(ConfigError, match="did you mean 'redis'"):
        open_store("rediss2://127.0.0.1:6400/0")


async def test_every_key_carries_the_hash_tag(redis_server: RedisServer, redis_url: str) -> None:
    store = RedisStore(f"{redis_url}?prefix=tenant7")
    await store.open()
    try:
        result = await store.commit_inbound(inbound("m1"), RecordingRouter("q"), NO_WINDOW)
        await store.append_outbound(result.ticket_id, "hi", "alice", later(1))
        await store.claim_next("q", "alice", later(2))
        await store.add_token("t", Role.AGENT, "d" * 64, later(3))
        await store.save_rules("rules: []\n", "alice", later(4))
        await store.set_sms_opt_out("phone:+15550001111", True, later(5))  # noqa: FBT003  # the protocol's positional flag
    finally:
        await store.close()
    with redis_server.client() as client:
        keys = client.keys("*")
    assert len(keys) > 10
    assert all(key.startswith("{tenant7}:") for key in keys)


async def test_each_kind_of_ingest_is_one_round_trip(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    plain = FunctionRouter(lambda _c, _f: Decision("q"), needs_history=False)
    contacts = [
        (inbound("m1"), NO_WINDOW, Outcome.CREATED),  # a new customer
        (inbound("m1"), NO_WINDOW, Outcome.DUPLICATE),
        (inbound("m2", at=later(1)), NO_WINDOW, Outcome.CREATED),  # known, no time threading
        (inbound("m3", at=later(2)), DAY_WINDOW, Outcome.APPENDED),
    ]
    for contact, policy, outcome in contacts:
        before = round_trips(redis_server)
        result = await redis_store.commit_inbound(contact, plain, policy)
        assert (result.outcome, round_trips(redis_server) - before) == (outcome, 1)


async def test_history_rules_cost_a_known_customer_a_second_round_trip(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    await redis_store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    router = RecordingRouter()
    before = round_trips(redis_server)
    await redis_store.commit_inbound(inbound("m2", at=later(1)), router, NO_WINDOW)
    assert round_trips(redis_server) - before == 2
    assert [facts.open_tickets for _, facts in router.calls] == [1]


async def test_a_wrong_guess_is_decided_again_on_the_stored_facts(redis_url: str) -> None:
    """Another hub made the customer: this one guesses "new", the script says otherwise."""
    first, second = RedisStore(redis_url), RedisStore(redis_url)
    await first.open()
    await second.open()
    try:
        made = await first.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
        router = RecordingRouter()
        result = await second.commit_inbound(inbound("m2", at=later(1)), router, NO_WINDOW)
        ticket = await second.get_ticket(result.ticket_id)
    finally:
        await first.close()
        await second.close()
    assert [facts.is_new for _, facts in router.calls] == [True, False]
    assert result.customer_id == made.customer_id
    assert ticket.route.facts == CustomerFacts(made.customer_id, (), 1)


async def test_a_stale_guess_after_a_flush_makes_a_new_customer(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    plain = FunctionRouter(lambda _c, _f: Decision("q"), needs_history=False)
    await redis_store.commit_inbound(inbound("m1"), plain, NO_WINDOW)
    redis_server.flush()
    result = await redis_store.commit_inbound(inbound("m2"), plain, NO_WINDOW)
    ticket = await redis_store.get_ticket(result.ticket_id)
    assert result.outcome is Outcome.CREATED
    assert ticket.route.facts.is_new


async def test_facts_that_change_every_round_give_up_as_unavailable(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    first = await redis_store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    rounds: list[CustomerFacts] = []

    def busy_elsewhere(_contact: Inbound, facts: CustomerFacts) -> Decision:
        rounds.append(facts)  # another hub opens a ticket for this customer meanwhile
        with redis_server.client() as client:
            client.hincrby(f"{{ch}}:c:{first.customer_id}", "open", 1)
        return Decision("q")

    with pytest.raises(StorageUnavailable, match="kept changing"):
        await redis_store.commit_inbound(
            inbound("m2", at=later(1)), FunctionRouter(busy_elsewhere), NO_WINDOW
        )
    assert len(rounds) == MAX_ROUNDS  # bounded: a hub never retries forever
    assert len((await redis_store.list_tickets(TicketFilter())).items) == 1


async def test_listing_sparse_matches_answers_in_short_pages(redis_store: RedisStore) -> None:
    redis_store.list_scan_cap = 3
    made = []
    for i in range(10):
        result = await redis_store.commit_inbound(
            inbound(f"m{i}", f"email:c{i}@x.org"), RecordingRouter("a" if i < 5 else "b"),
            NO_WINDOW,
        )  # fmt: skip
        made.append(result.ticket_id)
    for ticket_id in made[1:5]:
        await redis_store.update_ticket(ticket_id, TicketChange(status=Status.PENDING), later(1))
    found, cursor, calls = [], None, 0
    while True:
        page = await redis_store.list_tickets(TicketFilter("a", Status.NEW), 10, cursor)
        found += [t.id for t in page.items]
        calls += 1
        if page.next is None:
            break
        cursor = page.next
    assert found == [made[0]]
    assert calls > 1


async def test_redis_errors_that_a_retry_cannot_cure_are_storage_errors(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    with redis_server.client() as client:
        client.set("{ch}:dedupe", "not a hash")
    with pytest.raises(StorageError) as caught:
        await redis_store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    assert not isinstance(caught.value, StorageUnavailable)


async def test_flushed_script_cache_is_reloaded(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    with redis_server.client() as client:
        client.script_flush()
    result = await redis_store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    assert result.outcome is Outcome.CREATED


async def test_opening_without_a_server_is_unavailable(tmp_path: Path) -> None:
    unused = RedisServer(tmp_path)  # its port is free: nothing listens there
    store = RedisStore(f"{unused.url}?timeout=1")
    with pytest.raises(StorageUnavailable):
        await store.open()


async def test_stopped_server_is_unavailable_and_restarted_one_recovers(
    own_server: RedisServer,
) -> None:
    store = RedisStore(f"{own_server.url}?timeout=2")
    await store.open()
    try:
        made = await store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
        own_server.stop()
        for call in (
            store.ping(),
            store.commit_inbound(inbound("m2"), RecordingRouter(), NO_WINDOW),
            store.get_ticket(made.ticket_id),
            store.list_campaigns(),
        ):
            with pytest.raises(StorageUnavailable):
                await asyncio.wait_for(call, 5)
        own_server.start()  # the same port and data directory: the AOF is replayed
        await store.ping()
        again = await store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
        assert (again.outcome, again.ticket_id) == (Outcome.DUPLICATE, made.ticket_id)
        fresh = await store.commit_inbound(
            inbound("m2", at=later(1)), RecordingRouter(), DAY_WINDOW
        )
        assert fresh.outcome is Outcome.APPENDED
    finally:
        await store.close()


def test_the_test_server_is_never_the_shared_one(redis_server: RedisServer) -> None:
    assert redis_server.port != 6379
    with redis_server.client() as client:
        assert client.config_get("appendonly") == {"appendonly": "yes"}


async def test_a_full_redis_refuses_the_ingest_whole_and_recovers(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    """Redis never undoes a script's writes: a script that cannot finish must not start."""
    await redis_store.commit_inbound(inbound("m1"), RecordingRouter(), NO_WINDOW)
    with redis_server.client() as client:
        before = {key: client.type(key) for key in client.keys("*")}
        client.config_set("maxmemory", "1")  # every write is over the limit
        try:
            with pytest.raises(StorageUnavailable, match="OutOfMemory"):
                await redis_store.commit_inbound(
                    inbound("m2", "email:new@x.org"), RecordingRouter(), NO_WINDOW
                )
            assert {key: client.type(key) for key in client.keys("*")} == before
            assert len((await redis_store.list_tickets(TicketFilter())).items) == 1
        finally:
            client.config_set("maxmemory", "0")
    again = await redis_store.commit_inbound(
        inbound("m2", "email:new@x.org"), RecordingRouter(), NO_WINDOW
    )
    assert again.outcome is Outcome.CREATED


async def test_on_a_cluster_every_key_lives_on_one_node(
    redis_cluster: RedisClusterServers, redis_cluster_url: str
) -> None:
    """One hash tag, one slot: the scripts' keys are all where the script runs."""
    store = RedisStore(redis_cluster_url)
    await store.open()
    try:
        for node in redis_cluster.nodes:  # a restarted or flushed node forgets its scripts
            with node.client() as client:
                client.script_flush()
        result = await store.commit_inbound(inbound("m1"), RecordingRouter("q"), NO_WINDOW)
        await store.claim_next("q", "alice", later(1))
        assert (await store.get_ticket(result.ticket_id)).assignee == "alice"
    finally:
        await store.close()
    counts = []
    for node in redis_cluster.nodes:
        with node.client() as client:
            counts.append(client.dbsize())
    assert sorted(counts)[:-1] == [0] * (len(counts) - 1)
    assert max(counts) > 5


async def test_after_a_restart_one_call_fails_and_the_pool_is_fresh_again(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    store = open_store(server.url)
    await store.open()
    try:
        await asyncio.gather(*(store.list_agents() for _ in range(8)))  # eight connections
        server.stop()
        server.start()
        with pytest.raises(StorageUnavailable):
            await store.list_agents()  # an idle connection the restart closed
        for _ in range(8):  # the other seven were dropped with it: none fails again
            assert await store.list_agents() == []
    finally:
        await store.close()
        server.stop()


async def test_events_written_with_the_long_field_names_read_back_alike(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    """A hub before the one-letter event fields wrote them out; its records read the same."""
    made = await redis_store.commit_inbound(inbound("m1"), RecordingRouter("q"), NO_WINDOW)
    short = await redis_store.ticket_events(made.ticket_id)
    with redis_server.client() as client:
        stored = client.lrange(f"{{ch}}:t:{made.ticket_id}:ev", 0, -1)
        names = {"s": "seq", "k": "kind", "a": "actor", "t": "at", "d": "detail"}
        long = [
            json.dumps({names[name]: value for name, value in json.loads(text).items()})
            for text in stored
        ]
        client.delete(f"{{ch}}:t:{made.ticket_id}:ev")
        client.rpush(f"{{ch}}:t:{made.ticket_id}:ev", *long)
    assert all(len(text) < len(old) for text, old in zip(stored, long, strict=True))
    assert await redis_store.ticket_events(made.ticket_id) == short
    assert await redis_store.events_after(0, 10) == short
    assert await redis_store.event_seq_at(later(1)) == short[-1].seq  # the search by time
    assert await redis_store.event_seq_at(short[0].at) == 0


async def test_calls_beyond_the_pool_wait_for_a_connection(redis_url: str) -> None:
    """A thousand scripts and forty direct reads at once on six connections: all answered
    (scripts queue for a pipeline, direct reads for a connection), none refused."""
    store = RedisStore(f"{redis_url}?max_connections=6")
    await store.open()
    try:
        scripts = asyncio.gather(*(store.last_event_seq() for _ in range(1000)))
        reads = asyncio.gather(*(store.get_checkpoint(f"c{n}") for n in range(40)))
        assert await scripts == [0] * 1000
        assert await reads == [None] * 40
    finally:
        await store.close()


async def test_on_a_cluster_scripts_beyond_the_pool_wait_for_a_connection(
    redis_cluster_url: str,
) -> None:
    """A node's pool refuses what it cannot hold; the scripts never ask it for more."""
    store = RedisStore(f"{redis_cluster_url}?max_connections=3")
    await store.open()
    try:
        assert await asyncio.gather(*(store.last_event_seq() for _ in range(1000))) == [0] * 1000
    finally:
        await store.close()
