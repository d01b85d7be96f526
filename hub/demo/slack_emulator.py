"""A local stand-in for Slack's Web API, for `contacthub demo`, the tests and the benchmark.

    auth.test         the bot's identity, for a known bot token
    users.info        a user's profile (name, email) from the emulator's directory
    chat.postMessage  a post into a conversation (and thread); kept in `posts`
    apps.connections.open  a Socket Mode WebSocket URL, for the app-level token; `push`
                      sends an envelope over it and `acked` waits for the hub's ack
    GET /files-pri/<team>-<file>/<name>  a shared file's bytes (`url_private`), only to the
                      bot token; without it a redirect to the sign-in page, as Slack does

Like Slack it answers HTTP 200 with `{"ok": false, "error": ...}` for refusals (an unknown
token is `invalid_auth`, an unknown conversation `channel_not_found`), and HTTP 429 with a
Retry-After header when rate limited. Tests script trouble with `rate_limit` and `fail`
(`fail("files", status=500)` for the files, `stall_files` for a file that never comes);
every call is kept in `calls`, every file request in `file_requests`, and every request at
all, whatever its path, in `requests`. It serves on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

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

    status: int = 200  # 0 (files only): no answer at all, until the emulator stops
    error: str = ""
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class FileRequest:
    path: str
    authorized: bool


@dataclass(slots=True)
class SlackEmulator:
    bot_token: str
    app_token: str = ""
    ack_wait: float = 3.0  # seconds `acked` waits (Slack itself redelivers after a few)
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    channels: set[str] | None = None  # None: every conversation exists
    calls: list[Call] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path: (type, bytes)
    file_requests: list[FileRequest] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # "GET /path" of every request
    _trouble: dict[str, list[Trouble]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    acks: dict[str, asyncio.Event] = field(default_factory=dict)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

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

    def stall_files(self, times: int = 1) -> None:
        """The next file requests get no answer at all (until the emulator stops)."""
        self._trouble.setdefault("files", []).extend([Trouble(0)] * times)

    def add_file(self, file_id: str, name: str, mimetype: str, data: bytes) -> dict[str, Any]:
        """A file shared in Slack, as a message event's `files` carry it."""
        path = f"/files-pri/{TEAM_ID}-{file_id}/{name}"
        self.files[path] = (mimetype, data)
        url = f"http://127.0.0.1:{self._port}{quote(path)}"
        return {"id": file_id, "name": name, "title": name, "mimetype": mimetype,
                "size": len(data), "mode": "hosted", "url_private": url}  # fmt: skip

    def count(self, method: str) -> int:
        return Counter(c.method for c in self.calls)[method]

    async def start(self) -> str:
        app = web.Application(middlewares=[self._counted])
        app.add_routes(
            [
                web.get("/link", self._socket),
                web.route("*", "/api/{method}", self._dispatch),
                web.get("/files-pri/{file}/{name}", self._file),
                web.get("/", self._sign_in),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()
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

    @web.middleware
    async def _counted(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        return await handler(request)

    async def _file(self, request: web.Request) -> web.Response:
        authorized = request.headers.get("Authorization") == f"Bearer {self.bot_token}"
        self.file_requests.append(FileRequest(request.path, authorized))
        queued = self._trouble.get("files")
        if queued:
            trouble = queued.pop(0)
            if not trouble.status:
                await self._stopping.wait()
            return web.Response(status=trouble.status or 503, text=trouble.error)
        if not authorized:  # Slack's answer to a missing or refused token: its sign-in page
            raise web.HTTPFound(f"/?redir={quote(request.path)}")
        found = self.files.get(request.path)
        if found is None:
            return web.Response(status=404, text="File not found")
        mimetype, data = found
        return web.Response(body=data, headers={"Content-Type": mimetype})

    async def _sign_in(self, _request: web.Request) -> web.Response:
        return web.Response(
            text="<!DOCTYPE html><title>Sign in | Slack</title>", content_type="text/html"
        )

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
