"""People: who I am, the agents (presence, load), a supervisor's edits, presence and heartbeats.

`PUT /api/agents/{name}` creates or updates an agent (a supervisor's; granting supervisor or
admin is an admin's). `POST /api/agents/{name}/presence` with `{"status"}` sets a presence
(`me` is the caller; another's needs a supervisor); with `{}` it is a heartbeat that keeps the
presence from lapsing. Coming online, or more capacity, may make an offer possible: the
offerer is kicked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from core.errors import Forbidden, InvalidRequest, NotFound
from core.model import Role, Token
from core.people import CHANNELS, MAX_CAPACITY, AgentChange, Presence, person_name
from hub.api.auth import REQUEST_TOKEN, granted, require
from hub.api.views_people import agent_json, offer_json
from hub.params import json_body, one_of
from hub.state import CLOCK, OFFERER, ROUTER, STORE
from storage.base import Store

_AGENT_FIELDS = frozenset({"roles", "skills", "capacity", "queues"})
_GRANTED_BY_ADMIN = frozenset({Role.SUPERVISOR, Role.ADMIN})


async def me(request: web.Request) -> web.Response:
    token = request[REQUEST_TOKEN]
    agent = await request.config_dict[STORE].get_agent(token.name)
    body = agent_json(agent)
    body["token"] = {"id": token.id, "roles": sorted(token.roles)}
    return web.json_response(body)


async def list_agents(request: web.Request) -> web.Response:
    agents = await request.config_dict[STORE].list_agents()
    return web.json_response({"items": [agent_json(a) for a in agents], "next": None})


async def get_agent(request: web.Request) -> web.Response:
    agent = await request.config_dict[STORE].get_agent(_name(request))
    return web.json_response(agent_json(agent))


async def put_agent(request: web.Request) -> web.Response:
    token = require(request, Role.SUPERVISOR)
    data = await json_body(request)
    unknown = sorted(set(data) - _AGENT_FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    change = AgentChange(
        roles=_roles(token, data.get("roles")),
        skills=_names(data.get("skills"), "skills"),
        capacity=_capacity(data.get("capacity")),
        queues=_queues(request, data.get("queues")),
    )
    store, name = request.config_dict[STORE], _name(request)
    existed = await store.known_person(name)
    if not existed:
        person_name(name)  # one named before the rule stays editable
    elif name == token.name and change.roles is not None:
        await _not_own_roles(store, name, change.roles)
    agent = await store.put_agent(name, change, request.config_dict[CLOCK]())
    request.config_dict[OFFERER].kick()
    return web.json_response(agent_json(agent), status=200 if existed else 201)


async def set_presence(request: web.Request) -> web.Response:
    token = require(request, Role.AGENT)
    name = _name(request)
    if name != token.name and not granted(token, Role.SUPERVISOR):
        raise Forbidden("an agent sets their own presence; another's is a supervisor's call")
    data = await json_body(request)
    unknown = sorted(set(data) - {"status"})
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    store = request.config_dict[STORE]
    status = one_of(Presence, data.get("status"), "status")  # None: a heartbeat
    agent, withdrawn = await store.set_presence(name, status, request.config_dict[CLOCK]())
    request.config_dict[OFFERER].kick()
    body = agent_json(agent)
    body["withdrawn_offers"] = [offer_json(o) for o in withdrawn]
    return web.json_response(body)


async def _not_own_roles(store: Store, name: str, roles: frozenset[Role]) -> None:
    """A supervisor or admin does not change their own roles: one click would lock the only
    admin out (their token grants a role their agent no longer holds)."""
    if (await store.get_agent(name)).roles != roles:
        raise Forbidden(
            "your own roles are another admin's to change (or `contacthub agent add` on the "
            "hub's machine)"
        )


def presence_keeper(
    store: Store, clock: Callable[[], datetime]
) -> Callable[[str], Awaitable[None]]:
    """The event stream's heartbeat: its agent's presence stays as it is, seen now (so it
    does not lapse while their stream is open)."""

    async def keep(name: str) -> None:
        with contextlib.suppress(NotFound):
            await store.set_presence(name, None, clock())

    return keep


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    token: Token = request[REQUEST_TOKEN]
    return token.name if name == "me" else name


def _roles(token: Token, raw: object) -> frozenset[Role] | None:
    roles = _names(raw, "roles")
    if roles is None:
        return None
    try:
        chosen = frozenset(Role(r) for r in roles)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidRequest(f"roles must be some of {known}") from None
    if chosen & _GRANTED_BY_ADMIN and not token.roles & {Role.ADMIN}:
        raise Forbidden("granting supervisor or admin is an admin's call")
    return chosen


def _names(raw: object, field: str) -> frozenset[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        raise InvalidRequest(f"{field} must be a list of non-empty strings")
    return frozenset(v.strip() for v in raw)


def _capacity(raw: object) -> dict[str, int] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidRequest(
            f"capacity must be an object of channel -> count ({', '.join(CHANNELS)})"
        )
    capacity: dict[str, int] = {}
    for channel, count in raw.items():
        if channel not in CHANNELS:
            raise InvalidRequest(
                f"capacity: unknown channel {channel!r}; known: {', '.join(CHANNELS)}"
            )
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_CAPACITY:
            raise InvalidRequest(
                f"capacity.{channel} must be a whole number from 0 to {MAX_CAPACITY}"
            )
        capacity[channel] = count
    return capacity


def _queues(request: web.Request, raw: Any) -> frozenset[str] | None:
    queues = _names(raw, "queues")
    if queues is None:
        return None
    known = request.config_dict[ROUTER].queues
    unknown = sorted(queues - set(known))
    if unknown:
        raise InvalidRequest(f"unknown queue(s): {', '.join(unknown)}")
    return queues


ROUTES = [
    web.get("/me", me),
    web.get("/agents", list_agents),
    web.get("/agents/{name}", get_agent),
    web.put("/agents/{name}", put_agent),
    web.post("/agents/{name}/presence", set_presence),
]
