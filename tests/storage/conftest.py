"""The contract suite runs on every backend; a backend joins by adding its URL factory.

A factory gets the test's request (to reach fixtures such as the Redis server, started only
when a Redis test runs) and a temporary directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from storage.base import Store, open_store

BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": lambda _request, tmp: f"sqlite:///{tmp / 'contract.db'}",
    "redis": lambda request, _tmp: str(request.getfixturevalue("redis_url")),
    "redis-cluster": lambda request, _tmp: str(request.getfixturevalue("redis_cluster_url")),
}


@pytest.fixture(params=sorted(BACKENDS))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await opened.open()
    yield opened
    await opened.close()
