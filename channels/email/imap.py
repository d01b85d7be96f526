"""IMAP mailboxes (imapclient): one poller per configured mailbox.

A poller connects (TLS, password or XOAUTH2), selects its folder and ingests every message
above its checkpoint, `batch_size` at a time with BODY.PEEK[] (peeking sets no flag). After
each batch is committed it flags the messages \\Seen (or moves them to `move_to`) and only then
advances the checkpoint `<UIDVALIDITY>:<last UID>` in the store. A crash anywhere in between
re-fetches at most one batch, whose messages the store recognises as duplicates (mailbox +
Message-ID + body digest): nothing is lost, nothing doubled. A changed UIDVALIDITY re-scans the
folder from the start, safely for the same reason.

Then it waits for new mail: IDLE where the server has it, else a poll every `poll_interval`.
Failures reconnect with exponential backoff; every poller is its own task, so one broken
mailbox never stops the others, and each keeps a `MailboxHealth` the hub shows in /readyz
and /metrics. imapclient blocks: each poller runs its client calls on one thread of its own
(calls on one connection must not overlap, even while a cancelled call is finishing).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

import structlog
from aiohttp import web
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from channels.base import Sink
from channels.email.intake import BlobWriter, EmailIntake
from channels.email.mime import NAME, MimeLimits
from core.errors import HubError
from core.model import ascii_digits

log = structlog.get_logger("contacthub.email.imap")
T = TypeVar("T")
SEEN = b"\\Seen"
IDLE_SLICE = 1.0  # seconds per idle_check: how long a stopping poller may keep its thread


class Checkpoints(Protocol):
    """Where each poller stopped (the Store has these two methods)."""

    async def get_checkpoint(self, name: str) -> str | None: ...

    async def set_checkpoint(self, name: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str
    username: str
    address: str
    password: str | None = field(default=None, repr=False)
    oauth2_token: str | None = field(default=None, repr=False)
    port: int = 993
    tls: bool = True
    starttls: bool = False
    verify_tls: bool = True
    folder: str = "INBOX"
    move_to: str | None = None
    idle: bool = True
    poll_interval: float = 30.0
    batch_size: int = 50
    timeout: float = 30.0
    max_backoff: float = 300.0
    limits: MimeLimits = field(default_factory=MimeLimits)

    @property
    def checkpoint_name(self) -> str:
        return f"imap:{self.username}@{self.host}/{self.folder}"


@dataclass
class MailboxHealth:
    """What /readyz and /metrics tell of one mailbox."""

    mailbox: str
    connected: bool = False
    last_fetch_at: datetime | None = None  # the last time the folder was read through
    last_error: str = ""
    last_error_at: datetime | None = None
    ingested: int = 0
    errors: int = 0

    def failed(self, error: str) -> None:
        self.connected, self.errors = False, self.errors + 1
        self.last_error, self.last_error_at = error[:300], datetime.now(UTC)

    def as_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        lag = None if self.last_fetch_at is None else datetime.now(UTC) - self.last_fetch_at
        return {
            "connected": self.connected,
            "last_fetch_at": iso(self.last_fetch_at),
            "lag_seconds": None if lag is None else round(lag.total_seconds(), 1),
            "last_error": self.last_error or None,
            "last_error_at": iso(self.last_error_at),
            "ingested": self.ingested,
            "errors": self.errors,
        }


@dataclass
class _Session:
    client: IMAPClient
    uidvalidity: int
    idle: bool


class ImapChannel:
    name: ClassVar[str] = NAME

    def __init__(self, config: ImapConfig, write_blobs: BlobWriter, checkpoints: Checkpoints):
        self.config = config
        self.write_blobs = write_blobs
        self.checkpoints = checkpoints
        self.health = MailboxHealth(f"{config.username}@{config.host}/{config.folder}")
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"imap-{config.username}")

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        return []

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        intake = EmailIntake(sink, self.write_blobs, self.config.limits)
        task = asyncio.create_task(self._run(intake), name=f"imap {self.health.mailbox}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.to_thread(self._thread.shutdown, wait=True)
            await asyncio.to_thread(intake.close)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def _run(self, intake: EmailIntake) -> None:
        backoff = 1.0
        while True:
            try:
                session = await self._open()
            except Exception as exc:  # noqa: BLE001  # the top of a long-lived poller
                self._failed(exc, "imap_connect_failed")
            else:
                backoff = 1.0
                try:
                    await self._poll(session, intake)
                except Exception as exc:  # noqa: BLE001  # log, reconnect, carry on
                    self._failed(exc, "imap_poll_failed")
                finally:
                    await self._call(_logout, session.client)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.config.max_backoff)

    async def _open(self) -> _Session:
        """A session; stopped meanwhile, the thread still connects, and that one is closed."""
        connecting = asyncio.get_running_loop().run_in_executor(self._thread, self._connect)
        try:
            return await asyncio.shield(connecting)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._call(_logout, (await connecting).client)
            raise

    def _failed(self, exc: Exception, event: str) -> None:
        error = exc.message if isinstance(exc, HubError) else f"{type(exc).__name__}: {exc}"
        self.health.failed(error)
        log.warning(event, mailbox=self.health.mailbox, error=error)

    def _connect(self) -> _Session:
        config = self.config
        context = ssl.create_default_context()
        if not config.verify_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        client = IMAPClient(
            config.host, config.port, ssl=config.tls, ssl_context=context, timeout=config.timeout
        )
        try:
            if config.starttls and not config.tls:
                client.starttls(context)
            if config.oauth2_token is not None:
                client.oauth2_login(config.username, config.oauth2_token)
            else:
                client.login(config.username, config.password or "")
            selected = client.select_folder(config.folder)
            if config.move_to is not None and not client.folder_exists(config.move_to):
                # made, not failed on after each batch: a MOVE to a missing folder fails after
                # the commit, so the batch was fetched and ingested again at every poll
                client.create_folder(config.move_to)
                log.info("imap_folder_made", mailbox=self.health.mailbox, folder=config.move_to)
            idle = config.idle and client.has_capability("IDLE")
        except BaseException:
            _logout(client)
            raise
        return _Session(client, int(selected[b"UIDVALIDITY"]), idle)

    async def _poll(self, session: _Session, intake: EmailIntake) -> None:
        self.health.connected = True
        while True:
            await self._drain(session, intake)
            self.health.last_fetch_at = datetime.now(UTC)
            await self._wait(session)

    async def _drain(self, session: _Session, intake: EmailIntake) -> None:
        """Ingest everything above the checkpoint, batch by batch."""
        last = await self._last_uid(session.uidvalidity)
        found = await self._call(session.client.search, ["UID", f"{last + 1}:*"])
        uids = sorted(uid for uid in found if uid > last)  # "n:*" also names the highest UID
        size = self.config.batch_size
        for start in range(0, len(uids), size):
            await self._ingest_batch(session, intake, uids[start : start + size])

    async def _last_uid(self, uidvalidity: int) -> int:
        saved = await self.checkpoints.get_checkpoint(self.config.checkpoint_name)
        validity, _, uid = (saved or "").partition(":")
        if saved and validity == str(uidvalidity) and ascii_digits(uid):
            return int(uid)
        if saved:
            log.info("imap_rescan", mailbox=self.health.mailbox, reason="uidvalidity changed")
        return 0

    async def _ingest_batch(self, session: _Session, intake: EmailIntake, uids: list[int]) -> None:
        fetched = await self._call(session.client.fetch, uids, [b"BODY.PEEK[]"])
        for uid in uids:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if isinstance(raw, bytes):
                parsed = await intake.parse(raw)
                await intake.deliver(parsed, [self.config.address])
                self.health.ingested += 1
        await self._call(self._settle, session.client, uids)
        checkpoint = f"{session.uidvalidity}:{uids[-1]}"
        await self.checkpoints.set_checkpoint(self.config.checkpoint_name, checkpoint)

    def _settle(self, client: IMAPClient, uids: list[int]) -> None:
        """After the commit: mark the messages read, or move them out of the folder."""
        if self.config.move_to is None:
            client.add_flags(uids, [SEEN], silent=True)
        elif client.has_capability("MOVE"):
            client.move(uids, self.config.move_to)
        else:
            client.copy(uids, self.config.move_to)
            client.delete_messages(uids, silent=True)
            client.uid_expunge(uids) if client.has_capability("UIDPLUS") else client.expunge()

    async def _wait(self, session: _Session) -> None:
        if not session.idle:
            await asyncio.sleep(self.config.poll_interval)
            await self._call(session.client.noop)
            return
        await self._call(session.client.idle)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.config.poll_interval
            while loop.time() < deadline:
                if await self._call(session.client.idle_check, IDLE_SLICE):
                    break
        finally:
            await self._call(session.client.idle_done)


def _logout(client: IMAPClient) -> None:
    try:
        with contextlib.suppress(IMAPClientError, OSError, ValueError):
            client.logout()
    finally:
        # imaplib closes the socket only when LOGOUT got its answer: a connection that broke,
        # or was cut mid-IDLE, would be left open.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            client.shutdown()
