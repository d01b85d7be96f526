"""The ingest pipeline: Inbound -> dedupe -> identify -> thread -> route -> commit -> result.

Everything after parsing is one atomic store operation (`Store.commit_inbound`): the store
dedupes on the contact's idempotency key, resolves the customer by any of their identities,
threads onto a ticket and, for a new ticket only, asks the router. Its result says what it
did and decided. Then the steps after the commit run, in order (hub/wiring/after_commit.py
lists them), and the sink returns: a channel acknowledges its provider only once the
contact is durable and those steps are done.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from core.errors import StorageError
from core.identity import mask
from core.model import Inbound, IngestResult, ThreadPolicy
from hub.log_context import bound
from hub.metrics import Metrics
from hub.rules.routing import RulesRouter
from storage.base import Store

log = structlog.get_logger("contacthub.ingest")

AfterCommit = Callable[[Inbound, IngestResult], Awaitable[None]]
"""A step after a contact's commit, told what the commit did and decided. Each step picks
the contacts it is for; one that raises fails the contact's answer (the provider retries,
the retry is a duplicate, and the steps run again), so a step that may fail alone catches."""


@dataclass(frozen=True, slots=True)
class Ingest:
    """The sink every channel hands its contacts to."""

    store: Store
    router: RulesRouter
    policy: ThreadPolicy
    metrics: Metrics
    after_commit: tuple[AfterCommit, ...] = ()

    async def __call__(self, inbound: Inbound) -> IngestResult:
        # the contact's lines carry its channel, and its ticket once committed
        with bound(channel=inbound.channel):
            result = await self._commit(inbound)
            with bound(ticket_id=result.ticket_id):
                for step in self.after_commit:
                    await step(inbound, result)
        return result

    async def _commit(self, inbound: Inbound) -> IngestResult:
        started = time.perf_counter()
        try:
            result = await self.store.commit_inbound(inbound, self.router, self.policy)
        except StorageError as exc:
            self.metrics.contacts.labels(inbound.channel, "failed").inc()
            log.warning(
                "ingest_failed",
                channel=inbound.channel,
                sender=mask(inbound.sender.value),
                error=exc.message,
            )
            raise
        self.metrics.ingested(inbound.channel, result.outcome, time.perf_counter() - started)
        # the sender and subject as they came: the log's redactor masks them above debug
        log.info(
            "contact_ingested",
            ticket_id=result.ticket_id,
            outcome=result.outcome,
            sender=inbound.sender.value,
            subject=inbound.subject,
        )
        return result
