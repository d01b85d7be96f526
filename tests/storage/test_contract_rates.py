"""Sliding-window limits kept in the store, shared by every hub on it (issue 19, part 4)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from storage.base import Store, open_store
from storage.sqlite import rate
from tests.support import later

HOUR = timedelta(hours=1)


async def test_a_key_takes_up_to_its_limit_per_window(store: Store) -> None:
    taken = [await store.take_rate_slot("ack:ada@x.org", 3, HOUR, later(i)) for i in range(5)]
    assert taken == [True, True, True, False, False]
    assert await store.take_rate_slot("ack:ada@x.org", 3, HOUR, later(60.5))  # the first left
    assert not await store.take_rate_slot("ack:ada@x.org", 3, HOUR, later(60.6))


async def test_refused_takes_are_not_counted(store: Store) -> None:
    for i in range(10):
        await store.take_rate_slot("k", 1, HOUR, later(i))
    assert await store.take_rate_slot("k", 1, HOUR, later(61))


async def test_keys_are_counted_apart(store: Store) -> None:
    assert await store.take_rate_slot("a", 1, HOUR, later(0))
    assert await store.take_rate_slot("b", 1, HOUR, later(0))
    assert not await store.take_rate_slot("a", 1, HOUR, later(1))


async def test_concurrent_takes_never_pass_the_limit(store: Store) -> None:
    takes = await asyncio.gather(*(store.take_rate_slot("k", 3, HOUR, later(0)) for _ in range(12)))
    assert takes.count(True) == 3


async def test_two_hubs_on_one_store_share_the_limit(store: Store, store_url: str) -> None:
    other = open_store(store_url)
    await other.open()
    try:
        takes = [
            await (store if i % 2 else other).take_rate_slot("k", 4, HOUR, later(i))
            for i in range(8)
        ]
    finally:
        await other.close()
    assert takes == [True] * 4 + [False] * 4


async def test_sqlite_forgets_keys_whose_window_has_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate, "SWEEP_EVERY", 1)
    store = open_store(f"sqlite:///{tmp_path / 'rates.db'}")
    await store.open()
    try:
        await store.take_rate_slot("old", 1, HOUR, later(0))
        await store.take_rate_slot("new", 1, HOUR, later(30))
        kept = await store.get_checkpoint("rate:old")
        await store.take_rate_slot("newer", 1, HOUR, later(120))
        assert kept is not None  # kept while its window lasts
        assert await store.get_checkpoint("rate:old") is None
        assert await store.get_checkpoint("rate:newer") is not None
    finally:
        await store.close()
