"""The demo's web chat: a visitor's WebSocket to the hub, as the widget opens it.

Ada is signed in on the shop's website, whose server signs her user id and her email, so
her chat joins the customer she already is (by her id and that address). She writes, loses
the ack and sends the same `client_id` again (stored once), sends a frame that is no JSON
(an error frame, the socket goes on), and stays connected, so the agent's reply reaches her
socket live.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

import aiohttp

USER_ID = "shop-user-1042"
EMAIL = "ada@example.com"


def new_secret() -> str:
    return secrets.token_hex(16)


class DemoVisitor:
    """Ada's socket (`await DemoVisitor.connect(http, secret)` opens it)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, secret: str) -> None:
        self.ws = ws
        self.secret = secret
        self.ticket_id = 0

    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, secret: str) -> DemoVisitor:
        return cls(await http.ws_connect("/chat/ws"), secret)

    async def visit(self) -> list[tuple[str, int, str]]:
        """Hello, a message, its resend and a broken frame: (label, 101, the hub's answer)."""
        identity = {"id": USER_ID, "hash": self._sign(USER_ID),
                    "email": EMAIL, "email_hash": self._sign(EMAIL)}  # fmt: skip
        visitor = {"name": "Ada Lovelace"}
        await self.ws.send_json({"type": "hello", "visitor": visitor, "identity": identity})
        rows = [("chat hello (signed user id)", await self._answer())]
        message = {"type": "message", "client_id": "c-1", "text": "Is my kettle on its way?"}
        for label in ("chat message c-1", "chat resend of c-1 (lost ack)"):
            await self.ws.send_json(message)
            rows.append((label, await self._answer()))
        await self.ws.send_str("{not json")
        rows.append(("chat frame that is no JSON", await self._answer()))
        return [(label, 101, answer) for label, answer in rows]

    def _sign(self, value: str) -> str:
        """What the shop's server computes for the page (the demo plays it too)."""
        return hmac.new(self.secret.encode(), value.encode(), hashlib.sha256).hexdigest()

    async def _answer(self) -> str:
        frame: dict[str, Any] = await self.ws.receive_json(timeout=5)
        if frame["type"] == "ack":
            self.ticket_id = int(frame["ticket_id"])
        shown = {k: v for k, v in frame.items() if k not in ("session", "ask")}
        return json.dumps(shown)

    async def reply_shown(self) -> str:
        """The next message frame the visitor's socket receives (the agent's reply)."""
        frame = await self.ws.receive_json(timeout=5)
        await self.ws.close()
        return f"chat reply pushed to the visitor's socket: {frame['text']!r} (seq {frame['seq']})"
