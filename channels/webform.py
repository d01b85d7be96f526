"""Web form intake: website contact forms and other systems post signed JSON.

    POST /webhooks/form
    X-Contacthub-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>
    {"external_id": "...", "name": "...", "email": "...", "phone": "...",
     "subject": "...", "message": "..."}

`external_id` is the sender's id for the submission and the idempotency key: a resubmitted
form appends nothing. Email or phone is required; both become identities of one customer.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from channels.base import Sink, json_object, read_body, utcnow, verify_hmac_sha256
from core.errors import PayloadError
from core.identity import email_identity, phone_identity
from core.json_text import dumps
from core.model import Identity, Inbound

NAME = "form"
SIGNATURE_HEADER = "X-Contacthub-Signature"
_FIELDS = ("external_id", "name", "email", "phone", "subject", "message")
_SHORT_FIELD_CHARS = 1000


def parse_form(
    body: bytes,
    received_at: datetime,
    default_region: str = "US",
    max_field_chars: int = 100_000,
) -> Inbound:
    """A signed form submission's body as an Inbound; PayloadError says what is wrong."""
    data = json_object(body, NAME)
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise PayloadError(f"unknown field(s): {', '.join(unknown)}", NAME)
    fields = {key: _text(data, key, max_field_chars) for key in _FIELDS}
    if not fields["external_id"]:
        raise PayloadError("external_id is required", NAME)
    identities = _identities(fields["email"], fields["phone"], default_region)
    return Inbound(
        channel=NAME,
        external_id=fields["external_id"],
        sender=identities[0],
        identities=identities[1:],
        sender_name=fields["name"],
        subject=fields["subject"],
        text=fields["message"],
        received_at=received_at,
    )


def _text(data: dict[str, Any], key: str, max_chars: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{key} must be a string", NAME)
    limit = max_chars if key == "message" else _SHORT_FIELD_CHARS
    if len(value) > limit:
        raise PayloadError(f"{key} is longer than {limit} characters", NAME)
    return value.strip()


def _identities(email: str, phone: str, region: str) -> tuple[Identity, ...]:
    found = []
    if email:
        found.append(email_identity(email))
    if phone:
        found.append(phone_identity(phone, region))
    if not found:
        raise PayloadError("email or phone is required", NAME)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class WebformChannel:
    secret: bytes
    max_body_bytes: int
    default_region: str = "US"
    max_field_chars: int = 100_000
    clock: Callable[[], datetime] = utcnow
    name: ClassVar[str] = NAME

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        async def receive(request: web.Request) -> web.Response:
            body = await read_body(request, self.max_body_bytes, NAME)
            verify_hmac_sha256(self.secret, body, request.headers.get(SIGNATURE_HEADER), NAME)
            inbound = parse_form(body, self.clock(), self.default_region, self.max_field_chars)
            result = await sink(inbound)
            return web.json_response(
                {"ticket_id": result.ticket_id, "outcome": result.outcome},
                status=201 if result.created else 200,
                dumps=dumps,
            )

        return [web.post("/webhooks/form", receive)]

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        yield  # webhooks only: nothing to run in the background
