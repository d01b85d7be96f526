"""The web chat's test helpers: a hub with the chat on, a visitor's socket, signed ids."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp

from core.model import Role
from tests.conftest import Hub, MakeSettings, StartHub
from tests.support import FORM_SECRET

CHAT_SECRET = "test-chat-secret-0123456789"


def chat_settings(make_settings: MakeSettings, url: str | None = None, **chat: Any) -> Any:
    storage = {"storage": {"url": url}} if url else {}
    channels = {"webform": {"secret": FORM_SECRET}, "webchat": {"secret": CHAT_SECRET, **chat}}
    return make_settings(channels=channels, **storage)


async def chat_hub(
    start_hub: StartHub, make_settings: MakeSettings, url: str | None = None, **chat: Any
) -> Hub:
    return await start_hub(chat_settings(make_settings, url, **chat))


async def agent_online(hub: Hub, name: str = "jo") -> dict[str, str]:
    """An agent who takes chats comes online (the widget then says so); their token."""
    headers = await hub.token(Role.AGENT, name)
    body = {"status": "online"}
    async with hub.http.post(f"/api/agents/{name}/presence", json=body, headers=headers) as r:
        assert r.status == 200, await r.text()
    return headers


def sign(value: str, secret: str = CHAT_SECRET) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def signed(user_id: str, secret: str = CHAT_SECRET, email: str = "") -> dict[str, str]:
    """An identity as a website's server signs it (and the user's email, when given)."""
    identity = {"id": user_id, "hash": sign(user_id, secret)}
    if email:
        identity.update(email=email, email_hash=sign(email.lower(), secret))
    return identity


OPEN: list[aiohttp.ClientWebSocketResponse] = []
"""Sockets the tests opened; closed after each test (tests/channels/webchat/conftest.py)."""


class Visitor:
    """One visitor's socket to a hub."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        OPEN.append(ws)

    async def frame(self, within: float = 5) -> dict[str, Any]:
        message = await self.ws.receive(timeout=within)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a text frame, got {message.type!r} {message.data!r}")
        data: dict[str, Any] = message.json()
        return data

    async def frame_of(self, kind: str, within: float = 5) -> dict[str, Any]:
        """The next frame of a type, past others (an agent's typing, say)."""
        while True:
            frame = await self.frame(within)
            if frame["type"] == kind:
                return frame

    async def say(self, client_id: str, text: str) -> dict[str, Any]:
        await self.ws.send_json({"type": "message", "client_id": client_id, "text": text})
        return await self.frame_of("ack")

    async def close(self) -> None:
        await self.ws.close()


async def connect(
    hub: Hub, hello: dict[str, Any] | None = None, origin: str | None = None
) -> tuple[Visitor, dict[str, Any]]:
    """Open a socket, say hello, and return the visitor with the welcome frame."""
    headers = {"Origin": origin} if origin else {}
    ws = await hub.http.ws_connect("/chat/ws", headers=headers)
    visitor = Visitor(ws)
    await ws.send_json({"type": "hello", "visitor": {"name": "Ada"}, **(hello or {})})
    return visitor, await visitor.frame()
