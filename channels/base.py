"""What every channel is, and the checks they share (body limits, HMAC signatures, JSON).

A channel is pure `parse_*` functions (bytes in, `Inbound` out) plus a thin adapter that
mounts webhook routes or runs a listener and hands each `Inbound` to a `Sink`. The sink
returns only after the contact is committed, so whatever the adapter answers the provider
comes after the commit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from aiohttp import web

from core.errors import PayloadError, PayloadTooLarge, SignatureError
from core.json_input import load_json, refuse_lone_surrogates
from core.model import Delivery, Identity, Inbound, IngestResult, Message, Ticket

Sink = Callable[[Inbound], Awaitable[IngestResult]]


@dataclass(frozen=True, slots=True)
class Dropped:
    """Something a provider sent, or an answer the hub owed, that it keeps or sends nothing
    of, and why: the hub counts each kind and logs the first (nothing goes without a trace)."""

    channel: str
    kind: str  # a metric label from a small fixed set per channel: "bot_message", ...
    reason: str  # in words, for the log
    setting: str = ""  # the setting that would take it; "" when none does


DropReport = Callable[[Dropped], None]


def unreported(_dropped: Dropped) -> None:
    """The DropReport of a channel built without the hub (tests, the demo's stand-ins)."""


class Channel(Protocol):
    name: ClassVar[str]

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        """Webhook routes to mount in the hub's app ([] for listeners such as SMTP)."""

    def serve(self, sink: Sink) -> AbstractAsyncContextManager[None]:
        """Listeners and pollers that run while the app runs."""


class Sender(Protocol):
    """Delivers agents' replies on one channel. The hub records the reply first
    (`Store.append_outbound`), then calls `send`, then records the returned Delivery.

    A reply goes to the customer of the ticket's own conversation on this channel, or to
    `to`: an identity of the customer the hub chose when the ticket came on a channel that
    cannot answer (a web form's email address or phone)."""

    name: ClassVar[str]

    def recipient(self, ticket: Ticket, body: str, to: Identity | None = None) -> Identity:
        """Who a reply on this ticket goes to. InvalidRequest for a body the channel cannot
        carry, Conflict when the ticket has nobody to reply to or nothing to send from."""

    async def send(self, ticket: Ticket, message: Message, to: Identity | None = None) -> Delivery:
        """Deliver one recorded reply. A provider's final refusal is a failed Delivery with
        its reason, never an exception."""

    def serve(self) -> AbstractAsyncContextManager[None]:
        """What the sender holds while the app runs (its HTTP client session)."""


def utcnow() -> datetime:
    """The channels' default clock (a channel takes a clock argument so tests can set one)."""
    return datetime.now(UTC)


async def read_body(request: web.Request, limit: int, channel: str) -> bytes:
    """The raw body, refused with PayloadTooLarge as soon as it passes `limit` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds {limit}", channel, limit)
    try:
        body = await request.read()  # aiohttp stops a chunked body at the app's client_max_size
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"body exceeds {limit} bytes", channel, limit) from exc
    if len(body) > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes", channel, limit)
    return body


def hmac_sha256_hex(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def same_digest(expected: str, given: str) -> bool:
    """Whether a signature from a request is the expected one, in constant time. A header
    may carry any code point, and `hmac.compare_digest` raises on non-ASCII text: compared
    as UTF-8 bytes, such a signature is simply wrong (403), never a crash."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def verify_hmac_sha256(secret: bytes, body: bytes, header: str | None, channel: str) -> None:
    """Check a `sha256=<hex>` signature header in constant time."""
    if not header:
        raise SignatureError("missing signature", channel)
    scheme, _, digest = header.partition("=")
    if scheme.strip().lower() != "sha256" or not digest:
        raise SignatureError("signature must be sha256=<hex>", channel)
    if not same_digest(hmac_sha256_hex(secret, body), digest.strip().lower()):
        raise SignatureError("signature does not match the body", channel)


def json_object(body: bytes, channel: str, *, surrogates: bool = False) -> dict[str, Any]:
    """The body as a JSON object; PayloadError (400) for anything else. Lone surrogates are
    refused unless `surrogates`: a channel that allows them repairs its text itself."""
    try:
        data = load_json(body)
        if not surrogates:
            refuse_lone_surrogates(body, data)
    except ValueError as exc:
        raise PayloadError(str(exc), channel) from None
    if not isinstance(data, dict):
        raise PayloadError("body must be a JSON object", channel)
    return data
