"""Where an escalation goes, and which queues new rules may not drop. Pure, no I/O. (The
status moves, reopening and waiting are the store's rules as much as the router's:
core/workflow.py.)"""

from __future__ import annotations

from collections.abc import Mapping

from router.spec import QueueKind, QueueSpec


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


def dropped_with_work(
    in_force: Mapping[str, QueueSpec], new: Mapping[str, QueueSpec], live: Mapping[str, int]
) -> list[str]:
    """What stops new rules that drop a queue still holding live tickets (`live`: open
    tickets by queue), one line a queue: nobody could claim them there, no offer would
    reach them, and they would wait for ever. A queue the rules in force did not name
    either (a campaign's own) is not theirs to drop."""
    return [
        f"queue {name!r} holds {_tickets(live[name])} and these rules drop it: transfer "
        f"{'it' if live[name] == 1 else 'them'} to another queue first, or keep the queue"
        for name in sorted(set(in_force) - set(new))
        if live.get(name, 0) > 0
    ]


def _tickets(count: int) -> str:
    return "1 live ticket" if count == 1 else f"{count} live tickets"
