"""`contacthub rules simulate`: replay stored tickets' first contacts against draft rules.

Each ticket's first contact is decided twice, with the facts it was first routed on (kept on
the ticket): by the rules in force and by the draft. What moves is what the draft changes,
and only that: a ticket an agent transferred or escalated since, or one routed by an older
version, is compared where the rules in force would put it, not where it is now.
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


async def simulate(
    store: Store, draft: Ruleset, in_force: Ruleset, page_size: int = 500
) -> Simulation:
    result = Simulation()
    cursor: str | None = None
    while True:
        page = await store.replay(page_size, cursor)
        for replay in page.items:
            now = in_force.decide(replay.inbound, replay.route.facts).queue
            decision = draft.decide(replay.inbound, replay.route.facts)
            result.tickets += 1
            result.before[now] += 1
            result.after[decision.queue] += 1
            if decision.queue != now:
                result.moves.append(Move(replay.ticket_id, now, decision.queue, decision.rule))
        if page.next is None:
            return result
        cursor = page.next
