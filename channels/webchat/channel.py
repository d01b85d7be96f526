"""The web chat channel's routes: the socket, the widget's script and a page to try it on.

    GET /chat/ws         the visitor's WebSocket (channels/webchat/socket.py)
    GET /chat/widget.js  the widget: one script, no framework (channels/webchat/widget.js)
    GET /chat/demo       a sample page with the widget on it

The socket's Origin header must be one of `allowed_origins` ("*" allows any; none listed
allows only the hub's own origin); a request without one (not a browser) is let in, since
it could say anything. Each hub counts the sockets of each address.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import ClassVar

from aiohttp import WSCloseCode, web

from channels.base import Sink, utcnow
from channels.webchat import NAME
from channels.webchat.bus import Bus
from channels.webchat.limits import MessageRate, SocketCount
from channels.webchat.socket import ChatRules, Replay, Session, Status


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_frame_bytes: int = 16_384
    messages_per_minute: int = 20
    sockets_per_ip: int = 20
    heartbeat: float = 25.0


@dataclass
class WebchatChannel:
    rules: ChatRules
    bus: Bus
    replay: Replay
    status: Status
    allowed_origins: tuple[str, ...] = ()
    own_origin: str | None = None  # the hub's public origin, when it is behind a proxy
    limits: ChatLimits = field(default_factory=ChatLimits)
    clock: Callable[[], datetime] = utcnow
    name: ClassVar[str] = NAME

    def __post_init__(self) -> None:
        self._rate = MessageRate(self.limits.messages_per_minute)
        self._sockets = SocketCount(self.limits.sockets_per_ip)
        self._script = resources.files("channels.webchat").joinpath("widget.js").read_bytes()
        self._open: set[web.WebSocketResponse] = set()

    def routes(self, sink: Sink) -> Sequence[web.RouteDef]:
        async def socket(request: web.Request) -> web.StreamResponse:
            return await self._socket(request, sink)

        return [
            web.get("/chat/ws", socket),
            web.get("/chat/widget.js", self._widget),
            web.get("/chat/demo", self._demo),
        ]

    async def _socket(self, request: web.Request, sink: Sink) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and not self._origin_allowed(origin, request):
            raise web.HTTPForbidden(text=f"origin {origin[:100]} may not open the chat\n")
        address = request.remote or "unknown"
        if not self._sockets.take(address):
            raise web.HTTPTooManyRequests(text="too many chat sockets from this address\n")
        ws = web.WebSocketResponse(
            max_msg_size=self.limits.max_frame_bytes, heartbeat=self.limits.heartbeat
        )
        try:
            await ws.prepare(request)
            self._open.add(ws)
            session = Session(ws, self.rules, sink, self.bus, self._rate, self.clock)
            with contextlib.suppress(ConnectionError):  # the visitor went: the widget resends
                await session.run(self.replay, self.status)
            return ws
        finally:
            self._open.discard(ws)
            self._sockets.give_back(address)

    async def close_all(self) -> None:
        """Close every open socket (1001: the hub is going away; the widget reconnects)."""
        for ws in list(self._open):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"hub shutting down")

    def _origin_allowed(self, origin: str, request: web.Request) -> bool:
        if "*" in self.allowed_origins or origin in self.allowed_origins:
            return True
        own = self.own_origin or f"{request.scheme}://{request.host}"
        return not self.allowed_origins and origin == own

    async def _widget(self, request: web.Request) -> web.Response:
        headers = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
        return web.Response(
            body=self._script, content_type="text/javascript", charset="utf-8", headers=headers
        )

    async def _demo(self, request: web.Request) -> web.Response:
        return web.Response(text=DEMO_PAGE, content_type="text/html", charset="utf-8")

    @contextlib.asynccontextmanager
    async def serve(self, sink: Sink) -> AsyncIterator[None]:
        yield  # sockets live as long as their requests


DEMO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>contacthub web chat: demo page</title>
<link rel="icon" href="data:,">
<style>body{font:16px/1.5 Georgia,serif;max-width:40em;margin:3em auto;color:#333}
h1{color:#a00}</style></head>
<body><h1>Example Company</h1>
<p>A page of a website with the contacthub chat on it: the launcher is at the bottom right.
The page's own styles (this red heading, the serif font) do not reach into the widget.</p>
<script src="/chat/widget.js" data-hub="" async></script>
</body></html>
"""
