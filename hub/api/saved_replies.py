"""Saved replies: supervisors keep the team's answers, agents fill one in for a ticket.

`GET /api/saved-replies?ticket=ID` lists the ones for the ticket's queue, each with `text`:
its body filled in for that ticket, its customer and the agent asking (core/saved_replies.py).
The agent's page puts that text in the reply box; what goes out is the agent's reply, sent
and recorded as any other. Writing them is a supervisor's (admins' too): a body with an
unknown placeholder, or a queue nobody has, is 400 before anything is kept.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.errors import InvalidRequest, NotFound
from core.model import Role
from core.saved_replies import SavedReply, draft, render, ticket_values
from hub.api.auth import REQUEST_TOKEN, require
from hub.api.views import iso
from hub.desk.queues import known_queue
from hub.params import json_body, path_id, query_params, whole_number
from hub.state import CLOCK, ROUTER, STORE

FIELDS = {"name", "body", "queues"}


async def list_saved_replies(request: web.Request) -> web.Response:
    """Every saved reply by name; `queue=` those for that queue; `ticket=` those for the
    ticket's queue, filled in for it (`text`)."""
    params = query_params(request, ("queue", "ticket"))
    store = request.config_dict[STORE]
    replies = await store.list_saved_replies()
    if "ticket" not in params:
        queue = params.get("queue")
        shown = [r for r in replies if queue is None or r.serves(queue)]
        return web.json_response({"items": [saved_reply_json(r) for r in shown]})
    ticket_id = whole_number(params["ticket"], "ticket")
    if ticket_id is None:
        raise InvalidRequest("ticket must be a whole number")
    ticket = await store.get_ticket(ticket_id)
    customer = await store.get_customer(ticket.customer_id)
    agent = request[REQUEST_TOKEN].name
    values = ticket_values(ticket.id, ticket.subject, customer.name, agent)
    items = [
        {**saved_reply_json(r), "text": render(r.body, values)}
        for r in replies
        if r.serves(ticket.queue)
    ]
    return web.json_response({"items": items})


async def create_saved_reply(request: web.Request) -> web.Response:
    saved = await _save(request, None)
    return web.json_response(saved_reply_json(saved), status=201)


async def replace_saved_reply(request: web.Request) -> web.Response:
    return web.json_response(saved_reply_json(await _save(request, path_id(request))))


async def delete_saved_reply(request: web.Request) -> web.Response:
    require(request, Role.SUPERVISOR)
    await request.config_dict[STORE].delete_saved_reply(path_id(request))
    return web.Response(status=204)


async def _save(request: web.Request, reply_id: int | None) -> SavedReply:
    token = require(request, Role.SUPERVISOR)
    data = await json_body(request)
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    new = draft(data.get("name"), data.get("body"), data.get("queues"))
    store = request.config_dict[STORE]
    for queue in new.queues:  # a typo would keep the reply from every ticket
        try:
            await known_queue(store, request.config_dict[ROUTER].queues, queue)
        except NotFound:
            raise InvalidRequest(f"queues: no queue {queue[:60]!r}") from None
    return await store.save_reply(reply_id, new, token.name, request.config_dict[CLOCK]())


def saved_reply_json(reply: SavedReply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "name": reply.name,
        "body": reply.body,
        "queues": list(reply.queues),
        "updated_by": reply.updated_by,
        "updated_at": iso(reply.updated_at),
    }


ROUTES = [
    web.get("/saved-replies", list_saved_replies),
    web.post("/saved-replies", create_saved_reply),
    web.put(r"/saved-replies/{id}", replace_saved_reply),
    web.delete(r"/saved-replies/{id}", delete_saved_reply),
]
