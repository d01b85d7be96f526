"""Acknowledgements by email: a step after the commit of a person's new ticket, opened by
email or by a web form that gave an email address.

One acknowledgement per new ticket, at most `acknowledgements_per_address` per address per
`acknowledgement_window`, never to automatic mail (an autoresponder, a bounce: the loop two
autoresponders would make) nor to one of our own addresses (mail claiming to come from a
mailbox we receive: answering it would write to ourselves); it carries `Auto-Submitted:
auto-replied` so theirs stay quiet. The limit is kept in the store (Store.take_rate_slot),
so it holds across restarts and is one limit for all hubs, and it counts the normalised
address: "Ada+1@Example.com" and "ada+2@example.com" are one person's one inbox.
It is sent in the background (the SMTP 250 and the form's 201 do not wait for it) and kept
on the ticket like every outbound message: stored first, automatic (author "system",
`meta["automatic"]`, so it is never the team's first response and moves nothing of the
ticket), then sent through the relay, then its delivery recorded. Its Message-ID threads
the customer's answer to it back to the ticket like any other of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import structlog
from aiohttp import web

from channels.base import Dropped, DropReport, Sink, unreported
from channels.email.mime import NAME
from channels.email.sender import SmtpSender
from channels.webform import NAME as FORM
from core.errors import HubError, StorageError
from core.identity import EMAIL, mask
from core.model import SYSTEM, Delivery, Identity, Inbound, IngestResult, Message, Via
from hub.settings.email import OutboundSmtpSettings
from hub.settings.tree import Settings
from hub.wiring.email import email_sender
from storage.base import Store

log = structlog.get_logger("contacthub.email")
ACKNOWLEDGEMENT = "acknowledgement"

SentOut = Callable[[str, str, str], None]
"""Told of each acknowledgement handed to the relay: (channel, kind, the delivery's status)."""


def unheard(_channel: str, _kind: str, _status: str) -> None:
    """A `SentOut` that counts nothing."""


RATE_KEY = "ack:"  # the store's rate limit key of an address: "ack:<normalised address>"


def email_acknowledger(
    settings: Settings, store: Store, dropped: DropReport = unreported, sent_out: SentOut = unheard
) -> Acknowledger | None:
    """The acknowledger, when email or web forms come in and the relay is to acknowledge."""
    channels, relay, sender = settings.channels, settings.outbound.smtp, email_sender(settings)
    comes_in = channels.smtp is not None or bool(channels.imap) or channels.webform is not None
    if not comes_in or relay is None or sender is None or not relay.acknowledge:
        return None
    return Acknowledger(
        store, sender, relay, own_addresses(settings), dropped, sent_out,
        relay.acknowledgement_backlog,
    )  # fmt: skip


def normalised(address: str) -> str:
    """The inbox an address reaches: lower case, without plus-addressing ("ada+x@y" ->
    "ada@y"), which most providers deliver to the same mailbox."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return domain
    return f"{local.partition('+')[0] or local}@{domain}"


@dataclass(frozen=True, slots=True)
class OwnAddresses:
    """Our own mailboxes (normalised) and the domains the listener takes all mail for."""

    addresses: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        address = normalised(address)
        return address in self.addresses or address.rpartition("@")[2] in self.domains


def own_addresses(settings: Settings) -> OwnAddresses:
    """Every address the hub receives mail at or sends it from."""
    channels, relay = settings.channels, settings.outbound.smtp
    found: list[str | None] = [relay.from_address if relay else None]
    found += [mailbox.address or mailbox.username for mailbox in channels.imap]
    domains: Collection[str] = ()
    if channels.smtp is not None:
        found += channels.smtp.mailboxes
        domains = channels.smtp.domains
    return OwnAddresses(
        frozenset(normalised(a) for a in found if a and "@" in a),
        frozenset(d.strip().lower().lstrip("@") for d in domains),
    )


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
    own: OwnAddresses = field(default_factory=OwnAddresses)
    dropped: DropReport = unreported
    sent_out: SentOut = unheard
    backlog: int = 1000  # under way at most (`acknowledgement_backlog`); more: dropped, counted
    name: ClassVar[str] = "email-acknowledgements"
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        return []

    async def __call__(self, inbound: Inbound, result: IngestResult) -> None:
        """After a contact's commit: a person's new ticket is acknowledged."""
        address = acknowledged_address(inbound) if result.created else None
        if address is not None:
            self.acknowledge(address, result.ticket_id, inbound.channel)
        elif result.created and inbound.channel == NAME:
            why = inbound.meta.get("automatic") or "no address to answer"
            self.dropped(Dropped(NAME, "acknowledgement_automatic", f"not acknowledged: {why}"))

    def acknowledge(self, address: str, ticket_id: int, channel: str = NAME) -> None:
        """Acknowledge in the background (the limit is asked there too: a store round trip
        the provider's answer does not wait for). At most `backlog` under way: a relay that
        takes nothing (down, or a black hole that lets each send wait out its timeout) would
        otherwise gather one task per new ticket for as long as it lasts: those beyond are
        dropped, counted and logged, and nothing of them is stored."""
        if address in self.own:
            log.info("acknowledgement_to_ourselves_skipped", ticket=ticket_id, to=mask(address))
            what = "not acknowledged: the sender is one of our own addresses"
            self.dropped(Dropped(channel, "acknowledgement_to_own_address", what))
            return
        if len(self._tasks) >= self.backlog:
            log.warning("acknowledgement_backlog_full", ticket=ticket_id, waiting=len(self._tasks))
            what = f"not acknowledged: {len(self._tasks)} acknowledgements wait for the relay"
            self.dropped(Dropped(channel, "acknowledgement_backlog", what))
            return
        task = asyncio.create_task(self._send(ticket_id, address, channel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _allowed(self, address: str) -> bool:
        limit, window = self.relay.acknowledgements_per_address, self.relay.acknowledgement_window
        key = RATE_KEY + normalised(address)
        return await self.store.take_rate_slot(key, limit, window, datetime.now(UTC))

    async def _send(self, ticket_id: int, address: str, channel: str) -> None:
        try:
            if not await self._allowed(address):
                log.info("acknowledgement_rate_limited", ticket=ticket_id, to=mask(address))
                what = "not acknowledged: the address had its acknowledgements in the window"
                setting = "outbound.smtp.acknowledgements_per_address"
                self.dropped(Dropped(channel, "acknowledgement_rate_limited", what, setting))
                return
        except StorageError as exc:  # the store is down: no acknowledgement, as a rule
            log.warning("acknowledgement_failed", ticket=ticket_id, to=mask(address),
                        error=exc.message)  # fmt: skip
            return
        try:
            message, delivery = await self._deliver(ticket_id, address)
        except HubError as exc:  # nothing was sent, or what was is on the ticket as queued
            log.warning("acknowledgement_failed", ticket=ticket_id, to=mask(address),
                        error=exc.message)  # fmt: skip
            return
        if delivery.failed:
            log.warning("acknowledgement_failed", ticket=ticket_id, message_id=message.id,
                        to=mask(address), error=delivery.error)  # fmt: skip
        else:
            log.info("acknowledgement_sent", ticket=ticket_id, message_id=message.id)

    async def _deliver(self, ticket_id: int, address: str) -> tuple[Message, Delivery]:
        ticket = await self.store.get_ticket(ticket_id)
        body = self.relay.acknowledgement.format(ticket=ticket_id)
        self.sender.recipient(ticket, body, Identity(EMAIL, address))  # refused before stored
        via = Via(NAME, automatic=ACKNOWLEDGEMENT)
        message = await self.store.append_outbound(ticket_id, body, SYSTEM, datetime.now(UTC), via)
        delivery = await self.sender.deliver(ticket, message.id, body, automatic=True, to=address)
        self.sent_out(NAME, ACKNOWLEDGEMENT, delivery.status)
        return await self.store.record_delivery(message.id, delivery), delivery

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        try:
            async with self.sender.serve():  # its kept relay connections closed at the end
                yield
        finally:
            if self._tasks:  # let acknowledgements under way finish, briefly
                await asyncio.wait(self._tasks, timeout=5)
            for task in self._tasks:
                task.cancel()
