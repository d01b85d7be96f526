"""The OpenAPI paths of the web chat's typing (hub/api/chat.py), merged into hub/api/openapi.py's
document. The visitor's side is the WebSocket at /chat/ws (README, "Web chat")."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_shapes import ERROR, ID

_ERRORS = {"400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR, "409": ERROR}

PATHS: dict[str, Any] = {
    "/api/tickets/{id}/typing": {
        "parameters": [ID],
        "post": {
            "summary": "The agent is typing: the chat visitor's widget shows it (never stored)",
            "responses": {"204": {"description": "told the visitor's hub"}, **_ERRORS},
        },
        "get": {
            "summary": "Whether the chat visitor typed in the last seconds",
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/VisitorTyping"}
                        }
                    },
                },
                **_ERRORS,
            },
        },
    },
}

SCHEMAS: dict[str, Any] = {
    "VisitorTyping": {
        "type": "object",
        "required": ["visitor_typing"],
        "properties": {"visitor_typing": {"type": "boolean"}},
    },
}
