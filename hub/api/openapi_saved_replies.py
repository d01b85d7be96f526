"""The saved replies part of the OpenAPI document (merged into hub/api/openapi.py's)."""

from __future__ import annotations

from typing import Any

from core.saved_replies import MAX_BODY_CHARS, MAX_NAME_CHARS, PLACEHOLDERS
from hub.api.openapi_shapes import ERROR, ID, body, ok, op

_QUEUES = {
    "type": "array",
    "items": {"type": "string"},
    "description": "the queues whose tickets it is for; [] or left out: every queue",
}

SCHEMAS: dict[str, Any] = {
    "SavedReply": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "body": {"type": "string"},
            "queues": _QUEUES,
            "updated_by": {"type": "string"},
            "updated_at": {"type": "string", "format": "date-time"},
            "text": {
                "type": "string",
                "description": "with ?ticket=: the body filled in for the ticket",
            },
        },
    },
    "SavedReplyList": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/SavedReply"}}
        },
    },
}

_BODY = body(
    {
        "name": {"type": "string", "maxLength": MAX_NAME_CHARS},
        "body": {
            "type": "string",
            "maxLength": MAX_BODY_CHARS,
            "description": "placeholders: "
            + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            + ", each with a fallback after | ({customer.first_name|there}); {{ and }} are braces",
        },
        "queues": _QUEUES,
    },
    ["name", "body"],
)

PATHS: dict[str, Any] = {
    "/api/saved-replies": {
        "get": op(
            "Saved replies by name; ?queue= those for a queue; ?ticket= those for the ticket's "
            "queue, each with text: its body filled in for the ticket, its customer and you",
            {"200": ok("SavedReplyList")},
            parameters=[
                {"name": "queue", "in": "query", "schema": {"type": "string"}},
                {"name": "ticket", "in": "query", "schema": {"type": "integer"}},
            ],
        ),
        "post": op(
            "Save a reply (supervisor); 400 for an unknown placeholder or queue, 409 for a "
            "name taken whatever its case",
            {"201": ok("SavedReply"), "409": ERROR},
            requestBody=_BODY,
        ),
    },
    "/api/saved-replies/{id}": {
        "parameters": [ID],
        "put": op(
            "Replace a saved reply whole (supervisor)",
            {"200": ok("SavedReply"), "409": ERROR},
            requestBody=_BODY,
        ),
        "delete": op("Delete a saved reply (supervisor)", {"204": {"description": "deleted"}}),
    },
}
