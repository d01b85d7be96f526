"""The dialer's Twilio webhooks: the TwiML of outbound calls and their status callbacks.

    POST /webhooks/twilio/dialer/agent?campaign=ID&agent=NAME   the agent answered (agent-first)
    POST /webhooks/twilio/dialer/answer?attempt=ID[&bridge=SID]  the contact answered
    POST /webhooks/twilio/dialer/status?attempt=ID               the contact's call progressed
    POST /webhooks/twilio/dialer/agent-status?campaign=ID&agent=NAME  the agent's call did

Every request is verified like any Twilio webhook (the query is part of the signed URL, so
it cannot be forged) and handed, as a `CallEvent`, to the hub's `DialerHooks`; the channel
knows nothing of campaigns. The TwiML builders are pure functions of their arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from twilio.twiml.voice_response import Dial, VoiceResponse

from channels.twilio.webhook import Params, TwilioSignature, read_params, twiml
from core.errors import PayloadError
from core.model import whole_id

BASE = "/webhooks/twilio/dialer"
NAME = "voice"
_MAX_SID_CHARS = 64


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One request of Twilio about a dialled call, and the hub's own query parameters."""

    call_sid: str
    status: str
    answered_by: str
    query: dict[str, str]

    def number(self, key: str) -> int:
        value = self.query.get(key, "")
        number = whole_id(value)
        if number is None:
            raise PayloadError(f"{key} is required and must be a number", NAME)
        return number


class DialerHooks(Protocol):
    async def agent_answered(self, event: CallEvent) -> VoiceResponse: ...
    async def contact_answered(self, event: CallEvent) -> VoiceResponse: ...
    async def contact_status(self, event: CallEvent) -> None: ...
    async def agent_status(self, event: CallEvent) -> None: ...


def parse_event(params: Params, query: dict[str, str]) -> CallEvent:
    sid = params.get("CallSid", "").strip()
    if not sid or len(sid) > _MAX_SID_CHARS or not sid.isalnum():
        raise PayloadError("CallSid is required and must be a Twilio SID", NAME)
    status = params.get("CallStatus", "").strip()
    return CallEvent(sid, status, params.get("AnsweredBy", "").strip(), query)


@dataclass(frozen=True, slots=True)
class DialerWebhooks:
    signature: TwilioSignature
    hooks: DialerHooks
    max_body_bytes: int = 65536

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.post(f"{BASE}/agent", self.agent),
            web.post(f"{BASE}/answer", self.answer),
            web.post(f"{BASE}/status", self.status),
            web.post(f"{BASE}/agent-status", self.agent_status),
        ]

    async def event(self, request: web.Request) -> CallEvent:
        params = await read_params(request, self.max_body_bytes, NAME)
        self.signature.check(request, params, NAME)
        return parse_event(params, dict(request.query))

    async def agent(self, request: web.Request) -> web.Response:
        return twiml(await self.hooks.agent_answered(await self.event(request)))

    async def answer(self, request: web.Request) -> web.Response:
        return twiml(await self.hooks.contact_answered(await self.event(request)))

    async def status(self, request: web.Request) -> web.Response:
        await self.hooks.contact_status(await self.event(request))
        return web.Response(status=204)

    async def agent_status(self, request: web.Request) -> web.Response:
        await self.hooks.agent_status(await self.event(request))
        return web.Response(status=204)


def conference(room: str, say: str = "", *, ends_with_me: bool = True) -> VoiceResponse:
    """Into the call's conference room (agent-first: the agent waits there for the contact)."""
    response = VoiceResponse()
    if say:
        response.say(say)
    dial = Dial()
    dial.conference(room, end_conference_on_exit=ends_with_me, beep=False)
    response.append(dial)
    return response


def to_agent(endpoint: str, caller_id: str, timeout: int = 20) -> VoiceResponse:
    """Progressive: the answered contact is put through to the agent's phone or client."""
    response = VoiceResponse()
    dial = Dial(caller_id=caller_id or None, timeout=timeout)
    if endpoint.startswith("client:"):
        dial.client(endpoint.removeprefix("client:"))
    else:
        dial.number(endpoint)
    response.append(dial)
    return response


def leave_message(audio_url: str) -> VoiceResponse:
    """An answering machine: the campaign's recorded message, if it has one, then goodbye."""
    response = VoiceResponse()
    if audio_url:
        response.play(audio_url)
    response.hangup()
    return response


def say_and_hang_up(text: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return response
