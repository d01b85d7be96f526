"""Fixtures: a real store on a real file, the real app on a real port, real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from core.model import Role
from hub.app import build_app
from hub.settings.tree import Settings, parse_settings
from hub.state import STORE
from hub.tokens import digest, new_secret
from storage.base import Store
from tests.storage.redis_server import RedisClusterServers, RedisServer
from tests.support import FORM_SECRET

MakeSettings = Callable[..., Settings]

# Two shared cores: generation speed and per-example time vary with the machine's load.
hypothesis_settings.register_profile(
    "contacthub", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("contacthub")


BOTH_STORES = "BOTH_STORES"
"""A test module that sets `BOTH_STORES = True` runs each test that uses `db_url` (every test
that starts a hub) on SQLite and on Redis."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" not in metafunc.fixturenames or not getattr(metafunc.module, BOTH_STORES, False):
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        if "db_url" in mark.args[0]:
            return  # the test names its own stores
    metafunc.parametrize("db_url", ["sqlite", "redis"], indirect=True)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if getattr(request, "param", "sqlite") == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def make_settings(tmp_path: Path, db_url: str) -> MakeSettings:
    def make(**sections: Any) -> Settings:
        raw: dict[str, Any] = {
            "server": {"port": 0, "max_body_bytes": 65536},
            "storage": {"url": db_url},
            "channels": {"webform": {"secret": FORM_SECRET}},
            **sections,
        }
        return parse_settings(raw, {}, base=tmp_path)

    return make


class Hub:
    """A running app and an HTTP client for it."""

    def __init__(self, app: web.Application, http: aiohttp.ClientSession, base_url: str) -> None:
        self.app = app
        self.http = http
        self.base_url = base_url

    @property
    def store(self) -> Store:
        return self.app[STORE]

    async def token(self, role: Role, name: str = "tester") -> dict[str, str]:
        secret = new_secret()
        await self.store.add_token(name, role, digest(secret), datetime.now(UTC))
        return {"Authorization": f"Bearer {secret}"}


StartHub = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def start_hub(make_settings: MakeSettings) -> AsyncIterator[StartHub]:
    runners: list[web.AppRunner] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(settings: Settings | None = None, **options: Any) -> Hub:
        app = build_app(settings or make_settings(), **options)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        sessions.append(aiohttp.ClientSession(base_url))
        return Hub(app, sessions[-1], base_url)

    yield start
    for session in sessions:
        await session.close()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def hub(start_hub: StartHub) -> Hub:
    return await start_hub()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (AOF on, no RDB); tests flush what they use."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A local three-node Redis Cluster for the session."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterServers) -> str:
    """The session's Redis Cluster, emptied for this test."""
    redis_cluster.flush()
    return redis_cluster.url
