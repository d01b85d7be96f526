"""The Store contract for finding and editing customers, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.customers import CustomerChange, CustomerQuery, customer_query
from core.errors import InvalidRequest, NotFound
from core.model import CustomerFacts, Decision, Identity, Inbound, ThreadPolicy
from storage.base import Store, open_store
from tests.support import FunctionRouter, RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))


async def customer(
    store: Store, sender: str, name: str = "", identities: tuple[Identity, ...] = ()
) -> int:
    """A new customer (the ingest makes it), by its first contact."""
    contact = inbound(f"c-{sender}", sender, sender_name=name, identities=identities)
    result = await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)
    return result.customer_id


async def found(store: Store, text: str, limit: int = 50) -> list[int]:
    page = await store.list_customers(customer_query(text, "US"), limit)
    return [c.id for c in page.items]


async def test_customers_are_found_by_each_kind_of_identity(store: Store) -> None:
    ada = await customer(
        store, "email:ada@example.com", identities=(Identity("phone", "+15552010042"),)
    )
    grace = await customer(store, "slack:U0GRACE7")
    await customer(store, "email:other@example.com")
    assert await found(store, "Ada@Example.COM") == [ada]
    assert await found(store, "+1 555 201 0042") == [ada]
    assert await found(store, "(555) 201-0042") == [ada]
    assert await found(store, "u0grace7") == [grace]
    assert await found(store, "nobody@example.com") == []
    assert await found(store, "+1 555 999 0000") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada", ["Ada Lovelace"]),
        ("LOVE", ["Ada Lovelace"]),
        ("lovelace ada", ["Ada Lovelace"]),
        ("ada hopper", []),
        ("elo", ["Élodie Martin"]),
        ("ÉLODIE", ["Élodie Martin"]),
        ("mar", ["Grace Hopper-Marsh", "Élodie Martin"]),
        ("hopper", ["Grace Hopper-Marsh"]),
        ("ann", ["Ann Annable"]),
        ("zed", []),
        ("!!", []),
    ],
    ids=[
        "first-word", "any-word-any-case", "every-word", "not-every-word", "accents-dropped",
        "accents-typed", "by-matched-word-then-id", "hyphen-splits", "once-per-customer",
        "no-match", "no-words",
    ],
)  # fmt: skip
async def test_customers_are_found_by_the_start_of_a_word_of_their_name(
    store: Store, text: str, expected: list[str]
) -> None:
    names = ["Ada Lovelace", "Élodie Martin", "Grace Hopper-Marsh", "Ann Annable"]
    for i, name in enumerate(names):
        await customer(store, f"email:c{i}@example.com", name)
    page = await store.list_customers(customer_query(text, "US"))
    assert [c.name for c in page.items] == expected
    assert page.next is None


async def test_a_name_search_pages_in_index_order(store: Store) -> None:
    names = ["Sam Zed", "Samuel Ray", "Sam Ash", "Sammy Ng", "Sam Ox"]
    ids = {name: await customer(store, f"email:s{i}@x.org", name) for i, name in enumerate(names)}
    seen: list[int] = []
    cursor = None
    while True:
        page = await store.list_customers(CustomerQuery(words=("sam",)), 2, cursor)
        assert len(page.items) <= 2
        seen += [c.id for c in page.items]
        if page.next is None:
            break
        cursor = page.next
    # by the matching word ("sam" < "sammy" < "samuel"), then by id
    order = ["Sam Zed", "Sam Ash", "Sam Ox", "Sammy Ng", "Samuel Ray"]
    assert seen == [ids[name] for name in order]


async def test_owners_of_an_identity_come_first_and_only_once(store: Store) -> None:
    sam = await customer(store, "slack:U0SAM1", "Sam Slack")
    other = await customer(store, "email:sam@x.org", "Sam Other")
    query = CustomerQuery(identities=("slack:U0SAM1",), words=("sam",))
    page = await store.list_customers(query)
    assert [c.id for c in page.items] == [sam, other]
    first = await store.list_customers(query, 1)
    assert [c.id for c in first.items] == [sam]
    assert first.next is not None
    rest = await store.list_customers(query, 5, first.next)
    assert [c.id for c in rest.items] == [other]


async def test_without_a_query_customers_list_newest_first(store: Store) -> None:
    ids = [await customer(store, f"email:n{i}@x.org", f"N {i}") for i in range(5)]
    seen: list[int] = []
    cursor = None
    while True:
        page = await store.list_customers(None, 2, cursor)
        seen += [c.id for c in page.items]
        if page.next is None:
            break
        cursor = page.next
    assert seen == ids[::-1]
    assert (await store.list_customers(None, 5)).items[0].identities == (
        Identity("email", "n4@x.org"),
    )


@pytest.mark.parametrize("cursor", ["abc", "word", "x:y"])
async def test_a_bad_cursor_is_invalid(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidRequest):
        await store.list_customers(CustomerQuery(words=("a",)), 5, cursor)
    if ":" not in cursor:
        with pytest.raises(InvalidRequest):
            await store.list_customers(None, 5, cursor)


async def test_an_edit_renames_and_retags(store: Store) -> None:
    ada = await customer(store, "email:ada@example.com", "Ada Byron")
    edited = await store.update_customer(ada, CustomerChange(name="Ada Lovelace"))
    assert (edited.name, edited.tags) == ("Ada Lovelace", ())
    assert await found(store, "byron") == []
    assert await found(store, "lovelace") == [ada]
    tagged = await store.update_customer(ada, CustomerChange(tags=("vip", "beta")))
    assert tagged == await store.get_customer(ada)
    assert (tagged.name, tagged.tags) == ("Ada Lovelace", ("vip", "beta"))
    cleared = await store.update_customer(ada, CustomerChange(tags=()))
    assert cleared.tags == ()
    unnamed = await store.update_customer(ada, CustomerChange(name=""))
    assert (unnamed.name, await found(store, "ada")) == ("", [])


async def test_an_edit_of_an_unknown_customer_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.update_customer(404, CustomerChange(name="x"))
    with pytest.raises(NotFound):
        await store.get_customer(404)


def by_tags(_contact: Inbound, facts: CustomerFacts) -> Decision:
    vip = "vip" in facts.tags
    return Decision("escalated" if vip else "general", rule="vip" if vip else None)


async def test_tags_reach_the_rules_from_the_next_contact_on(store_url: str) -> None:
    """Also through another store on the same data (a second hub), whose guesses of the
    customer's facts were made before the edit."""
    a, b = open_store(store_url), open_store(store_url)
    await a.open()
    await b.open()
    try:
        router = FunctionRouter(by_tags)
        first = await b.commit_inbound(inbound("m1"), router, NO_WINDOW)
        assert first.queue == "general"
        await a.update_customer(first.customer_id, CustomerChange(tags=("vip",)))
        second = await b.commit_inbound(inbound("m2", at=later(1)), router, NO_WINDOW)
        assert (second.customer_id, second.queue) == (first.customer_id, "escalated")
        ticket = await b.get_ticket(second.ticket_id)
        assert ticket.route.facts.tags == ("vip",)
        await a.update_customer(first.customer_id, CustomerChange(tags=()))
        third = await b.commit_inbound(inbound("m3", at=later(2)), router, NO_WINDOW)
        assert third.queue == "general"
    finally:
        await a.close()
        await b.close()


async def test_customers_are_found_by_the_domain_of_an_address(store: Store) -> None:
    """Every owner of an address at exactly the domain (after the address's last "@"), in
    address order, each once a page; a merge moves the addresses' owner, an erasure ends
    them."""
    ada = await customer(store, "email:ada@acme.com", identities=(email("ada.l@acme.com"),))
    bob = await customer(store, "email:bob@acme.com")
    quoted = await customer(store, 'email:"q@home"@acme.com')
    sub = await customer(store, "email:cy@eu.acme.com")
    dan = await customer(store, "phone:+15550000001", identities=(email("dan@acme.com"),))
    await customer(store, "email:acme.com@other.org")
    everyone = [quoted, ada, bob, dan]  # '"' < 'a': by address, ada at her first
    assert await found(store, "@acme.com") == everyone
    assert await found(store, "ACME.com") == everyone
    assert await found(store, "@eu.acme.com") == [sub]
    assert await found(store, "@nowhere.example") == []
    await store.merge_customers(ada, bob, "ann", later(1))
    assert await found(store, "@acme.com") == [quoted, ada, dan]
    await store.erase_customer(dan, "ann", later(2))
    assert await found(store, "@acme.com") == [quoted, ada]


async def test_a_domain_search_pages_by_address(store: Store) -> None:
    ids = [await customer(store, f"email:p{i}@acme.com") for i in range(5)]
    await customer(store, "email:x@acme.org")
    query = customer_query("@acme.com", "US")
    seen: list[int] = []
    cursor = None
    while True:
        page = await store.list_customers(query, 2, cursor)
        assert len(page.items) <= 2
        seen += [c.id for c in page.items]
        if page.next is None:
            break
        cursor = page.next
    assert seen == ids
    with pytest.raises(InvalidRequest):
        await store.list_customers(query, 2, "sam:12")  # a name search's cursor


def email(address: str) -> Identity:
    return Identity("email", address)
