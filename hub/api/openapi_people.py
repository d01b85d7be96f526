"""The people and offers part of the OpenAPI document (merged into hub/api/openapi.py's)."""

from __future__ import annotations

from typing import Any

from core.people import CHANNELS

_ERROR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR, "503": _ERROR}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_PER_CHANNEL = {
    "type": "object",
    "properties": {ch: {"type": "integer", "minimum": 0} for ch in CHANNELS},
}


def _ref(schema: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"}


def _ok(schema: str, description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**responses, **_ERRORS}, **extra}


def _body(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    return {"content": {"application/json": {"schema": schema}}}


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
        "properties": {"items": {"type": "array", "items": _ref("Agent")}},
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
        "properties": {"items": {"type": "array", "items": _ref("Offer")}},
    },
}

PATHS: dict[str, Any] = {
    "/api/me": {
        "get": _op("The caller: their agent and the roles of this token", {"200": _ok("Agent")})
    },
    "/api/agents": {"get": _op("Every agent with presence and load", {"200": _ok("AgentList")})},
    "/api/agents/{name}": {
        "parameters": [_NAME],
        "get": _op("One agent", {"200": _ok("Agent")}),
        "put": _op(
            "Create or update an agent (supervisor; supervisor and admin roles: admin)",
            {"200": _ok("Agent"), "201": _ok("Agent", "created")},
            requestBody=_body(
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
        "post": _op(
            "Set a presence, or with {} note a heartbeat (another's: supervisor)",
            {"200": _ok("Agent")},
            requestBody=_body({"status": {"enum": ["online", "away", "offline"]}}),
        ),
    },
    "/api/offers": {
        "get": _op(
            "Open offers: mine, or ?agent=NAME|all (supervisor)",
            {"200": _ok("OfferList")},
            parameters=[{"name": "agent", "in": "query", "schema": {"type": "string"}}],
        )
    },
    "/api/offers/{id}/accept": {
        "parameters": [_ID],
        "post": _op(
            "Accept: the ticket is mine (409: someone else's, answered or expired)",
            {"200": _ok("Ticket"), "409": _ERROR},
        ),
    },
    "/api/offers/{id}/reject": {
        "parameters": [_ID],
        "post": _op(
            "Reject: the ticket goes to the next candidate", {"200": _ok("Offer"), "409": _ERROR}
        ),
    },
}

_RULES = {
    "type": "object",
    "properties": {
        "version": {"type": ["integer", "null"]},
        "source": {"type": "string", "description": "the YAML in force"},
        "author": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_YAML = {"content": {"application/yaml": {"schema": {"type": "string"}}}}

RULES_PATHS: dict[str, Any] = {
    "/api/openapi.json": {
        "get": {
            "summary": "This document (no token needed)",
            "responses": {"200": {"description": "ok"}},
        }
    },
    "/api/rules": {
        "get": _op(
            "The rules in force",
            {"200": {"description": "ok", "content": {"application/json": {"schema": _RULES}}}},
        ),
        "put": _op(
            "Replace the rules with YAML (supervisor); invalid rules: 400 with every problem",
            {
                "200": {
                    "description": "the new version",
                    "content": {"application/json": {"schema": _RULES}},
                }
            },
            requestBody=_YAML,
        ),
    },
    "/api/rules/versions": {
        "get": _op("Saved versions, newest first", {"200": {"description": "ok"}})
    },
    "/api/rules/versions/{id}": {
        "parameters": [_ID],
        "get": _op(
            "One stored version with its source",
            {"200": {"description": "ok", "content": {"application/json": {"schema": _RULES}}}},
        ),
    },
    "/api/rules/versions/{id}/restore": {
        "parameters": [_ID],
        "post": _op(
            "Store this version's source again as the newest (supervisor); the author names "
            "who restored which version and why",
            {
                "201": {
                    "description": "the new version",
                    "content": {"application/json": {"schema": _RULES}},
                }
            },
            requestBody=_body({"reason": {"type": "string", "minLength": 1}}),
        ),
    },
    "/api/rules/simulate": {
        "post": _op(
            "Replay the stored tickets against a draft (supervisor): what would move where",
            {"200": {"description": "tickets, moved, moves (the first 200), before, after"}},
            requestBody=_body({"rules": {"type": "string"}}),
        )
    },
    "/api/rules/test": {
        "post": _op(
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
