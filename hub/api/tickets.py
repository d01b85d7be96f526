"""The REST API under /api/: tickets, queues and customers for agents and supervisors."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web

from core.errors import InvalidRequest
from core.model import Priority, Role, Status, TicketChange, TicketFilter
from hub.api.auth import auth_middleware, require
from hub.api.campaigns import add_campaign_routes
from hub.api.openapi import OPENAPI
from hub.api.probe_json import parse_probe
from hub.api.views import (
    customer_json,
    decision_json,
    iso,
    message_json,
    queue_json,
    rules_json,
    ticket_json,
)
from hub.desk.replies import send_reply
from hub.state import ROUTING, RULES, SENDERS, SETTINGS, STORE
from router import load_ruleset
from storage.base import Store

MAX_PAGE = 200
E = TypeVar("E", Status, Priority)


def build_api(store: Store) -> web.Application:
    """The API as a sub-application under /api/, behind bearer-token authentication."""
    api = web.Application(middlewares=[auth_middleware(store)])
    api.add_routes(
        [
            web.get("/openapi.json", openapi),
            web.get("/tickets", list_tickets),
            web.get("/tickets/{id}", get_ticket),
            web.patch("/tickets/{id}", update_ticket),
            web.post("/tickets/{id}/reply", reply_to_ticket),
            web.get("/queues", list_queues),
            web.post("/queues/{name}/claim", claim_next),
            web.get("/customers/{id}", get_customer),
            web.get("/rules", get_rules),
            web.put("/rules", put_rules),
            web.post("/rules/test", test_rules),
            web.get("/rules/versions", rules_versions),
        ]
    )
    add_campaign_routes(api)
    return api


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


async def list_tickets(request: web.Request) -> web.Response:
    query = request.query
    where = TicketFilter(
        queue=query.get("queue") or None,
        status=_enum(Status, query.get("status"), "status"),
        customer_id=_int(query.get("customer"), "customer"),
    )
    limit = _int(query.get("limit"), "limit")
    limit = 50 if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    page = await request.config_dict[STORE].list_tickets(where, limit, query.get("cursor") or None)
    items = [ticket_json(t, with_messages=False) for t in page.items]
    return web.json_response({"items": items, "next": page.next})


async def get_ticket(request: web.Request) -> web.Response:
    ticket = await request.config_dict[STORE].get_ticket(_path_id(request))
    return web.json_response(ticket_json(ticket))


async def update_ticket(request: web.Request) -> web.Response:
    token = require(request, Role.AGENT)
    data = await _json_body(request)
    unknown = sorted(set(data) - {"status", "priority", "queue", "assignee", "tags"})
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    queue = data.get("queue")
    if queue is not None and queue not in request.config_dict[ROUTING].queues:
        raise InvalidRequest(f"unknown queue {queue!r}")
    if "queue" in data and token.role is Role.AGENT:
        require(request, Role.SUPERVISOR)  # moving work between queues is a supervisor's call
    change = TicketChange(
        status=_enum(Status, data.get("status"), "status"),
        priority=_enum(Priority, data.get("priority"), "priority"),
        queue=_optional_str(data, "queue"),
        assignee=_optional_str(data, "assignee"),
        tags=_tags(data.get("tags")),
    )
    ticket = await request.config_dict[STORE].update_ticket(_path_id(request), change, _now())
    return web.json_response(ticket_json(ticket))


async def reply_to_ticket(request: web.Request) -> web.Response:
    """Send `{"body": ...}` on the ticket's channel: 201 sent, 502 refused by the provider
    (the message is kept with the reason), 409 when the channel cannot reply."""
    token = require(request, Role.AGENT)
    data = await _json_body(request)
    body = data.get("body")
    if not isinstance(body, str) or set(data) != {"body"}:
        raise InvalidRequest('the body must be {"body": "<text>"}')
    senders = request.config_dict[SENDERS]
    store = request.config_dict[STORE]
    message = await send_reply(store, senders, _path_id(request), body, token.name)
    if message.delivery in ("failed", "undelivered"):
        error = f"not delivered: {message.error}"
        return web.json_response({"error": error, "message": message_json(message)}, status=502)
    return web.json_response(message_json(message), status=201)


async def list_queues(request: web.Request) -> web.Response:
    stats = {s.name: s for s in await request.config_dict[STORE].queue_stats()}
    specs = request.config_dict[ROUTING].queues
    names = sorted({*specs, *stats})
    items = [queue_json(n, stats.get(n), specs.get(n)) for n in names]
    return web.json_response({"items": items, "next": None})


async def claim_next(request: web.Request) -> web.Response:
    token = require(request, Role.AGENT)
    name = request.match_info["name"]
    if name not in request.config_dict[ROUTING].queues:
        raise InvalidRequest(f"unknown queue {name!r}")
    ticket = await request.config_dict[STORE].claim_next(name, token.name, _now())
    if ticket is None:
        return web.Response(status=204)
    return web.json_response(ticket_json(ticket))


async def get_customer(request: web.Request) -> web.Response:
    store = request.config_dict[STORE]
    customer = await store.get_customer(_path_id(request))
    tickets = await store.list_tickets(TicketFilter(customer_id=customer.id), MAX_PAGE)
    return web.json_response(customer_json(customer, list(tickets.items)))


async def get_rules(request: web.Request) -> web.Response:
    rules = request.config_dict[ROUTING].rules
    version = await request.config_dict[STORE].current_rules()
    if version is not None and version.version != rules.version:
        version = None  # this hub runs other rules (it has not followed the store yet)
    return web.json_response(
        {**rules_json(version, rules.ruleset.source), "version": rules.version}
    )


async def rules_versions(request: web.Request) -> web.Response:
    history = await request.config_dict[STORE].rules_history(MAX_PAGE)
    items = [
        {"version": v.version, "author": v.author, "created_at": iso(v.created_at)} for v in history
    ]
    return web.json_response({"items": items, "next": None})


async def put_rules(request: web.Request) -> web.Response:
    """Replace the rules with a YAML body; invalid rules leave the running ones (400)."""
    token = require(request, Role.SUPERVISOR)
    source = await _text_body(request)
    version = await request.config_dict[RULES].replace(source, f"token:{token.name}")
    return web.json_response(rules_json(version, source))


async def test_rules(request: web.Request) -> web.Response:
    """Where a made-up contact would go, under the running rules or a draft in `rules`."""
    data = await _json_body(request)
    probe = parse_probe(data, request.config_dict[SETTINGS].routing.default_region)
    draft = data.get("rules")
    if draft is None:
        decision = request.config_dict[ROUTING].decide(probe.contact, probe.facts)
    elif isinstance(draft, str):
        ruleset = await asyncio.to_thread(load_ruleset, draft, "draft")
        decision = ruleset.decide(probe.contact, probe.facts)
    else:
        raise InvalidRequest("rules must be the YAML text of a rules file")
    return web.json_response(decision_json(decision))


async def _text_body(request: web.Request) -> str:
    try:
        return (await request.read()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the rules must be UTF-8 text") from exc


def _now() -> datetime:
    return datetime.now(UTC)


def _path_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise InvalidRequest(f"not an id: {raw!r}")
    return int(raw)


def _int(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidRequest(f"{name} must be a whole number")
    return int(raw)


def _enum(kind: type[E], raw: object, name: str) -> E | None:
    if raw is None:
        return None
    try:
        return kind(str(raw))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidRequest(f"{name} must be one of {allowed}") from None


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"{key} must be a string")
    return value


def _tags(raw: object) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(t, str) and t for t in raw):
        raise InvalidRequest("tags must be a list of non-empty strings")
    return tuple(dict.fromkeys(raw))


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("body must be a JSON object")
    return data
