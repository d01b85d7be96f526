"""The dialer's part of the REST API: agent-first dialing and agents' readiness.

    POST /api/campaigns/{id}/dial        the hub rings the agent, then bridges the next contact
    PUT  /api/campaigns/{id}/agents/me   {"endpoint", "ready"}: where the hub reaches the agent,
                                          and whether a progressive campaign dials for them

Both need Twilio and `server.public_url` (409 otherwise). `dial` answers like `next` when
nobody can be called: 409 with the state of a halted campaign, 204 with `Retry-After` and
`Next-Window-Opening` outside the hours; the contact itself is chosen when the agent
answers, so the hours and the do-not-call list are checked at that moment.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import Field, ValidationError

from channels.twilio.calls import CallRefused
from core.dialer import DialerAgent
from core.errors import Conflict, InvalidRequest, NotFound, PayloadError
from core.identity import normalise_phone
from hub.api.campaign_body import StrictBody
from hub.api.campaigns import (
    campaign_desk,
    clock_now,
    find_campaign,
    nobody_callable,
    not_running,
    problems,
    runner,
)
from hub.api.views import iso
from hub.campaigns.progressive import Progressive
from hub.params import json_body
from hub.state import SETTINGS, STORE
from hub.wiring.dialer import DIALER

CLIENT = re.compile(r"^client:[A-Za-z0-9_.@-]{1,64}$")


class DialBody(StrictBody):
    endpoint: str | None = Field(None, min_length=2, max_length=80)


class AgentBody(StrictBody):
    endpoint: str = Field(min_length=2, max_length=80)
    ready: bool = True


def add_dialer_routes(api: web.Application) -> None:
    api.add_routes(
        [
            web.post("/campaigns/{key}/dial", dial),
            web.put("/campaigns/{key}/agents/me", put_agent),
        ]
    )


def _progressive(request: web.Request) -> Progressive:
    found = request.config_dict[DIALER]
    if found is None:
        raise Conflict("dialing needs [channels.twilio] and server.public_url")
    return found


def endpoint(request: web.Request, raw: str) -> str:
    """An agent's endpoint: `client:IDENTITY`, or a phone number made E.164."""
    text = raw.strip()
    if text.startswith("client:"):
        if not CLIENT.fullmatch(text):
            raise InvalidRequest(f"endpoint {text!r}: client: then letters, digits, _ . @ -")
        return text
    try:
        return normalise_phone(text, request.config_dict[SETTINGS].routing.default_region)
    except PayloadError as exc:
        raise InvalidRequest(f"endpoint: {exc.message}") from exc


async def _body(request: web.Request, model: type[StrictBody]) -> Any:
    data = await json_body(request) if request.body_exists else {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(problems(exc)) from exc


async def dial(request: web.Request) -> web.Response:
    """Agent-first: ring the caller's endpoint; 202 with the agent's call."""
    token, progressive = runner(request), _progressive(request)
    campaign, now, desk = await find_campaign(request), clock_now(request), campaign_desk(request)
    body: DialBody = await _body(request, DialBody)
    halted = desk.halted(campaign, now)
    if halted is not None:
        return not_running(campaign, halted)
    if not await desk.callable_slots(campaign, now):
        return await nobody_callable(desk, campaign, now)
    target = await _endpoint_of(request, token.name, body.endpoint)
    try:
        sid = await progressive.dialer.call_agent(campaign, token.name, target)
    except CallRefused as exc:
        return web.json_response({"error": exc.message}, status=502)
    answer = {"call_sid": sid, "agent": token.name, "endpoint": target, "campaign": campaign.id}
    return web.json_response(answer, status=202)


async def _endpoint_of(request: web.Request, agent: str, given: str | None) -> str:
    if given is not None:
        return endpoint(request, given)
    try:
        return (await request.config_dict[STORE].get_dialer_agent(agent)).endpoint
    except NotFound as exc:
        why = "endpoint: where should the hub ring you? (+15551234567 or client:NAME)"
        raise InvalidRequest(why) from exc


async def put_agent(request: web.Request) -> web.Response:
    """The caller's endpoint and readiness in this campaign; ready agents are dialled for."""
    token, progressive = runner(request), _progressive(request)
    campaign = await find_campaign(request)
    body: AgentBody = await _body(request, AgentBody)
    target = endpoint(request, body.endpoint)
    store = request.config_dict[STORE]
    agent = await store.put_dialer_agent(
        token.name, campaign.id, target, clock_now(request), ready=body.ready
    )
    if agent.ready:
        progressive.kick(agent.name)
    return web.json_response(agent_json(agent))


def agent_json(agent: DialerAgent) -> dict[str, object]:
    return {
        "name": agent.name,
        "campaign_id": agent.campaign_id,
        "endpoint": agent.endpoint,
        "ready": agent.ready,
        "busy_until": iso(agent.busy_until),
        "updated_at": iso(agent.updated_at),
    }
