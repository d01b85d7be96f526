"""A local Twilio Messages API: checks basic auth, records requests as Twilio would receive
them, answers with Twilio-shaped JSON and errors; tests script the next answers. Its Calls
API is `voice` (hub/demo/twilio_calls.py, which the dialer benchmark runs too): calls that
run by themselves, with signed status callbacks and TwiML fetched on answer."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.demo.twilio_calls import CallsEmulator, twilio_error


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    form: dict[str, str]
    authorized: bool


@dataclass
class TwilioEmulator:
    account_sid: str
    auth_token: str
    received: list[Received] = field(default_factory=list)
    script: list[web.Response] = field(default_factory=list)  # answers before the normal one
    voice: CallsEmulator = field(init=False)
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self.voice = CallsEmulator(self.account_sid, self.auth_token)

    async def start(self) -> str:
        app = web.Application()
        app.add_routes([web.post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)])
        app.add_routes(self.voice.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        await self.voice.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, code: int, message: str, **headers: str) -> None:
        response = twilio_error(status, code, message)
        response.headers.update(headers)
        self.script.append(response)

    async def _messages(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        authorized = self._authorized(request)
        self.received.append(Received(request.path, form, authorized))
        if not authorized:
            return twilio_error(401, 20003, "Authenticate")
        if self.script:
            return self.script.pop(0)
        return self._create(form)

    def _authorized(self, request: web.Request) -> bool:
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        header = request.headers.get("Authorization", "")
        return (
            request.match_info["sid"] == self.account_sid
            and header == "Basic " + base64.b64encode(expected).decode()
        )

    def _create(self, form: dict[str, str]) -> web.Response:
        to = form.get("To", "")
        if not to.startswith("+") or not to[1:].isdigit():
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        sid = "SM" + uuid.uuid4().hex
        body: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": form.get("From"),
            "body": form["Body"],
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return web.json_response(body, status=201)
