"""The people and offers part of the OpenAPI document (merged into hub/api/openapi.py's)."""

from __future__ import annotations

from typing import Any

from core.people import CHANNELS
from hub.api.openapi_shapes import ERROR, ID, body, ok, op, ref

_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_PER_CHANNEL = {
    "type": "object",
    "properties": {ch: {"type": "integer", "minimum": 0} for ch in CHANNELS},
}


SCHEMAS: dict[str, Any] = {
    "Agent": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "roles": {
                "type": "array",
                "items": {"enum": ["agent", "supervisor", "outbound", "admin"]},
            },
            "skills": _STRINGS,
            "capacity": _PER_CHANNEL,
            "load": {**_PER_CHANNEL, "description": "tickets held (active) + open offers"},
            "queues": {**_STRINGS, "description": "[]: every queue"},
            "presence": {"enum": ["online", "away", "offline"]},
            "seen_at": {"type": ["string", "null"], "format": "date-time"},
            "online_since": {"type": ["string", "null"], "format": "date-time"},
            "last_offered_at": {"type": ["string", "null"], "format": "date-time"},
            "last_assigned_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "AgentList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": ref("Agent")}},
    },
    "Offer": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ticket_id": {"type": "integer"},
            "agent": {"type": "string"},
            "queue": {"type": "string"},
            "channel": {"type": "string"},
            "state": {"enum": ["open", "accepted", "rejected", "expired", "withdrawn"]},
            "deadline": {"type": "string", "format": "date-time"},
            "explanation": {**_STRINGS, "description": "who was passed over and why; who won"},
        },
    },
    "OfferList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": ref("Offer")}},
    },
}

PATHS: dict[str, Any] = {
    "/api/me": {
        "get": op("The caller: their agent and the roles of this token", {"200": ok("Agent")})
    },
    "/api/agents": {"get": op("Every agent with presence and load", {"200": ok("AgentList")})},
    "/api/agents/{name}": {
        "parameters": [_NAME],
        "get": op("One agent", {"200": ok("Agent")}),
        "put": op(
            "Create or update an agent (supervisor; supervisor and admin roles: admin)",
            {"200": ok("Agent"), "201": ok("Agent", "created")},
            requestBody=body(
                {
                    "roles": _STRINGS,
                    "skills": _STRINGS,
                    "capacity": _PER_CHANNEL,
                    "queues": _STRINGS,
                }
            ),
        ),
    },
    "/api/agents/{name}/presence": {
        "parameters": [{**_NAME, "description": "an agent, or `me`"}],
        "post": op(
            "Set a presence, or with {} note a heartbeat (another's: supervisor)",
            {"200": ok("Agent")},
            requestBody=body({"status": {"enum": ["online", "away", "offline"]}}),
        ),
    },
    "/api/offers": {
        "get": op(
            "Open offers: mine, or ?agent=NAME|all (supervisor)",
            {"200": ok("OfferList")},
            parameters=[{"name": "agent", "in": "query", "schema": {"type": "string"}}],
        )
    },
    "/api/offers/{id}/accept": {
        "parameters": [ID],
        "post": op(
            "Accept: the ticket is mine (409: someone else's, answered or expired)",
            {"200": ok("Ticket"), "409": ERROR},
        ),
    },
    "/api/offers/{id}/reject": {
        "parameters": [ID],
        "post": op(
            "Reject: the ticket goes to the next candidate", {"200": ok("Offer"), "409": ERROR}
        ),
    },
}

_RULES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "version": {"type": ["integer", "null"]},
        "source": {"type": "string", "description": "the YAML in force"},
        "author": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_YAML = {"content": {"application/yaml": {"schema": {"type": "string"}}}}
_PUBLISHED = {
    "description": "the new version; `replaces`: the version it replaced (null: none)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    **_RULES["properties"],
                    "replaces": {
                        "type": ["object", "null"],
                        "properties": {
                            "version": {"type": "integer"},
                            "author": {"type": "string"},
                        },
                    },
                },
            }
        }
    },
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "description": 'the version the draft started from, e.g. "3": 409 when another is newest',
    "schema": {"type": "string"},
}
_STALE = {"409": {"description": "a version newer than If-Match is stored: nothing saved"}}

RULES_PATHS: dict[str, Any] = {
    "/api/openapi.json": {
        "get": {
            "summary": "This document (no token needed)",
            "responses": {"200": {"description": "ok"}},
        }
    },
    "/api/rules": {
        "get": op(
            "The rules in force",
            {"200": {"description": "ok", "content": {"application/json": {"schema": _RULES}}}},
        ),
        "put": op(
            "Replace the rules with YAML (supervisor); invalid rules: 400 with every problem",
            {"200": _PUBLISHED, **_STALE},
            requestBody=_YAML,
            parameters=[_IF_MATCH],
        ),
    },
    "/api/rules/versions": {
        "get": op("Saved versions, newest first", {"200": {"description": "ok"}})
    },
    "/api/rules/versions/{id}": {
        "parameters": [ID],
        "get": op(
            "One stored version with its source",
            {"200": {"description": "ok", "content": {"application/json": {"schema": _RULES}}}},
        ),
    },
    "/api/rules/versions/{id}/restore": {
        "parameters": [ID],
        "post": op(
            "Store this version's source again as the newest (supervisor); the author names "
            "who restored which version and why",
            {"201": _PUBLISHED, **_STALE},
            requestBody=body({"reason": {"type": "string", "minLength": 1}}),
            parameters=[_IF_MATCH],
        ),
    },
    "/api/rules/simulate": {
        "post": op(
            "Replay the stored tickets against a draft (supervisor): what would move where",
            {"200": {"description": "tickets, moved, moves (the first 200), before, after"}},
            requestBody=body({"rules": {"type": "string"}}),
        )
    },
    "/api/rules/test": {
        "post": op(
            "Where a made-up contact goes: the rule, queue and explanation (a draft in `rules`)",
            {"200": {"description": "the decision"}},
            requestBody={
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "description": "a contact (channel, from, to, subject, body, "
                            "customer facts) and optionally `rules`: a draft's YAML",
                        }
                    }
                }
            },
        )
    },
}
PATHS.update(RULES_PATHS)
