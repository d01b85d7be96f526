"""Retention and erasure at the hub: the sweeper that purges closed tickets past
`[retention] closed_after_days`, and a customer's erasure with its receipt.

The store does the forgetting, one atomic step per batch (core/retention.py); the hub adds
what the store cannot: the attachment files on disk (a blob goes once the store says no
message refers to it), and the schedule. The sweeper runs on every hub, but a sweep starts
only on the hub that takes the store's one slot per interval (`Store.take_rate_slot`, atomic
and shared by every hub of the store), so one hub sweeps each interval. A sweep that takes
longer than its interval may meet the next one on another hub: harmless, since each batch is
atomic and a ticket is purged once. Batches are bounded (`batch` tickets), and a sweep stops
after `MAX_BATCHES` of them, leaving the rest to the next.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timedelta

import structlog

from core.errors import HubError
from core.retention import Erasure
from hub.background import Failed, running, unheard
from hub.settings.retention import RetentionSettings
from storage.base import Store
from storage.blobs import BlobStore

log = structlog.get_logger("contacthub.retention")

CLAIM = "retention:sweep"
"""The rate-limit key of the sweep's slot (one per interval across hubs)."""
MAX_BATCHES = 100


class Sweeper:
    """One hub's retention sweeper; `purged` counts the tickets it purged."""

    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        settings: RetentionSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.store, self.blobs, self.settings, self.clock = store, blobs, settings, clock
        self.purged = 0

    async def run(self) -> None:
        """Sweep every interval until cancelled; a failing sweep is logged and retried."""
        while True:
            try:
                await self.sweep()
            except (HubError, OSError) as exc:  # storage down: the next interval retries
                log.warning("retention_sweep_failed", error=str(exc))
            await asyncio.sleep(self.settings.interval.total_seconds())

    async def sweep(self) -> int:
        """Purge what is due if this hub holds this interval's slot; tickets purged."""
        now = self.clock()
        slot = self.settings.interval * 0.9  # a little short: a late wake-up still gets it
        if not await self.store.take_rate_slot(CLAIM, 1, slot, now):
            return 0
        before = now - timedelta(days=self.settings.closed_after_days)
        purged = blobs = 0
        for _ in range(MAX_BATCHES):
            batch = await self.store.purge_closed(before, self.clock(), self.settings.batch)
            purged += len(batch.tickets)
            blobs += await delete_blobs(self.blobs, batch.blobs)
            if len(batch.tickets) < self.settings.batch:
                break
        self.purged += purged
        if purged:
            log.info("retention_swept", tickets=purged, blobs=blobs, before=before.isoformat())
        return purged


async def erase_customer(
    store: Store, blobs: BlobStore, customer_id: int, by: str, now: datetime
) -> Erasure:
    """Erase the customer (Store.erase_customer) and the blobs only they referred to."""
    erasure = await store.erase_customer(customer_id, by, now)
    deleted = await delete_blobs(blobs, erasure.blobs)
    log.info("customer_erased", customer=customer_id, by=by, tickets=len(erasure.tickets))
    return dataclasses.replace(erasure, blobs_deleted=deleted)


async def delete_blobs(blobs: BlobStore, shas: Iterable[str]) -> int:
    """Delete the files (in a thread: file I/O); how many were there."""
    shas = list(shas)
    if not shas:
        return 0
    return sum(await asyncio.to_thread(lambda: [blobs.delete(sha) for sha in shas]))


def sweeping(sweeper: Sweeper, failed: Failed = unheard) -> AsyncIterator[None]:
    """The sweeper for the app's lifetime (a `cleanup_ctx` body)."""
    return running(sweeper.run, failed=failed)
