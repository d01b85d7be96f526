"""The OpenAPI paths of working a ticket (hub/api/changes.py), merged into hub/api/openapi.py's
document."""

from __future__ import annotations

from typing import Any

from core.record import ActorKind, EventKind
from hub.api.openapi_shapes import ERROR, ERRORS, ID


def _ref(schema: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _op(summary: str, responses: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {**ERRORS, **responses}}
    if body is not None:
        operation["requestBody"] = {"required": True, **_ref(body)}
    return operation


def _body(required: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


_TEXT = {"type": "string", "minLength": 1}
SCHEMAS: dict[str, Any] = {
    "TicketEvent": {
        "type": "object",
        "properties": {
            "seq": {"type": "integer", "description": "hub-wide, increasing, no gaps"},
            "kind": {"enum": [k.value for k in EventKind]},
            "actor": {
                "type": "object",
                "properties": {
                    "kind": {"enum": [k.value for k in ActorKind]},
                    "name": {"type": ["string", "null"]},
                },
            },
            "at": {"type": "string", "format": "date-time"},
            "detail": {"type": "object", "description": "by kind: see the README"},
        },
    },
    "TicketEvents": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/TicketEvent"}},
            "next": {"type": "null"},
            "total": {"type": "integer", "description": "the record's entries, all of them"},
        },
    },
    "Note": _body(["body"], body=_TEXT),
    "Transfer": {
        **_body(
            [],
            queue={"type": "string"},
            assignee={"type": ["string", "null"]},
            note={"type": "string"},
        ),
        "description": "a queue, a person, or both; to a queue alone it waits unassigned",
    },
    "Escalation": _body(["reason"], reason=_TEXT),
}

PATHS: dict[str, Any] = {
    "/api/tickets/{id}/notes": {
        "parameters": [ID],
        "post": _op(
            "Add an internal note to the ticket's record, never sent (agent)",
            {"201": {"description": "the note's event", **_ref("TicketEvent")}},
            "Note",
        ),
    },
    "/api/tickets/{id}/transfer": {
        "parameters": [ID],
        "post": _op(
            "Hand the ticket to a queue and/or a person, with a note (agent: their own or an "
            "unassigned ticket)",
            {"200": {"description": "the ticket", **_ref("Ticket")}, "409": ERROR},
            "Transfer",
        ),
    },
    "/api/tickets/{id}/escalate": {
        "parameters": [ID],
        "post": _op(
            "Escalate to the next tier (the queue's escalate_to, else the next tier's queue), "
            "unassigned (agent: their own or an unassigned ticket)",
            {
                "200": {"description": "the ticket", **_ref("Ticket")},
                "409": ERROR,  # nowhere higher, it moved meanwhile, or it is closed
            },
            "Escalation",
        ),
    },
    "/api/tickets/{id}/messages/{message_id}/attachments/{n}": {
        "parameters": [
            ID,
            {"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}},
        ],
        "get": {
            "summary": "An attachment's bytes (the message's `n`th, from 0; its `download`"
            " link), kept by the hub or fetched from the provider that keeps them (a Slack"
            " file, Twilio media) with the channel's credentials and passed through: raster"
            " images inline, anything else a download; sandboxed, nosniff",
            "responses": {
                "200": {
                    "description": "the bytes, with the attachment's type and name",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "206": {"description": "the range asked for (Range; kept bytes only)"},
                **ERRORS,
                "502": ERROR,  # the provider failed, refused the credentials, or is too slow
            },
        },
    },
    "/api/tickets/{id}/events": {
        "parameters": [ID],
        "get": {
            **_op(
                "The ticket's record, oldest first (last: its newest N entries)",
                {"200": {"description": "ok", **_ref("TicketEvents")}},
            ),
            "parameters": [
                {"name": "last", "in": "query", "schema": {"type": "integer", "minimum": 1}}
            ],
        },
    },
}
