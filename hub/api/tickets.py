"""Tickets and queues for agents and supervisors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from core.deadlines import STANDINGS
from core.errors import InvalidRequest
from core.model import FAILED_DELIVERY, Message, Role, Status, TicketFilter, cursor_id
from core.search import MAX_QUERY_WORDS, words
from core.workflow import is_final
from hub.api.auth import REQUEST_TOKEN, require
from hub.api.sla import listed_json, ticket_with_clocks
from hub.api.views import message_json, notes_json, queue_json
from hub.desk.claims import claim
from hub.desk.follow_ups import follow_up, follow_up_way
from hub.desk.queues import known_queue
from hub.desk.replies import reply_way, send_reply
from hub.params import (
    MAX_PAGE,
    json_body,
    newest,
    one_of,
    page_limit,
    path_id,
    query_params,
    whole_number,
)
from hub.state import CLOCK, METRICS, ROUTER, SENDERS, STORE

LIST_PARAMS = (
    "assignee", "queue", "status", "customer", "channel", "q", "sla", "ids", "limit", "cursor",
)  # fmt: skip
"""What `GET /api/tickets` reads; any other parameter is refused, never ignored."""


async def list_tickets(request: web.Request) -> web.Response:
    params = query_params(request, LIST_PARAMS)
    where = TicketFilter(
        queue=params.get("queue") or None,
        status=one_of(Status, params.get("status") or None, "status"),
        customer_id=whole_number(params.get("customer"), "customer"),
        assignee=_assignee(params.get("assignee"), request[REQUEST_TOKEN].name),
        channel=params.get("channel") or None,
        text=_search(params.get("q", "")),
        sla=_standing(params.get("sla") or None),
        ids=_ids(params.get("ids")),
    )
    limit = page_limit(params.get("limit"))
    cursor = params.get("cursor") or None
    if cursor is not None:
        cursor_id(cursor)  # refused here, before the store is asked
    page = await request.config_dict[STORE].list_tickets(where, limit, cursor)
    items = [listed_json(request, t) for t in page.items]
    return web.json_response({"items": items, "next": page.next})


def _assignee(raw: str | None, me: str) -> str | None:
    """`me` is the caller, `none` the unassigned (TicketFilter's ""), else an agent's name."""
    if not raw:
        return None
    return {"me": me, "none": ""}.get(raw, raw)


def _ids(raw: str | None) -> tuple[int, ...] | None:
    """`ids=3,17,42`: only those tickets (a drill-down's list, read with their subjects)."""
    if raw is None:
        return None
    if not raw.strip():
        return ()  # named none: none listed (never every ticket)
    parts = raw.split(",")
    if len(parts) > MAX_PAGE:
        raise InvalidRequest(f"ids may name up to {MAX_PAGE} tickets")
    ids = []
    for part in parts:
        number = whole_number(part.strip(), "each of ids")
        if number is None:
            raise InvalidRequest("ids are ticket numbers separated by commas")
        ids.append(number)
    return tuple(ids)


def _standing(raw: str | None) -> str | None:
    if raw is not None and raw not in STANDINGS:
        raise InvalidRequest(f"sla must be one of {', '.join(STANDINGS)}")
    return raw


def _search(text: str) -> str:
    found = words(text)
    if text.strip() and not found:
        raise InvalidRequest("q has no words to search for (letters or digits)")
    if len(found) > MAX_QUERY_WORDS:
        raise InvalidRequest(f"q may have up to {MAX_QUERY_WORDS} words")
    return text


async def get_ticket(request: web.Request) -> web.Response:
    """The ticket with its messages (`?messages=N`: the newest N, and the notes since the
    first of them; `messages_total` counts them all), its internal notes (from its record)
    and the way a reply would go now (`reply`: its channel and recipient, or why none can)."""
    last = newest(query_params(request, ("messages",)), "messages")
    store = request.config_dict[STORE]
    ticket = await store.get_ticket(path_id(request))
    events = await store.ticket_events(ticket.id)
    shown, total = ticket, len(ticket.messages)
    if last is not None and last < total:
        shown = replace(ticket, messages=ticket.messages[-last:])
        since = shown.messages[0].at
        notes = notes_json([e for e in events if e.at >= since])
    else:
        notes = notes_json(events)
    body = await ticket_with_clocks(request, shown, events)
    senders = request.config_dict[SENDERS]
    way = await reply_way(store, senders, ticket)
    again = await follow_up_way(store, senders, ticket) if is_final(ticket.status) else None
    return web.json_response({
        **body, "messages_total": total, "notes": notes, "reply": way.json(),
        "follow_up": None if again is None else again.json(),
    })  # fmt: skip


async def reply_to_ticket(request: web.Request) -> web.Response:
    """Send `{"body": ...}` on the ticket's channel: 201 sent, 502 refused by the provider
    (the message is kept with the reason), 409 when the channel cannot reply."""
    token = require(request, Role.AGENT)
    body = _reply_body(await json_body(request))
    senders = request.config_dict[SENDERS]
    store = request.config_dict[STORE]
    router = request.config_dict[ROUTER]
    message = await send_reply(store, senders, path_id(request), body, token.name, router)
    request.config_dict[METRICS].sent_out(message.channel, "reply", message.delivery)
    if message.delivery in FAILED_DELIVERY:
        answer = {"error": _undelivered(message), "message": message_json(message)}
        return web.json_response(answer, status=502)
    return web.json_response(message_json(message), status=201)


async def follow_up_ticket(request: web.Request) -> web.Response:
    """`{"body"}` to the customer of a closed ticket, as the first message of a new ticket,
    the caller's (hub/desk/follow_ups.py): 201 `{"ticket", "message"}`; 502 when the provider
    refused the message (the ticket and the message are kept); 409 for a live ticket, a
    conversation not followed up, or when nothing can carry it."""
    token = require(request, Role.AGENT)
    body = _reply_body(await json_body(request))
    config = request.config_dict
    made = await follow_up(
        config[STORE], config[SENDERS], path_id(request), body, token.name, config[ROUTER]
    )
    config[METRICS].sent_out(made.message.channel, "reply", made.message.delivery)
    answer: dict[str, Any] = {
        "ticket": await ticket_with_clocks(request, made.ticket),
        "message": message_json(made.message),
    }
    if made.message.delivery in FAILED_DELIVERY:
        return web.json_response({**answer, "error": _undelivered(made.message)}, status=502)
    return web.json_response(answer, status=201)


def _undelivered(message: Message) -> str:
    """Why a reply the provider refused did not go (its 502's error)."""
    return f"not delivered: {message.error}"


def _reply_body(data: dict[str, Any]) -> str:
    body = data.get("body")
    if not isinstance(body, str) or set(data) != {"body"}:
        raise InvalidRequest('the body must be {"body": "<text>"}')
    return body


async def list_queues(request: web.Request) -> web.Response:
    stats = {s.name: s for s in await request.config_dict[STORE].queue_stats()}
    specs = request.config_dict[ROUTER].queues
    names = sorted({*specs, *stats})
    items = [queue_json(n, stats.get(n), specs.get(n)) for n in names]
    return web.json_response({"items": items, "next": None})


WAITING_SHOWN = 100
"""What `GET /api/queues/{name}/waiting` lists unless `limit` says otherwise."""


async def waiting_in_queue(request: web.Request) -> web.Response:
    """The queue's waiting tickets, the most pressing first (as a claim takes them), up to
    `limit`, and how many wait in all; 404 for a queue neither the rules, a live ticket nor a
    campaign has (hub/desk/queues.py)."""
    limit = page_limit(query_params(request, ("limit",)).get("limit"), WAITING_SHOWN)
    name, store = request.match_info["name"], request.config_dict[STORE]
    await known_queue(store, request.config_dict[ROUTER].queues, name)
    depth = await store.queue_depth(name)
    tickets = await store.waiting_tickets(name, limit)
    items = [listed_json(request, t) for t in tickets]
    return web.json_response({"queue": name, "waiting": depth.waiting, "items": items})


async def claim_next(request: web.Request) -> web.Response:
    """The most pressing waiting ticket the caller may take (core of hub/desk/claims.py);
    204 when none, with why in the `Contacthub-Why` header, or in a 200 body with `?why=1`."""
    token = require(request, Role.AGENT)
    explain = query_params(request, {"why"}).get("why") in ("1", "true")
    name, store = request.match_info["name"], request.config_dict[STORE]
    queue = await known_queue(store, request.config_dict[ROUTER].queues, name)
    now = request.config_dict[CLOCK]()
    ticket, why = await claim(store, queue, token.name, now)
    if ticket is not None:
        return web.json_response(await ticket_with_clocks(request, ticket))
    if explain:
        return web.json_response({"ticket": None, "why": list(why)})
    header = "; ".join(why)[:1000].encode("ascii", "backslashreplace").decode("ascii")
    return web.Response(status=204, headers={"Contacthub-Why": header})


ROUTES = [
    web.get("/tickets", list_tickets),
    web.get("/tickets/{id}", get_ticket),
    web.post("/tickets/{id}/reply", reply_to_ticket),
    web.post("/tickets/{id}/follow-up", follow_up_ticket),
    web.get("/queues", list_queues),
    web.get("/queues/{name}/waiting", waiting_in_queue),
    web.post("/queues/{name}/claim", claim_next),
]
