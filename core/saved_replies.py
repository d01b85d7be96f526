"""Saved replies: answers a team writes once and agents send again, filled in per ticket.

A saved reply has a name (unique whatever its case), a body and the queues it is for (none:
every queue). Its body may hold placeholders, `{customer.first_name}` or with a fallback for
a value the hub does not have, `{customer.first_name|there}`; `{{` and `}}` are braces. A
body is checked when it is saved (an unknown placeholder or a lone brace is refused, naming
it), so rendering it for a ticket cannot fail. Rendering only fills the agent's reply box:
the agent reads and edits what goes out, and it goes out as any reply does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.errors import InvalidRequest

MAX_NAME_CHARS = 80
MAX_BODY_CHARS = 10_000
MAX_QUEUES = 50
MAX_SAVED_REPLIES = 1_000
"""Saved replies a store keeps: a team's list, read whole by every agent's reply box."""

PLACEHOLDERS = (
    "customer.name",
    "customer.first_name",
    "ticket.id",
    "ticket.subject",
    "agent.name",
)

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"\s*([a-z_.]+)\s*(?:\|([^{}|]*))?")


@dataclass(frozen=True, slots=True)
class SavedReplyDraft:
    """What a supervisor writes: checked by `draft`."""

    name: str
    body: str
    queues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SavedReply:
    id: int
    name: str
    body: str
    queues: tuple[str, ...]
    """The queues whose tickets it is for; () for every queue."""
    updated_by: str
    updated_at: datetime

    def serves(self, queue: str) -> bool:
        return not self.queues or queue in self.queues


def name_key(name: str) -> str:
    """What makes two names the same name: `Refund` and `refund ` are one."""
    return " ".join(name.split()).casefold()


def draft(name: object, body: object, queues: object = None) -> SavedReplyDraft:
    """A draft from what was sent, trimmed and checked; InvalidRequest says what is wrong."""
    if not isinstance(name, str) or not (clean := " ".join(name.split())):
        raise InvalidRequest("name must be a non-empty string")
    if len(clean) > MAX_NAME_CHARS:
        raise InvalidRequest(f"name is longer than {MAX_NAME_CHARS} characters")
    if not isinstance(body, str) or not body.strip():
        raise InvalidRequest("body must be a non-empty string")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidRequest(f"body is longer than {MAX_BODY_CHARS} characters")
    check_body(body)
    return SavedReplyDraft(clean, body.strip(), _queues(queues))


def _queues(queues: object) -> tuple[str, ...]:
    if queues is None:
        return ()
    if not isinstance(queues, list) or not all(isinstance(q, str) and q for q in queues):
        raise InvalidRequest("queues must be a list of queue names")
    if len(queues) > MAX_QUEUES:
        raise InvalidRequest(f"queues names more than {MAX_QUEUES} queues")
    return tuple(sorted(set(queues)))


def check_body(body: str) -> None:
    """InvalidRequest naming every placeholder `render` would not know, and lone braces."""
    unknown: list[str] = []
    for token in _TOKEN.finditer(body):
        text = token.group(0)
        if text in ("{{", "}}"):
            continue
        if text in ("{", "}"):
            raise InvalidRequest(
                f"a lone {text!r} at character {token.start() + 1}: write {text * 2} for a brace"
            )
        field = _FIELD.fullmatch(token.group(1))
        if field is None or field.group(1) not in PLACEHOLDERS:
            unknown.append(text)
    if unknown:
        raise InvalidRequest(
            f"unknown placeholder(s) {', '.join(dict.fromkeys(unknown))}; known: "
            + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            + " (a fallback after |, as in {customer.first_name|there})"
        )


def render(body: str, values: Mapping[str, str]) -> str:
    """The body with its placeholders filled from `values` (a missing or empty value: the
    placeholder's fallback, else nothing). The body was checked (`check_body`)."""

    def fill(token: re.Match[str]) -> str:
        text = token.group(0)
        if text in ("{{", "}}", "{", "}"):
            return text[0]
        field = _FIELD.fullmatch(token.group(1))
        if field is None:
            return text
        return values.get(field.group(1)) or (field.group(2) or "").strip()

    return _TOKEN.sub(fill, body)


def ticket_values(
    ticket_id: int, subject: str, customer_name: str | None, agent: str
) -> dict[str, str]:
    """The placeholders' values for one ticket, its customer and the agent writing."""
    name = (customer_name or "").strip()
    return {
        "customer.name": name,
        "customer.first_name": name.split()[0] if name else "",
        "ticket.id": str(ticket_id),
        "ticket.subject": subject,
        "agent.name": agent,
    }
