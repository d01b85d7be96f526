"""The Store contract for retention (purging closed tickets) and erasing a customer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.customers import CustomerChange, customer_query
from core.errors import Conflict, NotFound
from core.model import (
    Attachment,
    Identity,
    Outcome,
    Role,
    Status,
    ThreadPolicy,
    TicketChange,
    TicketFilter,
)
from core.people import AgentChange, NewOffer, Presence
from core.record import SYSTEM, Actor, EventKind
from storage.base import Store, open_store
from storage.redis.store import RedisStore
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
SHARED = "a" * 64
OWN = "b" * 64


def attached(*shas: str) -> tuple[Attachment, ...]:
    return tuple(Attachment(f"{sha[:4]}.png", "image/png", 3, sha) for sha in shas)


async def ticket(
    store: Store, key: str, minute: float, sender: str = "email:ada@example.com", **fields: Any
) -> int:
    contact = inbound(key, sender, at=later(minute), **fields)
    return (await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)).ticket_id


async def close(store: Store, ticket_id: int, minute: float) -> None:
    await store.update_ticket(ticket_id, TicketChange(status=Status.CLOSED), later(minute))


async def test_purge_takes_closed_tickets_idle_before_the_cutoff_and_keeps_their_record(
    store: Store,
) -> None:
    old = await ticket(store, "old", 0, text="quokka sighting", thread_keys=("thr-1",))
    recent = await ticket(store, "recent", 1, sender="email:bob@example.com")
    live = await ticket(store, "live", 2, sender="phone:+15550001111", channel="sms")
    await close(store, old, 3)
    await close(store, recent, 60)
    seq_before = await store.last_event_seq()

    purge = await store.purge_closed(later(30), later(90), limit=10)

    assert purge.tickets == (old,)
    assert purge.messages == 1
    with pytest.raises(NotFound):
        await store.get_ticket(old)
    record = await store.ticket_events(old)
    assert [e.kind for e in record][-1] is EventKind.PURGED
    assert record[-1].actor == SYSTEM
    assert record[-1].seq == seq_before + 1
    assert [e.seq for e in await store.events_after(0)] == list(range(1, seq_before + 2))
    listed = await store.list_tickets(TicketFilter())
    assert [t.id for t in listed.items] == [live, recent]
    assert (await store.list_tickets(TicketFilter(text="quokka"))).items == ()
    assert (await store.list_tickets(TicketFilter(status=Status.CLOSED))).items[0].id == recent
    assert (await store.purge_closed(later(30), later(91), limit=10)).tickets == ()
    again = inbound("again", "email:ada@example.com", at=later(100), thread_keys=("thr-1",))
    result = await store.commit_inbound(again, RecordingRouter(), NO_WINDOW)
    assert result.outcome is Outcome.CREATED  # the purged ticket's thread key leads nowhere
    resent = inbound("old", "email:ada@example.com", at=later(101))
    assert (await store.commit_inbound(resent, RecordingRouter(), NO_WINDOW)).outcome is (
        Outcome.CREATED  # a provider's retry of a purged contact is a contact again
    )


async def test_a_purged_newest_tickets_number_is_never_given_again(store: Store) -> None:
    first = await ticket(store, "first", 0)
    newest = await ticket(store, "newest", 1, sender="email:bob@example.com")
    await close(store, newest, 2)
    assert (await store.purge_closed(later(30), later(90), limit=10)).tickets == (newest,)
    kept = [e.kind for e in await store.ticket_events(newest)]

    after = await ticket(store, "after", 100, sender="email:cy@example.com")

    assert after not in (first, newest)
    assert [e.kind for e in await store.ticket_events(newest)] == kept
    record = await store.ticket_events(after)
    assert record[0].kind is EventKind.CREATED
    assert {e.ticket_id for e in record} == {after}


async def test_purge_goes_in_batches_oldest_first(store: Store) -> None:
    ids = [await ticket(store, f"t{i}", i, sender=f"email:c{i}@example.com") for i in range(5)]
    for i, ticket_id in enumerate(reversed(ids)):
        await close(store, ticket_id, 10 + i)
    first = await store.purge_closed(later(100), later(100), limit=2)
    second = await store.purge_closed(later(100), later(100), limit=2)
    third = await store.purge_closed(later(100), later(100), limit=2)
    assert (first.tickets, second.tickets, third.tickets) == (
        (ids[4], ids[3]), (ids[2], ids[1]), (ids[0],),
    )  # fmt: skip


async def test_purge_names_a_blob_only_once_no_message_refers_to_it(store: Store) -> None:
    one = await ticket(store, "one", 0, attachments=attached(SHARED, OWN))
    two = await ticket(
        store, "two", 1, sender="email:bob@example.com", attachments=attached(SHARED)
    )
    await close(store, one, 2)
    first = await store.purge_closed(later(5), later(5))
    assert (first.tickets, first.attachments, first.blobs) == ((one,), 2, (OWN,))
    await close(store, two, 6)
    second = await store.purge_closed(later(10), later(10))
    assert second.blobs == (SHARED,)


async def test_purge_drops_the_offers_and_deadlines_of_the_ticket(store: Store) -> None:
    old = await ticket(store, "old", 0)
    await store.add_note(old, "call back", Actor.agent("ann"), later(1))
    await close(store, old, 2)
    assert (await store.purge_closed(later(5), later(5))).tickets == (old,)
    assert await store.claim_deadlines(later(500), timedelta(seconds=5)) == []
    assert await store.list_offers(None) == []


async def erasable(store: Store) -> tuple[int, int, int]:
    """Zed (email and phone, two tickets, one with a note) and Bob (one ticket)."""
    first = await ticket(
        store, "z1", 0, sender="email:zed@example.org", sender_name="Zed Quuxington",
        identities=(Identity("phone", "+15557654321"),), subject="Platypus refund",
        text="my ultramarine platypus broke", attachments=attached(OWN, SHARED),
        thread_keys=("<z1@mail.example.org>",),
    )  # fmt: skip
    second = await ticket(
        store, "z2", 1, sender="phone:+15557654321", channel="sms", text="ultramarine again"
    )
    await store.add_note(first, "Zed Quuxington called", Actor.agent("ann"), later(2))
    await store.append_outbound(first, "Dear Zed Quuxington", "ann", later(3))
    await store.set_sms_opt_out("phone:+15557654321", opted_out=True, at=later(4))
    await store.take_rate_slot("ack:zed@example.org", 5, timedelta(hours=1), later(4))
    await store.take_rate_slot("ack:bob@example.com", 5, timedelta(hours=1), later(4))
    await ticket(store, "b1", 5, sender="email:bob@example.com", attachments=attached(SHARED))
    zed = (await store.get_ticket(first)).customer_id
    assert (await store.get_ticket(second)).customer_id == zed
    return zed, first, second


async def test_erase_strips_the_customer_and_keeps_tickets_and_counts(store: Store) -> None:
    zed, first, second = await erasable(store)
    before = await store.ticket_events(first)

    receipt = await store.erase_customer(zed, "root", later(10))

    assert receipt.customers == (zed,)
    assert receipt.tickets == (first, second)
    assert (receipt.identities, receipt.messages, receipt.attachments) == (2, 3, 2)
    assert receipt.blobs == (OWN,)
    assert receipt.events_scrubbed == 1
    assert receipt.search_entries > 0
    assert receipt.keys >= 2 + 1 + 1 + 2 + 1  # identities, consent, rate, dedupe, thread
    customer = await store.get_customer(zed)
    assert (customer.name, customer.identities) == ("", ())
    erased = await store.get_ticket(first)
    assert erased.subject == ""
    assert {m.body for m in erased.messages} == {""}
    assert all(m.sender == "" and m.attachments == () for m in erased.messages)
    assert (erased.status, erased.channel) == (Status.CLOSED, "form")
    after = await store.ticket_events(first)
    assert len(after) == len(before) + 2
    erasure, closing = after[-2:]
    assert (erasure.kind, erasure.actor) == (EventKind.CUSTOMER_ERASED, Actor.agent("root"))
    assert erasure.detail["customer_id"] == zed
    assert (closing.kind, closing.actor) == (EventKind.STATUS, Actor.agent("root"))
    assert closing.detail == {"from": "open", "to": "closed"}
    assert next(e for e in after if e.kind is EventKind.NOTE).detail["body"] == ""
    for text in ("ultramarine", "platypus", "quuxington"):
        assert (await store.list_tickets(TicketFilter(text=text))).items == ()
    for query in ("zed@example.org", "+15557654321", "Quuxington"):
        found = await store.list_customers(customer_query(query, "US"))
        assert found.items == ()
    assert not await store.sms_opted_out("phone:+15557654321")


async def test_erase_closes_the_customers_live_work_and_ends_its_offers(store: Store) -> None:
    """Nothing is left on an erased customer's live tickets to work on, nor anyone to answer:
    they leave the queues and the agents (offers too); resolved and closed ones stay so."""
    waiting, held, resolved, done = [
        await ticket(store, f"z{n}", n, sender="email:zed@example.org") for n in range(4)
    ]
    others = await ticket(store, "b1", 5, sender="email:bob@example.com")
    await store.put_agent("ann", AgentChange(roles=frozenset({Role.AGENT})), later(6))
    await store.set_presence("ann", Presence.ONLINE, later(6))
    offer = NewOffer(waiting, "ann", "general", "form", later(30), ("chosen",))
    await store.make_offer(offer, later(6))
    await store.update_ticket(held, TicketChange(assignee="ann", status=Status.PENDING), later(7))
    await store.update_ticket(resolved, TicketChange(status=Status.RESOLVED), later(7))
    await close(store, done, 7)
    zed = (await store.get_ticket(waiting)).customer_id

    receipt = await store.erase_customer(zed, "root", later(10))

    assert receipt.closed == (waiting, held)
    statuses = [(await store.get_ticket(t)).status for t in (waiting, held, resolved, done)]
    assert statuses == [Status.CLOSED, Status.CLOSED, Status.RESOLVED, Status.CLOSED]
    assert await store.list_offers(None) == []
    assert (await store.get_agent("ann")).load == {}
    (general,) = await store.queue_stats()
    assert (general.waiting, general.open) == (1, 1)  # Bob's alone
    assert (await store.get_ticket(others)).status is Status.NEW
    moves = [e.detail for e in await store.ticket_events(held) if e.kind is EventKind.STATUS]
    assert moves[-1] == {"from": "pending", "to": "closed"}
    assert (await store.erase_customer(zed, "root", later(11))).closed == ()


async def test_an_erased_customer_who_writes_again_is_a_stranger(store: Store) -> None:
    zed, first, _ = await erasable(store)
    await store.erase_customer(zed, "root", later(10))
    back = inbound(
        "z1", "email:zed@example.org", at=later(11), thread_keys=("<z1@mail.example.org>",)
    )
    result = await store.commit_inbound(back, RecordingRouter(), NO_WINDOW)
    assert result.outcome is Outcome.CREATED
    assert result.ticket_id != first
    assert result.customer_id != zed


async def test_erase_takes_the_customers_merged_into_it(store: Store) -> None:
    zed, _, _ = await erasable(store)
    other = await ticket(store, "o1", 20, sender="email:zq@example.net")
    other_customer = (await store.get_ticket(other)).customer_id
    await store.merge_customers(zed, other_customer, "ann", later(21))
    with pytest.raises(Conflict):
        await store.erase_customer(other_customer, "root", later(22))
    receipt = await store.erase_customer(zed, "root", later(22))
    assert receipt.customers == tuple(sorted((zed, other_customer)))
    assert other in receipt.tickets
    assert (await store.get_customer(other_customer)).identities == ()
    for merge in await store.customer_merges(zed):
        assert merge.identities == ()


async def test_erase_of_an_unknown_customer_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.erase_customer(404, "root", later(0))


async def test_erase_leaves_other_customers_alone(store: Store) -> None:
    zed, _, _ = await erasable(store)
    bob_ticket = (await store.list_tickets(TicketFilter(text="hello"))).items[0]
    await store.update_customer(bob_ticket.customer_id, CustomerChange(name="Bob Byron"))
    await store.erase_customer(zed, "root", later(10))
    bob = await store.get_customer(bob_ticket.customer_id)
    assert bob.name == "Bob Byron"
    assert bob.identities
    kept = await store.get_ticket(bob_ticket.id)
    assert kept.messages[0].body == "hello"
    assert kept.messages[0].attachments


ERASED_TEXTS = (
    "zed@example.org", "15557654321", "quuxington", "ultramarine", "platypus",
    "z1@mail.example.org",
)  # fmt: skip


async def test_after_erasure_no_stored_byte_names_the_customer(store_url: str) -> None:
    """Every byte the store keeps (the SQLite file and its WAL; every Redis key's name and
    value) is scanned for the customer's address, number, name and words."""
    store = open_store(store_url)
    await store.open()
    try:
        zed, _, _ = await erasable(store)
        before = await stored_text(store, store_url)
        assert all(text in before for text in ERASED_TEXTS)  # the scan sees them at all
        await store.erase_customer(zed, "root", later(10))
        if isinstance(store, RedisStore):
            after = await stored_text(store, store_url)
    finally:
        await store.close()
    if not isinstance(store, RedisStore):
        after = await stored_text(store, store_url)
    assert [text for text in ERASED_TEXTS if text in after] == []
    assert "bob@example.com" in after  # another customer's data stays


async def stored_text(store: Store, url: str) -> str:
    """Everything the store holds, as lower-case text (bytes decoded leniently)."""
    if isinstance(store, RedisStore):
        return (await redis_dump(store)).casefold()
    path = Path(urlsplit(url).path[1:])
    files = [path, path.with_name(path.name + "-wal")]
    data = b"".join(f.read_bytes() for f in files if f.exists())
    return data.decode("latin-1").casefold()


async def redis_dump(store: RedisStore) -> str:
    """Every key of the store and its whole value, read by type."""
    client: Any = store._live.client  # the test reads what the store wrote
    keys = [key async for key in client.scan_iter(match=store.key("*"), count=1000)]
    values = [await read_key(client, str(await client.type(key)), key) for key in keys]
    return "\n".join(f"{key} {value}" for key, value in zip(keys, values, strict=True))


async def read_key(client: Any, kind: str, key: str) -> object:
    reads = {
        "string": lambda: client.get(key),
        "hash": lambda: client.hgetall(key),
        "list": lambda: client.lrange(key, 0, -1),
        "set": lambda: client.smembers(key),
        "zset": lambda: client.zrange(key, 0, -1, withscores=True),
        "stream": lambda: client.xrange(key),
    }
    return await reads[kind]()
