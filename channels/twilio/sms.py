"""SMS and MMS through Twilio Messaging webhooks.

    POST /webhooks/twilio/sms          a customer's message (From, To, Body, MessageSid,
                                       NumMedia, MediaUrlN, MediaContentTypeN)
    POST /webhooks/twilio/sms/status   delivery reports of the hub's outbound messages

MessageSid is the idempotency key: a retried webhook appends nothing. The answer is TwiML,
sent only after the contact is committed: empty, the configured acknowledgement (with the
ticket number) for the first message of a new ticket, or the help text for HELP. A text it
answers is handed to `answered` first, which keeps it on the ticket (hub/wiring/sms.py).
STOP and its synonyms are the customer's opt-out, START and its synonyms the opt-in:
`keyword` tells them, and the hub records them after the commit, before this answer.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Protocol
from urllib.parse import urlsplit

from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from channels.base import Dropped, DropReport, Sink, unreported, utcnow
from channels.twilio.webhook import Params, TwilioSignature, read_params, twiml, verified_contact
from core.errors import PayloadError
from core.identity import normalise_phone, phone_identity
from core.model import Attachment, Delivery, Inbound, IngestResult, Message, Outcome, whole_id

NAME = "sms"
MAX_MEDIA = 10  # Twilio's own limit of media per message
MAX_BODY_CHARS = 1600  # Twilio's limit of a message body
_MAX_SID_CHARS = 64


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), Keyword.OPT_OUT),
    **dict.fromkeys(("START", "YES", "UNSTOP"), Keyword.OPT_IN),
    "HELP": Keyword.HELP,
}


def keyword(text: str) -> Keyword | None:
    """The opt-out, opt-in or help keyword a message is, if it is one (a single word, in any
    case, trailing punctuation ignored, as carriers read them)."""
    word = text.strip().rstrip(".!").upper()
    return KEYWORDS.get(word)


def parse_sms(params: Params, received_at: datetime, default_region: str = "US") -> Inbound:
    """A Messaging webhook's parameters as an Inbound; PayloadError says what is wrong."""
    sid = _sid(params, "MessageSid")
    body = params.get("Body", "")
    if len(body) > MAX_BODY_CHARS * 10:  # concatenated segments; far past this is no SMS
        raise PayloadError(f"Body is longer than {MAX_BODY_CHARS * 10} characters", NAME)
    return Inbound(
        channel=NAME,
        external_id=sid,
        sender=phone_identity(_required(params, "From"), default_region),
        recipient=_number(params.get("To", ""), default_region),
        text=body,
        received_at=received_at,
        attachments=parse_media(params),
    )


def parse_media(params: Params) -> tuple[Attachment, ...]:
    """MMS media as attachment references (the bytes stay with Twilio)."""
    raw = params.get("NumMedia", "0") or "0"
    count = whole_id(raw)
    if count is None or count > MAX_MEDIA:
        raise PayloadError(f"NumMedia must be a whole number up to {MAX_MEDIA}", NAME)
    media = []
    for index in range(count):
        url = _required(params, f"MediaUrl{index}")
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise PayloadError(f"MediaUrl{index} is not an http(s) URL", NAME)
        name = parts.path.rstrip("/").rpartition("/")[2] or f"media-{index}"
        content_type = params.get(f"MediaContentType{index}", "") or "application/octet-stream"
        media.append(Attachment(name=name, content_type=content_type, url=url))
    return tuple(media)


def parse_status(params: Params) -> tuple[str, Delivery]:
    """A delivery report: the message's provider id and what became of it."""
    sid = _sid(params, "MessageSid")
    status = _required(params, "MessageStatus").lower()
    code = params.get("ErrorCode", "")
    error = f"twilio error {code}" if code else ""
    return sid, Delivery(status, sid, error)


def _required(params: Params, key: str) -> str:
    value = params.get(key, "").strip()
    if not value:
        raise PayloadError(f"{key} is required", NAME)
    return value


def _sid(params: Params, key: str) -> str:
    sid = _required(params, key)
    if len(sid) > _MAX_SID_CHARS or not sid.isalnum():
        raise PayloadError(f"{key} is not a Twilio SID", NAME)
    return sid


def _number(raw: str, region: str) -> str:
    """The hub's own number as E.164 when it is one (short codes stay as written)."""
    try:
        return normalise_phone(raw, region) if raw else ""
    except PayloadError:
        return raw.strip()


_TICKET = "TICKETNUMBER0c7f"  # stands for the ticket number in a rendered acknowledgement


@functools.lru_cache(maxsize=64)
def reply_twiml(text: str) -> str:
    """The TwiML of one reply (none for ""), rendered once per distinct text: serialising
    cost as much as the whole commit of the contact."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response.to_xml())


def acknowledgement_twiml(template: str, ticket_id: int) -> str:
    """The acknowledgement with the ticket number (digits: nothing to escape)."""
    return reply_twiml(template.format(ticket=_TICKET)).replace(_TICKET, str(ticket_id))


class Consent(Protocol):
    """Where customers' SMS opt-outs are kept (the store is one)."""

    async def sms_opted_out(self, identity_key: str) -> bool: ...


Answered = Callable[[IngestResult, str, str], Awaitable[None]]
"""Keeps a text the channel answers in TwiML (the text, and why: "acknowledgement", "help")
on the contact's ticket, before the answer goes out."""


class DeliveryLog(Protocol):
    """Where the delivery status of outbound messages is kept (the store is one)."""

    async def update_delivery(
        self, channel: str, provider_id: str, delivery: Delivery
    ) -> Message | None: ...


@dataclass(frozen=True, slots=True)
class SmsChannel:
    signature: TwilioSignature
    consent: Consent
    deliveries: DeliveryLog
    max_body_bytes: int
    acknowledgement: str = ""
    help_text: str = ""
    quarantine: Sink | None = None  # None: a bad signature is refused with 403
    answered: Answered | None = None
    default_region: str = "US"
    clock: Callable[[], datetime] = utcnow
    dropped: DropReport = unreported
    name: ClassVar[str] = NAME

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        async def receive(request: web.Request) -> web.Response:
            params = await read_params(request, self.max_body_bytes, NAME)
            inbound = await verified_contact(
                request, params, self.signature, self._parse, self.quarantine, NAME
            )
            if inbound is None:
                return twiml(reply_twiml(""))  # quarantined: kept, never answered
            return twiml(await self.answer(inbound, await sink(inbound)))

        return [
            web.post("/webhooks/twilio/sms", receive),
            web.post("/webhooks/twilio/sms/status", self._status),
        ]

    def _parse(self, params: Params) -> Inbound:
        return parse_sms(params, self.clock(), self.default_region)

    async def answer(self, inbound: Inbound, result: IngestResult) -> str:
        """The TwiML reply. It stays in the channel, after the sink's steps, because it is
        the provider's answer; an opt-out or opt-in word (recorded by then) gets none."""
        word = keyword(inbound.text)
        if word is Keyword.HELP:
            if self.help_text and result.outcome is not Outcome.DUPLICATE:
                await self._keep(result, self.help_text, "help")
            return reply_twiml(self.help_text)
        if word is not None or not result.created or not self.acknowledgement:
            return reply_twiml("")
        if await self.consent.sms_opted_out(inbound.sender.key):
            what = "not acknowledged: the customer opted out (STOP)"
            self.dropped(Dropped(NAME, "acknowledgement_opted_out", what))
            return reply_twiml("")
        text = self.acknowledgement.format(ticket=result.ticket_id)
        await self._keep(result, text, "acknowledgement")
        return acknowledgement_twiml(self.acknowledgement, result.ticket_id)

    async def _keep(self, result: IngestResult, text: str, why: str) -> None:
        if self.answered is not None:
            await self.answered(result, text, why)

    async def _status(self, request: web.Request) -> web.Response:
        params = await read_params(request, self.max_body_bytes, NAME)
        self.signature.check(request, params, NAME)
        sid, delivery = parse_status(params)
        await self.deliveries.update_delivery(NAME, sid, delivery)
        return web.Response(status=204)

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        yield  # webhooks only: nothing runs in the background
