"""The OpenAPI paths of the live events (hub/api/events.py) and the reports
(hub/api/reports.py), merged into hub/api/openapi.py's document."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_shapes import ERROR
from router.reports import CLOCKS, Grouping, Key, Metric

_ERRORS = {"400": ERROR, "401": ERROR, "403": ERROR, "503": ERROR}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": "string", **schema}}  # fmt: skip


def _answer(schema: str, csv: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    }
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"200": {"description": "ok", "content": content}, **_ERRORS}


_REPORT_PARAMETERS = [
    _query("from", "window start, ISO date or time (without offset: in tz); default to - 7 days"),
    _query("to", "window end (exclusive); default now"),
    _query("tz", "IANA time zone of dates, buckets and answers; default UTC"),
    _query("queue", "only tickets in this queue at the window's end"),
    _query("channel", "only tickets whose first message came on this channel"),
    _query("agent", "only tickets this agent held or answered"),
    _query("seconds", "kind of seconds durations count", enum=["calendar", "business"]),
    _query("format", "json (default) or csv", enum=["json", "csv"]),
]
_SPREAD = {
    "type": "object",
    "properties": {k: {"type": ["number", "null"]} for k in ("count", "p50", "p90", "mean")},
}
_SHARE = {
    "type": "object",
    "properties": {k: {"type": ["number", "null"]} for k in ("of", "count", "percent")},
}


_SOURCE = {
    "type": "string",
    "enum": ["rollups", "record"],
    "description": "rollups: summed from the cells written with the events (a window past the "
    "newest event, on whole UTC hours, calendar seconds, no agent); record: folded from the "
    "events of the window",
}


def _row(*, with_key: bool) -> dict[str, Any]:
    """A row of the volume series: its tickets' count, first responses and SLA (`sla.of`:
    tickets with a target; `sla.count`: of those, not breached; `breached`: the others)."""
    key = {"key": {"type": "string"}} if with_key else {}
    return {
        "type": "object",
        "properties": {
            "bucket": {"type": "string", "format": "date-time"},
            **key,
            "count": {"type": "integer"},
            "first_response": _SPREAD,
            "sla": _SHARE,
            "breached": {"type": "integer"},
        },
    }


SCHEMAS: dict[str, Any] = {
    "ReportSummary": {
        "type": "object",
        "properties": {
            "source": _SOURCE,
            "created": {"type": "integer"},
            "resolved": {"type": "integer"},
            "backlog": {"type": "integer"},
            "first_response": _SPREAD,
            "resolution": _SPREAD,
            "one_touch": _SHARE,
            "repeat_contact": _SHARE,
            "agents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "agent": {"type": "string"},
                        "handled": {"type": "integer"},
                        "first_response": _SPREAD,
                        "handle_time": _SPREAD,
                    },
                },
            },
            "sla": {
                **_SHARE,
                "description": "of: tickets whose route has an SLA target or that breached "
                "one; count: of those, none breached",
            },
            "sla_by_clock": {
                "type": "object",
                "properties": dict.fromkeys(CLOCKS, _SHARE),
                "description": "per clock: of: tickets with a target for it or its breach; "
                "count: of those, not breached",
            },
        },
    },
    "ReportVolume": {
        "type": "object",
        "properties": {
            "source": _SOURCE,
            "items": {"type": "array", "items": _row(with_key=True)},
            "totals": {"type": "array", "items": _row(with_key=False)},
        },
    },
    "ReportTickets": {
        "type": "object",
        "properties": {
            "metric": {"type": "string"},
            "clock": {"type": ["string", "null"]},
            "count": {"type": "integer"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "ticket_id": {"type": "integer"},
                        "value": {"type": ["number", "null"]},
                    },
                },
            },
            "next": {"type": "null"},
        },
    },
}
PATHS: dict[str, Any] = {
    "/api/events": {
        "get": {
            "summary": "Every committed change as server-sent events (resumable by Last-Event-ID)",
            "parameters": [
                _query("queue", "only events of tickets in (or leaving) this queue"),
                _query("assignee", "`me` (the token's agent) or an agent's name"),
                _query("last_event_id", "resume after this sequence number (or the header)"),
                {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "ticket.created, ticket.updated, message.created, "
                    "message.updated, offer.*, sla.*, queue.depth, resync",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **_ERRORS,
            },
        }
    },
    "/api/reports/summary": {
        "get": {
            "summary": "The figures of the tickets created in a window",
            "parameters": _REPORT_PARAMETERS,
            "responses": _answer("ReportSummary"),
        }
    },
    "/api/reports/volume": {
        "get": {
            "summary": "Tickets created per hour, day or week and per channel, queue or agent",
            "parameters": [
                *_REPORT_PARAMETERS,
                _query("group_by", "bucket size; default day", enum=list(Grouping)),
                _query("by", "key of the rows; default channel", enum=list(Key)),
            ],
            "responses": _answer("ReportVolume"),
        }
    },
    "/api/reports/tickets": {
        "get": {
            "summary": "The tickets behind a number, with its value in seconds",
            "parameters": [
                *_REPORT_PARAMETERS,
                {**_query("metric", "the number", enum=list(Metric)), "required": True},
                _query(
                    "clock",
                    "sla_met, sla_breached: of this SLA clock (default: any)",
                    enum=list(CLOCKS),
                ),
            ],
            "responses": _answer("ReportTickets"),
        }
    },
}
