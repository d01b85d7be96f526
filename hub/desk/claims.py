"""Claims: an agent pulls the most pressing waiting ticket of a queue they may take.

The same eligibility as offers, but for a deliberate act: capacity on the ticket's channel,
and the ticket's skills when the queue requires them (any presence; a ticket they declined
before is theirs to take). Tickets on offer to someone are not claimable. When nothing fits,
the answer says what was waiting and why none of it fit.
"""

from __future__ import annotations

from datetime import datetime

from core.model import Ticket
from router.assign import Need, claim_refusal, compact
from router.spec import QueueSpec
from storage.base import Store

SCAN = 100
"""Waiting tickets looked at per claim, the most pressing first."""


async def claim(
    store: Store, queue: QueueSpec, agent_name: str, now: datetime
) -> tuple[Ticket | None, tuple[str, ...]]:
    """The ticket claimed, or None and why nothing was."""
    agent = await store.get_agent(agent_name)
    waiting = await store.waiting_for_offer(queue.name, SCAN)
    why: list[str] = []
    for ticket in waiting:
        refusal = claim_refusal(agent, Need.of(ticket), queue.assign.skills_required)
        if refusal is not None:
            why.append(f"#{ticket.id}: {refusal}")
            continue
        claimed = await store.claim_next(queue.name, agent_name, now, ticket_id=ticket.id)
        if claimed is not None:
            return claimed, ()
        why.append(f"#{ticket.id}: taken or offered meanwhile")
    if not waiting:
        why.append(f"nothing waits in {queue.name} that is not on offer to someone")
    elif len(waiting) == SCAN:
        why.append(f"the {SCAN} most pressing waiting tickets were looked at")
    return None, compact(tuple(why))
