"""A real MTA in front of the hub: Debian's Postfix relays a domain to the hub's SMTP
listener, keeps a message queued while the hub's storage is down (the hub answers 451) and
delivers it exactly once after recovery (tests/hub/postfix.py runs it from a temp dir)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core.model import TicketFilter
from tests.conftest import Hub, MakeSettings, StartHub
from tests.hub.email_support import SUPPORT, compose, send, smtp_port
from tests.hub.postfix import Postfix, require_root
from tests.reliability import Figures, figures
from tests.storage.redis_server import RedisServer
from tests.support import FORM_SECRET

pytestmark = pytest.mark.slow
__all__ = ["figures"]

MESSAGE_ID = "<through-the-outage@example.com>"
T = TypeVar("T")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", fsync="always")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def hub(
    start_hub: StartHub, make_settings: MakeSettings, own_redis: RedisServer, tmp_path: Path
) -> Hub:
    settings = make_settings(
        storage={"url": f"{own_redis.url}?timeout=2", "blob_dir": str(tmp_path / "blobs")},
        channels={"webform": {"secret": FORM_SECRET}, "smtp": {"port": 0, "mailboxes": [SUPPORT]}},
    )
    return await start_hub(settings)


@pytest.fixture
async def postfix(hub: Hub) -> AsyncIterator[Postfix]:
    """Postfix relaying hub.example to the hub's listener, in a directory the postfix user
    can reach (pytest's temp dirs are root's alone)."""
    require_root()
    root = reachable_dir()
    mta = Postfix(root / "mta", "hub.example", smtp_port(hub))
    try:
        await asyncio.to_thread(mta.start)
        yield mta
    finally:
        await asyncio.to_thread(mta.stop)
        shutil.rmtree(root, ignore_errors=True)


def reachable_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="contacthub-postfix-"))
    root.chmod(0o755)
    return root


async def eventually(probe: Callable[[], T], within: float = 30) -> T:
    """The first truthy answer of `probe` (run in a thread), polled."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        answer = await asyncio.to_thread(probe)
        if answer or asyncio.get_running_loop().time() > deadline:
            return answer
        await asyncio.sleep(0.1)


async def stored_copies(hub: Hub) -> int:
    tickets = (await hub.store.list_tickets(TicketFilter())).items
    messages = [m for t in tickets for m in (await hub.store.get_ticket(t.id)).messages]
    return sum(1 for m in messages if "through-the-outage@example.com" in m.external_id)


def deferred(mta: Postfix) -> list[dict[str, Any]]:
    return [m for m in mta.queue() if m.get("queue_name") == "deferred"]


@pytest.mark.timeout(120)
async def test_postfix_keeps_mail_through_a_storage_outage_and_delivers_it_once(
    hub: Hub, postfix: Postfix, own_redis: RedisServer, figures: Figures
) -> None:
    own_redis.stop()  # the hub's storage is down: its listener answers 451
    assert await send(postfix.port, compose(message_id=MESSAGE_ID)) == 250  # Postfix has it
    held = await eventually(lambda: deferred(postfix))
    reason = held[0]["recipients"][0]["delay_reason"] if held else ""
    await asyncio.to_thread(own_redis.start)
    await asyncio.to_thread(postfix.flush)
    emptied = await eventually(lambda: postfix.queue() == [])
    copies_after_flush = await stored_copies(hub)
    await asyncio.to_thread(postfix.flush)  # a second flush has nothing left to send
    await asyncio.sleep(1)
    log = postfix.log
    figures.record(
        "mta-postfix",
        "Postfix relaying to the hub through a storage outage",
        postfix=(await asyncio.to_thread(postfix.command, "postconf", "-d", "-h", "mail_version"))
        .stdout.strip(),
        accepted_by_postfix=1, held_while_down=len(held), delay_reason=reason,
        deferred_attempts=log.count("status=deferred"), delivered=log.count("status=sent"),
        queue_empty_after_flush=emptied, stored=await stored_copies(hub),
    )  # fmt: skip
    assert len(held) == 1
    assert "451" in reason
    assert emptied
    assert copies_after_flush == 1
    assert await stored_copies(hub) == 1
    assert log.count("status=sent") == 1
