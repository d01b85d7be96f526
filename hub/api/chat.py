"""Typing on chat tickets, both ways (never stored).

POST /api/tickets/{id}/typing   an agent is typing: the visitor's widget shows it
GET  /api/tickets/{id}/typing   {"visitor_typing": bool}: the visitor typed just now
"""

from __future__ import annotations

from aiohttp import web

from channels.webchat import NAME
from channels.webchat.sender import chat_visitor
from core.errors import Conflict
from core.model import Role
from hub.api.auth import require
from hub.params import path_id
from hub.state import STORE
from hub.wiring.webchat import WEBCHAT, Webchat


def _webchat(request: web.Request) -> Webchat:
    webchat = request.config_dict.get(WEBCHAT)
    if webchat is None:
        raise Conflict("the web chat is not configured ([channels.webchat])")
    return webchat


async def agent_typing(request: web.Request) -> web.Response:
    require(request, Role.AGENT)
    webchat = _webchat(request)
    ticket = await request.config_dict[STORE].get_ticket(path_id(request))
    visitor = chat_visitor(ticket) if ticket.channel == NAME else None
    if visitor is None:
        raise Conflict(f"ticket {ticket.id} is not a chat with a visitor")
    await webchat.bus.publish(visitor.key, {"type": "typing", "from": "agent"})
    return web.Response(status=204)


async def visitor_typing(request: web.Request) -> web.Response:
    require(request, Role.AGENT)
    ticket_id = path_id(request)
    return web.json_response({"visitor_typing": _webchat(request).is_typing(ticket_id)})


ROUTES = [
    web.post("/tickets/{id}/typing", agent_typing),
    web.get("/tickets/{id}/typing", visitor_typing),
]
