"""`contacthub rules simulate`: replay stored tickets' first contacts against draft rules.

Each ticket is decided again with the facts it was first routed on (kept on the ticket), so
a ticket stays put under the rules version that routed it, and what moves is what the draft
changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from router import Ruleset
from storage.base import Store


@dataclass(frozen=True, slots=True)
class Move:
    ticket_id: int
    from_queue: str
    to_queue: str
    rule: str | None


@dataclass
class Simulation:
    tickets: int = 0
    moves: list[Move] = field(default_factory=list)
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)


async def simulate(store: Store, draft: Ruleset, page_size: int = 500) -> Simulation:
    result = Simulation()
    cursor: str | None = None
    while True:
        page = await store.replay(page_size, cursor)
        for replay in page.items:
            decision = draft.decide(replay.inbound, replay.route.facts)
            result.tickets += 1
            result.before[replay.queue] += 1
            result.after[decision.queue] += 1
            if decision.queue != replay.queue:
                result.moves.append(
                    Move(replay.ticket_id, replay.queue, decision.queue, decision.rule)
                )
        if page.next is None:
            return result
        cursor = page.next
