"""What the SLA watcher schedules and does, decided purely: a ticket's clocks -> the
deadlines to keep in the store, and a breach -> the change its `on_breach` asks for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.deadlines import BREACH, WARNING, Deadline
from core.model import UNASSIGN, Cause, Ticket, TicketChange
from core.record import Actor, ActorKind, Detail, EventKind, TicketEvent
from core.workflow import is_final
from router.sla.clock import Clock, ClockState
from router.sla.policy import Terms
from router.spec import Metric, QueueSpec
from router.workflow import escalation_target

SLA_ACTOR = Actor(ActorKind.CLOCK, "sla")
FIRES = {WARNING: ClockState.WARNING, BREACH: ClockState.BREACHED}
"""The state a clock must be in for a deadline of each kind to be acted on."""
EVENTS = {WARNING: EventKind.SLA_WARNING, BREACH: EventKind.SLA_BREACH}
LIVE = frozenset({ClockState.ACTIVE, ClockState.WARNING, ClockState.BREACHED})
"""States in which a clock's breach may still be ahead, or passed unrecorded."""


def instance_key(clock: Clock) -> str:
    """Names a clock's instance: a deadline of an earlier instance is stale."""
    return clock.started_at.isoformat()


def deadlines_for(
    ticket_id: int, found: Mapping[Metric, Clock], record: Sequence[TicketEvent]
) -> list[Deadline]:
    """The warnings and breaches of the ticket's clocks not on its record yet: ahead of a
    running clock, or passed while no watcher looked (they fire at once)."""
    out: list[Deadline] = []
    for metric, clock in found.items():
        key = instance_key(clock)
        if clock.state in (ClockState.ACTIVE, ClockState.WARNING) and clock.warn_at is not None:
            out.append(Deadline(ticket_id, metric.value, WARNING, key, clock.warn_at))
        if clock.state in LIVE and clock.due_at is not None:
            out.append(Deadline(ticket_id, metric.value, BREACH, key, clock.due_at))
    return [d for d in out if not recorded(d, record)]


def due_now(deadline: Deadline, clock: Clock | None, record: Sequence[TicketEvent]) -> bool:
    """Whether the claimed deadline is to be acted on: its clock's instance is in the state
    the deadline is for, and the record does not hold it already."""
    if clock is None or instance_key(clock) != deadline.key:
        return False
    return clock.state is FIRES[deadline.kind] and not recorded(deadline, record)


def recorded(deadline: Deadline, record: Sequence[TicketEvent]) -> bool:
    """Whether the record holds the deadline's warning or breach already."""
    kind = EVENTS[deadline.kind]
    return any(
        e.kind is kind
        and e.detail.get("metric") == deadline.metric
        and e.detail.get("key") == deadline.key
        for e in record
    )


def firing(
    deadline: Deadline, ticket: Ticket, terms: Terms, queues: Mapping[str, QueueSpec]
) -> TicketChange:
    """The change that records the warning or breach (its event first) and, for a breach,
    does what `on_breach` says: a higher priority, more tags, the next tier (unassigned).
    A ticket closed after its deadline, before the breach was written, gets the breach on
    its record and nothing else: a closed ticket takes no change (core/workflow.py)."""
    cause = _cause(deadline, ticket.queue)
    if deadline.kind != BREACH or is_final(ticket.status):
        return warning(deadline, ticket.queue)  # a closed ticket's breach: its event alone
    act = terms.on_breach
    raised = act.priority if act.priority and act.priority.rank > ticket.priority.rank else None
    tags = tuple(dict.fromkeys((*ticket.tags, *act.tags)))
    target = escalation_target(queues, ticket.queue) if act.escalate else None
    return TicketChange(
        priority=raised,
        queue=target,
        assignee=UNASSIGN if target else None,
        tags=tags if tags != ticket.tags else None,
        actor=SLA_ACTOR,
        cause=cause,
        in_queue=ticket.queue if target else None,
        once=True,  # whichever hub acts first; another's late attempt is refused
    )


def warning(deadline: Deadline, queue: str) -> TicketChange:
    """The change that records a warning (of a ticket in `queue`): its event only."""
    return TicketChange(actor=SLA_ACTOR, cause=_cause(deadline, queue), once=True)


def _cause(deadline: Deadline, queue: str) -> Cause:
    detail: dict[str, Detail] = {
        "metric": deadline.metric,
        "key": deadline.key,
        "due": deadline.due.isoformat(),
        "queue": queue,
    }
    return Cause(EVENTS[deadline.kind], detail)
