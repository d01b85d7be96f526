"""Contacts whose signature failed, kept when `on_bad_signature = "quarantine"`.

Some providers' traffic fails a signature check through no fault of the sender (a proxy
that rewrites the URL, a number pool signing with another URL form). Quarantine keeps such
contacts instead of losing them: in queue `quarantine`, tagged `unverified`, never routed
and never answered; each one is logged and counted with the URL the signature was checked
against, like a rejection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from channels.twilio.webhook import without_query
from core.deadlines import SlaMarks
from core.identity import mask
from core.model import CustomerFacts, Decision, Inbound, IngestResult, ThreadPolicy
from core.record import TicketEvent
from hub.metrics import Metrics
from storage.base import Store

log = structlog.get_logger("contacthub.quarantine")

QUEUE = "quarantine"
TAG = "unverified"


class QuarantineRouter:
    """Every unverified contact to the quarantine queue; no rule sees it."""

    needs_history = False

    def decide(self, inbound: Inbound, facts: CustomerFacts) -> Decision:
        return Decision(
            QUEUE,
            tags=(TAG,),
            explanation=("signature check failed: kept unverified in quarantine, not routed",),
        )

    def sla_after(self, events: Sequence[TicketEvent], now: datetime) -> SlaMarks | None:
        return None  # the rules' router keeps them (the watcher, for a quarantined ticket)


@dataclass(frozen=True, slots=True)
class Quarantine:
    """A sink for unverified contacts."""

    store: Store
    policy: ThreadPolicy
    metrics: Metrics

    async def __call__(self, inbound: Inbound) -> IngestResult:
        url = inbound.meta.get("checked_url", "")
        self.metrics.rejected.labels(inbound.channel, "quarantined", without_query(url)).inc()
        log.warning(
            "webhook_quarantined",
            channel=inbound.channel,
            url=url,
            sender=mask(inbound.sender.value.partition(":")[2]),
        )
        return await self.store.commit_inbound(inbound, QuarantineRouter(), self.policy)
