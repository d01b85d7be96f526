"""`contacthub backup` of a Redis hub while it writes: Redis's own snapshot of one instant,
which a fresh redis-server loads into a store holding every ticket and event as they were."""

from __future__ import annotations

import asyncio
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.model import TicketFilter
from storage.base import open_store
from tests.conftest import MakeSettings, StartHub
from tests.hub.test_backup import all_events, post_forms
from tests.hub.test_cli import run
from tests.storage.redis_server import RedisServer
from tests.support import FORM_SECRET

pytestmark = pytest.mark.slow
PREFIX = "bk"


@pytest.fixture(params=["yes", "no"], ids=["diskless", "through-disk"])
def live_redis(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """Whether Redis is set to send replicas their snapshot from disk or from memory."""
    server = RedisServer(tmp_path / "live-redis")
    server.start("--repl-diskless-sync", str(request.param))
    yield server
    server.stop()


@pytest.fixture
def restored(tmp_path: Path) -> Iterator[RedisServer]:
    """The fresh redis-server the backup is loaded into (started by the test)."""
    server = RedisServer(tmp_path / "restored-redis")
    yield server
    server.stop()


def config_for(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "contacthub.toml"
    config.write_text(
        f'[storage]\nurl = "{url}"\nblob_dir = "{tmp_path / "blobs"}"\n', encoding="utf-8"
    )
    return config


async def test_backup_while_writing_is_one_instant_a_fresh_redis_loads(
    live_redis: RedisServer,
    restored: RedisServer,
    start_hub: StartHub,
    make_settings: MakeSettings,
    tmp_path: Path,
) -> None:
    """Both redis-servers are fixtures asked for before the hubs: they stop after the hubs
    did (a hub stopping while its Redis is gone waits on reconnects)."""
    url = f"{live_redis.url}?prefix={PREFIX}"
    hub = await start_hub(
        make_settings(storage={"url": url}, channels={"webform": {"secret": FORM_SECRET}})
    )
    port = int(hub.base_url.rpartition(":")[2])
    before = await post_forms(port, 0, 40)
    load = asyncio.create_task(post_forms(port, 1000, 120))
    await asyncio.sleep(0.2)
    archive = tmp_path / "redis.tar"
    taken = await asyncio.to_thread(
        run, "backup", str(archive), "--config", str(config_for(tmp_path, url))
    )
    await load
    assert taken.returncode == 0, taken.stderr
    assert "Redis's snapshot" in taken.stdout

    with tarfile.open(archive) as tar:
        assert {"dump.rdb"} <= set(tar.getnames())
        tar.extract("dump.rdb", restored.directory, filter="data")
    restored.start("--appendonly", "no", "--dbfilename", "dump.rdb")
    copy = open_store(f"{restored.url}?prefix={PREFIX}")
    await copy.open()
    try:
        tickets = (await copy.list_tickets(TicketFilter(), limit=500)).items
        assert set(before) <= {t.id for t in tickets}
        for ticket in tickets:
            assert await copy.get_ticket(ticket.id) == await hub.store.get_ticket(ticket.id)
            assert await copy.ticket_events(ticket.id) == await hub.store.ticket_events(ticket.id)
        copied = await all_events(copy)
        assert copied == (await all_events(hub.store))[: len(copied)]
        fresh = await start_hub(
            make_settings(
                storage={"url": f"{restored.url}?prefix={PREFIX}"},
                channels={"webform": {"secret": FORM_SECRET}},
            )
        )  # a fresh hub on the restored Redis goes on numbering after it
        [new] = await post_forms(int(fresh.base_url.rpartition(":")[2]), 5000, 1)
        assert new > max(t.id for t in tickets)
    finally:
        await copy.close()


def test_restore_on_redis_says_how_redis_restores_it(tmp_path: Path) -> None:
    archive = tmp_path / "some.tar"
    with tarfile.open(archive, "w"):
        pass
    result = run(
        "restore", str(archive), "--config", str(config_for(tmp_path, "redis://127.0.0.1:1/0"))
    )
    assert result.returncode == 1
    assert "dump.rdb" in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_of_a_cluster_url_names_the_node_to_ask(tmp_path: Path) -> None:
    config = config_for(tmp_path, "redis+cluster://127.0.0.1:1/0")
    result = run("backup", str(tmp_path / "x.tar"), "--config", str(config))
    assert result.returncode == 1
    assert "the primary holding the hub's hash slot" in result.stderr
    assert "Traceback" not in result.stderr
