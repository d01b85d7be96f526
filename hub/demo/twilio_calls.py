"""A local stand-in for Twilio's Calls API, for the tests and the dialer benchmark.

    POST /2010-04-01/Accounts/{sid}/Calls.json            place a call
    POST /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json  new TwiML for a live call (ends it)

It behaves as Twilio's documentation says: a created call answers 201 with its sid and
status `queued`; then the call runs on its own. Each event the request asked for in
`StatusCallbackEvent` (initiated, ringing, answered; `completed`, the default, for every
final status) is POSTed to `StatusCallback` with CallSid, CallStatus, From, To, Direction
`outbound-api`, CallbackSource `call-progress-events`, SequenceNumber, Timestamp and,
at the end, CallDuration. An answered call fetches its TwiML from `Url`; with
`MachineDetection` (Enable or DetectMessageEnd) detection runs first and `AnsweredBy`
(human, machine_start, machine_end_beep) rides on that request and the status callbacks.
Every request is signed with `X-Twilio-Signature` for the URL as given (the hub's public
URL); `deliver` maps it to where the hub really listens, as a proxy would.

Who picks up is scripted per number (`callees`): a person, a machine, busy, no answer or a
failure, hanging up at once or holding the line until `hang_up`. `repeat_final` sends each
final callback that many more times, as Twilio does when an answer is slow or fails.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

ANSWERS = frozenset({"human", "machine", "busy", "no-answer", "failed"})
EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
AMD = frozenset({"Enable", "DetectMessageEnd"})


@dataclass(frozen=True, slots=True)
class Callee:
    answer: str = "human"  # one of ANSWERS
    hold: bool = False  # stay on the line until hang_up(sid)
    ring: float = 0.0  # seconds of ringing before the answer (or the lack of one)


@dataclass(slots=True)
class EmulatedCall:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str
    events: frozenset[str]
    machine_detection: str
    created: float = field(default_factory=time.monotonic)
    status: str = "queued"
    answered_by: str = ""
    twiml: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    callbacks: list[dict[str, str]] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


def twilio_error(status: int, code: int, message: str) -> web.Response:
    """An error as Twilio's REST API answers it."""
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}  # fmt: skip
    return web.json_response(body, status=status)


@dataclass
class CallsEmulator:
    account_sid: str
    auth_token: str
    deliver: Callable[[str], str] = lambda url: url
    callees: dict[str, Callee] = field(default_factory=dict)
    calls: list[EmulatedCall] = field(default_factory=list)
    repeat_final: int = 0
    refuse: set[str] = field(default_factory=set)  # numbers Twilio will not call (21215)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None
    _sequence: itertools.count[int] = field(default_factory=itertools.count)

    def routes(self) -> list[web.RouteDef]:
        base = "/2010-04-01/Accounts/{sid}/Calls"
        return [web.post(f"{base}.json", self.create), web.post(base + "/{call}.json", self.update)]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def running(self) -> bool:
        """Whether a call that does not hold the line is still under way."""
        return any(not _holding(task) for task in self._tasks)

    def to(self, number: str) -> list[EmulatedCall]:
        return [call for call in self.calls if call.to == number]

    def hang_up(self, sid: str) -> None:
        """The callee hangs up: the call ends, and `settled` waits for its last callbacks."""
        next(call for call in self.calls if call.sid == sid).ended.set()
        for task in self._tasks:
            if task.get_name() == f"hold:{sid}":
                task.set_name(sid)

    async def settled(self, seconds: float = 10.0) -> None:
        """Wait until every call that does not hold the line has ended and been reported."""
        async with asyncio.timeout(seconds):
            while running := [t for t in self._tasks if not _holding(t)]:
                await asyncio.wait(running, timeout=0.05)

    def authorized(self, request: web.Request) -> bool:
        pair = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return (
            request.match_info["sid"] == self.account_sid
            and request.headers.get("Authorization") == f"Basic {pair}"
        )

    async def create(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        form = await request.post()
        refusal = _refusal(form, self.refuse)
        if refusal is not None:
            return refusal
        call = EmulatedCall(
            sid="CA" + uuid.uuid4().hex, to=str(form["To"]), from_=str(form["From"]),
            url=str(form.get("Url", "")), status_callback=str(form.get("StatusCallback", "")),
            events=frozenset(str(e) for e in form.getall("StatusCallbackEvent", ["completed"])),
            machine_detection=str(form.get("MachineDetection", "")),
        )  # fmt: skip
        self.calls.append(call)
        task = asyncio.get_running_loop().create_task(self._run(call))
        task.set_name(call.sid)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(self._resource(call), status=201)

    async def update(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        found = [c for c in self.calls if c.sid == request.match_info["call"]]
        if not found or found[0].status in ("completed", "busy", "no-answer", "failed"):
            return twilio_error(404, 20404, "The requested resource was not found")
        form = await request.post()
        found[0].updates.append(str(form.get("Twiml", form.get("Status", ""))))
        found[0].ended.set()  # our stand-in's TwiML always ends with a hang-up
        return web.json_response(self._resource(found[0]))

    def _resource(self, call: EmulatedCall) -> dict[str, Any]:
        return {
            "sid": call.sid, "account_sid": self.account_sid, "to": call.to, "from": call.from_,
            "status": call.status, "direction": "outbound-api", "answered_by": call.answered_by
            or None, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call.sid}.json",
        }  # fmt: skip

    async def _run(self, call: EmulatedCall) -> None:
        callee = self.callees.get(call.to, Callee())
        for event in ("initiated", "ringing"):
            call.status = event
            await self._status(call, event)
        await asyncio.sleep(callee.ring)
        if callee.answer in ("busy", "no-answer", "failed"):
            call.status = callee.answer
            await self._final(call, duration=0)
            return
        call.status = "in-progress"
        call.answered_by = _detected(call.machine_detection, callee.answer)
        await self._status(call, "answered")
        if call.url:
            call.twiml.append(await self._post(call.url, self._params(call)))
        if callee.hold:
            _mark_holding()
            await call.ended.wait()
        call.status = "completed"
        await self._final(call, duration=int(time.monotonic() - call.created) + 1)

    async def _final(self, call: EmulatedCall, duration: int) -> None:
        for _ in range(1 + self.repeat_final):
            await self._status(call, "completed", CallDuration=str(duration))

    async def _status(self, call: EmulatedCall, event: str, **extra: str) -> None:
        if event not in call.events or not call.status_callback:
            return
        params = {**self._params(call), **extra}
        call.callbacks.append(params)
        await self._post(call.status_callback, params)

    def _params(self, call: EmulatedCall) -> dict[str, str]:
        params = {
            "AccountSid": self.account_sid, "CallSid": call.sid, "CallStatus": call.status,
            "From": call.from_, "To": call.to, "Direction": "outbound-api",
            "ApiVersion": "2010-04-01", "CallbackSource": "call-progress-events",
            "SequenceNumber": str(next(self._sequence)),
            "Timestamp": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }  # fmt: skip
        if call.machine_detection and call.answered_by:
            params["AnsweredBy"] = call.answered_by
        return params

    async def _post(self, url: str, params: dict[str, str]) -> str:
        """POST a signed webhook as Twilio does; the answer's text (TwiML, or nothing)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        headers = {"X-Twilio-Signature": str(signature)}
        async with self._session.post(self.deliver(url), data=params, headers=headers) as answer:
            return await answer.text()


def _holding(task: asyncio.Task[None]) -> bool:
    return task.get_name().startswith("hold:")


def _mark_holding() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.set_name(f"hold:{task.get_name()}")


def _detected(machine_detection: str, answer: str) -> str:
    if machine_detection not in AMD:
        return ""
    if answer != "machine":
        return "human"
    return "machine_end_beep" if machine_detection == "DetectMessageEnd" else "machine_start"


def _refusal(form: Any, refused: set[str]) -> web.Response | None:
    """Twilio's answer to a request it will not place (400 with its error code), or None."""
    to = str(form.get("To", ""))
    checks = (
        (not ((to.startswith("+") and to[1:].isdigit()) or to.startswith("client:")),
         21211, f"The 'To' number {to} is not a valid phone number."),
        (not form.get("From"), 21213, "Caller phone number is required"),
        (not form.get("Url") and not form.get("Twiml"), 21205, "Url parameter is required."),
        (form.get("MachineDetection", "Enable") not in AMD, 21218,
         "Invalid MachineDetection value"),
        (not set(form.getall("StatusCallbackEvent", [])) <= EVENTS, 21626,
         "Invalid StatusCallbackEvent"),
        (to in refused, 21215, f"Account not authorized to call {to}."),
    )  # fmt: skip
    for failed, code, message in checks:
        if failed:
            return twilio_error(400, code, message)
    return None
