"""The rules in force: read, replace (supervisors), history, and where a made-up contact goes."""

from __future__ import annotations

import asyncio

from aiohttp import web

from core.errors import InvalidRequest
from core.model import Role
from hub.api.auth import require
from hub.api.params import MAX_PAGE, json_body, text_body
from hub.api.probe_json import parse_probe
from hub.api.views import decision_json, iso, rules_json
from hub.state import ROUTER, RULES, SETTINGS, STORE
from router import load_ruleset


async def get_rules(request: web.Request) -> web.Response:
    rules = request.config_dict[ROUTER].rules
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
    source = await text_body(request, "the rules")
    version = await request.config_dict[RULES].replace(source, f"token:{token.name}")
    return web.json_response(rules_json(version, source))


async def test_rules(request: web.Request) -> web.Response:
    """Where a made-up contact would go, under the running rules or a draft in `rules`."""
    data = await json_body(request)
    probe = parse_probe(data, request.config_dict[SETTINGS].routing.default_region)
    draft = data.get("rules")
    if draft is None:
        decision = request.config_dict[ROUTER].decide(probe.contact, probe.facts)
    elif isinstance(draft, str):
        ruleset = await asyncio.to_thread(load_ruleset, draft, "draft")
        decision = ruleset.decide(probe.contact, probe.facts)
    else:
        raise InvalidRequest("rules must be the YAML text of a rules file")
    return web.json_response(decision_json(decision))


ROUTES = [
    web.get("/rules", get_rules),
    web.put("/rules", put_rules),
    web.post("/rules/test", test_rules),
    web.get("/rules/versions", rules_versions),
]
