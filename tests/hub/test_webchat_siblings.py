"""The web chat's bus between the workers of one `serve --workers` on SQLite, over real Unix
sockets: a frame published by any worker reaches the subscribers of every one, the count
says how many took it, and a sibling that is not there counts 0 (then is reached again once
it is back). The whole path, through real worker processes, is in test_workers.py."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.wiring.webchat_siblings import SiblingBus, Siblings


class Recorder:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)


@pytest.fixture
async def buses(tmp_path: Path) -> AsyncIterator[list[SiblingBus]]:
    found = [SiblingBus(Siblings(tmp_path, index, 3)) for index in range(3)]
    async with contextlib.AsyncExitStack() as stack:
        for bus in found:
            await stack.enter_async_context(bus.running())
        yield found


async def test_a_frame_reaches_the_worker_holding_the_visitor_and_is_counted(
    buses: list[SiblingBus],
) -> None:
    first, second, third = buses
    ada, bob = Recorder(), Recorder()
    await second.subscribe("visitor:ada", ada)
    await third.subscribe("visitor:bob", bob)
    await first.subscribe("visitor:bob", bob)
    assert await first.publish("visitor:ada", {"text": "hello Ada"}) == 1
    assert await second.publish("visitor:bob", {"text": "hello Bob"}) == 2  # two workers
    assert await third.publish("visitor:cy", {"text": "nobody"}) == 0
    assert ada.frames == [{"text": "hello Ada"}]
    assert bob.frames == [{"text": "hello Bob"}] * 2
    await second.unsubscribe("visitor:ada", ada)
    assert await first.publish("visitor:ada", {"text": "gone"}) == 0
    assert ada.frames == [{"text": "hello Ada"}]


async def test_a_sibling_that_is_not_there_counts_0_and_is_reached_again_when_back(
    tmp_path: Path,
) -> None:
    here, there = SiblingBus(Siblings(tmp_path, 0, 2)), SiblingBus(Siblings(tmp_path, 1, 2))
    ada = Recorder()
    async with here.running():
        assert await here.publish("visitor:ada", {"n": 1}) == 0  # not started: refused
        async with there.running():
            await there.subscribe("visitor:ada", ada)
            assert await here.publish("visitor:ada", {"n": 2}) == 1
        assert await here.publish("visitor:ada", {"n": 3}) == 0  # stopped: the kept link cut
        again = SiblingBus(Siblings(tmp_path, 1, 2))  # the worker's successor
        async with again.running():
            await again.subscribe("visitor:ada", ada)
            assert await here.publish("visitor:ada", {"n": 4}) == 1
    assert ada.frames == [{"n": 2}, {"n": 4}]
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))  # sockets taken away


def test_a_worker_without_a_supervisors_directory_serves_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CONTACTHUB_WORKERS_DIR", raising=False)
    assert Siblings.from_environment(0, 2) is None
    monkeypatch.setenv("CONTACTHUB_WORKERS_DIR", str(tmp_path))
    assert Siblings.from_environment(1, 2) == Siblings(tmp_path, 1, 2)
    assert Siblings.from_environment(0, 1) is None  # one worker: nobody to ask
