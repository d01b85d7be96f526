"""The Store contract for finding work: listings filtered by queue, status, customer,
assignee, channel and words of the tickets' texts, and paged under those filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from core.errors import InvalidRequest
from core.model import (
    MAX_ID,
    Decision,
    Identity,
    IngestResult,
    Status,
    ThreadPolicy,
    TicketChange,
    TicketFilter,
    Via,
)
from storage.base import Store
from tests.support import FunctionRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(hours=24))


def to_queue(queue: str) -> FunctionRouter:
    return FunctionRouter(lambda _contact, _facts: Decision(queue), needs_history=False)


@dataclass(frozen=True)
class Desk:
    """Five tickets of three customers on three channels, some assigned, one pending."""

    refund: int  # ada, form, billing: "Refund request" / "I was charged twice"
    parcel: int  # bob, sms, general: "Where is my parcel?", then a follow-up, bob's
    invoice: int  # ada, slack, billing: "Invoice missing", pending
    hello: int  # cy, form, general: "hello", unassigned
    router: int  # cy, sms, general: "My router blinks RED", then a reply, alice's
    ada: int
    bob: int


async def desk(store: Store) -> Desk:
    async def contact(
        external_id: str, sender: str, channel: str, queue: str, **fields: Any
    ) -> IngestResult:
        made = inbound(external_id, sender, channel=channel, **fields)
        return await store.commit_inbound(made, to_queue(queue), NO_WINDOW)

    refund = await contact(
        "r1", "email:ada@x.org", "form", "billing", subject="Refund request",
        text="I was charged twice",
    )  # fmt: skip
    parcel = await contact("p1", "phone:+15550001111", "sms", "general", text="Where is my parcel?")
    invoice = await contact(
        "i1", "slack:U0ADA", "slack", "billing", subject="Invoice missing",
        identities=(Identity("email", "ada@x.org"),),
    )  # fmt: skip
    hello = await contact("h1", "email:cy@x.org", "form", "general")
    router = await contact(
        "x1", "phone:+15550002222", "sms", "general", text="My router blinks RED"
    )
    await store.update_ticket(parcel.ticket_id, TicketChange(assignee="bob"), later(1))
    await store.update_ticket(router.ticket_id, TicketChange(assignee="alice"), later(1))
    await store.update_ticket(refund.ticket_id, TicketChange(assignee="alice"), later(1))
    await store.update_ticket(invoice.ticket_id, TicketChange(status=Status.PENDING), later(1))
    follow_up = inbound(
        "p2", "phone:+15550001111", channel="sms", at=later(2), text="Tracking number ZX-42 please"
    )
    assert (await store.commit_inbound(follow_up, to_queue("general"), DAY_WINDOW)).ticket_id == (
        parcel.ticket_id
    )
    await store.append_outbound(router.ticket_id, "Please restart the modem", "alice", later(3))
    return Desk(
        refund.ticket_id, parcel.ticket_id, invoice.ticket_id, hello.ticket_id,
        router.ticket_id, refund.customer_id, parcel.customer_id,
    )  # fmt: skip


async def found(store: Store, where: TicketFilter, limit: int = 50) -> list[int]:
    """Every ticket the filter lists, following the cursors page by page."""
    ids: list[int] = []
    cursor = None
    for _ in range(100):
        page = await store.list_tickets(where, limit, cursor)
        ids += [ticket.id for ticket in page.items]
        if page.next is None:
            return ids
        cursor = page.next
    raise AssertionError("the cursors never ended")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (TicketFilter(), ["router", "hello", "invoice", "parcel", "refund"]),
        (TicketFilter(queue="billing"), ["invoice", "refund"]),
        (TicketFilter(status=Status.PENDING), ["invoice"]),
        (TicketFilter(channel="sms"), ["router", "parcel"]),
        (TicketFilter(channel="voice"), []),
        (TicketFilter(assignee="alice"), ["router", "refund"]),
        (TicketFilter(assignee="bob"), ["parcel"]),
        (TicketFilter(assignee="nobody"), []),
        (TicketFilter(assignee=""), ["hello", "invoice"]),
        (TicketFilter(text="refund"), ["refund"]),
        (TicketFilter(text="CHARGED"), ["refund"]),
        (TicketFilter(text="zx"), ["parcel"]),
        (TicketFilter(text="parcel tracking"), ["parcel"]),
        (TicketFilter(text="restart"), ["router"]),
        (TicketFilter(text="red"), ["router"]),
        (TicketFilter(text="refund parcel"), []),
        (TicketFilter(text="refunds"), []),
        (TicketFilter(text="hello"), ["hello", "invoice"]),
        (TicketFilter(text="?!"), ["router", "hello", "invoice", "parcel", "refund"]),
    ],
    ids=[
        "all", "queue", "status", "channel", "channel-none", "assignee", "assignee-other",
        "assignee-unknown", "unassigned", "subject-word", "any-case", "follow-up-word",
        "words-across-texts", "reply-word", "uppercase-body", "all-words-must-match",
        "whole-words", "subject-and-body", "no-words",
    ],
)  # fmt: skip
async def test_each_filter_alone(store: Store, where: TicketFilter, expected: list[str]) -> None:
    tickets = await desk(store)
    assert await found(store, where) == [getattr(tickets, name) for name in expected]


async def test_filters_combine_and_customer_filters_too(store: Store) -> None:
    t = await desk(store)
    cases = [
        (TicketFilter(queue="billing", assignee=""), [t.invoice]),
        (TicketFilter(queue="billing", assignee="alice", channel="form"), [t.refund]),
        (TicketFilter(customer_id=t.ada), [t.invoice, t.refund]),
        (TicketFilter(customer_id=t.ada, text="invoice"), [t.invoice]),
        (TicketFilter(channel="sms", assignee="bob", text="parcel"), [t.parcel]),
        (TicketFilter(channel="sms", assignee="alice", text="parcel"), []),
        (TicketFilter(status=Status.NEW, assignee="", text="hello"), [t.hello]),
        (TicketFilter(customer_id=t.bob, status=Status.PENDING), []),
    ]
    for where, expected in cases:
        assert await found(store, where) == expected, where


async def test_named_tickets_newest_first_under_the_other_filters_and_pages(
    store: Store,
) -> None:
    t = await desk(store)
    named = (t.refund, t.router, t.parcel, MAX_ID, t.refund)  # any order, unknown and twice
    assert await found(store, TicketFilter(ids=named)) == [t.router, t.parcel, t.refund]
    for limit in (1, 2):
        assert await found(store, TicketFilter(ids=named), limit) == [t.router, t.parcel, t.refund]
    assert await found(store, TicketFilter(ids=named, channel="sms")) == [t.router, t.parcel]
    assert await found(store, TicketFilter(ids=named, text="charged")) == [t.refund]
    assert await found(store, TicketFilter(ids=(t.hello,), assignee="alice")) == []
    assert await found(store, TicketFilter(ids=())) == []


async def test_assignments_move_tickets_between_assignee_filters(store: Store) -> None:
    t = await desk(store)
    await store.update_ticket(t.parcel, TicketChange(assignee="alice"), later(5))
    await store.update_ticket(t.router, TicketChange(assignee=""), later(5))
    claimed = await store.claim_next("general", "bob", later(6))
    assert claimed is not None
    assert claimed.id == t.hello
    assert await found(store, TicketFilter(assignee="alice")) == [t.parcel, t.refund]
    assert await found(store, TicketFilter(assignee="bob")) == [t.hello]
    assert await found(store, TicketFilter(assignee="")) == [t.router, t.invoice]


async def test_pages_under_filters_follow_the_cursor_to_the_end(store: Store) -> None:
    made = []
    for i in range(7):
        channel = "sms" if i % 2 else "form"
        text = "printer jam" if i % 3 else "printer"
        result = await store.commit_inbound(
            inbound(f"m{i}", f"email:c{i}@x.org", channel=channel, text=text, at=later(i)),
            to_queue("general"), NO_WINDOW,
        )  # fmt: skip
        made.append((result.ticket_id, channel, text))
    newest_first = made[::-1]
    jams = [i for i, _, text in newest_first if "jam" in text]
    sms_jams = [i for i, channel, text in newest_first if channel == "sms" and "jam" in text]
    for limit in (1, 2, 3):
        assert await found(store, TicketFilter(text="jam printer"), limit) == jams
        assert await found(store, TicketFilter(channel="sms", text="jam"), limit) == sms_jams
        assert await found(store, TicketFilter(assignee=""), limit) == [i for i, *_ in newest_first]


async def test_an_edit_changes_the_words_a_message_is_found_by(store: Store) -> None:
    contact = inbound("C1:1.0001", "slack:U0ADA", channel="slack", text="refund pls")
    made = await store.commit_inbound(contact, to_queue("general"), NO_WINDOW)
    await store.append_outbound(made.ticket_id, "refund on its way", "alice", later(1))
    await store.edit_message(contact.key, "cancel my order please", later(2))
    assert await found(store, TicketFilter(text="cancel order")) == [made.ticket_id]
    assert await found(store, TicketFilter(text="pls")) == []
    assert await found(store, TicketFilter(text="refund")) == [made.ticket_id]  # the reply's
    await store.edit_message(contact.key, None, later(3))  # a deletion keeps the text
    assert await found(store, TicketFilter(text="cancel")) == [made.ticket_id]


async def test_an_acknowledgement_is_not_searched_and_hides_no_edited_word(store: Store) -> None:
    """An automatic message's template would match every ticket it went to; and its words,
    though not the ticket's, must not stop an edit that brings one of them from indexing it."""
    contact = inbound("C1:1.0002", "slack:U0ADA", channel="slack", text="my kettle leaks")
    made = await store.commit_inbound(contact, to_queue("general"), NO_WINDOW)
    why = Via(automatic="acknowledgement")
    await store.append_outbound(made.ticket_id, "Thanks: ticket received", "", later(1), why)
    assert await found(store, TicketFilter(text="received")) == []
    assert await found(store, TicketFilter(text="thanks ticket")) == []
    await store.edit_message(contact.key, "received a leaking kettle", later(2))
    assert await found(store, TicketFilter(text="received")) == [made.ticket_id]
    await store.edit_message(contact.key, "kettle", later(3))
    assert await found(store, TicketFilter(text="received")) == []


@pytest.mark.parametrize(
    "cursor",
    ["-1", "abc", "", " 1", "1.0", "1e3", "007", "\u0663", "\u00b2", str(MAX_ID + 1),
     str(2**53 + 3), str(2**63), "9" * 400],
    ids=["negative", "word", "empty", "space", "decimal-point", "exponent", "leading-zero",
         "arabic-digit", "superscript", "past-the-id-space", "2^53+3", "2^63", "huge"],
)  # fmt: skip
async def test_a_cursor_that_is_no_id_is_refused(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidRequest, match="not a cursor"):
        await store.list_tickets(TicketFilter(), 10, cursor)


async def test_cursors_at_the_ends_of_the_id_space(store: Store) -> None:
    t = await desk(store)
    newest_first = [t.router, t.hello, t.invoice, t.parcel, t.refund]
    assert (await store.list_tickets(TicketFilter(), 10, "0")).items == ()
    assert (await store.list_tickets(TicketFilter(), 10, "1")).items == ()
    for cursor in (str(t.router + 1), "1000000", str(MAX_ID)):
        page = await store.list_tickets(TicketFilter(), 10, cursor)
        assert [ticket.id for ticket in page.items] == newest_first
        page = await store.list_tickets(TicketFilter(text="parcel"), 10, cursor)
        assert [ticket.id for ticket in page.items] == [t.parcel]


async def test_every_word_of_a_long_message_is_found(store: Store) -> None:
    body = " ".join(f"w{i}" for i in range(9000))  # more than one script call unpacks at once
    made = await store.commit_inbound(inbound("m1", text=body), to_queue("q"), NO_WINDOW)
    await store.append_outbound(made.ticket_id, body.upper(), "alice", later(1))
    for text in ("w0", "w4321 w8999", "W8999"):
        assert await found(store, TicketFilter(text=text)) == [made.ticket_id]
