"""`contacthub backup` while a real hub serves and writes; `contacthub restore` into a fresh
store: every ticket, message, event and attachment of the copy is the original's."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import sqlite3
import tarfile
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest

from core.errors import StorageUnavailable
from core.model import TicketFilter
from core.record import TicketEvent
from storage.base import Store, open_store
from storage.blobs import BlobStore
from storage.sqlite.open_lock import OpenLock
from tests.hub.serving import spawn_serve, wait_ready
from tests.hub.test_cli import run
from tests.support import form_body, form_headers, free_port

pytestmark = pytest.mark.slow


def write_config(root: Path, http: int = 0, smtp: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {http}\n[storage]\nurl = "sqlite:///{root / "hub.db"}"\n'
        f'blob_dir = "{root / "blobs"}"\n[channels.webform]\nsecret = "env:FORM_SECRET"\n'
        f'[channels.smtp]\nport = {smtp}\nmailboxes = ["help@example.com"]\n'
        '[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config


def send_mail(port: int, number: int) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"] = f"sender{number}@example.org", "help@example.com"
    mail["Subject"], mail["Message-ID"] = f"Invoice {number}", f"<m{number}@example.org>"
    mail.set_content("see attached")
    mail.add_attachment(f"invoice {number}".encode() * 100, "application", "pdf", filename="i.pdf")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(mail)


@contextlib.asynccontextmanager
async def serving(config: Path, port: int) -> AsyncIterator[None]:
    process = spawn_serve(config)
    try:
        await wait_ready(process, port, config.parent / "serve.log")
        yield
    finally:
        process.terminate()
        assert process.wait(10) == 0


async def post_forms(port: int, start: int, count: int) -> list[int]:
    """Signed forms, eight at a time; the ticket ids the hub acknowledged."""
    acknowledged: list[int] = []
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:

        async def one(n: int) -> None:
            body = form_body(f"form-{n}", email=f"c{n}@example.com", message=f"text {n}")
            async with http.post("/webhooks/form", data=body, headers=form_headers(body)) as r:
                assert r.status in (200, 201), await r.text()
                acknowledged.append(int((await r.json())["ticket_id"]))

        for first in range(start, start + count, 8):
            await asyncio.gather(*(one(n) for n in range(first, min(first + 8, start + count))))
    return acknowledged


async def all_events(store: Store) -> list[TicketEvent]:
    events: list[TicketEvent] = []
    while batch := await store.events_after(events[-1].seq if events else 0, 500):
        events += batch
    return events


async def compare(live: Path, fresh: Path, before: list[int]) -> set[int]:
    """Every ticket, message, event and attachment of the restored copy is the original's,
    and everything acknowledged before the backup is in it; the copy's ticket ids."""
    original = open_store(f"sqlite:///{live / 'hub.db'}")
    copy = open_store(f"sqlite:///{fresh / 'hub.db'}")
    await original.open()
    await copy.open()
    try:
        tickets = (await copy.list_tickets(TicketFilter(), limit=500)).items
        ids = {t.id for t in tickets}
        assert set(before) <= ids
        assert len(ids) >= 43
        for ticket in tickets:
            assert await copy.get_ticket(ticket.id) == await original.get_ticket(ticket.id)
            assert await copy.ticket_events(ticket.id) == await original.ticket_events(ticket.id)
        copied_events = await all_events(copy)
        assert copied_events == (await all_events(original))[: len(copied_events)]
        attachments = [
            a.sha256
            for t in tickets
            for m in (await copy.get_ticket(t.id)).messages
            for a in m.attachments
        ]
        assert len(attachments) == 3
        live_blobs, fresh_blobs = BlobStore(live / "blobs"), BlobStore(fresh / "blobs")
        for sha in attachments:
            assert sha is not None
            assert fresh_blobs.get(sha) == live_blobs.get(sha)
    finally:
        await original.close()
        await copy.close()
    return ids


async def test_backup_while_writing_restores_every_ticket_message_event_and_attachment(
    tmp_path: Path,
) -> None:
    http, smtp = free_port(), free_port()
    config = write_config(tmp_path / "live", http, smtp)
    archive = tmp_path / "backups" / "hub.tar"
    async with serving(config, http):
        for number in range(3):
            await asyncio.to_thread(send_mail, smtp, number)
        before = await post_forms(http, 0, 40)
        load = asyncio.create_task(post_forms(http, 1000, 200))
        await asyncio.sleep(0.3)  # the backup starts in the middle of the load
        taken = await asyncio.to_thread(run, "backup", str(archive), "--config", str(config))
        await load
    assert taken.returncode == 0, taken.stderr
    assert "3 attachment files" in taken.stdout
    fresh = write_config(tmp_path / "fresh")
    restored = run("restore", str(archive), "--config", str(fresh))
    assert restored.returncode == 0, restored.stderr

    ids = await compare(config.parent, fresh.parent, before)
    # a fresh hub serves the restored store and goes on numbering after it
    http = free_port()
    async with serving(write_config(fresh.parent, http, free_port()), http):
        [new] = await post_forms(http, 5000, 1)
    assert new > max(ids)


async def test_restore_refuses_a_store_with_data_unless_forced(tmp_path: Path) -> None:
    http = free_port()
    config = write_config(tmp_path / "live", http, free_port())
    async with serving(config, http):
        await post_forms(http, 0, 3)
    archive = tmp_path / "hub.tar"
    assert run("backup", str(archive), "--config", str(config)).returncode == 0
    refused = run("restore", str(archive), "--config", str(config))
    assert refused.returncode == 1
    assert "already holds a hub's data (restore --force replaces it)" in refused.stderr
    assert "Traceback" not in refused.stderr
    forced = run("restore", str(archive), "--config", str(config), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "3 tickets" in forced.stdout


async def test_restore_refuses_while_a_hub_has_the_store_open(tmp_path: Path) -> None:
    """Once, `restore --force` replaced the file under a serving hub, which went on
    acknowledging contacts into the database it had unlinked: lost at its next start."""
    http = free_port()
    config = write_config(tmp_path / "live", http, free_port())
    archive = tmp_path / "hub.tar"
    async with serving(config, http):
        await post_forms(http, 0, 2)
        assert run("backup", str(archive), "--config", str(config)).returncode == 0
        refused = await asyncio.to_thread(
            run, "restore", str(archive), "--config", str(config), "--force"
        )
        assert refused.returncode == 1
        assert "is open in a running hub or command: stop every hub on it" in refused.stderr
        assert "Traceback" not in refused.stderr
        later = await post_forms(http, 100, 1)
    store = open_store(f"sqlite:///{tmp_path / 'live' / 'hub.db'}")
    await store.open()
    try:
        assert (await store.get_ticket(later[0])).id == later[0]  # acknowledged, and kept
    finally:
        await store.close()
    forced = run("restore", str(archive), "--config", str(config), "--force")
    assert forced.returncode == 0, forced.stderr  # stopped: the restore goes ahead


async def test_a_store_does_not_open_while_a_restore_replaces_it(tmp_path: Path) -> None:
    database = tmp_path / "hub.db"
    restoring = OpenLock(database)
    restoring.exclusive()
    store = open_store(f"sqlite:///{database}")
    with pytest.raises(StorageUnavailable, match="a restore is replacing"):
        await store.open()
    restoring.release()
    await store.open()
    await store.close()


def test_a_backup_it_cannot_write_is_an_error_naming_it(tmp_path: Path) -> None:
    """Once a traceback (the temporary folder beside the archive could not be made)."""
    config = write_config(tmp_path / "live", free_port(), free_port())
    assert run("agent", "add", "ann", "--config", str(config)).returncode == 0  # a store
    (tmp_path / "plain").write_text("a file, not a folder", encoding="utf-8")
    archive = tmp_path / "plain" / "hub.tar"
    result = run("backup", str(archive), "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: cannot write the backup {archive}: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("member", "content", "reason"),
    [
        ("notes.txt", b"x", "holds no contacthub.db"),
        ("contacthub.db", b"not a database", "not a database"),
        ("blobs/00/00/" + "0" * 64, b"x", "damaged"),
    ],
)
def test_restore_refuses_an_archive_that_is_not_a_backup(
    tmp_path: Path, member: str, content: bytes, reason: str
) -> None:
    archive = tmp_path / "odd.tar"
    with tarfile.open(archive, "w") as tar:
        if member.startswith("blobs/"):
            empty = tmp_path / "empty.db"
            with contextlib.closing(sqlite3.connect(empty)) as db:
                for table in ("tickets", "messages", "ticket_events", "customers"):
                    db.execute(f"CREATE TABLE {table} (id INTEGER)")
            tar.add(empty, "contacthub.db")
        item = tmp_path / "item"
        item.write_bytes(content)
        tar.add(item, member)
    result = run("restore", str(archive), "--config", str(write_config(tmp_path / "fresh")))
    assert result.returncode == 1
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "fresh" / "hub.db").exists()
