"""The rules in force: read, replace (supervisors), history, and where a made-up contact goes.

A publish and an edit of the rules file never replace each other silently, and the check is
the store's own atomic compare-and-save (`Store.save_rules(..., expected=N)`), so two hubs
cannot both pass it: `PUT /rules` (and a restore) with `If-Match: "N"` is 409 when the newest
version is no longer N (the web face always sends it); without the header it replaces the
newest and its answer names it (`replaces`); a file edit that replaces a version published
through the API says so in the new version's author and the log (hub/rules/routing.py).

`GET /rules/versions/{version}` reads any stored version with its source; `POST /rules/
versions/{version}/restore` with `{"reason"}` stores that source again as the newest version
(a supervisor's), its author naming who restored which version and why. `POST /rules/
simulate` with `{"rules"}` replays the stored tickets' first contacts against a draft
(hub/rules/simulate.py, as `contacthub rules simulate` does): what would move where.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from core.errors import Conflict, InvalidRequest, NotFound, RulesChanged
from core.model import Role, RulesVersion
from hub.api.auth import require
from hub.api.probe_json import parse_probe
from hub.api.views import Json, decision_json, iso, rules_json
from hub.params import MAX_PAGE, json_body, path_id, text_body
from hub.rules.simulate import simulate
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
    answer = await _publish(request, source, f"token:{token.name}")
    return web.json_response(answer)


async def _publish(request: web.Request, source: str, author: str, name: str = "draft") -> Json:
    """Store `source` as the newest version in one compare-and-save step (Store.save_rules
    with the version it replaces). With `If-Match: "N"` (the version the editor started
    from), a version stored meanwhile (an edited rules file, another supervisor, another
    hub) makes it 409, never a silent overwrite. Without the header it replaces whatever is
    newest at that moment, and the answer's `replaces` names that version."""
    base = _if_match(request)
    try:
        version, replaced = await request.config_dict[RULES].publish(source, author, base, name)
    except RulesChanged as exc:
        newest = await request.config_dict[STORE].current_rules()
        by = "" if newest is None else f" by {newest.author}"
        raise Conflict(
            f"the rules changed since version {exc.expected}: version {exc.newest}{by} is in "
            "force; reload it and publish again"
        ) from exc
    replaces = (
        None if replaced is None else {"version": replaced.version, "author": replaced.author}
    )
    return {**rules_json(version, source), "replaces": replaces}


def _if_match(request: web.Request) -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    base = raw.strip().strip('"')
    if not base.isdigit():
        raise InvalidRequest('If-Match must be the version the draft started from, e.g. "3"')
    return int(base)


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


async def rules_version(request: web.Request) -> web.Response:
    found = await _stored_version(request)
    return web.json_response(rules_json(found, found.source))


async def restore_rules(request: web.Request) -> web.Response:
    token = require(request, Role.SUPERVISOR)
    data = await json_body(request)
    reason = data.get("reason")
    if set(data) != {"reason"} or not isinstance(reason, str) or not reason.strip():
        raise InvalidRequest('the body must be {"reason": "<why this version comes back>"}')
    found = await _stored_version(request)
    author = f"token:{token.name} (restored v{found.version}: {reason.strip()[:200]})"
    answer = await _publish(request, found.source, author, f"version {found.version}")
    return web.json_response(answer, status=201)


async def _stored_version(request: web.Request) -> RulesVersion:
    """The version the path names: the history read back to it (versions are few; a store
    keeps every one)."""
    wanted = path_id(request)
    store = request.config_dict[STORE]
    newest = await store.current_rules()
    if newest is None or wanted > newest.version:
        raise NotFound("rules version", wanted)
    history = await store.rules_history(newest.version - wanted + 1)
    found = next((v for v in history if v.version == wanted), None)
    if found is None:
        raise NotFound("rules version", wanted)
    return found


MAX_MOVES_SHOWN = 200


async def simulate_rules(request: web.Request) -> web.Response:
    """What a draft would change: the tickets that would move, and the queues' counts."""
    require(request, Role.SUPERVISOR)
    data = await json_body(request)
    draft = data.get("rules")
    if set(data) != {"rules"} or not isinstance(draft, str):
        raise InvalidRequest('the body must be {"rules": "<the YAML text of a rules file>"}')
    ruleset = await asyncio.to_thread(load_ruleset, draft, "draft")
    in_force = request.config_dict[ROUTER].rules.ruleset
    result = await simulate(request.config_dict[STORE], ruleset, in_force)
    moves = [
        {"ticket_id": m.ticket_id, "from": m.from_queue, "to": m.to_queue, "rule": m.rule}
        for m in result.moves[:MAX_MOVES_SHOWN]
    ]
    body = {
        "tickets": result.tickets,
        "moved": len(result.moves),
        "moves": moves,
        "before": dict(result.before),
        "after": dict(result.after),
    }
    return web.json_response(body)


ROUTES = [
    web.get("/rules", get_rules),
    web.put("/rules", put_rules),
    web.post("/rules/test", test_rules),
    web.post("/rules/simulate", simulate_rules),
    web.get("/rules/versions", rules_versions),
    web.get("/rules/versions/{id}", rules_version),
    web.post("/rules/versions/{id}/restore", restore_rules),
]
