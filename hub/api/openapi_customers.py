"""The customer part of the OpenAPI document (merged into hub/api/openapi.py's)."""

from __future__ import annotations

from typing import Any

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_ERROR = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_ERRORS = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR, "503": _ERROR}
_TAGS = {"type": "array", "items": {"type": "string"}}
_IDENTITY = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["email", "phone", "slack", "chat", "visitor"]},
        "value": {"type": "string"},
    },
}


def _ref(schema: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"}


def _ok(schema: str, description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**responses, **_ERRORS}, **extra}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    return {"content": {"application/json": {"schema": {**schema, "required": required}}}}


SCHEMAS: dict[str, Any] = {
    "Customer": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "tags": _TAGS,
            "created_at": {"type": "string", "format": "date-time"},
            "identities": {"type": "array", "items": _IDENTITY},
            "merged_into": {
                "type": ["integer", "null"],
                "description": "the survivor, when this customer was merged away",
            },
            "tickets": {"type": "array", "items": _ref("Ticket"), "description": "on a read"},
            "merges": {"type": "array", "items": _ref("CustomerMerge"), "description": "on a read"},
        },
    },
    "CustomerList": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref("Customer")},
            "next": {"type": ["string", "null"]},
        },
    },
    "CustomerMerge": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "survivor": {"type": "integer"},
            "other": {"type": "integer"},
            "by": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "moved": {
                "type": "object",
                "properties": {
                    "identities": {"type": "array", "items": _IDENTITY},
                    "tickets": {"type": "array", "items": {"type": "integer"}},
                    "tags": {**_TAGS, "description": "the other's tags; back to it on unmerge"},
                    "added_tags": {
                        **_TAGS,
                        "description": "new to the survivor; removed on unmerge",
                    },
                },
            },
            "undone_by": {"type": ["string", "null"]},
            "undone_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "CustomerMergeResult": {
        "type": "object",
        "properties": {"merge": _ref("CustomerMerge"), "customer": _ref("Customer")},
    },
}

PATHS: dict[str, Any] = {
    "/api/customers": {
        "get": _op(
            "Customers newest first, or found by q: an email, a phone number, a Slack user id, "
            "or the start of words of the name",
            {"200": _ok("CustomerList")},
            parameters=[
                {"name": n, "in": "query", "schema": {"type": "string"}}
                for n in ("q", "limit", "cursor")
            ],
        )
    },
    "/api/customers/{id}": {
        "parameters": [_ID],
        "get": _op(
            "A customer with identities, tickets and merges (merged away: merged_into)",
            {"200": _ok("Customer")},
        ),
        "patch": _op(
            "Rename or retag (agent); tags feed the rules' customer.tags",
            {"200": _ok("Customer"), "409": _ERROR},
            requestBody=_body({"name": {"type": "string"}, "tags": _TAGS}, []),
        ),
    },
    "/api/customers/{id}/merge": {
        "parameters": [_ID],
        "post": _op(
            "Merge the other customer into this one (agent)",
            {"201": _ok("CustomerMergeResult"), "409": _ERROR},
            requestBody=_body({"other": {"type": "integer"}}, ["other"]),
        ),
    },
    "/api/customers/{id}/unmerge": {
        "parameters": [_ID],
        "post": _op(
            "Undo a merge into this customer exactly (agent); 409 names a later merge that "
            "depends on it",
            {"200": _ok("CustomerMergeResult"), "409": _ERROR},
            requestBody=_body({"merge_id": {"type": "integer"}}, ["merge_id"]),
        ),
    },
}
