"""The Store contract for customers' edits and deletions of their messages, on every backend."""

from __future__ import annotations

from datetime import timedelta

from core.model import Message, ThreadPolicy, TicketFilter
from storage.base import Store
from tests.support import RecordingRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
KEY = "slack:C0SUPPORT:1700000000.000100"


async def _stored(store: Store, meta: dict[str, str] | None = None) -> Message:
    contact = inbound(
        "C0SUPPORT:1700000000.000100", "slack:U0ADA", channel="slack", text="refund pls",
        meta=meta or {},
    )  # fmt: skip
    assert contact.key == KEY
    result = await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)
    ticket = await store.get_ticket(result.ticket_id)
    return ticket.messages[0]


async def test_an_edit_replaces_the_body_and_records_when(store: Store) -> None:
    original = await _stored(store)
    assert (original.edited_at, original.deleted_at) == (None, None)
    edited = await store.edit_message(KEY, "refund please", later(2))
    assert edited is not None
    assert (edited.id, edited.body, edited.edited_at) == (original.id, "refund please", later(2))
    ticket = await store.get_ticket(original.ticket_id)
    assert ticket.messages == (edited,)


async def test_an_older_edit_never_replaces_a_newer_one(store: Store) -> None:
    await _stored(store)
    await store.edit_message(KEY, "third words", later(3))
    stale = await store.edit_message(KEY, "second words", later(2))
    assert stale is not None
    assert (stale.body, stale.edited_at) == ("third words", later(3))
    again = await store.edit_message(KEY, "third words", later(3))
    assert again == stale


async def test_a_deletion_keeps_the_text_and_is_final(store: Store) -> None:
    await _stored(store)
    deleted = await store.edit_message(KEY, None, later(5))
    assert deleted is not None
    assert (deleted.body, deleted.deleted_at, deleted.edited_at) == ("refund pls", later(5), None)
    after = await store.edit_message(KEY, "too late", later(6))
    assert after == deleted
    assert await store.edit_message(KEY, None, later(7)) == deleted


async def test_edit_of_an_unknown_key_or_an_outbound_message_is_none(store: Store) -> None:
    original = await _stored(store)
    await store.append_outbound(original.ticket_id, "On it", "alice", later(1))
    assert await store.edit_message("slack:C0SUPPORT:1.000001", "x", later(2)) is None
    assert await store.edit_message("", "x", later(2)) is None


async def test_messages_keep_the_channel_meta_of_their_contact(store: Store) -> None:
    meta = {"channel": "C0SUPPORT", "thread_ts": "1700000000.000100"}
    message = await _stored(store, meta)
    assert message.meta == meta


async def test_an_edited_first_message_is_found_by_its_new_words_and_its_subject(
    store: Store,
) -> None:
    contact = inbound(
        "C0SUPPORT:1700000000.000100", "slack:U0ADA", channel="slack", text="refund pls",
        subject="Broken kettle",
    )  # fmt: skip
    made = await store.commit_inbound(contact, RecordingRouter(), NO_WINDOW)
    await store.edit_message(KEY, "replacement please", later(2))
    found = {}
    for word in ("kettle", "replacement", "refund"):
        found[word] = [t.id for t in (await store.list_tickets(TicketFilter(text=word))).items]
    assert found == {"kettle": [made.ticket_id], "replacement": [made.ticket_id], "refund": []}
