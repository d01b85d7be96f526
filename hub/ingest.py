"""The ingest pipeline: Inbound -> dedupe -> identify -> thread -> route -> commit -> result.

Everything after parsing is one atomic store operation (`Store.commit_inbound`): the store
dedupes on the contact's idempotency key, resolves the customer by any of their identities,
threads onto a ticket and, for a new ticket only, asks the router. The sink returns after
the commit, so a channel acknowledges its provider only once the contact is durable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from core.errors import StorageError
from core.identity import mask
from core.model import Decision, Inbound, IngestResult, ThreadPolicy
from hub.metrics import Metrics
from hub.rules.routing import Routing
from storage.base import Store

log = structlog.get_logger("contacthub.ingest")


@dataclass(frozen=True, slots=True)
class Ingest:
    """The sink every channel hands its contacts to."""

    store: Store
    routing: Routing
    policy: ThreadPolicy
    metrics: Metrics
    on_campaign: CampaignHook | None = None
    """Told, after the commit, of each new ticket whose decision names a campaign."""

    async def __call__(self, inbound: Inbound) -> IngestResult:
        started = time.perf_counter()
        try:
            result = await self.store.commit_inbound(inbound, self.routing, self.policy)
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
        decision = result.decision
        if self.on_campaign is not None and decision is not None and decision.campaign:
            await self.on_campaign(inbound, result, decision)
        return result


CampaignHook = Callable[[Inbound, IngestResult, Decision], Awaitable[None]]
