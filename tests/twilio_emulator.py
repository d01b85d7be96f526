"""A local Twilio Messages API: checks basic auth, records requests as Twilio would receive
them, answers with Twilio-shaped JSON and errors; tests script the next answers. Its Calls
API is `voice` (hub/demo/twilio_calls.py, which the dialer benchmark runs too): calls that
run by themselves, with signed status callbacks and TwiML fetched on answer.

Media (an MMS picture) are served as Twilio serves them: the MediaUrl answers only the
account's basic auth, with a 307 to a CDN (here another host name and port of the emulator's,
`localhost`) whose presigned URL needs no auth and, as S3 does, refuses one that comes with
an Authorization header. Every request, whatever its path, is counted in `requests`."""

from __future__ import annotations

import asyncio
import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.demo.twilio_calls import CallsEmulator, twilio_error


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    form: dict[str, str]
    authorized: bool


@dataclass(frozen=True, slots=True)
class MediaRequest:
    host: str  # the Host header: the API's or the CDN's
    path: str
    authorization: str  # as it came ("" for none)


@dataclass
class TwilioEmulator:
    account_sid: str
    auth_token: str
    received: list[Received] = field(default_factory=list)
    script: list[web.Response] = field(default_factory=list)  # answers before the normal one
    voice: CallsEmulator = field(init=False)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # sid: (type, bytes)
    media_requests: list[MediaRequest] = field(default_factory=list)
    media_script: list[web.Response | None] = field(default_factory=list)  # None: no answer
    requests: list[str] = field(default_factory=list)  # "GET host/path" of every request
    chunked: bool = False  # the CDN answers without a Content-Length
    base_url: str = ""
    cdn_url: str = ""
    _runner: web.AppRunner | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.voice = CallsEmulator(self.account_sid, self.auth_token)

    async def start(self) -> str:
        app = web.Application(middlewares=[self._counted])
        app.add_routes([web.post("/2010-04-01/Accounts/{sid}/Messages.json", self._messages)])
        app.add_routes(
            [
                web.get("/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}", self._media),
                web.get("/cdn/{media}", self._cdn),
            ]
        )
        app.add_routes(self.voice.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()  # the CDN's
        api, cdn = (address[1] for address in self._runner.addresses)
        self.base_url, self.cdn_url = f"http://127.0.0.1:{api}", f"http://localhost:{cdn}"
        return self.base_url

    async def close(self) -> None:
        self._stopping.set()
        await self.voice.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, code: int, message: str, **headers: str) -> None:
        response = twilio_error(status, code, message)
        response.headers.update(headers)
        self.script.append(response)

    def add_media(self, message_sid: str, content_type: str, data: bytes) -> str:
        """An MMS's media item: its MediaUrl (the emulator must be started)."""
        sid = "ME" + uuid.uuid4().hex
        self.media[sid] = (content_type, data)
        account = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}"
        return f"{account}/Messages/{message_sid}/Media/{sid}"

    def fail_media(self, status: int) -> None:
        self.media_script.append(twilio_error(status, 20500, "Internal Server Error"))

    def stall_media(self) -> None:
        """The next media request gets no answer at all (until the emulator closes)."""
        self.media_script.append(None)

    @web.middleware
    async def _counted(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.host}{request.path}")
        return await handler(request)

    async def _media(self, request: web.Request) -> web.Response:
        self._record_media(request)
        if self.media_script:
            scripted = self.media_script.pop(0)
            if scripted is None:
                await self._stopping.wait()
                raise web.HTTPServiceUnavailable
            return scripted
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate")
        media = request.match_info["media"]
        if media not in self.media:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        raise web.HTTPTemporaryRedirect(f"{self.cdn_url}/cdn/{media}")

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        """A presigned URL: no auth wanted, and S3 refuses a second mechanism."""
        self._record_media(request)
        if "Authorization" in request.headers:
            return web.Response(status=400, text="InvalidArgument: Only one auth mechanism allowed")
        content_type, data = self.media[request.match_info["media"]]
        if not self.chunked:
            return web.Response(body=data, headers={"Content-Type": content_type})
        answer = web.StreamResponse(headers={"Content-Type": content_type})
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        for start in range(0, len(data), 512):
            await answer.write(data[start : start + 512])
        await answer.write_eof()
        return answer

    def _record_media(self, request: web.Request) -> None:
        authorization = request.headers.get("Authorization", "")
        self.media_requests.append(MediaRequest(request.host, request.path, authorization))

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
