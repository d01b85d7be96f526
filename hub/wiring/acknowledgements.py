"""Acknowledgements by email: a step after the commit of a person's new ticket, opened by
email or by a web form that gave an email address.

One acknowledgement per new ticket, at most `acknowledgements_per_address` per address per
`acknowledgement_window`, never to automatic mail (an autoresponder, a bounce: the loop two
autoresponders would make); it carries `Auto-Submitted: auto-replied` so theirs stay quiet.
It is sent in the background (the SMTP 250 and the form's 201 do not wait for it) and kept
on the ticket like every outbound message: stored first, automatic (author "system",
`meta["automatic"]`, so it is never the team's first response and moves nothing of the
ticket), then sent through the relay, then its delivery recorded. Its Message-ID threads
the customer's answer to it back to the ticket like any other of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import structlog
from aiohttp import web

from channels.base import Sink
from channels.email.mime import NAME
from channels.email.sender import SmtpSender
from channels.webform import NAME as FORM
from core.errors import HubError
from core.identity import EMAIL, mask
from core.model import SYSTEM, Delivery, Identity, Inbound, IngestResult, Message, Via
from hub.settings.email import OutboundSmtpSettings
from hub.settings.tree import Settings
from hub.wiring.email import email_sender
from storage.base import Store

log = structlog.get_logger("contacthub.email")
_SWEEP_AT = 10_000  # addresses remembered by the acknowledgement rate limit before a sweep
ACKNOWLEDGEMENT = "acknowledgement"


def email_acknowledger(settings: Settings, store: Store) -> Acknowledger | None:
    """The acknowledger, when email or web forms come in and the relay is to acknowledge."""
    channels, relay, sender = settings.channels, settings.outbound.smtp, email_sender(settings)
    comes_in = channels.smtp is not None or bool(channels.imap) or channels.webform is not None
    if not comes_in or relay is None or sender is None or not relay.acknowledge:
        return None
    return Acknowledger(store, sender, relay)


def acknowledged_address(inbound: Inbound) -> str | None:
    """Where a new ticket's contact is acknowledged: the sender of a person's email, the
    email address a web form gave; None for anything else."""
    if inbound.channel == NAME:
        automatic = inbound.meta.get("automatic") or inbound.sender.value.endswith("@invalid")
        return None if automatic else inbound.sender.value
    if inbound.channel == FORM:
        return next((i.value for i in inbound.all_identities if i.kind == EMAIL), None)
    return None


@dataclass
class Acknowledger:
    """The step, whose sending runs in the background while the app runs (a Channel without
    routes, so the app gives it a lifetime)."""

    store: Store
    sender: SmtpSender
    relay: OutboundSmtpSettings
    name: ClassVar[str] = "email-acknowledgements"
    _sent: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        return []

    async def __call__(self, inbound: Inbound, result: IngestResult) -> None:
        """After a contact's commit: a person's new ticket is acknowledged."""
        address = acknowledged_address(inbound) if result.created else None
        if address is not None:
            self.acknowledge(address, result.ticket_id)

    def acknowledge(self, address: str, ticket_id: int) -> None:
        if not self._allowed(address):
            log.info("acknowledgement_rate_limited", ticket=ticket_id, to=mask(address))
            return
        task = asyncio.create_task(self._send(ticket_id, address))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _allowed(self, address: str) -> bool:
        now, window = time.monotonic(), self.relay.acknowledgement_window.total_seconds()
        if len(self._sent) > _SWEEP_AT:  # forget addresses whose window has passed
            stale = [a for a, times in self._sent.items() if not times or times[-1] <= now - window]
            for gone in stale:
                del self._sent[gone]
        sent = self._sent[address]
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) >= self.relay.acknowledgements_per_address:
            return False
        sent.append(now)
        return True

    async def _send(self, ticket_id: int, address: str) -> None:
        try:
            message, delivery = await self._deliver(ticket_id, address)
        except HubError as exc:  # nothing was sent, or what was is on the ticket as queued
            log.warning("acknowledgement_failed", ticket=ticket_id, to=mask(address),
                        error=exc.message)  # fmt: skip
            return
        if delivery.failed:
            log.warning("acknowledgement_failed", ticket=ticket_id, message=message.id,
                        to=mask(address), error=delivery.error)  # fmt: skip
        else:
            log.info("acknowledgement_sent", ticket=ticket_id, message=message.id)

    async def _deliver(self, ticket_id: int, address: str) -> tuple[Message, Delivery]:
        ticket = await self.store.get_ticket(ticket_id)
        body = self.relay.acknowledgement.format(ticket=ticket_id)
        self.sender.recipient(ticket, body, Identity(EMAIL, address))  # refused before stored
        via = Via(NAME, automatic=ACKNOWLEDGEMENT)
        message = await self.store.append_outbound(ticket_id, body, SYSTEM, datetime.now(UTC), via)
        delivery = await self.sender.deliver(ticket, message.id, body, automatic=True, to=address)
        return await self.store.record_delivery(message.id, delivery), delivery

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._tasks:  # let acknowledgements under way finish, briefly
                await asyncio.wait(self._tasks, timeout=5)
            for task in self._tasks:
                task.cancel()
