"""IMAP mailboxes against a real Dovecot: ingest after commit, \\Seen or move, checkpoints,
IDLE, health in /readyz and /metrics, one broken mailbox beside a working one, and a poller
killed mid-batch that restarts without losing or doubling a message."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.email.imap import ImapChannel, ImapConfig
from core.model import Inbound, IngestResult, TicketFilter
from hub.settings.tree import Settings
from storage.blobs import BlobStore
from storage.sqlite.store import SqliteStore
from tests import dovecot
from tests.conftest import Hub, MakeSettings, StartHub
from tests.dovecot import PASSWORD, Dovecot
from tests.hub.email_support import compose
from tests.hub.serving import start_serve
from tests.support import free_port

# CI installs Dovecot (scripts/setup --test-services): there a missing server is a failure
pytestmark = pytest.mark.skipif(
    not dovecot.available() and not os.environ.get("CI"), reason="needs dovecot-imapd"
)

SUPPORT = "support@hub.example"
SALES = "sales@hub.example"


@pytest.fixture(scope="module")
def imap_server() -> Iterator[Dovecot]:
    with dovecot.running_dovecot([SUPPORT, SALES, "other@hub.example"]) as server:
        yield server


def mailbox(server: Dovecot, user: str = SUPPORT, **options: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": server.tls_port,
        "verify_tls": False,  # Dovecot's certificate is self-signed
        "username": user,
        "password": PASSWORD,
        "poll_interval": 0.5,
        "batch_size": 5,
        **options,
    }


def imap_settings(make_settings: MakeSettings, tmp_path: Path, *boxes: dict[str, Any]) -> Settings:
    return make_settings(
        storage={"url": f"sqlite:///{tmp_path / 'hub.db'}", "blob_dir": str(tmp_path / "blobs")},
        channels={"imap": list(boxes)},
    )


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    """Poll until `check` holds (the servers here have no event to wait on)."""
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


async def message_count(hub: Hub) -> int:
    page = await hub.store.list_tickets(TicketFilter(), limit=200)
    return sum([len((await hub.store.get_ticket(t.id)).messages) for t in page.items])


def mails(prefix: str, count: int) -> list[bytes]:
    return [
        compose(f"message {n}", f"c{n}@example.com", message_id=f"<{prefix}{n}@example.com>")
        for n in range(count)
    ]


def flags(server: Dovecot, user: str, folder: str = "INBOX") -> list[tuple[bytes, ...]]:
    client = server.client(user)
    try:
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search(["ALL"]), ["FLAGS"])
        return [fetched[uid][b"FLAGS"] for uid in sorted(fetched)]
    finally:
        client.logout()


def clear(server: Dovecot, user: str) -> None:
    client = server.client(user)
    try:
        for folder in ("INBOX", "Done"):
            if client.folder_exists(folder):
                client.select_folder(folder)
                client.delete_messages(client.search(["ALL"]))
                client.expunge()
    finally:
        client.logout()


@pytest.fixture(autouse=True)
def _empty_mailboxes(imap_server: Dovecot) -> None:
    for user in (SUPPORT, SALES):
        clear(imap_server, user)


async def test_messages_are_ingested_then_seen_and_new_mail_arrives_by_idle(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, imap_server: Dovecot
) -> None:
    await asyncio.to_thread(imap_server.append, SUPPORT, mails("a", 7))
    box = mailbox(imap_server, poll_interval=30)  # only IDLE can bring the next one in time
    hub = await start_hub(imap_settings(make_settings, tmp_path, box))
    await eventually(lambda: _equals(message_count(hub), 7))
    await eventually(lambda: _seen_all(imap_server, SUPPORT, 7))
    await asyncio.to_thread(imap_server.append, SUPPORT, mails("b", 1))
    await eventually(lambda: _equals(message_count(hub), 8), within=10)

    async def checkpointed() -> bool:  # just after the commit the count shows: it may lag
        checkpoint = await hub.store.get_checkpoint(f"imap:{SUPPORT}@127.0.0.1/INBOX")
        return checkpoint is not None and checkpoint.endswith(":8")

    await eventually(checkpointed)
    ticket = await hub.store.get_ticket((await hub.store.list_tickets(TicketFilter())).items[0].id)
    assert ticket.channel == "email"
    assert ticket.messages[0].recipient == SUPPORT


async def test_polling_and_moving_to_a_folder(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, imap_server: Dovecot
) -> None:
    """The folder is made when it is not there (once, a MOVE into it failed after every
    batch's commit, so the batch was fetched again at each poll and never left the inbox)."""
    client = imap_server.client(SALES)
    assert not client.folder_exists("Ticketed")
    client.logout()
    await asyncio.to_thread(imap_server.append, SALES, mails("p", 3))
    box = mailbox(
        imap_server, SALES, idle=False, move_to="Ticketed", tls=False, port=imap_server.port
    )
    hub = await start_hub(imap_settings(make_settings, tmp_path, box))
    await eventually(lambda: _equals(message_count(hub), 3))
    await eventually(lambda: _folder_sizes(imap_server, SALES, (0, 3)))
    await asyncio.to_thread(imap_server.append, SALES, mails("q", 2))
    await eventually(lambda: _equals(message_count(hub), 5))


async def test_a_broken_mailbox_never_stops_the_others_and_shows_in_readyz(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, imap_server: Dovecot
) -> None:
    await asyncio.to_thread(imap_server.append, SUPPORT, mails("h", 2))
    broken = mailbox(imap_server, SALES, password="wrong-password", max_backoff=1)
    hub = await start_hub(imap_settings(make_settings, tmp_path, broken, mailbox(imap_server)))
    await eventually(lambda: _equals(message_count(hub), 2))

    async def health() -> dict[str, Any]:
        async with hub.http.get("/readyz") as response:
            assert response.status == 200
            answer: dict[str, Any] = (await response.json())["mailboxes"]
            return answer

    async def reported() -> bool:
        boxes = await health()
        return bool(boxes[f"{SALES}@127.0.0.1/INBOX"]["last_error"]) and bool(
            boxes[f"{SUPPORT}@127.0.0.1/INBOX"]["last_fetch_at"]
        )

    await eventually(reported)
    boxes = await health()
    assert boxes[f"{SUPPORT}@127.0.0.1/INBOX"]["connected"] is True
    assert boxes[f"{SUPPORT}@127.0.0.1/INBOX"]["lag_seconds"] < 30
    assert boxes[f"{SALES}@127.0.0.1/INBOX"]["connected"] is False
    async with hub.http.get("/metrics") as response:
        text = await response.text()
    assert f'contacthub_mailbox_up{{mailbox="{SUPPORT}@127.0.0.1/INBOX"}} 1.0' in text
    assert f'contacthub_mailbox_up{{mailbox="{SALES}@127.0.0.1/INBOX"}} 0.0' in text


async def test_changed_uidvalidity_rescans_without_doubles(
    start_hub: StartHub, make_settings: MakeSettings, tmp_path: Path, imap_server: Dovecot
) -> None:
    await asyncio.to_thread(imap_server.append, SUPPORT, mails("v", 4))
    settings = imap_settings(make_settings, tmp_path, mailbox(imap_server))
    hub = await start_hub(settings)
    await eventually(lambda: _equals(message_count(hub), 4))
    name = f"imap:{SUPPORT}@127.0.0.1/INBOX"
    await hub.store.set_checkpoint(name, "1:99999")  # as if the folder had been recreated
    await asyncio.to_thread(imap_server.append, SUPPORT, mails("w", 1))
    await eventually(lambda: _equals(message_count(hub), 5))
    await asyncio.sleep(0.5)
    assert await message_count(hub) == 5


async def test_poller_killed_mid_batch_loses_and_doubles_nothing(
    tmp_path: Path, imap_server: Dovecot
) -> None:
    total = 120
    await asyncio.to_thread(imap_server.append, SUPPORT, mails("k", total))
    port = free_port()
    config = tmp_path / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n'
        f'blob_dir = "{tmp_path / "blobs"}"\n[logging]\nlevel = "warning"\n'
        f'[[channels.imap]]\nhost = "127.0.0.1"\nport = {imap_server.port}\ntls = false\n'
        f'username = "{SUPPORT}"\npassword = "{PASSWORD}"\nbatch_size = 7\n'
        "poll_interval = 1\n",
        encoding="utf-8",
    )
    process = await start_serve(config, port)
    database = tmp_path / "hub.db"
    await eventually(lambda: _stored_at_least(database, 15), within=30)
    process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(process.wait)
    killed_at = _stored(database)
    assert killed_at < total
    restarted = await start_serve(config, port)
    try:
        await eventually(lambda: _stored_at_least(database, total), within=60)
        await asyncio.sleep(1.5)  # a poll more: nothing is ingested twice
    finally:
        restarted.terminate()
        await asyncio.to_thread(restarted.wait)
    db = sqlite3.connect(database)
    external = [row[0] for row in db.execute("SELECT external_id FROM messages")]
    db.close()
    assert sorted(external) == sorted(f"<k{n}@example.com>" for n in range(total))
    assert await asyncio.to_thread(_seen_count, imap_server) == total


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _seen_all(server: Dovecot, user: str, count: int) -> bool:
    found = await asyncio.to_thread(flags, server, user)
    return len(found) == count and all(b"\\Seen" in f for f in found)


def _seen_count(server: Dovecot) -> int:
    return sum(1 for f in flags(server, SUPPORT) if b"\\Seen" in f)


async def _folder_sizes(server: Dovecot, user: str, sizes: tuple[int, int]) -> bool:
    inbox = await asyncio.to_thread(flags, server, user)
    done = await asyncio.to_thread(flags, server, user, "Ticketed")
    return (len(inbox), len(done)) == sizes


def _stored(database: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0
    try:
        return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


async def _stored_at_least(database: Path, count: int) -> bool:
    return await asyncio.to_thread(_stored, database) >= count


class HeldGreeting:
    """A TCP relay to Dovecot that holds the server's first bytes until released (a slow or
    far server), and keeps what the client sent."""

    def __init__(self, target: int) -> None:
        self.target, self.port = target, 0
        self.released, self.connected, self.closed = (asyncio.Event() for _ in range(3))
        self.sent = bytearray()

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected.set()
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        await self.released.wait()
        upstream = asyncio.create_task(self._pipe(up_reader, writer))
        while data := await reader.read(65536):
            self.sent += data
            up_writer.write(data)
        self.closed.set()  # the client closed its side
        upstream.cancel()
        for end in (up_writer, writer):
            end.close()
            with contextlib.suppress(ConnectionError):
                await end.wait_closed()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)


async def test_a_mailbox_stopped_while_connecting_logs_out_what_it_connected(
    imap_server: Dovecot, tmp_path: Path
) -> None:
    relay = HeldGreeting(imap_server.port)
    server = await relay.start()
    store = SqliteStore(f"sqlite:///{tmp_path / 'hub.db'}")
    await store.open()
    config = ImapConfig(
        "127.0.0.1", SUPPORT, SUPPORT, password=PASSWORD, port=relay.port, tls=False, timeout=10
    )
    channel = ImapChannel(config, BlobStore(tmp_path / "blobs").put_many, store)

    async def never(inbound: Inbound) -> IngestResult:
        raise AssertionError(inbound)

    try:
        serving = channel.serve(never)
        await serving.__aenter__()
        await asyncio.wait_for(relay.connected.wait(), 10)
        stopping = asyncio.create_task(serving.__aexit__(None, None, None))  # mid-connect
        await asyncio.sleep(0.1)
        relay.released.set()  # the connection completes after the stop
        await asyncio.wait_for(stopping, 15)
        await asyncio.wait_for(relay.closed.wait(), 10)
        assert b"LOGOUT" in relay.sent.upper()  # logged out, not left open
    finally:
        server.close()
        await store.close()
