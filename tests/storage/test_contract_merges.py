"""The Store contract for merging customers and undoing a merge exactly, on every backend."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import timedelta

import pytest

from core.customers import CustomerChange, CustomerMerge, customer_query
from core.errors import Conflict, InvalidRequest, NotFound
from core.model import (
    Customer,
    Identity,
    Outcome,
    QueueStats,
    Status,
    ThreadPolicy,
    Ticket,
    TicketChange,
    TicketFilter,
)
from storage.base import Store
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(hours=24))
ADA_EMAIL = Identity("email", "ada@example.com")
BOB_PHONE = Identity("phone", "+15552010042")
BOB_EMAIL = Identity("email", "bob@example.com")


@dataclass(frozen=True)
class Pair:
    ada: int
    bob: int
    ada_tickets: tuple[int, ...]
    bob_tickets: tuple[int, ...]


async def contact(store: Store, key: str, sender: Identity, channel: str, minute: float) -> int:
    message = inbound(key, sender.key, channel=channel, at=later(minute), sender_name=key)
    return (await store.commit_inbound(message, RecordingRouter(), NO_WINDOW)).ticket_id


async def two_customers(store: Store) -> Pair:
    """Ada (a live form ticket; tag x) and Bob (live sms and email tickets, a closed one;
    tags x and vip), with names to find them by."""
    ada_ticket = await contact(store, "Ada Lovelace", ADA_EMAIL, "form", 0)
    sms = await contact(store, "Bob Byron", BOB_PHONE, "sms", 1)
    both = inbound("b2", BOB_EMAIL.key, channel="email", at=later(2), identities=(BOB_PHONE,))
    mail = (await store.commit_inbound(both, RecordingRouter(), NO_WINDOW)).ticket_id
    closed = await contact(store, "b3", BOB_PHONE, "sms", 3)
    await store.update_ticket(closed, TicketChange(status=Status.CLOSED), later(4))
    ada = (await store.get_ticket(ada_ticket)).customer_id
    bob = (await store.get_ticket(sms)).customer_id
    await store.update_customer(ada, CustomerChange(tags=("x",)))
    await store.update_customer(bob, CustomerChange(tags=("x", "vip")))
    return Pair(ada, bob, (ada_ticket,), (sms, mail, closed))


async def found(store: Store, text: str) -> list[int]:
    return [c.id for c in (await store.list_customers(customer_query(text, "US"))).items]


async def test_a_merge_moves_identities_tickets_and_tags_and_keeps_what_moved(
    store: Store,
) -> None:
    pair = await two_customers(store)
    merge = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    assert merge == CustomerMerge(
        id=merge.id, survivor=pair.ada, other=pair.bob, by="alice", at=later(10),
        identities=(BOB_PHONE, BOB_EMAIL), tickets=pair.bob_tickets, tags=("x", "vip"),
        added_tags=("vip",),
    )  # fmt: skip
    ada, bob = await store.get_customer(pair.ada), await store.get_customer(pair.bob)
    assert (ada.identities, ada.tags, ada.merged_into) == (
        (ADA_EMAIL, BOB_PHONE, BOB_EMAIL), ("x", "vip"), None,
    )  # fmt: skip
    assert (bob.name, bob.identities, bob.tags, bob.merged_into) == ("Bob Byron", (), (), pair.ada)
    listed = await store.list_tickets(TicketFilter(customer_id=pair.ada))
    assert sorted(t.id for t in listed.items) == sorted(pair.ada_tickets + pair.bob_tickets)
    assert (await store.list_tickets(TicketFilter(customer_id=pair.bob))).items == ()
    assert {(await store.get_ticket(t)).customer_id for t in pair.bob_tickets} == {pair.ada}
    assert await store.customer_merges(pair.ada) == await store.customer_merges(pair.bob) == [merge]


async def test_a_merged_away_customer_is_found_no_more_but_its_identities_find_the_survivor(
    store: Store,
) -> None:
    pair = await two_customers(store)
    await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    assert await found(store, "+1 555 201 0042") == [pair.ada]
    assert await found(store, "bob@example.com") == [pair.ada]
    assert await found(store, "byron") == []
    assert await found(store, "ada") == [pair.ada]
    assert [c.id for c in (await store.list_customers(None)).items] == [pair.ada]


async def test_threading_follows_the_moved_tickets_and_stops_after_the_unmerge(
    store: Store,
) -> None:
    pair = await two_customers(store)
    merge = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    router = RecordingRouter()
    by_ada = await store.commit_inbound(
        inbound("a-sms-1", ADA_EMAIL.key, channel="sms", at=later(11)), router, DAY_WINDOW
    )
    assert (by_ada.outcome, by_ada.ticket_id) == (Outcome.APPENDED, pair.bob_tickets[0])
    new = await store.commit_inbound(inbound("a-form", at=later(12)), router, NO_WINDOW)
    assert router.calls[-1][1].open_tickets == 3  # her own and Bob's two live tickets
    await store.unmerge_customers(pair.ada, merge.id, "alice", later(20))
    again = await store.commit_inbound(
        inbound("a-sms-2", ADA_EMAIL.key, channel="sms", at=later(21)), router, DAY_WINDOW
    )
    assert again.outcome is Outcome.CREATED
    by_bob = await store.commit_inbound(
        inbound("b-sms", BOB_PHONE.key, channel="sms", at=later(22)), router, DAY_WINDOW
    )
    assert (by_bob.outcome, by_bob.customer_id) == (Outcome.APPENDED, pair.bob)
    assert by_bob.ticket_id == pair.bob_tickets[0]
    await store.commit_inbound(inbound("b-form", BOB_PHONE.key, at=later(23)), router, NO_WINDOW)
    assert router.calls[-1][1].open_tickets == 2
    assert (await store.get_ticket(new.ticket_id)).customer_id == pair.ada


async def snapshot(
    store: Store, pair: Pair
) -> tuple[list[Customer], list[Ticket], list[tuple[int, ...]], list[QueueStats]]:
    customers = [await store.get_customer(pair.ada), await store.get_customer(pair.bob)]
    tickets = [await store.get_ticket(t) for t in pair.ada_tickets + pair.bob_tickets]
    listings = [
        tuple(t.id for t in (await store.list_tickets(TicketFilter(customer_id=c))).items)
        for c in (pair.ada, pair.bob)
    ]
    return customers, tickets, listings, await store.queue_stats()


async def test_an_unmerge_puts_everything_back_exactly(store: Store) -> None:
    pair = await two_customers(store)
    before = await snapshot(store, pair)
    merge = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    undone = await store.unmerge_customers(pair.ada, merge.id, "bob", later(20))
    after = await snapshot(store, pair)
    for was, now in zip(before, after, strict=True):
        assert now == was
    assert undone == dataclasses.replace(merge, undone_by="bob", undone_at=later(20))
    assert not undone.live
    assert await store.customer_merges(pair.bob) == [undone]
    assert await found(store, "byron") == [pair.bob]
    assert await found(store, "+15552010042") == [pair.bob]


async def test_an_unmerge_keeps_the_survivors_own_tags_and_later_changes(store: Store) -> None:
    pair = await two_customers(store)
    merge = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    await store.update_customer(pair.ada, CustomerChange(tags=("x", "vip", "later")))
    await store.update_customer(pair.ada, CustomerChange(name="Ada King"))
    await store.unmerge_customers(pair.ada, merge.id, "alice", later(20))
    ada, bob = await store.get_customer(pair.ada), await store.get_customer(pair.bob)
    assert (ada.name, ada.tags, bob.tags) == ("Ada King", ("x", "later"), ("x", "vip"))


async def test_merges_refuse_a_customer_and_itself_unknown_ones_and_merged_away_ones(
    store: Store,
) -> None:
    pair = await two_customers(store)
    with pytest.raises(InvalidRequest, match="itself"):
        await store.merge_customers(pair.ada, pair.ada, "alice", later(5))
    for survivor, other in ((pair.ada, 999), (999, pair.bob)):
        with pytest.raises(NotFound):
            await store.merge_customers(survivor, other, "alice", later(5))
    await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    third = await contact(store, "Cy", Identity("email", "cy@example.com"), "form", 11)
    cy = (await store.get_ticket(third)).customer_id
    for survivor, other in ((pair.bob, cy), (cy, pair.bob)):
        with pytest.raises(Conflict, match=f"customer {pair.bob} was merged into"):
            await store.merge_customers(survivor, other, "alice", later(12))
    with pytest.raises(Conflict, match="merged into"):
        await store.update_customer(pair.bob, CustomerChange(tags=("z",)))


async def test_unmerges_refuse_unknown_foreign_and_undone_merges(store: Store) -> None:
    pair = await two_customers(store)
    with pytest.raises(NotFound):
        await store.unmerge_customers(pair.ada, 999, "alice", later(5))
    merge = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    with pytest.raises(NotFound):
        await store.unmerge_customers(pair.bob, merge.id, "alice", later(11))
    await store.unmerge_customers(pair.ada, merge.id, "alice", later(12))
    with pytest.raises(Conflict, match="undone already"):
        await store.unmerge_customers(pair.ada, merge.id, "alice", later(13))


async def test_an_unmerge_waits_for_a_later_merge_of_its_survivor(store: Store) -> None:
    pair = await two_customers(store)
    cy_ticket = await contact(store, "Cy", Identity("email", "cy@example.com"), "form", 5)
    cy = (await store.get_ticket(cy_ticket)).customer_id
    before = await snapshot(store, pair)
    first = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    second = await store.merge_customers(cy, pair.ada, "alice", later(11))
    assert set(second.identities) == {ADA_EMAIL, BOB_PHONE, BOB_EMAIL}
    with pytest.raises(Conflict, match=f"undo merge {second.id} first"):
        await store.unmerge_customers(pair.ada, first.id, "alice", later(12))
    await store.unmerge_customers(cy, second.id, "alice", later(13))
    await store.unmerge_customers(pair.ada, first.id, "alice", later(14))
    assert await snapshot(store, pair) == before
    assert (await store.get_customer(cy)).identities == (Identity("email", "cy@example.com"),)


async def test_an_unmerge_waits_for_a_later_merge_that_found_a_tag_it_brought(
    store: Store,
) -> None:
    pair = await two_customers(store)
    dee_ticket = await contact(store, "Dee", Identity("email", "dee@example.com"), "form", 5)
    dee = (await store.get_ticket(dee_ticket)).customer_id
    await store.update_customer(dee, CustomerChange(tags=("vip",)))
    first = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    second = await store.merge_customers(pair.ada, dee, "alice", later(11))
    assert second.added_tags == ()  # Bob's merge had brought vip already
    with pytest.raises(Conflict, match=f"vip that this merge brought: undo merge {second.id}"):
        await store.unmerge_customers(pair.ada, first.id, "alice", later(12))
    await store.unmerge_customers(pair.ada, second.id, "alice", later(13))
    await store.unmerge_customers(pair.ada, first.id, "alice", later(14))
    assert [(await store.get_customer(c)).tags for c in (pair.ada, pair.bob, dee)] == [
        ("x",), ("x", "vip"), ("vip",),
    ]  # fmt: skip


async def test_an_independent_later_merge_does_not_hold_an_unmerge_back(store: Store) -> None:
    pair = await two_customers(store)
    dee_ticket = await contact(store, "Dee", Identity("email", "dee@example.com"), "form", 5)
    dee = (await store.get_ticket(dee_ticket)).customer_id
    first = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    await store.merge_customers(pair.ada, dee, "alice", later(11))
    await store.unmerge_customers(pair.ada, first.id, "alice", later(12))
    ada = await store.get_customer(pair.ada)
    assert ada.identities == (ADA_EMAIL, Identity("email", "dee@example.com"))
    assert (await store.get_ticket(dee_ticket)).customer_id == pair.ada


async def test_crossed_concurrent_merges_apply_one(store: Store) -> None:
    pair = await two_customers(store)
    outcomes = await asyncio.gather(
        store.merge_customers(pair.ada, pair.bob, "alice", later(10)),
        store.merge_customers(pair.bob, pair.ada, "bob", later(10)),
        return_exceptions=True,
    )
    merges = [o for o in outcomes if isinstance(o, CustomerMerge)]
    assert len(merges) == 1
    assert [type(o) for o in outcomes if not isinstance(o, CustomerMerge)] == [Conflict]
    (merge,) = merges
    survivor = await store.get_customer(merge.survivor)
    assert set(survivor.identities) == {ADA_EMAIL, BOB_PHONE, BOB_EMAIL}
    assert (await store.get_customer(merge.other)).merged_into == merge.survivor
    assert [c.id for c in (await store.list_customers(None)).items] == [merge.survivor]


async def test_a_merge_unites_tags_whatever_their_case_and_the_unmerge_undoes_it(
    store: Store,
) -> None:
    """The rules fold case ("VIP" is "vip"): the survivor keeps its spelling, gains only the
    other's tags it has in no case (once each), and loses only those on unmerge."""
    pair = await two_customers(store)
    await store.update_customer(pair.ada, CustomerChange(tags=("VIP", "Straße")))
    await store.update_customer(pair.bob, CustomerChange(tags=("vip", "STRASSE", "gold")))
    merge = await store.merge_customers(pair.ada, pair.bob, "alice", later(10))
    assert merge.added_tags == ("gold",)
    assert (await store.get_customer(pair.ada)).tags == ("VIP", "Straße", "gold")
    await store.unmerge_customers(pair.ada, merge.id, "alice", later(20))
    ada, bob = await store.get_customer(pair.ada), await store.get_customer(pair.bob)
    assert (ada.tags, bob.tags) == (("VIP", "Straße"), ("vip", "STRASSE", "gold"))
