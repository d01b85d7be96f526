"""The shapes every part of the OpenAPI document is written with (hub/api/openapi*.py)."""

from __future__ import annotations

from typing import Any

ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
ERROR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
ERRORS = {"400": ERROR, "401": ERROR, "403": ERROR, "404": ERROR, "503": ERROR}
"""What any operation may answer: a bad request, no token, a role that may not, nothing
there, the store away."""


def ref(schema: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"}


def ok(schema: str, description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**responses, **ERRORS}, **extra}


def body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A JSON request body of these properties and no others."""
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required is not None:
        schema["required"] = required
    return {"content": {"application/json": {"schema": schema}}}
