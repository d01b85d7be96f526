"""The campaign part of the OpenAPI document (merged into hub/openapi.py's)."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_shapes import ERROR, ok, op

_KEY = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "the campaign's id or name",
    "schema": {"type": "string"},
}
_CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required or []}
    return {"content": {"application/json": {"schema": schema}}}


def _json(schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"content": {"application/json": {"schema": ref}}}


_NOBODY = {
    "description": "nobody callable now; Retry-After (seconds) and Next-Window-Opening "
    "(date-time) say when a number outside its window becomes callable",
    "headers": {
        "Retry-After": {"schema": {"type": "integer"}},
        "Next-Window-Opening": {"schema": {"type": "string", "format": "date-time"}},
    },
}
_HALTED = {
    "description": "the campaign is paused, stopped or ended: {error, state}",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
_DURATION = {"type": "string", "description": "e.g. 30m, 4h, 1d"}
SCHEMAS: dict[str, Any] = {
    "CampaignCreate": {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_.-]{0,63}$"},
            "queue": {"type": "string"},
            "caller_id": {"type": "string"},
            "hours": {"type": "string", "description": "callee local time, e.g. 08:00-21:00"},
            "days": {"type": "string", "description": "e.g. mon-fri"},
            "holidays": {"type": "array", "items": {"type": "string", "format": "date"}},
            "timezone": {"type": ["string", "null"], "description": "for unknown zones"},
            "max_attempts": {"type": "integer", "minimum": 1},
            "retry": {
                "type": "object",
                "properties": dict.fromkeys(
                    ("no_answer", "busy", "voicemail", "failed"), _DURATION
                ),
            },
            "lease": _DURATION,
            "ends_at": {"type": "string", "format": "date-time"},
            "priority": {"enum": ["low", "normal", "high", "urgent"]},
            "state": {"enum": ["running", "paused", "stopped"]},
            "dialer": {"enum": ["manual", "progressive"]},
            "machine_detection": {"type": "boolean"},
            "voicemail_url": {"type": "string", "description": "audio played to a machine"},
        },
    },
    "Campaign": {"type": "object"},
    "CampaignList": {"type": "object"},
    "CampaignContact": {"type": "object"},
    "Lease": {
        "type": "object",
        "properties": {
            "attempt_id": {"type": "integer"},
            "lease_until": {"type": "string", "format": "date-time"},
            "caller_id": {"type": "string"},
            "contact": {"$ref": "#/components/schemas/CampaignContact"},
        },
    },
    "Outcome": {
        "type": "object",
        "required": ["outcome"],
        "additionalProperties": False,
        "properties": {
            "outcome": {
                "enum": [
                    "answered",
                    "resolved",
                    "no_answer",
                    "busy",
                    "voicemail",
                    "failed",
                    "wrong_number",
                    "do_not_call",
                    "callback",
                    "callback_at",
                ]
            },
            "callback_at": {"type": "string", "format": "date-time"},
            "note": {"type": "string"},
        },
    },
    "CampaignStats": {"type": "object"},
    "ListReport": {"type": "object"},
}

PATHS: dict[str, Any] = {
    "/api/campaigns": {
        "get": op("Every campaign", {"200": ok("CampaignList")}),
        "post": op(
            "Create a campaign (outbound); what is left out takes [campaigns]",
            {"201": ok("Campaign"), "409": ERROR},
            requestBody=_json("CampaignCreate"),
        ),
    },
    "/api/campaigns/{id}": {
        "parameters": [_KEY],
        "get": op("A campaign", {"200": ok("Campaign")}),
    },
    **{
        f"/api/campaigns/{{id}}/{action}": {
            "parameters": [_KEY],
            "post": op(
                f"{action.capitalize()} the campaign (outbound)",
                {"200": ok("Campaign"), "409": ERROR},
            ),
        }
        for action in ("start", "pause", "stop")
    },
    "/api/campaigns/{id}/contacts": {
        "parameters": [
            _KEY,
            {
                "name": "map",
                "in": "query",
                "schema": {"type": "string"},
                "description": "COLUMN:HEADER, repeatable (e.g. phone:Mobile)",
            },
        ],
        "post": op(
            "Load a callback list (CSV body, streamed): the report",
            {"200": ok("ListReport"), "413": ERROR},
            requestBody=_CSV,
        ),
    },
    "/api/campaigns/{id}/contacts/{contact_id}": {
        "parameters": [
            _KEY,
            {"name": "contact_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        ],
        "get": op("A contact with its attempts", {"200": ok("CampaignContact")}),
    },
    "/api/campaigns/{id}/next": {
        "parameters": [_KEY],
        "post": op(
            "Lease the next callable contact with a new attempt (outbound)",
            {"200": ok("Lease"), "204": _NOBODY, "409": _HALTED},
        ),
    },
    "/api/campaigns/{id}/dial": {
        "parameters": [_KEY],
        "post": op(
            "Agent-first: ring the caller's endpoint, bridge the next contact on answer",
            {
                "202": {"description": "the agent is being rung: {call_sid, agent, endpoint}"},
                "204": _NOBODY,
                "409": _HALTED,
                "502": ERROR,
            },
            requestBody=_object({"endpoint": {"type": "string"}}),
        ),
    },
    "/api/campaigns/{id}/agents/me": {
        "parameters": [_KEY],
        "put": op(
            "Where the hub reaches the caller and whether a progressive campaign dials for them",
            {"200": {"description": "the agent's dialer entry"}, "409": ERROR},
            requestBody=_object(
                {"endpoint": {"type": "string"}, "ready": {"type": "boolean"}}, ["endpoint"]
            ),
        ),
    },
    "/api/campaigns/{id}/attempts/{attempt_id}": {
        "parameters": [
            _KEY,
            {"name": "attempt_id", "in": "path", "required": True, "schema": {"type": "integer"}},
        ],
        "post": op(
            "Record an attempt's outcome (the agent holding it, or a supervisor)",
            {"200": ok("CampaignContact"), "409": ERROR},
            requestBody=_json("Outcome"),
        ),
    },
    "/api/campaigns/{id}/stats": {
        "parameters": [_KEY],
        "get": op(
            "Contacts by state and outcome, rates, what is callable", {"200": ok("CampaignStats")}
        ),
    },
    "/api/do-not-call": {
        "parameters": [{"name": "source", "in": "query", "schema": {"type": "string"}}],
        "post": op(
            "Add numbers to the do-not-call list (CSV with a phone column, or one a line)",
            {"200": ok("ListReport"), "413": ERROR},
            requestBody=_CSV,
        ),
    },
    "/api/do-not-call/{phone}": {
        "parameters": [
            {"name": "phone", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "get": op(
            "A number's do-not-call entry and its earlier removals (404 with them when unlisted)",
            {"200": {"description": "listed"}},
        ),
        "delete": op(
            "Take a number off the do-not-call list (supervisor), recorded with who and why",
            {"200": {"description": "the removal: entry, removed_by, reason, removed_at"}},
            requestBody=_object({"reason": {"type": "string", "minLength": 3}}, ["reason"]),
        ),
    },
}
