"""Voice calls through Twilio Voice webhooks: every call a ticket, and an IVR around it.

    POST /webhooks/twilio/voice               an incoming call
    POST /webhooks/twilio/voice/menu          the caller's choice (1 callback, 2 voicemail)
    POST /webhooks/twilio/voice/recorded      the voicemail ended (the caller hears goodbye)
    POST /webhooks/twilio/voice/recording     recording status callback: the recording URL
    POST /webhooks/twilio/voice/transcription the voicemail's transcription
    POST /webhooks/twilio/voice/queue         the caller left the queue (QueueResult)
    POST /webhooks/twilio/voice/dialed        the dialled number's outcome (DialCallStatus)
    POST /webhooks/twilio/voice/status        call status callbacks

CallSid is the call's idempotency key and its thread key: every follow-up appends to the
call's ticket, once, however often Twilio retries it. Within the routed queue's business
hours (and below its configured size) the caller is enqueued into it or dialled through;
otherwise a menu offers a callback (event callback_request) or a voicemail (event
voicemail: the recording URL and the transcription are appended). A call that rings out,
is busy, fails, or whose caller hangs up while waiting becomes event missed_call.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from channels.base import Sink, utcnow
from channels.twilio import twiml as tw
from channels.twilio.webhook import Params, TwilioSignature, read_params, twiml, verified_contact
from core.errors import PayloadError
from core.identity import phone_identity
from core.model import Attachment, Event, Identity, Inbound, IngestResult

NAME = "voice"
MISSED_CALL_STATUSES = frozenset({"no-answer", "busy", "failed", "canceled"})
QUEUE_FALLBACK = frozenset({"queue-full", "error", "system-error"})
_MAX_SID_CHARS = 64
_MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class QueueState:
    """Where a call's ticket was routed, whether that queue is open now, how many wait."""

    queue: str
    open: bool
    waiting: int


Placement = Callable[[IngestResult, datetime], Awaitable[QueueState]]
"""The hub's answer for a committed call at a moment (channels know nothing of routing)."""


def call_thread(call_sid: str) -> str:
    return f"twilio-call:{call_sid}"


def parse_call(params: Params, received_at: datetime, default_region: str = "US") -> Inbound:
    """An incoming call: the ticket every later event of the call appends to."""
    sid = _sid(params, "CallSid")
    identity = caller_identity(params, sid, default_region)
    return Inbound(
        channel=NAME,
        external_id=sid,
        sender=identity,
        recipient=params.get("To", "").strip(),
        text=f"incoming call from {_spoken(identity)}",
        received_at=received_at,
        event=Event.CALL,
        thread_keys=(call_thread(sid),),
    )


def call_event(
    params: Params,
    event: Event,
    text: str,
    received_at: datetime,
    default_region: str = "US",
    *,
    suffix: str = "",
) -> Inbound:
    """A later event of a call; `suffix` makes its idempotency key (one per call and kind)."""
    sid = _sid(params, "CallSid")
    return Inbound(
        channel=NAME,
        external_id=f"{sid}:{suffix or event}",
        sender=caller_identity(params, sid, default_region),
        recipient=params.get("To", "").strip(),
        text=text,
        received_at=received_at,
        event=event,
        thread_keys=(call_thread(sid),),
    )


def parse_recording(params: Params, received_at: datetime, region: str = "US") -> Inbound | None:
    """A completed voicemail recording (its URL as the attachment); None for other states."""
    if params.get("RecordingStatus", "completed") != "completed":
        return None
    recording = _sid(params, "RecordingSid")
    url = params.get("RecordingUrl", "").strip()
    if not url.startswith(("https://", "http://")):
        raise PayloadError("RecordingUrl is not an http(s) URL", NAME)
    seconds = params.get("RecordingDuration", "")
    text = f"voicemail ({seconds} s)" if seconds.isdigit() else "voicemail"
    audio = Attachment(name=f"{recording}.wav", content_type="audio/x-wav", url=url)
    event = call_event(params, Event.VOICEMAIL, text, received_at, region, suffix=recording)
    return dataclasses.replace(event, attachments=(audio,))


def parse_transcription(params: Params, received_at: datetime, region: str = "US") -> Inbound:
    """A voicemail's transcription (or the note that it failed), appended to the call."""
    transcription = _sid(params, "TranscriptionSid")
    if params.get("TranscriptionStatus", "completed") == "completed":
        text = params.get("TranscriptionText", "")[:_MAX_TEXT_CHARS]
    else:
        text = "(the voicemail could not be transcribed)"
    return call_event(params, Event.VOICEMAIL, text, received_at, region, suffix=transcription)


def missed_call(params: Params, why: str, received_at: datetime, region: str = "US") -> Inbound:
    """One missed_call per call, whichever callback tells it first."""
    return call_event(params, Event.MISSED_CALL, f"missed call: {why}", received_at, region)


def caller_identity(params: Params, call_sid: str, default_region: str) -> Identity:
    """The caller's number in E.164; a withheld or non-phone caller is one call's stranger."""
    raw = params.get("From", "").strip() or params.get("caller", "").strip()
    try:
        return phone_identity(raw, default_region)
    except PayloadError:
        return Identity("anonymous", call_sid)


def _spoken(identity: Identity) -> str:
    return identity.value if identity.kind != "anonymous" else "a withheld number"


def _sid(params: Params, key: str) -> str:
    sid = params.get(key, "").strip()
    if not sid or len(sid) > _MAX_SID_CHARS or not sid.isalnum():
        raise PayloadError(f"{key} is required and must be a Twilio SID", NAME)
    return sid


@dataclass(frozen=True, slots=True)
class VoiceChannel:
    signature: TwilioSignature
    placement: Placement
    max_body_bytes: int
    ivr: tw.Ivr = field(default_factory=tw.Ivr)
    quarantine: Sink | None = None  # None: a bad signature is refused with 403
    default_region: str = "US"
    clock: Callable[[], datetime] = utcnow
    name: ClassVar[str] = NAME

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        flow = CallFlow(self, sink)
        steps = {
            "menu": flow.menu,
            "recorded": flow.recorded,
            "recording": flow.recording,
            "transcription": flow.transcription,
            "queue": flow.left_queue,
            "dialed": flow.dialed,
            "status": flow.status,
        }
        return [
            web.post(tw.BASE, flow.incoming),
            *(web.post(f"{tw.BASE}/{step}", handler) for step, handler in steps.items()),
        ]

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        yield  # webhooks only: nothing runs in the background

    def parse(self, params: Params) -> Inbound:
        return parse_call(params, self.clock(), self.default_region)


@dataclass(frozen=True, slots=True)
class CallFlow:
    """The webhook handlers of one mounted voice channel."""

    channel: VoiceChannel
    sink: Sink

    async def verified(self, request: web.Request) -> Params:
        """The form parameters (with the signed query's), once the signature holds."""
        params = await read_params(request, self.channel.max_body_bytes, NAME)
        self.channel.signature.check(request, params, NAME)
        return _with_query(params, request)

    async def incoming(self, request: web.Request) -> web.Response:
        channel = self.channel
        params = await read_params(request, channel.max_body_bytes, NAME)
        call = await verified_contact(
            request, params, channel.signature, channel.parse, channel.quarantine, NAME
        )
        if call is None:
            return twiml(tw.reject())  # quarantined: kept, never answered
        result = await self.sink(call)
        state = await channel.placement(result, call.received_at)
        if state.open and channel.ivr.admits(state.waiting):
            return twiml(tw.connect(channel.ivr, state.queue))
        opening = channel.ivr.busy if state.open else channel.ivr.closed
        return twiml(tw.menu(channel.ivr, opening, _caller(call)))

    async def menu(self, request: web.Request) -> web.Response:
        params = await self.verified(request)
        ivr, digits = self.channel.ivr, params.get("Digits", "").strip()
        if digits == "1":
            await self.sink(self._event(params, Event.CALLBACK_REQUEST, "callback requested"))
            return twiml(tw.say_and_hang_up(ivr, ivr.callback_confirmed))
        caller = _caller(self.channel.parse(params))
        if digits == "2":
            return twiml(tw.voicemail(ivr, caller))
        return twiml(tw.menu(ivr, ivr.invalid, caller))

    async def recorded(self, request: web.Request) -> web.Response:
        await self.verified(request)
        return twiml(tw.say_and_hang_up(self.channel.ivr, self.channel.ivr.goodbye))

    async def recording(self, request: web.Request) -> web.Response:
        params = await self.verified(request)
        voicemail = parse_recording(params, self.channel.clock(), self.channel.default_region)
        if voicemail is not None:
            await self.sink(voicemail)
        return web.Response(status=204)

    async def transcription(self, request: web.Request) -> web.Response:
        params = await self.verified(request)
        await self.sink(
            parse_transcription(params, self.channel.clock(), self.channel.default_region)
        )
        return web.Response(status=204)

    async def left_queue(self, request: web.Request) -> web.Response:
        params = await self.verified(request)
        result = params.get("QueueResult", "").strip()
        if result == "hangup":
            await self._missed(params, "hung up while waiting in the queue")
        elif result in QUEUE_FALLBACK:
            return twiml(self._menu_again(params))
        return twiml(tw.empty())

    async def dialed(self, request: web.Request) -> web.Response:
        params = await self.verified(request)
        outcome = params.get("DialCallStatus", "").strip()
        if outcome not in MISSED_CALL_STATUSES:
            return twiml(tw.say_and_hang_up(self.channel.ivr, self.channel.ivr.goodbye))
        await self._missed(params, f"the dialled number answered {outcome}")
        return twiml(self._menu_again(params))

    async def status(self, request: web.Request) -> web.Response:
        params = await self.verified(request)
        status = params.get("CallStatus", "").strip()
        if status in MISSED_CALL_STATUSES:
            await self._missed(params, f"call {status}")
        return web.Response(status=204)

    def _event(self, params: Params, event: Event, text: str) -> Inbound:
        return call_event(params, event, text, self.channel.clock(), self.channel.default_region)

    async def _missed(self, params: Params, why: str) -> None:
        await self.sink(missed_call(params, why, self.channel.clock(), self.channel.default_region))

    def _menu_again(self, params: Params) -> VoiceResponse:
        call = self.channel.parse(params)
        return tw.menu(self.channel.ivr, self.channel.ivr.busy, _caller(call))


def _caller(call: Inbound) -> str:
    return call.sender.value if call.sender.kind != "anonymous" else ""


def _with_query(params: Params, request: web.Request) -> Params:
    """Form parameters first; the query (part of the signed URL) fills what they lack."""
    if not request.query:
        return params
    merged = params.copy()
    for key, value in request.query.items():
        if key not in merged:
            merged.add(key, value)
    return type(params)(merged)
