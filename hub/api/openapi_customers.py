"""The customer part of the OpenAPI document (merged into hub/api/openapi.py's)."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_shapes import ERROR, ID, body, ok, op, ref

_TAGS = {"type": "array", "items": {"type": "string"}}
_IDENTITY = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["email", "phone", "slack", "chat", "visitor"]},
        "value": {"type": "string"},
    },
}


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
            "tickets": {"type": "array", "items": ref("Ticket"), "description": "on a read"},
            "merges": {"type": "array", "items": ref("CustomerMerge"), "description": "on a read"},
        },
    },
    "CustomerList": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ref("Customer")},
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
    "Erasure": {
        "type": "object",
        "description": "what an erasure removed (counts, never content)",
        "properties": {
            "customer_id": {"type": "integer"},
            "customers": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "the customer and those merged into it",
            },
            "tickets": {"type": "array", "items": {"type": "integer"}},
            "closed": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "those of the tickets that were live work, closed by the erasure",
            },
            **{
                name: {"type": "integer"}
                for name in (
                    "identities",
                    "messages",
                    "attachments",
                    "blobs_deleted",
                    "search_entries",
                    "keys",
                    "events_scrubbed",
                )
            },
        },
    },
    "CustomerMergeResult": {
        "type": "object",
        "properties": {"merge": ref("CustomerMerge"), "customer": ref("Customer")},
    },
}

PATHS: dict[str, Any] = {
    "/api/customers": {
        "get": op(
            "Customers newest first, or found by q: an email, a phone number, a Slack user id, "
            "an email domain (@acme.com: the owners of its addresses, by address), or the start "
            "of words of the name",
            {"200": ok("CustomerList")},
            parameters=[
                {"name": n, "in": "query", "schema": {"type": "string"}}
                for n in ("q", "limit", "cursor")
            ],
        )
    },
    "/api/customers/{id}": {
        "parameters": [ID],
        "get": op(
            "A customer with identities, tickets and merges (merged away: merged_into)",
            {"200": ok("Customer")},
        ),
        "patch": op(
            "Rename or retag (agent); tags feed the rules' customer.tags",
            {"200": ok("Customer"), "409": ERROR},
            requestBody=body({"name": {"type": "string"}, "tags": _TAGS}, []),
        ),
    },
    "/api/customers/{id}/merge": {
        "parameters": [ID],
        "post": op(
            "Merge the other customer into this one (agent)",
            {"201": ok("CustomerMergeResult"), "409": ERROR},
            requestBody=body({"other": {"type": "integer"}}, ["other"]),
        ),
    },
    "/api/customers/{id}/erase": {
        "parameters": [ID],
        "post": op(
            "Erase the customer's personal data (admin; no body): identities, name, message "
            "texts, attachments, search entries, the keys naming them; tickets and their "
            "records stay, anonymised, with a customer_erased event; 409 for a customer "
            "merged away (erase the survivor)",
            {"200": ok("Erasure"), "409": ERROR},
        ),
    },
    "/api/customers/{id}/unmerge": {
        "parameters": [ID],
        "post": op(
            "Undo a merge into this customer exactly (agent); 409 names a later merge that "
            "depends on it",
            {"200": ok("CustomerMergeResult"), "409": ERROR},
            requestBody=body({"merge_id": {"type": "integer"}}, ["merge_id"]),
        ),
    },
}
