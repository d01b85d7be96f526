"""The Store protocol: everything the hub keeps, behind one interface.

Backends are one module each and are opened by URL scheme through `open_store`, which
imports them lazily (the Redis client is not loaded for an SQLite hub). Every backend must
pass the contract suite in tests/storage/.

Errors: a backend raises `StorageUnavailable` when it cannot reach its data (the faces
answer 503 / SMTP 451 so the sender retries), `NotFound` for a missing record, and never
lets a driver's exception escape untranslated.
"""

from __future__ import annotations

import difflib
import importlib
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from core.errors import ConfigError
from core.model import (
    Customer,
    Delivery,
    Inbound,
    IngestResult,
    Message,
    Page,
    QueueStats,
    Replay,
    Role,
    Router,
    RulesVersion,
    ThreadPolicy,
    Ticket,
    TicketChange,
    TicketFilter,
    Token,
)


class Store(Protocol):
    """Durable state of the hub. Every method is one atomic operation."""

    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None:
        """Finish pending writes and release every resource."""

    async def ping(self) -> None:
        """Return when the store is usable; raise StorageUnavailable otherwise."""

    async def commit_inbound(
        self, inbound: Inbound, router: Router, policy: ThreadPolicy
    ) -> IngestResult:
        """Dedupe, identify, thread, route and store one contact, all or nothing.

        Thread keys are tried in order; a `ticket:<id>` key (core.model.TICKET_KEY_PREFIX)
        threads only onto a live ticket of the sender's own customer and is never stored.

        `router.decide` is called only when a new ticket is made, with the facts the store
        read in the same atomic operation (tags and open tickets only if the router
        `needs_history`).
        """

    async def get_ticket(self, ticket_id: int) -> Ticket:
        """The ticket with its messages, oldest first."""

    async def list_tickets(
        self, where: TicketFilter, limit: int = 50, cursor: str | None = None
    ) -> Page[Ticket]:
        """Tickets newest first, without messages; `next` continues the listing."""

    async def update_ticket(self, ticket_id: int, change: TicketChange, now: datetime) -> Ticket:
        """Apply an agent's or supervisor's change."""

    async def claim_next(self, queue: str, assignee: str, now: datetime) -> Ticket | None:
        """Hand the most pressing waiting ticket of a queue to one agent, or None."""

    async def append_outbound(
        self, ticket_id: int, body: str, author: str, now: datetime
    ) -> Message:
        """Record a reply to the customer (its delivery is the channel's business)."""

    async def record_delivery(self, message_id: int, delivery: Delivery) -> Message:
        """Keep what the channel's sender made of an outbound message: status, provider id
        (found again by `update_delivery`) and, for a failure, the reason. NotFound for an
        unknown or inbound message."""

    async def update_delivery(
        self, channel: str, provider_id: str, delivery: Delivery
    ) -> Message | None:
        """A provider's later status report of an outbound message, by the provider's id; a
        final status (delivered, undelivered, failed, read) is never replaced. None when no
        outbound message of the channel has that id."""

    async def edit_message(self, key: str, body: str | None, at: datetime) -> Message | None:
        """Record a customer's edit (the new `body`) or deletion (`body` None, the text kept)
        of the inbound message stored under idempotency key `key` (`Inbound.key`), made at
        `at`. Edits arrive unordered: an edit older than the recorded one changes nothing,
        and after a deletion nothing does. None when no inbound message has that key."""

    async def set_sms_opt_out(self, identity_key: str, opted_out: bool, at: datetime) -> None:
        """Record a customer's SMS opt-out (STOP) or opt-in (START) said at `at`; an older
        word never replaces a newer one."""

    async def sms_opted_out(self, identity_key: str) -> bool:
        """Whether the phone identity ("phone:+1...") opted out of SMS (default: no)."""

    async def get_checkpoint(self, name: str) -> str | None:
        """Where a poller named `name` stopped (e.g. an IMAP mailbox), or None."""

    async def set_checkpoint(self, name: str, value: str) -> None:
        """Keep where a poller stopped; the newest value replaces the old one."""

    async def queue_stats(self) -> list[QueueStats]:
        """Depth and age of every queue that holds tickets."""

    async def get_customer(self, customer_id: int) -> Customer:
        """The customer with all their identities."""

    async def save_rules(self, source: str, author: str, now: datetime) -> RulesVersion:
        """Keep a new version of the rules file (every version stays, with author and time)."""

    async def current_rules(self) -> RulesVersion | None:
        """The newest saved rules, if any were saved."""

    async def rules_history(self, limit: int = 50) -> list[RulesVersion]:
        """Saved versions, newest first."""

    async def replay(self, limit: int = 500, cursor: str | None = None) -> Page[Replay]:
        """Tickets oldest first, each with its first contact and the facts it was routed on."""

    async def add_token(self, name: str, role: Role, digest: str, now: datetime) -> Token:
        """Store an API token by the digest of its secret (the secret itself is never kept)."""

    async def find_token(self, digest: str) -> Token | None:
        """The live token with this digest, if any."""


BACKENDS = {
    "sqlite": "storage.sqlite:SqliteStore",
    "redis": "storage.redis:RedisStore",
    "redis+cluster": "storage.redis:RedisStore",
}
"""URL scheme -> "module:class". A backend's constructor takes the URL."""


def open_store(url: str) -> Store:
    """The backend for a storage URL, constructed but not yet opened."""
    scheme = urlsplit(url).scheme
    target = BACKENDS.get(scheme)
    if target is None:
        hint = difflib.get_close_matches(scheme, BACKENDS, n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(
            f"storage.url: unknown scheme {scheme!r}{did_you_mean}; "
            f"known: {', '.join(sorted(BACKENDS))}"
        )
    module_name, _, class_name = target.partition(":")
    backend: type[Store] = getattr(importlib.import_module(module_name), class_name)
    return backend(url)  # type: ignore[call-arg]  # the protocol says nothing of __init__
