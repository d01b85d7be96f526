"""Outbound calls through Twilio's Calls API (aiohttp, basic auth).

    POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls.json
    To, From, Url, StatusCallback, StatusCallbackEvent, Timeout[, MachineDetection]
    POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json   Twiml (update)

Twilio answers a created call with its sid, then requests `Url` for the call's TwiML when
it is answered (with `AnsweredBy` when MachineDetection is on: detection runs before the
request) and posts the call's progress to `StatusCallback`, signed like every webhook.
429 and 5xx answers and network errors are tried again with backoff; any other refusal is
final and comes back as `CallRefused` with Twilio's code and message.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp

from channels.twilio.rest import MAX_RETRY_AFTER, basic_auth, post_form
from core.errors import HubError

EVENTS = ("completed",)
"""The progress the hub asks to hear of: only the end (any final status comes as the
`completed` event). The answer is heard through `Url`; initiated, ringing and answered
events would cost a webhook each and decide nothing."""


class CallRefused(HubError):
    """Twilio did not place the call (a bad number, an unverified caller id, no answer);
    the message is Twilio's code and text (the API answers it as 502)."""


@dataclass(frozen=True, slots=True)
class CallRequest:
    to: str
    from_: str
    url: str  # the TwiML for the answered call
    status_callback: str
    machine_detection: str = ""  # "Enable", "DetectMessageEnd" or "" (off)
    timeout: int = 25  # seconds of ringing before no-answer

    def form(self) -> list[tuple[str, str]]:
        pairs = [
            ("To", self.to),
            ("From", self.from_),
            ("Url", self.url),
            ("StatusCallback", self.status_callback),
            ("Timeout", str(self.timeout)),
        ]
        pairs += [("StatusCallbackEvent", event) for event in EVENTS]
        if self.machine_detection:
            pairs.append(("MachineDetection", self.machine_detection))
        return pairs


@dataclass(slots=True)
class TwilioCalls:
    account_sid: str
    auth_token: str = field(repr=False)
    api_base: str = "https://api.twilio.com"
    attempts: int = 4
    backoff: float = 0.5
    timeout: float = 10.0
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    @property
    def calls_url(self) -> str:
        return f"{self.api_base.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Calls"

    async def place(self, request: CallRequest) -> str:
        """The new call's sid; CallRefused when Twilio will not place it."""
        data = await self._post(f"{self.calls_url}.json", request.form())
        return str(data["sid"])

    async def update(self, call_sid: str, twiml: str) -> None:
        """Give a live call new TwiML (e.g. tell a waiting agent nobody answered)."""
        await self._post(f"{self.calls_url}/{call_sid}.json", [("Twiml", twiml)])

    async def _post(self, url: str, form: list[tuple[str, str]]) -> dict[str, object]:
        authorization = basic_auth(self.account_sid, self.auth_token)
        answer = await post_form(
            self._session, url, form, authorization, attempts=self.attempts, backoff=self.backoff
        )
        if not answer.created:
            raise CallRefused(answer.reason)
        return answer.data

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=min(self.timeout, MAX_RETRY_AFTER))
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            try:
                yield
            finally:
                self._session = None
