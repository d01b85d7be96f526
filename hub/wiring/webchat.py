"""The web chat in the hub: its channel, its reply sender and bus, and what the widget is told.

On when `[channels.webchat]` is present. The bus is in-process on SQLite (one hub), between
the workers of `serve --workers` over Unix sockets (hub/wiring/webchat_siblings.py), and
Redis pub/sub on Redis (hub/wiring/webchat_bus.py), so an agent's reply through any hub or
worker reaches the visitor's socket on whichever holds it. `resume` replays the visitor's
newest chat ticket from the store; the widget's status says whether the chat's queue is open
(its calendar in the rules file) and whether an agent who serves it and takes chats is
online.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from channels.base import Sender
from channels.email.mime import NAME as EMAIL_CHANNEL
from channels.webchat import NAME
from channels.webchat.bus import AGENTS, Bus, LocalBus
from channels.webchat.channel import ChatLimits, WebchatChannel
from channels.webchat.frames import FrameError
from channels.webchat.sender import ChatSender, message_frame
from channels.webchat.socket import ChatRules
from channels.webchat.visitor import Visitor
from core.customers import CustomerQuery
from core.model import Direction, Message, TicketFilter
from core.people import Presence
from hub.rules.routing import RulesRouter
from hub.settings.tree import Settings
from hub.settings.webchat import WebchatSettings
from hub.state import CLOCK, SENDERS
from hub.wiring.services import Services
from hub.wiring.webchat_replies import ChatReplies
from hub.wiring.webchat_siblings import SiblingBus, Siblings
from storage.base import Store

TYPING_SHOWN = 6.0  # seconds a visitor's typing stays on the agents' side
_TYPING_KEPT = 10_000  # tickets whose typing is remembered before a sweep
_STATUS_EVERY = 1.0  # seconds the widget's status is kept before it is read again


@dataclass
class Webchat:
    """What the API needs of the chat: the bus (agents' typing) and the visitors' typing."""

    bus: Bus
    typing: dict[int, float] = field(default_factory=dict)  # ticket id -> monotonic time

    async def visitor_typing(self, frame: dict[str, Any]) -> None:
        ticket, now = frame.get("ticket_id"), time.monotonic()
        if not isinstance(ticket, int):
            return  # typing before the first message: no ticket to show it on yet
        if len(self.typing) > _TYPING_KEPT:  # forget what no agent can see any more
            self.typing = {t: at for t, at in self.typing.items() if now - at < TYPING_SHOWN}
        self.typing[ticket] = now

    def is_typing(self, ticket_id: int) -> bool:
        at = self.typing.get(ticket_id)
        return at is not None and time.monotonic() - at < TYPING_SHOWN


WEBCHAT: web.AppKey[Webchat | None] = web.AppKey("webchat")


def mount_webchat(
    app: web.Application, settings: Settings, services: Services, siblings: Siblings | None = None
) -> None:
    """The chat's routes, its sender among the app's senders, its bus for the app's life."""
    chat = settings.channels.webchat
    if chat is None:
        app[WEBCHAT] = None
        return
    bus = _bus(settings.storage.url, siblings)
    app[WEBCHAT] = webchat = Webchat(bus)
    channel = WebchatChannel(
        rules=_rules(chat),
        bus=bus,
        replay=Replay(services.store),
        status=ChatStatus(
            services.store, services.router, chat.queue, app[CLOCK],
            email=settings.outbound.smtp is not None,
        ),
        allowed_origins=chat.allowed_origins,
        own_origin=_origin(settings.server.public_url),
        limits=ChatLimits(
            chat.max_frame_bytes, chat.messages_per_minute, chat.sockets_per_ip,
            chat.heartbeat.total_seconds(),
        ),
    )  # fmt: skip
    app.add_routes(channel.routes(services.ingest))
    current: Mapping[str, Sender] = app[SENDERS]
    replies = ChatReplies(ChatSender(bus), current.get(EMAIL_CHANNEL), services.store)
    senders: dict[str, Sender] = {**current, NAME: replies}
    app[SENDERS] = senders
    app.cleanup_ctx.append(lambda _app: _bus_lifetime(bus, webchat))
    app.on_shutdown.append(lambda _app: channel.close_all())


def _bus(url: str, siblings: Siblings | None) -> Bus:
    if urlsplit(url).scheme.startswith("redis"):
        from hub.wiring.webchat_bus import RedisBus  # only with Redis

        return RedisBus(url)
    return LocalBus() if siblings is None else SiblingBus(siblings)


@contextlib.asynccontextmanager
async def _bus_lifetime(bus: Bus, webchat: Webchat) -> AsyncIterator[None]:
    async with bus.running():
        await bus.subscribe(AGENTS, webchat.visitor_typing)
        yield


def _rules(chat: WebchatSettings) -> ChatRules:
    secret = None if chat.secret is None else chat.secret.get_secret_value().encode()
    ask = {"name": chat.ask_name, "email": chat.ask_email}
    return ChatRules(secret, chat.require_identity, chat.max_message_chars, ask)


def _origin(public_url: str | None) -> str | None:
    if public_url is None:
        return None
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class Replay:
    """A visitor's chat messages after a sequence number, from their newest chat ticket."""

    store: Store

    async def __call__(self, visitor: Visitor, seq: int) -> list[dict[str, Any]]:
        messages = await self._conversation(visitor)
        last = max((m.id for m in messages), default=0)
        if seq > last:
            raise FrameError("resume_ahead", f"resume {seq} is ahead of this chat (at {last})")
        return [message_frame(m) for m in messages if m.id > seq]

    async def _conversation(self, visitor: Visitor) -> list[Message]:
        query = CustomerQuery((visitor.identity.key,))
        customers = await self.store.list_customers(query, limit=1)
        if not customers.items:
            return []
        where = TicketFilter(customer_id=customers.items[0].id, channel=NAME)
        tickets = await self.store.list_tickets(where, limit=1)
        if not tickets.items:
            return []
        ticket = await self.store.get_ticket(tickets.items[0].id)
        return [m for m in ticket.messages if _shown(m)]


def _shown(message: Message) -> bool:
    """What the visitor's widget shows: their messages and the replies on the chat itself."""
    if message.channel != NAME:
        return False
    return message.direction is Direction.INBOUND or message.delivery not in ("failed",)


async def anyone_online(store: Store, queue: str) -> bool:
    """Whether an agent is online who serves the queue and takes chats (capacity on chat)."""
    agents = await store.list_agents()
    return any(
        a.presence is Presence.ONLINE and a.serves(queue) and a.capacity_on(NAME) > 0
        for a in agents
    )


@dataclass
class ChatStatus:
    """The widget's status, read at most once a second (every hello asks for it)."""

    store: Store
    router: RulesRouter
    queue: str
    clock: Callable[[], datetime]
    email: bool = False
    """Whether a reply no socket takes can go by email ([outbound.smtp]): the widget promises
    an answer by email only then."""
    _kept: tuple[float, dict[str, Any]] | None = None

    async def __call__(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._kept is not None and now - self._kept[0] < _STATUS_EVERY:
            return self._kept[1]
        status = await self._read()
        self._kept = (now, status)
        return status

    async def _read(self) -> dict[str, Any]:
        at = self.clock()
        ruleset = self.router.rules.ruleset  # one read: the rules in force now
        spec = ruleset.queues.get(self.queue)
        name = None if spec is None else spec.calendar
        calendar = None if name is None else ruleset.calendars.get(name)
        is_open = calendar is None or calendar.is_open(at)
        next_open = None if calendar is None or is_open else calendar.next_open(at)
        online = is_open and await anyone_online(self.store, self.queue)
        return {
            "open": is_open,
            "online": online,
            "next_open": None if next_open is None else next_open.isoformat(),
            "email": self.email,
        }
