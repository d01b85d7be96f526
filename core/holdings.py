"""Who held which ticket, replayed from the record: the audit of assignment.

Reading every ticket's record in sequence order, a ticket is held by its assignee while it is
active (new, open, pending). The replay reports every moment two agents held one ticket and
the most each agent held at once on each channel, so a run of many hubs can be checked
against the promises: never two agents on one ticket, never an automatic assignment above
capacity. Pure: events in, findings out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.model import ACTIVE_STATUSES, Status
from core.record import EventKind, TicketEvent


@dataclass(slots=True)
class _Ticket:
    channel: str
    assignee: str | None = None
    status: Status = Status.NEW


@dataclass(slots=True)
class Holdings:
    peaks: dict[tuple[str, str], int] = field(default_factory=dict)  # (agent, channel) -> most
    double_assignments: list[str] = field(default_factory=list)  # what went wrong, by ticket
    held: dict[tuple[str, str], int] = field(default_factory=dict)  # at the end

    def over(self, capacity: dict[str, dict[str, int]]) -> list[str]:
        """Agents whose peak on a channel passed their capacity there."""
        return [
            f"{agent} held {peak} on {channel} (capacity {capacity[agent].get(channel, 0)})"
            for (agent, channel), peak in sorted(self.peaks.items())
            if agent in capacity and peak > capacity[agent].get(channel, 0)
        ]


def replay(events: Iterable[TicketEvent], channels: dict[int, str]) -> Holdings:
    """Replay the events (any order: they are sorted by seq) of tickets whose channels are
    given; an `assigned` event onto a ticket someone else holds is a double assignment."""
    found = Holdings()
    tickets: dict[int, _Ticket] = {}
    for event in sorted(events, key=lambda e: e.seq):
        ticket = tickets.setdefault(event.ticket_id, _Ticket(channels[event.ticket_id]))
        before = _holder(ticket)
        if event.kind is EventKind.ASSIGNED:
            if ticket.assignee is not None and ticket.assignee != event.detail.get("to"):
                found.double_assignments.append(
                    f"ticket {event.ticket_id}: {event.detail.get('to')} over {ticket.assignee}"
                )
            ticket.assignee = str(event.detail.get("to"))
        elif event.kind is EventKind.UNASSIGNED:
            ticket.assignee = None
        elif event.kind is EventKind.STATUS:
            ticket.status = Status(str(event.detail.get("to")))
        _move(found, ticket.channel, before, _holder(ticket))
    return found


def _holder(ticket: _Ticket) -> str | None:
    return ticket.assignee if ticket.status in ACTIVE_STATUSES else None


def _move(found: Holdings, channel: str, before: str | None, after: str | None) -> None:
    if before == after:
        return
    if before is not None:
        found.held[(before, channel)] -= 1
    if after is not None:
        key = (after, channel)
        found.held[key] = found.held.get(key, 0) + 1
        found.peaks[key] = max(found.peaks.get(key, 0), found.held[key])
