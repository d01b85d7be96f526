"""The Store contract for email: ticket-number thread keys and pollers' checkpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.model import Outcome, Status, ThreadPolicy, TicketChange, ticket_thread_key
from storage.base import Store
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
ADA = "email:ada@example.com"
EVE = "email:eve@example.net"


async def test_ticket_key_threads_the_tickets_own_customer(store: Store) -> None:
    first = await store.commit_inbound(
        inbound("e1", ADA, channel="email"), RecordingRouter(), NO_WINDOW
    )
    key = ticket_thread_key(first.ticket_id)
    again = inbound("e2", ADA, channel="email", thread_keys=(key,), at=later(1))
    result = await store.commit_inbound(again, RecordingRouter(), NO_WINDOW)
    assert (result.outcome, result.ticket_id) == (Outcome.APPENDED, first.ticket_id)


async def test_ticket_key_of_a_stranger_makes_a_new_ticket(store: Store) -> None:
    first = await store.commit_inbound(
        inbound("e1", ADA, channel="email"), RecordingRouter(), NO_WINDOW
    )
    await store.commit_inbound(inbound("e2", EVE, channel="email"), RecordingRouter(), NO_WINDOW)
    key = ticket_thread_key(first.ticket_id)
    for n, sender in enumerate((EVE, "email:new@example.org")):
        probe = inbound(f"x{n}", sender, channel="email", thread_keys=(key,), at=later(n + 1))
        result = await store.commit_inbound(probe, RecordingRouter(), NO_WINDOW)
        assert result.outcome is Outcome.CREATED
    # the key was not kept for the stranger's ticket: the owner still threads by it
    owner = inbound("e3", ADA, channel="email", thread_keys=(key,), at=later(5))
    assert (await store.commit_inbound(owner, RecordingRouter(), NO_WINDOW)).ticket_id == (
        first.ticket_id
    )


@pytest.mark.parametrize("key", ["ticket:999", "ticket:abc", "ticket:"])
async def test_ticket_key_of_no_ticket_is_ignored(store: Store, key: str) -> None:
    await store.commit_inbound(inbound("e1", ADA, channel="email"), RecordingRouter(), NO_WINDOW)
    probe = inbound("e2", ADA, channel="email", thread_keys=(key,), at=later(1))
    assert (await store.commit_inbound(probe, RecordingRouter(), NO_WINDOW)).created


async def test_ticket_key_of_a_closed_ticket_makes_a_new_ticket(store: Store) -> None:
    first = await store.commit_inbound(
        inbound("e1", ADA, channel="email"), RecordingRouter(), NO_WINDOW
    )
    await store.update_ticket(first.ticket_id, TicketChange(status=Status.CLOSED), later(1))
    key = ticket_thread_key(first.ticket_id)
    probe = inbound("e2", ADA, channel="email", thread_keys=(key,), at=later(2))
    assert (await store.commit_inbound(probe, RecordingRouter(), NO_WINDOW)).created


async def test_checkpoints_are_kept_by_name_and_replaced(store: Store) -> None:
    assert await store.get_checkpoint("imap:support") is None
    await store.set_checkpoint("imap:support", "7:100")
    await store.set_checkpoint("imap:sales", "3:1")
    await store.set_checkpoint("imap:support", "7:150")
    assert await store.get_checkpoint("imap:support") == "7:150"
    assert await store.get_checkpoint("imap:sales") == "3:1"


async def test_a_new_senders_reply_all_does_not_take_the_thread(store: Store) -> None:
    """Bob, copied on Ada's mail, answers all: his message is a ticket of his own, and Ada's
    next reply to her first message still threads onto her ticket, not onto Bob's."""
    key = "email:support@hub.example:<a1@example.com>"
    first = await store.commit_inbound(
        inbound("a1", ADA, channel="email", thread_keys=(key,)), RecordingRouter(), NO_WINDOW
    )
    bob = "email:bob@example.org"
    copied = inbound("b1", bob, channel="email", thread_keys=(key, "email:x:<b1>"), at=later(1))
    assert (await store.commit_inbound(copied, RecordingRouter(), NO_WINDOW)).created
    again = inbound("a2", ADA, channel="email", thread_keys=(key,), at=later(2))
    result = await store.commit_inbound(again, RecordingRouter(), NO_WINDOW)
    assert (result.outcome, result.ticket_id) == (Outcome.APPENDED, first.ticket_id)


async def test_a_key_of_a_closed_ticket_moves_to_the_next_one(store: Store) -> None:
    key = "email:support@hub.example:<a1@example.com>"
    first = await store.commit_inbound(
        inbound("a1", ADA, channel="email", thread_keys=(key,)), RecordingRouter(), NO_WINDOW
    )
    await store.update_ticket(first.ticket_id, TicketChange(status=Status.CLOSED), later(1))
    second = await store.commit_inbound(
        inbound("a2", ADA, channel="email", thread_keys=(key,), at=later(2)),
        RecordingRouter(),
        NO_WINDOW,
    )
    third = await store.commit_inbound(
        inbound("a3", ADA, channel="email", thread_keys=(key,), at=later(3)),
        RecordingRouter(),
        NO_WINDOW,
    )
    assert second.created
    assert (third.outcome, third.ticket_id) == (Outcome.APPENDED, second.ticket_id)
