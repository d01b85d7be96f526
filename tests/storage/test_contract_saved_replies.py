"""The Store contract for saved replies, on every backend: names unique whatever their case,
replaced whole, deleted, and two hubs' saves of one name never both kept."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import Conflict, NotFound
from core.saved_replies import SavedReplyDraft
from storage.base import Store
from tests.support import T0, later

REFUND = SavedReplyDraft("Refund sent", "Hi {customer.first_name|there}, refunded.", ("billing",))


async def test_saved_replies_are_listed_by_name_whatever_their_case(store: Store) -> None:
    assert await store.list_saved_replies() == []
    first = await store.save_reply(None, REFUND, "sue", T0)
    second = await store.save_reply(None, SavedReplyDraft("apology", "Sorry!"), "sue", later(1))
    assert (first.id, first.name, first.body, first.queues) == (
        first.id, "Refund sent", REFUND.body, ("billing",),
    )  # fmt: skip
    assert (first.updated_by, first.updated_at) == ("sue", T0)
    assert second.id != first.id
    assert second.queues == ()
    assert await store.list_saved_replies() == [second, first]  # "apology" < "refund sent"


async def test_a_name_is_taken_whatever_its_case(store: Store) -> None:
    kept = await store.save_reply(None, REFUND, "sue", T0)
    with pytest.raises(Conflict) as taken:
        await store.save_reply(None, SavedReplyDraft("REFUND SENT", "other"), "ann", later(1))
    assert str(kept.id) in taken.value.message
    other = await store.save_reply(None, SavedReplyDraft("Other", "x"), "ann", later(1))
    with pytest.raises(Conflict):  # renamed onto the first's name
        await store.save_reply(other.id, SavedReplyDraft("refund sent", "x"), "ann", later(2))
    assert await store.list_saved_replies() == [other, kept]


async def test_a_saved_reply_is_replaced_whole_and_deleted(store: Store) -> None:
    kept = await store.save_reply(None, REFUND, "sue", T0)
    renamed = SavedReplyDraft("refund SENT", "Refunded today.")  # its own name, recased
    changed = await store.save_reply(kept.id, renamed, "bob", later(5))
    assert (changed.id, changed.name, changed.body, changed.queues) == (
        kept.id, "refund SENT", "Refunded today.", (),
    )  # fmt: skip
    assert (changed.updated_by, changed.updated_at) == ("bob", later(5))
    assert await store.list_saved_replies() == [changed]
    await store.delete_saved_reply(kept.id)
    assert await store.list_saved_replies() == []
    again = await store.save_reply(None, REFUND, "sue", later(6))  # the name is free again
    assert again.id != kept.id  # a deleted one's id is never reused


async def test_unknown_ids_are_not_found_and_write_nothing(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.save_reply(404, REFUND, "sue", T0)
    with pytest.raises(NotFound):
        await store.delete_saved_reply(404)
    assert await store.list_saved_replies() == []


async def test_saves_of_one_name_at_once_keep_one(store: Store) -> None:
    drafts = [SavedReplyDraft(f"Same {'NAME' if n % 2 else 'name'}", f"v{n}") for n in range(8)]
    results = await asyncio.gather(
        *(store.save_reply(None, d, "sue", T0) for d in drafts), return_exceptions=True
    )
    kept = [r for r in results if not isinstance(r, BaseException)]
    assert len(kept) == 1
    assert all(isinstance(r, Conflict) for r in results if r is not kept[0])
    assert await store.list_saved_replies() == kept
