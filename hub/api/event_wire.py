"""The event stream's wire format: names of the record's kinds, and frames made once per
event by the hub's feed (hub/api/feed.py) for every stream that passes it on."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from core.json_text import dumps
from core.model import QueueStats
from core.record import Actor, EventKind, TicketEvent
from hub.api.views import iso

EVENT_NAMES: dict[EventKind, str] = {
    EventKind.CREATED: "ticket.created",
    EventKind.MESSAGE_IN: "message.created",
    EventKind.REPLY_OUT: "message.created",
    EventKind.ACKNOWLEDGED: "message.created",
    EventKind.MESSAGE_EDITED: "message.updated",
    EventKind.MESSAGE_DELETED: "message.updated",
    EventKind.DELIVERY: "message.updated",
    EventKind.OFFERED: "offer.created",
    EventKind.OFFER_TIMED_OUT: "offer.expired",
    EventKind.OFFER_REJECTED: "offer.rejected",
    EventKind.OFFER_WITHDRAWN: "offer.withdrawn",
    EventKind.SLA_WARNING: "sla.warning",
    EventKind.SLA_BREACH: "sla.breached",
    EventKind.PURGED: "ticket.purged",
}
"""The stream's name of each kind of event; every other kind (status, queue, assignment,
notes, tags, transfers, merges ...) is `ticket.updated`. New kinds join here."""
DEFAULT_NAME = "ticket.updated"


_encode = json.JSONEncoder(separators=(",", ":")).encode
"""`json.dumps` with the stream's separators, its encoder made once (dumps makes one a call)."""


def frame(name: str, data: Mapping[str, Any], seq: int | None = None) -> bytes:
    """One server-sent event; without `seq`, no `id:` (the client's last id stays)."""
    head = "" if seq is None else f"id: {seq}\n"
    return f"{head}event: {name}\ndata: {_encode(data)}\n\n".encode()


def change_frame(event: TicketEvent, queue: str | None, assignee: str | None) -> bytes:
    """The event as `GET /api/tickets/{id}/events` shows it (hub/api/views.py `event_json`),
    with its ticket and where the ticket is after it. Written out field by field: the feed
    makes one for every event the hub commits, and only the detail and names need encoding
    (a kind and a time are plain ASCII); the detail by orjson, as UTF-8 (the stream's
    encoding), three times faster than the standard library's ASCII escapes."""
    name = EVENT_NAMES.get(event.kind, DEFAULT_NAME)
    return (
        f"id: {event.seq}\nevent: {name}\ndata: "
        f'{{"seq":{event.seq},"kind":"{event.kind}","actor":{_actor_json(event.actor)},'
        f'"at":"{iso(event.at)}","detail":{dumps(dict(event.detail))},'
        f'"ticket_id":{event.ticket_id},"queue":{_name(queue)},"assignee":{_name(assignee)}}}\n\n'
    ).encode()


def _name(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


@functools.lru_cache(maxsize=1024)
def _actor_json(actor: Actor) -> str:
    return _encode({"kind": actor.kind, "name": actor.name or None})  # few actors, many events


def depth_json(stats: QueueStats, now: datetime) -> dict[str, Any]:
    oldest = stats.oldest_waiting_at
    wait = None if oldest is None else max(0.0, round((now - oldest).total_seconds(), 3))
    return {
        "queue": stats.name,
        "waiting": stats.waiting,
        "open": stats.open,
        "oldest_waiting_at": iso(oldest),
        "longest_wait_seconds": wait,
    }
