"""A local stand-in for Slack's Web API, for `contacthub demo`, the tests and the benchmark.

    auth.test         the bot's identity, for a known bot token
    users.info        a user's profile (name, email) from the emulator's directory
    chat.postMessage  a post into a conversation (and thread); kept in `posts`
    apps.connections.open  a Socket Mode WebSocket URL, for the app-level token; `push`
                      sends an envelope over it and `acked` waits for the hub's ack

Like Slack it answers HTTP 200 with `{"ok": false, "error": ...}` for refusals (an unknown
token is `invalid_auth`, an unknown conversation `channel_not_found`), and HTTP 429 with a
Retry-After header when rate limited. Tests script trouble with `rate_limit` and `fail`;
every call is kept in `calls`. It serves on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T0HUB"


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: Mapping[str, Any]
    authorized: bool


@dataclass(frozen=True, slots=True)
class Trouble:
    """The next answers of one method: a status (429 or 5xx) or an error code Slack gives."""

    status: int = 200
    error: str = ""
    retry_after: int | None = None


@dataclass(slots=True)
class SlackEmulator:
    bot_token: str
    app_token: str = ""
    ack_wait: float = 3.0  # seconds `acked` waits (Slack itself redelivers after a few)
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    channels: set[str] | None = None  # None: every conversation exists
    calls: list[Call] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    _trouble: dict[str, list[Trouble]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    acks: dict[str, asyncio.Event] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    def add_user(self, user_id: str, name: str, email: str = "") -> None:
        self.users[user_id] = {"name": name, "email": email}

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        self._trouble.setdefault(method, []).extend(
            [Trouble(429, "ratelimited", retry_after)] * times
        )

    def fail(self, method: str, times: int = 1, status: int = 500, error: str = "") -> None:
        trouble = Trouble(status, error or f"http_{status}")
        self._trouble.setdefault(method, []).extend([trouble] * times)

    def count(self, method: str) -> int:
        return Counter(c.method for c in self.calls)[method]

    async def start(self) -> str:
        app = web.Application()
        app.add_routes(
            [web.get("/link", self._socket), web.route("*", "/api/{method}", self._dispatch)]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])
        return self.base_url

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        token = self.app_token if method == "apps.connections.open" else self.bot_token
        authorized = request.headers.get("Authorization") == f"Bearer {token}"
        self.calls.append(Call(method, params, authorized))
        queued = self._trouble.get(method)
        if queued:
            return _trouble(queued.pop(0))
        if not authorized:
            return _answer({"ok": False, "error": "invalid_auth"})
        handler = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "chat.postMessage": self._post_message,
            "apps.connections.open": self._connections_open,
        }.get(method)
        if handler is None:
            return _answer({"ok": False, "error": "unknown_method"}, status=404)
        return _answer(handler(params))

    def _auth_test(self, _params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID}

    def _users_info(self, params: Mapping[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user", ""))
        user = self.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"real_name": user["name"], "display_name": user["name"]}
        if user["email"]:
            profile["email"] = user["email"]
        return {"ok": True, "user": {"id": user_id, "real_name": user["name"], "profile": profile}}

    def _post_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel, text = str(params.get("channel", "")), str(params.get("text", ""))
        if not channel or (self.channels is not None and channel not in self.channels):
            return {"ok": False, "error": "channel_not_found"}
        if not text:
            return {"ok": False, "error": "no_text"}
        ts = f"1800000000.{next(self._ts):06d}"
        message = {"type": "message", "text": text, "ts": ts, "bot_id": BOT_ID}
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        self.posts.append({"channel": channel, **message})
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _connections_open(self, _params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/link"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets)})
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    envelope_id = json.loads(frame.data).get("envelope_id", "")
                    self.acks.setdefault(envelope_id, asyncio.Event()).set()
        finally:
            self._sockets.remove(socket)
        return socket

    async def push(self, payload: Mapping[str, Any], envelope_id: str, retry: int = 0) -> None:
        """An Events API envelope over the first connected socket (waiting a while for one)."""
        for _ in range(500):
            if self._sockets:
                break
            await asyncio.sleep(0.01)
        await self._sockets[0].send_json(
            {"envelope_id": envelope_id, "type": "events_api", "payload": payload,
             "accepts_response_payload": False, "retry_attempt": retry,
             "retry_reason": "timeout" if retry else ""}
        )  # fmt: skip

    async def acked(self, envelope_id: str) -> bool:
        """Whether the hub acknowledged the envelope within `ack_wait` seconds."""
        event = self.acks.setdefault(envelope_id, asyncio.Event())
        try:
            async with asyncio.timeout(self.ack_wait):
                await event.wait()
        except TimeoutError:
            return False
        return True


async def _params(request: web.Request) -> dict[str, Any]:
    """Slack takes arguments as a query, a form or (for most methods) JSON."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        params.update(await request.post())
    return params


def _trouble(trouble: Trouble) -> web.Response:
    headers = {} if trouble.retry_after is None else {"Retry-After": str(trouble.retry_after)}
    return _answer({"ok": False, "error": trouble.error}, trouble.status, headers)


def _answer(
    data: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(data), status=status, headers=headers, content_type="application/json"
    )
