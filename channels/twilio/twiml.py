"""The IVR's TwiML, built with twilio's VoiceResponse: what callers hear at each step.

Pure functions of the IVR's settings and the URLs of the follow-up webhooks, so every
branch is testable as XML without a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

BASE = "/webhooks/twilio/voice"


@dataclass(frozen=True, slots=True)
class Ivr:
    """What the IVR says and does; `dial` (a number) replaces `<Enqueue>` when set."""

    greeting: str = "Thank you for calling. Please hold, and the next agent will be with you."
    closed: str = "Our team is not available right now."
    busy: str = "All our agents are busy right now."
    menu: str = "Press 1 and we will call you back. Press 2 to leave a message."
    invalid: str = "Sorry, that is not an option."
    callback_confirmed: str = "Thank you. We will call you back at this number."
    voicemail_prompt: str = "Please leave your message after the tone, then press the pound key."
    goodbye: str = "Thank you for calling. Goodbye."
    dial: str | None = None
    dial_timeout: int = 20
    max_queue_size: int | None = None
    max_voicemail_seconds: int = 120
    language: str = "en-US"
    public_url: str | None = None  # follow-up URLs absolute under it; else relative to the call

    def url(self, step: str, **query: str) -> str:
        path = f"{BASE}/{step}" + (f"?{urlencode(query)}" if query else "")
        return (self.public_url or "").rstrip("/") + path

    def admits(self, waiting: int) -> bool:
        """Whether a queue with `waiting` tickets (this call's included) takes one more call."""
        return self.max_queue_size is None or waiting <= self.max_queue_size


def connect(ivr: Ivr, queue: str) -> VoiceResponse:
    """Within hours: into the routed queue (Twilio's queue of that name), or dial a number."""
    response = VoiceResponse()
    response.say(ivr.greeting, language=ivr.language)
    if ivr.dial:
        response.dial(ivr.dial, action=ivr.url("dialed"), timeout=ivr.dial_timeout)
    else:
        response.enqueue(queue, action=ivr.url("queue"))
    return response


def menu(ivr: Ivr, opening: str, caller: str) -> VoiceResponse:
    """1: a callback, 2: a voicemail; a caller who presses nothing is offered the voicemail."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=ivr.url("menu"), timeout=8)
    gather.say(f"{opening} {ivr.menu}", language=ivr.language)
    _voicemail(response, ivr, caller)
    return response


def voicemail(ivr: Ivr, caller: str) -> VoiceResponse:
    response = VoiceResponse()
    _voicemail(response, ivr, caller)
    return response


def _voicemail(response: VoiceResponse, ivr: Ivr, caller: str) -> None:
    # The recording callback carries no From: the caller rides in the (signed) query.
    query = {"caller": caller} if caller else {}
    response.say(ivr.voicemail_prompt, language=ivr.language)
    response.record(
        action=ivr.url("recorded"),
        max_length=ivr.max_voicemail_seconds,
        finish_on_key="#",
        play_beep=True,
        recording_status_callback=ivr.url("recording", **query),
        recording_status_callback_event="completed",
        transcribe=True,
        transcribe_callback=ivr.url("transcription", **query),
    )


def say_and_hang_up(ivr: Ivr, text: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text, language=ivr.language)
    response.hangup()
    return response


def reject() -> VoiceResponse:
    """An unverified call is kept in quarantine and never served."""
    response = VoiceResponse()
    response.reject()
    return response


def empty() -> VoiceResponse:
    return VoiceResponse()
