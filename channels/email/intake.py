"""What the SMTP listener and the IMAP pollers share: raw message -> blobs -> one contact per
support mailbox -> the sink.

Parsing runs on the event loop for ordinary messages (tens of microseconds for a few KB:
cheaper than shipping the bytes to another process) and in a process pool for large ones,
whose base64 attachments would hold the loop for milliseconds; the pool is what lets a batch
of big messages use both cores. Attachment bytes are written to the blob store (blocking,
fsynced) in a thread before the contact is committed, so a committed ticket never refers to a
blob that is not on disk.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from channels.base import Sink, utcnow
from channels.email.mime import MimeLimits, ParsedEmail, parse_email
from core.model import IngestResult

BlobWriter = Callable[[Sequence[bytes]], object]
"""Stores attachment bytes, content-addressed (storage.blobs.BlobStore.put_many); blocking."""


@dataclass
class EmailIntake:
    sink: Sink
    write_blobs: BlobWriter
    limits: MimeLimits = field(default_factory=MimeLimits)
    offload_bytes: int = 256 * 1024  # larger messages are parsed in the process pool
    pool_workers: int = 2
    clock: Callable[[], datetime] = utcnow
    _pool: Executor | None = field(default=None, repr=False)

    async def parse(self, raw: bytes, envelope_from: str | None = None) -> ParsedEmail:
        received_at = self.clock()
        if len(raw) < self.offload_bytes:
            return parse_email(raw, received_at, envelope_from, self.limits)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor(), parse_email, raw, received_at, envelope_from, self.limits
        )

    async def deliver(self, parsed: ParsedEmail, mailboxes: Sequence[str]) -> list[IngestResult]:
        """Commit one ticket message per mailbox; returns only after every commit."""
        if parsed.blobs:
            await asyncio.to_thread(self.write_blobs, parsed.blobs)
        unique = list(dict.fromkeys(m.lower() for m in mailboxes))
        if len(unique) == 1:
            return [await self.sink(parsed.for_mailbox(unique[0]))]
        return list(await asyncio.gather(*(self.sink(parsed.for_mailbox(m)) for m in unique)))

    def _executor(self) -> Executor:
        if self._pool is None:
            # forkserver: the hub has threads (SQLite, imapclient); forking them is unsafe
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.pool_workers, mp_context=context)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
