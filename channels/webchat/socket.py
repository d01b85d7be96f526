"""One visitor's WebSocket at `GET /chat/ws`: hello, then messages acked after their commit.

The handshake is refused with 403 for a page whose Origin is not allowed and 429 for an
address holding too many sockets. The first frame must be a hello (else close 1008); a
visitor the identity rules refuse hears an error frame and a close 4403, and nothing is
stored. Each message becomes an Inbound on channel `chat` whose idempotency key is the
visitor's `client_id`, and its ack (ticket id and sequence number: the message's id) is
sent only once the sink has returned, so a resend after a lost ack finds the first commit
and stores nothing twice. A frame that cannot be read gets an error frame and the socket
goes on; binary frames close it with 1003, frames over the limit with 1009.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from channels.base import Sink, utcnow
from channels.webchat import NAME
from channels.webchat.bus import AGENTS, Bus
from channels.webchat.frames import FrameError, Hello, Say, Typing, error_frame, parse_frame
from channels.webchat.limits import MessageRate
from channels.webchat.visitor import Visitor, identify
from core.errors import HubError, StorageUnavailable
from core.model import Inbound

HELLO_TIMEOUT = 10.0
IDENTITY_REFUSED = 4403  # an application close code: the 403 of a socket

Replay = Callable[[Visitor, int], Awaitable[list[dict[str, Any]]]]
"""The visitor's messages after a sequence number, as message frames (FrameError
`resume_ahead` for a number the hub never gave them)."""
Status = Callable[[], Awaitable[dict[str, Any]]]
"""Whether the chat's queue is open and anyone is online, for the widget to say."""


@dataclass(frozen=True, slots=True)
class ChatRules:
    """The settings a socket works by (hub/settings/webchat.py)."""

    secret: bytes | None
    require_identity: bool
    max_message_chars: int
    ask: dict[str, bool] = field(default_factory=dict)


@dataclass
class Session:
    """One open socket of one visitor."""

    ws: web.WebSocketResponse
    rules: ChatRules
    sink: Sink
    bus: Bus
    rate: MessageRate
    clock: Callable[[], datetime] = utcnow
    ticket_id: int | None = None

    async def run(self, replay: Replay, status: Status) -> None:
        hello = await self._hello()
        if hello is None:
            return
        try:
            visitor = identify(hello, self.rules.secret, self.rules.require_identity)
        except FrameError as exc:
            await self._refuse(exc)
            return
        topic = visitor.identity.key
        await self.bus.subscribe(topic, self.push)
        try:
            await self._welcome(visitor, hello, replay, status)
            await self._converse(visitor)
        finally:
            await self.bus.unsubscribe(topic, self.push)

    async def push(self, frame: dict[str, Any]) -> None:
        """A frame from the bus (an agent's reply or typing) down this socket."""
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError):
                await self.ws.send_json(frame)

    async def _hello(self) -> Hello | None:
        try:
            message = await self.ws.receive(timeout=HELLO_TIMEOUT)
        except TimeoutError:
            await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"hello expected")
            return None
        if message.type is not WSMsgType.TEXT:
            await self._close_for(message.type)
            return None
        try:
            frame = parse_frame(message.data, self.rules.max_message_chars)
        except FrameError as exc:
            await self._refuse(exc, WSCloseCode.POLICY_VIOLATION)
            return None
        if not isinstance(frame, Hello):
            await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"hello expected")
            return None
        return frame

    async def _refuse(self, exc: FrameError, code: int = IDENTITY_REFUSED) -> None:
        await self.ws.send_json(error_frame(exc.code, exc.reason))
        await self.ws.close(code=code, message=exc.reason[:120].encode())

    async def _welcome(
        self, visitor: Visitor, hello: Hello, replay: Replay, status: Status
    ) -> None:
        welcome = {
            "type": "welcome",
            "session": visitor.session,
            "signed": visitor.signed,
            "status": await status(),
            "ask": self.rules.ask,
        }
        await self.ws.send_json(welcome)
        if hello.resume is None:
            return
        try:
            frames = await replay(visitor, hello.resume)
        except FrameError as exc:
            await self.ws.send_json(error_frame(exc.code, exc.reason))
            return
        except HubError as exc:  # the store is down: the widget connects again and resumes
            await self.ws.send_json(error_frame("unavailable", exc.message))
            await self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"storage unavailable")
            return
        for frame in frames:
            self.ticket_id = frame.get("ticket_id", self.ticket_id)
            await self.ws.send_json(frame)

    async def _converse(self, visitor: Visitor) -> None:
        async for message in self.ws:
            if message.type is not WSMsgType.TEXT:
                await self._close_for(message.type)
                return
            try:
                frame = parse_frame(message.data, self.rules.max_message_chars)
            except FrameError as exc:
                await self.ws.send_json(error_frame(exc.code, exc.reason))
                continue
            await self._handle(visitor, frame)

    async def _handle(self, visitor: Visitor, frame: Hello | Say | Typing) -> None:
        if isinstance(frame, Say):
            await self._say(visitor, frame)
        elif isinstance(frame, Typing):
            note = {"type": "typing", "visitor": visitor.identity.key}
            await self.bus.publish(AGENTS, {**note, "ticket_id": self.ticket_id})
        else:
            await self.ws.send_json(error_frame("bad_frame", "hello comes once, first"))

    async def _say(self, visitor: Visitor, say: Say) -> None:
        if not self.rate.allow(visitor.identity.key):
            reason = f"more than {self.rate.per_minute} messages a minute: wait and send again"
            await self.ws.send_json(error_frame("rate_limited", reason, say.client_id))
            return
        try:
            result = await self.sink(chat_inbound(visitor, say, self.clock()))
        except StorageUnavailable:
            reason = "the hub cannot store messages right now: send it again"
            await self.ws.send_json(error_frame("unavailable", reason, say.client_id))
            return
        except HubError as exc:
            await self.ws.send_json(error_frame("refused", exc.message, say.client_id))
            return
        self.ticket_id = result.ticket_id
        ack = {"type": "ack", "client_id": say.client_id, "ticket_id": result.ticket_id}
        await self.ws.send_json({**ack, "seq": result.message_id})

    async def _close_for(self, kind: WSMsgType) -> None:
        if kind is WSMsgType.BINARY:
            await self.ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"text frames only")
        elif kind is WSMsgType.ERROR and not self.ws.closed:  # aiohttp closed with 1009 itself
            await self.ws.close(code=WSCloseCode.MESSAGE_TOO_BIG, message=b"frame too large")


def chat_inbound(visitor: Visitor, say: Say, at: datetime) -> Inbound:
    """A visitor's message as a contact: keyed by visitor and client_id, threaded by visitor."""
    key = visitor.identity.key
    meta = {"email_hint": visitor.email_hint} if visitor.email_hint else {}
    return Inbound(
        channel=NAME,
        external_id=say.client_id,
        sender=visitor.identity,
        identities=visitor.identities,
        sender_name=visitor.name,
        subject=say.text.strip().splitlines()[0][:80],
        text=say.text,
        received_at=at,
        thread_keys=(f"{NAME}:{key}",),
        dedupe_key=f"{NAME}:{key}:{say.client_id}",
        meta=meta,
    )
