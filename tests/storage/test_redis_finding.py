"""Finding work on Redis: listings that end whatever they are sent, indexes walked instead of
tickets, and the indexing of tickets an older hub stored."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from core.model import Decision, ThreadPolicy, TicketChange, TicketFilter, Via
from storage.redis.scripts import source
from storage.redis.store import RedisStore
from tests.storage.redis_server import RedisServer
from tests.support import FunctionRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
SLOT_KEY = "{ch}:ids"
EXTREME = [
    "", "0", "1", "-1", "9007199254740991", "9007199254740995", str(2**63), str(2**64),
    "9" * 400, "1e308", "inf", "-inf", "nan", "0x10", "abc",
]  # fmt: skip


def to_queue(queue: str) -> FunctionRouter:
    return FunctionRouter(lambda _contact, _facts: Decision(queue), needs_history=False)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone: a script that never ended would block only it."""
    server = RedisServer(tmp_path / "redis")
    server.start("--busy-reply-threshold", "100")
    yield server
    with server.client() as client, contextlib.suppress(redis.ResponseError):
        client.script_kill()  # NOTBUSY, unless the test failed on a script still running
    server.stop()


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(redis_url)
    await store.open()
    yield store
    await store.close()


async def test_the_listing_script_ends_promptly_whatever_it_is_sent(
    own_server: RedisServer,
) -> None:
    """Bypassing the store's checks: the script alone bounds its loops, by tickets looked at."""
    store = RedisStore(f"{own_server.url}?timeout=5")
    await store.open()
    try:
        for i in range(3):
            contact = inbound(f"m{i}", f"email:c{i}@x.org", text="hello there")
            await store.commit_inbound(contact, to_queue("general"), NO_WINDOW)
    finally:
        await store.close()
    filters = [{}, {"queue": "general"}, {"words": ["hello"]}, {"assignee": ""}]
    with own_server.client() as client:
        sha = client.script_load(source("list"))
        for where in filters:
            for cursor in EXTREME:
                for limit_and_cap in (("10", "5000"), *((x, x) for x in EXTREME)):
                    started = time.monotonic()
                    items, resume = client.evalsha(
                        sha, 1, SLOT_KEY, json.dumps(where), limit_and_cap[0], cursor,
                        limit_and_cap[1],
                    )  # fmt: skip
                    assert time.monotonic() - started < 1, (where, cursor, limit_and_cap)
                    assert len(items) <= 3
                    assert resume == "" or resume.isdigit()


async def test_a_cursor_above_every_id_lists_from_the_newest(redis_store: RedisStore) -> None:
    made = await redis_store.commit_inbound(inbound("m1"), to_queue("q"), NO_WINDOW)
    page = await redis_store.list_tickets(TicketFilter(), 10, "9007199254740991")
    assert ([t.id for t in page.items], page.next) == ([made.ticket_id], None)


@pytest.mark.parametrize(
    "where",
    [
        TicketFilter(text="needle"),
        TicketFilter(channel="voice"),
        TicketFilter(assignee="alice"),
        TicketFilter(queue="general", text="needle haystack"),
    ],
    ids=["word", "channel", "assignee", "queue-and-words"],
)
async def test_a_selective_filter_walks_its_index_not_every_ticket(
    redis_store: RedisStore, where: TicketFilter
) -> None:
    """One call with a scan cap of 3 finds the one match among 30: its index was walked."""
    for i in range(30):
        rare = i == 7
        contact = inbound(
            f"m{i}", f"email:c{i}@x.org", channel="voice" if rare else "form",
            text="needle in a haystack" if rare else "haystack",
        )  # fmt: skip
        made = await redis_store.commit_inbound(contact, to_queue("general"), NO_WINDOW)
        if rare:
            await redis_store.update_ticket(
                made.ticket_id, TicketChange(assignee="alice"), later(1)
            )
            wanted = made.ticket_id
    redis_store.list_scan_cap = 3
    page = await redis_store.list_tickets(where, 10)
    assert ([t.id for t in page.items], page.next) == ([wanted], None)


async def test_tickets_of_an_older_hub_are_indexed_when_this_one_opens(
    redis_server: RedisServer, redis_url: str
) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        for i in range(5):
            contact = inbound(f"m{i}", f"email:c{i}@x.org", subject=f"case {i}", text="printer")
            made = await store.commit_inbound(contact, to_queue("general"), NO_WINDOW)
        await store.append_outbound(made.ticket_id, "toner ordered", "alice", later(1))
        await store.update_ticket(made.ticket_id, TicketChange(assignee="alice"), later(2))
    finally:
        await store.close()
    with redis_server.client() as client:  # what a hub before the search indexes kept
        stale = [*client.keys("{ch}:ix:w:*"), *client.keys("{ch}:ix:a:*"), "{ch}:ix:na"]
        stale += [*client.keys("{ch}:ix:ch:*"), *client.keys("{ch}:t:*:w"), "{ch}:search"]
        client.delete(*stale, *client.keys("{ch}:t:*:mw"))
    reopened = RedisStore(redis_url)
    await reopened.open()
    try:
        assert len((await reopened.list_tickets(TicketFilter(text="printer"))).items) == 5
        assert [t.id for t in (await reopened.list_tickets(TicketFilter(text="toner"))).items] == [
            made.ticket_id
        ]
        assert len((await reopened.list_tickets(TicketFilter(text="case 3"))).items) == 1
        assert len((await reopened.list_tickets(TicketFilter(assignee=""))).items) == 4
        assert len((await reopened.list_tickets(TicketFilter(channel="form"))).items) == 5
    finally:
        await reopened.close()
    with redis_server.client() as client:
        assert client.hmget("{ch}:search", "upto", "done") == ["5", "5"]


async def test_acknowledgement_words_of_an_older_hub_go_when_this_one_opens(
    redis_server: RedisServer, redis_url: str
) -> None:
    """Older hubs indexed an acknowledgement's words like any message's: the first open of
    this version takes out those no other text of the ticket has, once."""
    store = RedisStore(redis_url)
    await store.open()
    try:
        contact = inbound("m1", "email:c@x.org", subject="Kettle", text="my kettle leaks")
        made = await store.commit_inbound(contact, to_queue("general"), NO_WINDOW)
        why = Via(automatic="acknowledgement")
        await store.append_outbound(made.ticket_id, "Thanks, kettle received", "", later(1), why)
        other = await store.commit_inbound(
            inbound("m2", "email:d@x.org", text="thanks anyway"), to_queue("general"), NO_WINDOW
        )
    finally:
        await store.close()
    with redis_server.client() as client:  # as an older hub indexed them
        for word in ("thanks", "kettle", "received"):
            client.zadd(f"{{ch}}:ix:w:{word}", {str(made.ticket_id): made.ticket_id})
        client.hdel("{ch}:search", "acks_upto", "acks_done")
    reopened = RedisStore(redis_url)
    await reopened.open()
    try:
        assert await found_ids(reopened, "received") == []
        assert await found_ids(reopened, "thanks") == [other.ticket_id]  # its own word
        assert await found_ids(reopened, "kettle") == [made.ticket_id]  # the customer's too
    finally:
        await reopened.close()
    with redis_server.client() as client:
        progress = client.hmget("{ch}:search", "acks_upto", "acks_done")
    assert progress == ["2", "2"]


async def test_indexing_a_ticket_refuses_when_it_changed_since_it_was_read(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    made = await redis_store.commit_inbound(inbound("m1"), to_queue("q"), NO_WINDOW)
    with redis_server.client() as client:
        reply = client.eval(source("reindex"), 1, SLOT_KEY, made.ticket_id, "0" * 40, "[]", "[]")
        assert reply == "changed"
    page = await redis_store.list_tickets(TicketFilter(text="hello"))
    assert [t.id for t in page.items] == [made.ticket_id]  # the words are still there


async def test_unindexing_a_ticket_refuses_when_it_changed_since_it_was_read(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    made = await redis_store.commit_inbound(inbound("m1"), to_queue("q"), NO_WINDOW)
    with redis_server.client() as client:
        args = (made.ticket_id, "0" * 40, '["hello"]')
        assert client.eval(source("unindex"), 1, SLOT_KEY, *args) == "changed"
        assert client.eval(source("unindex"), 1, SLOT_KEY, 999, "0" * 40, "[]") == "gone"
    assert await found_ids(redis_store, "hello") == [made.ticket_id]  # still there


async def test_an_edit_read_before_a_new_message_changes_nothing_and_is_read_again(
    redis_server: RedisServer, redis_store: RedisStore
) -> None:
    """The words an edit takes away are worked out from the ticket's texts as read: a script
    sent with texts read before another message came writes nothing; the store reads again."""
    contact = inbound("C1:1.0001", "slack:U0ADA", channel="slack", text="printer jam")
    made = await redis_store.commit_inbound(contact, to_queue("q"), NO_WINDOW)
    with redis_server.client() as client:
        stale = "0" * 40, '["jam"]', '["toner"]'
        args = (contact.key, "edit", "printer toner", "2.0", *stale)
        assert client.eval(source("edit"), 1, SLOT_KEY, *args) == "changed"
    assert await found_ids(redis_store, "jam") == [made.ticket_id]
    assert await found_ids(redis_store, "toner") == []
    edited = await redis_store.edit_message(contact.key, "printer toner", later(1))
    assert edited is not None
    assert edited.body == "printer toner"
    assert await found_ids(redis_store, "jam") == []
    assert await found_ids(redis_store, "toner printer") == [made.ticket_id]


async def found_ids(store: RedisStore, text: str) -> list[int]:
    return [t.id for t in (await store.list_tickets(TicketFilter(text=text))).items]
