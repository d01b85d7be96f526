"""What a purge leaves of a ticket in Redis: its record and nothing else of its own."""

from __future__ import annotations

import json
from datetime import timedelta

from core.model import Attachment, Status, ThreadPolicy, TicketChange
from storage.redis.store import RedisStore
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))


async def test_a_purged_ticket_leaves_its_record_and_no_other_key(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        client = store._live.client  # the test reads what the store wrote
        sha = "c" * 64
        first = inbound(
            "m1", dedupe_key="email:support@example.com:<m1@example.org>",
            attachments=(Attachment("a.pdf", "application/pdf", 3, sha),),
        )  # fmt: skip
        ticket_id = (await store.commit_inbound(first, RecordingRouter(), NO_WINDOW)).ticket_id
        second = inbound("m2", at=later(1), thread_keys=(f"ticket:{ticket_id}",))
        await store.commit_inbound(second, RecordingRouter(), NO_WINDOW)
        await store.append_outbound(ticket_id, "done", "ann", later(2))
        await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(3))
        assert await client.hget(store.key("blobs"), sha) == "1"

        purge = await store.purge_closed(later(10), later(10))

        assert purge.tickets == (ticket_id,)
        assert purge.blobs == (sha,)
        own = [str(k) async for k in client.scan_iter(match=store.key("t", ticket_id, "*"))]
        own += [str(k) for k in [store.key("t", ticket_id)] if await client.exists(k)]
        assert own == [store.key("t", ticket_id, "ev")]
        assert await client.hlen(store.key("dedupe")) == 0
        assert await client.hlen(store.key("out")) == 0
        assert await client.exists(store.key("blobs"), store.key("ix", "closed")) == 0
        indexes = [str(k) async for k in client.scan_iter(match=store.key("ix", "*"))]
        assert indexes == []
    finally:
        await store.close()


async def test_an_index_entry_of_no_closed_ticket_never_blocks_a_sweep(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        client = store._live.client
        made = await store.commit_inbound(inbound("m1", at=later(0)), RecordingRouter(), NO_WINDOW)
        await store.update_ticket(made.ticket_id, TicketChange(status=Status.CLOSED), later(1))
        await client.zadd(store.key("ix", "closed"), {"999": 0})  # no such ticket
        first = await store.purge_closed(later(10), later(10), limit=1)
        second = await store.purge_closed(later(10), later(10), limit=1)
        assert (first.tickets, second.tickets) == ((), (made.ticket_id,))
        assert await client.exists(store.key("ix", "closed")) == 0
    finally:
        await store.close()


async def test_an_erasure_read_before_a_new_ticket_writes_nothing(redis_url: str) -> None:
    """The script refuses a payload that misses a ticket of the customer (one that came
    after the read): `erase_customer` reads again."""
    store = RedisStore(redis_url)
    await store.open()
    try:
        made = await store.commit_inbound(
            inbound("m1", sender_name="Ada Lovelace"), RecordingRouter(), NO_WINDOW
        )
        stale = {
            "customer": made.customer_id, "people": [made.customer_id], "tickets": [],
            "dedupe": [], "thread": [], "rate": [], "actor": "system", "now": "0",
        }  # fmt: skip
        reply = await store._live.scripts.run("retention", "erase", json.dumps(stale))
        assert reply == "changed"
        assert (await store.get_customer(made.customer_id)).name == "Ada Lovelace"
        receipt = await store.erase_customer(made.customer_id, "root", later(1))
        assert receipt.tickets == (made.ticket_id,)
    finally:
        await store.close()
