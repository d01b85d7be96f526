"""The OpenAPI 3.1 description of the API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from hub.api import (
    openapi_campaigns,
    openapi_changes,
    openapi_chat,
    openapi_customers,
    openapi_outside,
    openapi_people,
    openapi_reports,
    openapi_saved_replies,
)
from hub.api.openapi_roles import document_roles
from hub.api.openapi_shapes import ERROR, ID, ok, op

_QUERY = {
    "sla": {"enum": ["breached", "at_risk"]},
    "ids": {"type": "string", "description": "ticket numbers separated by commas, up to 200"},
}
"""Listing parameters with a schema of their own (the others are strings)."""

_TEXT_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["body"],
                "additionalProperties": False,
                "properties": {"body": {"type": "string"}},
            }
        }
    }
}
"""`{"body": TEXT}`: a reply's, a follow-up's."""

_TICKET_PROPERTIES = {
    "id": {"type": "integer"},
    "status": {"enum": ["new", "open", "pending", "resolved", "closed"]},
    "channel": {"type": "string"},
    "queue": {"type": "string"},
    "priority": {"enum": ["low", "normal", "high", "urgent"]},
    "customer_id": {"type": "integer"},
    "subject": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "skills": {"type": "array", "items": {"type": "string"}},
    "assignee": {"type": ["string", "null"]},
    "route": {
        "type": "object",
        "properties": {
            "rule": {"type": ["string", "null"]},
            "explanation": {"type": "array", "items": {"type": "string"}},
        },
    },
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "sla": {
        "type": "object",
        "description": "each metric with a target: {due_at, state, business_seconds}; on a "
        "listed ticket carried from its last change; standing: at_risk, breached or null",
        "properties": {
            "standing": {"enum": ["at_risk", "breached", None]},
            **{
                metric: {
                    "type": "object",
                    "properties": {
                        "due_at": {"type": ["string", "null"], "format": "date-time"},
                        "state": {"enum": ["active", "paused", "warning", "met", "breached"]},
                        "business_seconds": {"type": "number"},
                    },
                }
                for metric in ("first_response", "next_response", "periodic_update", "resolution")
            },
        },
    },
    "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
    "messages_total": {"type": "integer", "description": "the ticket's messages, all of them"},
    "notes": {
        "type": "array",
        "description": "internal notes (and transfers' notes) from the record; read only",
        "items": {"type": "object"},
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "contacthub", "version": "0.1.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "problems": {"type": "array", "items": {"type": "string"}},
                    "allowed": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "a refused status move: the moves allowed",
                    },
                },
            },
            "Message": {"type": "object"},
            "Ticket": {"type": "object", "properties": _TICKET_PROPERTIES},
            "Waiting": {
                "type": "object",
                "properties": {
                    "queue": {"type": "string"},
                    "waiting": {"type": "integer"},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}},
                },
            },
            "TicketList": {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Ticket"}},
                    "next": {"type": ["string", "null"]},
                },
            },
            "QueueList": {"type": "object"},
            "TicketChange": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "status": _TICKET_PROPERTIES["status"],
                    "priority": _TICKET_PROPERTIES["priority"],
                    "queue": {"type": "string"},
                    "assignee": {
                        "type": ["string", "null"],
                        "description": "a person (a live token's name); null unassigns",
                    },
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/tickets": {
            "get": op(
                "List tickets, newest first",
                {"200": ok("TicketList")},
                parameters=[
                    {"name": n, "in": "query", "schema": _QUERY.get(n, {"type": "string"})}
                    for n in (
                        "assignee",
                        "queue",
                        "status",
                        "customer",
                        "channel",
                        "q",
                        "sla",
                        "ids",
                        "limit",
                        "cursor",
                    )
                ],
            )
        },
        "/api/tickets/{id}": {
            "parameters": [ID],
            "get": op(
                "A ticket with its messages (messages: its newest N, and the notes since the "
                "first of them) and route",
                {"200": ok("Ticket")},
                parameters=[
                    {"name": "messages", "in": "query", "schema": {"type": "integer", "minimum": 1}}
                ],
            ),
            "patch": op(
                "Change status, priority, queue (supervisor), assignee (agents: themselves, "
                "or null on their own) or tags, in one atomic change on the record",
                {"200": ok("Ticket"), "409": ERROR},  # a refused move; a closed ticket
                requestBody={
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/TicketChange"}
                        }
                    }
                },
            ),
        },
        "/api/tickets/{id}/reply": {
            "parameters": [ID],
            "post": op(
                "Send a reply on the ticket's channel (agent)",
                {
                    "201": ok("Message", "sent: the message with its delivery status"),
                    "409": ERROR,  # no sender for the channel, nobody to reply to, opted out
                    "502": ERROR,  # the provider refused it; the body also holds "message"
                },
                requestBody=_TEXT_BODY,
            ),
        },
        "/api/tickets/{id}/follow-up": {
            "parameters": [ID],
            "post": op(
                "Write again to the customer of a closed ticket (agent): a new ticket of the "
                "same customer, channel, queue and subject, yours and open, whose first message "
                "is this one, sent as a reply on the closed conversation; 409 for a live ticket "
                "(reply on it), a Slack or chat conversation, or nothing to carry it",
                {
                    "201": {
                        "description": "the new ticket and its first message",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "ticket": {"$ref": "#/components/schemas/Ticket"},
                                        "message": {"$ref": "#/components/schemas/Message"},
                                    },
                                }
                            }
                        },
                    },
                    "409": ERROR,
                    "502": ERROR,  # the provider refused it; "ticket" and "message" kept
                },
                requestBody=_TEXT_BODY,
            ),
        },
        "/api/queues": {
            "get": op("Queues with depth and oldest waiting", {"200": ok("QueueList")})
        },
        "/api/queues/{name}/waiting": {
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": op(
                "The queue's waiting tickets, the most pressing first (priority, then age), "
                "and how many wait",
                {"200": ok("Waiting")},
                parameters=[
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    }
                ],
            ),
        },
        "/api/queues/{name}/claim": {
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": op(
                "Claim the most pressing waiting ticket I may take (capacity, skills)",
                {
                    "200": ok("Ticket", "the ticket; with ?why=1 and none: {ticket: null, why}"),
                    "204": {
                        "description": "nothing I may take; the header Contacthub-Why says why"
                    },
                },
                parameters=[{"name": "why", "in": "query", "schema": {"enum": ["1", "true"]}}],
            ),
        },
    },
}
for part in (
    openapi_customers,
    openapi_campaigns,
    openapi_changes,
    openapi_people,
    openapi_reports,
    openapi_chat,
    openapi_saved_replies,
):
    OPENAPI["paths"].update(part.PATHS)
    OPENAPI["components"]["schemas"].update(part.SCHEMAS)
OPENAPI["paths"].update(openapi_outside.PATHS)
document_roles(OPENAPI["paths"])
