"""A ticket's lifecycle: which status moves are allowed, what a customer's message does to a
ticket, and whether a ticket waits in its queue. Pure, no I/O.

    new ──> open ──> pending ──> resolved ──> closed
     └────────┴──────────┴──────────┴──────────^     (closed is final)

A ticket may move forward to any later status, go back from pending or resolved to open,
and from resolved to pending; nothing leaves closed. Staying where it is, is no move.

These are the rules every store enforces inside its atomic step (storage/ imports core/
only, so they live here; router/workflow.py adds where an escalation goes). The Redis
scripts are told them by the Python side of the store, never keep their own copy.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.model import ACTIVE_STATUSES, Status

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


def movable_to(wanted: Status) -> tuple[Status, ...]:
    """The statuses from which a ticket may move to (or stay in) `wanted`."""
    return tuple(s for s in Status if may_move(s, wanted))


def is_final(status: Status) -> bool:
    """Whether a ticket in `status` takes no more changes: nothing leaves it, and its queue,
    priority, tags and holder stay as they were when it got there (its record still takes
    notes; a customer's next message starts a new ticket)."""
    return not MOVES[status]


FINAL_STATUSES = tuple(s for s in Status if is_final(s))


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
