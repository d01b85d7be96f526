"""The JSON of `POST /api/rules/test`: a made-up contact and customer, checked field by field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import InvalidRequest, PayloadError
from core.model import CustomerFacts, Inbound
from hub.rules.probe import probe_contact, probe_facts

_TEXT_FIELDS = ("channel", "event", "from", "to", "subject", "text")
_FIELDS = frozenset({*_TEXT_FIELDS, "at", "has_attachment", "customer", "rules"})


@dataclass(frozen=True, slots=True)
class Probe:
    contact: Inbound
    facts: CustomerFacts


def parse_probe(data: dict[str, Any], region: str) -> Probe:
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    text = {key: _string(data, key) for key in _TEXT_FIELDS}
    if not text["channel"]:
        raise InvalidRequest("channel is required")
    try:
        contact = probe_contact(
            channel=text["channel"],
            sender=text["from"],
            to=text["to"],
            subject=text["subject"],
            text=text["text"],
            event=text["event"] or "message",
            at=_moment(data.get("at")),
            has_attachment=data.get("has_attachment") is True,
            region=region,
        )
    except PayloadError as exc:
        raise InvalidRequest(exc.message) from exc
    return Probe(contact, _facts(data.get("customer")))


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise InvalidRequest(f"{key} must be a string")
    return value


def _moment(raw: object) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest("at must be an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise InvalidRequest("at needs a time zone (e.g. 2026-11-23T15:00:00Z)")
    return moment


def _facts(raw: object) -> CustomerFacts:
    if raw is None:
        return probe_facts()
    if not isinstance(raw, dict) or set(raw) - {"tags", "is_new", "open_tickets"}:
        raise InvalidRequest("customer takes tags, is_new and open_tickets")
    tags = raw.get("tags", [])
    open_tickets = raw.get("open_tickets", 0)
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidRequest("customer.tags must be a list of strings")
    if not isinstance(open_tickets, int) or open_tickets < 0:
        raise InvalidRequest("customer.open_tickets must be a whole number")
    return probe_facts(
        tuple(tags), is_new=raw.get("is_new", True) is not False, open_tickets=open_tickets
    )
