"""Customers for agents: find, read, edit, merge two and undo a merge.

A customer merged away still reads (200) with `merged_into` naming the survivor, which has
its identities and tickets now; it is left out of lists and searches, and editing or merging
it is refused (409) until the merge is undone. Reading is open to every role; changing
customers is an agent's work (supervisors and admins may too).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from channels.base import utcnow
from core.customers import EMAIL_KEY, CustomerChange, customer_query
from core.errors import InvalidRequest
from core.model import Customer, Role, TicketFilter
from hub.api.auth import require
from hub.api.views import Json, customer_json, merge_json
from hub.params import (
    MAX_PAGE,
    body_id,
    json_body,
    optional_str,
    page_limit,
    path_id,
    tag_list,
)
from hub.state import SETTINGS, STORE

MAX_NAME_CHARS = 200


async def list_customers(request: web.Request) -> web.Response:
    """`?q=` an email, phone number, Slack user id, an email domain ("@acme.com") or the
    start of words of the name; without it, customers newest first."""
    query = request.query
    unknown = sorted(set(query) - {"q", "limit", "cursor"})
    if unknown:
        raise InvalidRequest(f"unknown parameter(s): {', '.join(unknown)}")
    limit = page_limit(query.get("limit"))
    text = query.get("q", "").strip()
    region = request.config_dict[SETTINGS].routing.default_region
    search = customer_query(text, region) if text else None
    cursor = query.get("cursor") or None
    store = request.config_dict[STORE]
    # A bare domain ("acme.com", "j.smith") is a domain when some address is there, else a
    # name: its first page falls back to the name search, whose cursors page on by name.
    loose = search if search is not None and search.domain and not search.strict else None
    if loose is not None and cursor is not None and not cursor.startswith(EMAIL_KEY):
        search = loose.by_name()
    page = await store.list_customers(search, limit, cursor)
    if loose is not None and cursor is None and not page.items:
        page = await store.list_customers(loose.by_name(), limit, None)
    return web.json_response({"items": [customer_json(c) for c in page.items], "next": page.next})


async def get_customer(request: web.Request) -> web.Response:
    customer = await request.config_dict[STORE].get_customer(path_id(request))
    return web.json_response(await _whole(request, customer))


async def update_customer(request: web.Request) -> web.Response:
    """`{"name", "tags"}`: tags replace the customer's, and the rules' `customer.tags` see
    them from the next contact on."""
    require(request, Role.AGENT)
    data = await json_body(request)
    _only(data, {"name", "tags"})
    name = optional_str(data, "name")
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise InvalidRequest(f"name is longer than {MAX_NAME_CHARS} characters")
    change = CustomerChange(name=name, tags=tag_list(data.get("tags")))
    customer = await request.config_dict[STORE].update_customer(path_id(request), change)
    return web.json_response(await _whole(request, customer))


async def merge_customers(request: web.Request) -> web.Response:
    """`{"other": ID}`: the other customer's identities, tickets and tags move to this one."""
    token = require(request, Role.AGENT)
    data = await json_body(request)
    _only(data, {"other"}, required=True)
    store = request.config_dict[STORE]
    merge = await store.merge_customers(
        path_id(request), body_id(data, "other"), token.name, utcnow()
    )
    survivor = await store.get_customer(merge.survivor)
    body = {"merge": merge_json(merge), "customer": await _whole(request, survivor)}
    return web.json_response(body, status=201)


async def unmerge_customers(request: web.Request) -> web.Response:
    """`{"merge_id": ID}`: what that merge into this customer moved goes back."""
    token = require(request, Role.AGENT)
    data = await json_body(request)
    _only(data, {"merge_id"}, required=True)
    store = request.config_dict[STORE]
    merge = await store.unmerge_customers(
        path_id(request), body_id(data, "merge_id"), token.name, utcnow()
    )
    survivor = await store.get_customer(merge.survivor)
    return web.json_response(
        {"merge": merge_json(merge), "customer": await _whole(request, survivor)}
    )


async def _whole(request: web.Request, customer: Customer) -> Json:
    """The customer with its tickets and every merge it took part in."""
    store = request.config_dict[STORE]
    tickets = await store.list_tickets(TicketFilter(customer_id=customer.id), MAX_PAGE)
    merges = await store.customer_merges(customer.id)
    return customer_json(customer, list(tickets.items), merges)


def _only(data: dict[str, Any], fields: set[str], *, required: bool = False) -> None:
    unknown = sorted(set(data) - fields)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    missing = sorted(fields - set(data)) if required else []
    if missing:
        raise InvalidRequest(f"missing field(s): {', '.join(missing)}")


ROUTES = [
    web.get("/customers", list_customers),
    web.get("/customers/{id}", get_customer),
    web.patch("/customers/{id}", update_customer),
    web.post("/customers/{id}/merge", merge_customers),
    web.post("/customers/{id}/unmerge", unmerge_customers),
]
