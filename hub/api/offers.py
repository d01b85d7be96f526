"""Offers: an agent's open offers, and their answer.

`GET /api/offers` lists the caller's open offers (a supervisor may ask `?agent=NAME` or
`?agent=all`). Accepting gives the ticket to the agent (200, the ticket); rejecting returns it
to its queue and the offerer tries the next candidate. An offer that is someone else's, no
longer open or past its deadline is 409; an unknown one 404.
"""

from __future__ import annotations

from aiohttp import web

from core.errors import Forbidden
from core.model import Role
from hub.api.auth import granted, require
from hub.api.views import ticket_json
from hub.api.views_people import offer_json
from hub.params import path_id, query_params
from hub.state import CLOCK, OFFERER, PROVIDER_FILES, STORE


async def list_offers(request: web.Request) -> web.Response:
    token = require(request, Role.AGENT)
    wanted = query_params(request, {"agent"}).get("agent", token.name)
    if wanted != token.name and not granted(token, Role.SUPERVISOR):
        raise Forbidden("an agent sees their own offers; others' are a supervisor's to see")
    offers = await request.config_dict[STORE].list_offers(None if wanted == "all" else wanted)
    return web.json_response({"items": [offer_json(o) for o in offers], "next": None})


async def accept(request: web.Request) -> web.Response:
    token = require(request, Role.AGENT)
    store = request.config_dict[STORE]
    offer = await store.answer_offer(
        path_id(request), token.name, request.config_dict[CLOCK](), accept=True
    )
    ticket = await store.get_ticket(offer.ticket_id)
    fetched = request.config_dict[PROVIDER_FILES].serves
    return web.json_response(ticket_json(ticket, fetched=fetched))


async def reject(request: web.Request) -> web.Response:
    token = require(request, Role.AGENT)
    offer = await request.config_dict[STORE].answer_offer(
        path_id(request), token.name, request.config_dict[CLOCK](), accept=False
    )
    request.config_dict[OFFERER].kick()
    return web.json_response(offer_json(offer))


ROUTES = [
    web.get("/offers", list_offers),
    web.post("/offers/{id}/accept", accept),
    web.post("/offers/{id}/reject", reject),
]
