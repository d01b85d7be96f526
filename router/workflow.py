"""The ticket workflow: which status moves are allowed, what a customer's message does to a
ticket, whether a ticket waits in its queue, and where an escalation goes. Pure, no I/O.

    new ──> open ──> pending ──> resolved ──> closed
     └────────┴──────────┴──────────┴──────────^     (closed is final)

A ticket may move forward to any later status, go back from pending or resolved to open,
and from resolved to pending; nothing leaves closed. Staying where it is, is no move.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.model import ACTIVE_STATUSES, Status
from router.spec import QueueKind, QueueSpec

MOVES: Mapping[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.PENDING, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


def allowed_moves(current: Status) -> tuple[Status, ...]:
    """The statuses a ticket in `current` may move to, in workflow order."""
    return tuple(s for s in Status if s in MOVES[current])


def may_move(current: Status, wanted: Status) -> bool:
    return wanted == current or wanted in MOVES[current]


def after_customer_message(current: Status) -> Status | None:
    """The status a customer's new message leaves the ticket in; None when it cannot take the
    message (a closed ticket: the message starts a new one)."""
    if current is Status.CLOSED:
        return None
    return Status.OPEN if current in (Status.PENDING, Status.RESOLVED) else current


def waits(status: Status, assignee: str | None) -> bool:
    """Whether the ticket is in its queue's waiting list: live work that nobody holds.

    Every live ticket is either held by someone or waiting: none is ever out of both."""
    return status in ACTIVE_STATUSES and assignee is None


def escalation_target(queues: Mapping[str, QueueSpec], current: str) -> str | None:
    """Where an escalation from `current` goes: the queue's own `escalate_to`, else the
    inbound queue of the lowest tier above its tier (by name among equals); None at the top."""
    spec = queues.get(current)
    if spec is not None and spec.escalate_to is not None:
        return spec.escalate_to
    tier = spec.tier if spec is not None else 1
    above = [q for q in queues.values() if q.kind is QueueKind.INBOUND and q.tier > tier]
    if not above:
        return None
    return min(above, key=lambda q: (q.tier, q.name)).name
