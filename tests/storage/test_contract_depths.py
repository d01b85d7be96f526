"""The Store contract: queue depths are counters that always equal a recount of the tickets.

Every write that moves a ticket in or out of a queue's counts (a new ticket, a customer's
message waking or reopening one, a claim, an agent's change of status, queue or assignee, a
reply) is followed by a recount over `list_tickets`, which must agree with `queue_stats`,
`queue_depth` and the order of `waiting_tickets`; duplicates, appends to live tickets and
edits must leave them as they were.
"""

from __future__ import annotations

import contextlib
import random
from collections import defaultdict
from datetime import datetime, timedelta

from core.errors import MoveRefused, TicketFinal
from core.model import (
    ACTIVE_STATUSES,
    UNASSIGN,
    CustomerFacts,
    Decision,
    Inbound,
    Priority,
    QueueStats,
    Status,
    ThreadPolicy,
    Ticket,
    TicketChange,
    TicketFilter,
)
from core.workflow import waits
from storage.base import Store
from tests.support import T0, FunctionRouter, inbound, later

WINDOW = ThreadPolicy({}, timedelta(hours=1))
QUEUES = ("billing", "sales", "support")


def by_subject(contact: Inbound, _facts: CustomerFacts) -> Decision:
    """The queue a contact's subject names (tests pick where each ticket goes)."""
    return Decision(contact.subject or "support")


ROUTER = FunctionRouter(by_subject)


async def all_tickets(store: Store) -> list[Ticket]:
    tickets: list[Ticket] = []
    cursor: str | None = None
    while True:
        page = await store.list_tickets(TicketFilter(), 100, cursor)
        tickets += page.items
        if page.next is None:
            return tickets
        cursor = page.next


def recount(tickets: list[Ticket]) -> dict[str, QueueStats]:
    """queue_stats the slow way: every ticket looked at."""
    live = [t for t in tickets if t.status in ACTIVE_STATUSES]
    waiting: dict[str, list[datetime]] = defaultdict(list)
    for ticket in live:
        if waits(ticket.status, ticket.assignee):
            waiting[ticket.queue].append(ticket.created_at)
    counted = {}
    for queue in sorted({t.queue for t in live}):
        ages = waiting[queue]
        total = sum(t.queue == queue for t in live)
        counted[queue] = QueueStats(queue, len(ages), total, min(ages, default=None))
    return counted


async def assert_counts_agree(store: Store) -> dict[str, QueueStats]:
    tickets = await all_tickets(store)
    expected = recount(tickets)
    stats = await store.queue_stats()
    assert [s.name for s in stats] == sorted(expected)
    assert {s.name: s for s in stats} == expected
    for queue in {*QUEUES, *(t.queue for t in tickets)}:
        assert await store.queue_depth(queue) == expected.get(queue, QueueStats(queue, 0, 0, None))
        assert [t.id for t in await store.waiting_tickets(queue, 1000)] == pressing(tickets, queue)
        assert [t.id for t in await store.waiting_tickets(queue, 2)] == pressing(tickets, queue)[:2]
    return expected


def pressing(tickets: list[Ticket], queue: str) -> list[int]:
    """Store.waiting_tickets the slow way: the queue's waiting tickets as a claim takes them."""
    mine = [t for t in tickets if t.queue == queue and waits(t.status, t.assignee)]
    return [t.id for t in sorted(mine, key=lambda t: (-t.priority.rank, t.created_at, t.id))]


async def test_a_queue_without_live_tickets_has_no_depth(store: Store) -> None:
    assert await store.queue_stats() == []
    assert await store.queue_depth("nowhere") == QueueStats("nowhere", 0, 0, None)


ADA, BOB, CY = "email:ada@x.org", "email:bob@x.org", "email:cy@x.org"


async def three_tickets(store: Store) -> tuple[int, int, int]:
    """Ada's and Bob's in billing, Cy's in sales, a minute apart."""
    ids = []
    for minute, (sender, queue) in enumerate(((ADA, "billing"), (BOB, "billing"), (CY, "sales"))):
        contact = inbound(f"{sender[6]}1", sender, subject=queue, at=later(minute))
        ids.append((await store.commit_inbound(contact, ROUTER, WINDOW)).ticket_id)
    return ids[0], ids[1], ids[2]


async def test_new_tickets_count_and_duplicates_appends_and_edits_do_not(store: Store) -> None:
    await three_tickets(store)
    counts = await assert_counts_agree(store)
    assert counts["billing"] == QueueStats("billing", 2, 2, T0)
    assert counts["sales"] == QueueStats("sales", 1, 1, later(2))
    await store.commit_inbound(inbound("a1", ADA, subject="billing"), ROUTER, WINDOW)
    await store.commit_inbound(inbound("a2", ADA, at=later(3)), ROUTER, WINDOW)
    await store.edit_message("form:c1", "edited", later(4))
    assert await assert_counts_agree(store) == counts


async def test_claims_queue_moves_and_assignments_move_the_counts(store: Store) -> None:
    ada, bob, _ = await three_tickets(store)
    claimed = await store.claim_next("billing", "agent", later(4))
    assert claimed is not None
    assert claimed.id == ada
    assert (await assert_counts_agree(store))["billing"] == QueueStats("billing", 1, 2, later(1))
    await store.update_ticket(bob, TicketChange(queue="support"), later(5))
    counts = await assert_counts_agree(store)
    assert counts["support"] == QueueStats("support", 1, 1, later(1))
    assert counts["billing"] == QueueStats("billing", 0, 1, None)
    await store.update_ticket(bob, TicketChange(assignee="bo"), later(6))
    assert (await assert_counts_agree(store))["support"].waiting == 0
    await store.update_ticket(bob, TicketChange(assignee=UNASSIGN), later(7))
    assert (await assert_counts_agree(store))["support"].waiting == 1


async def test_status_changes_replies_and_reopening_move_the_counts(store: Store) -> None:
    """Unassigned live work waits whatever its status (new, open or pending)."""
    ada, bob, cy = await three_tickets(store)
    await store.update_ticket(ada, TicketChange(status=Status.PENDING), later(8))
    assert (await assert_counts_agree(store))["billing"] == QueueStats("billing", 2, 2, T0)
    await store.commit_inbound(inbound("a3", ADA, at=later(9)), ROUTER, WINDOW)  # wakes it
    await store.update_ticket(ada, TicketChange(status=Status.RESOLVED), later(10))
    assert (await assert_counts_agree(store))["billing"] == QueueStats("billing", 1, 1, later(1))
    await store.commit_inbound(inbound("a4", ADA, at=later(11)), ROUTER, WINDOW)  # reopens it
    assert (await assert_counts_agree(store))["billing"] == QueueStats("billing", 2, 2, T0)
    await store.append_outbound(cy, "On it", "agent", later(12))  # new -> open, still waiting
    assert (await assert_counts_agree(store))["sales"] == QueueStats("sales", 1, 1, later(2))
    await store.update_ticket(bob, TicketChange(assignee="bo"), later(13))
    await store.update_ticket(bob, TicketChange(status=Status.PENDING), later(14))
    assert (await assert_counts_agree(store))["billing"] == QueueStats("billing", 1, 2, T0)
    await store.update_ticket(bob, TicketChange(assignee=UNASSIGN), later(15))  # waits again
    assert (await assert_counts_agree(store))["billing"] == QueueStats("billing", 2, 2, T0)
    await store.update_ticket(cy, TicketChange(status=Status.CLOSED), later(16))
    assert "sales" not in await assert_counts_agree(store)


async def test_counters_agree_after_a_random_walk_of_changes(store: Store) -> None:
    """A seeded mix of every change, on few customers so that contacts thread and reopen."""
    rng = random.Random(11)
    ids: list[int] = []
    for step in range(60):
        at, kind = later(step), rng.choice(["ingest", "ingest", "claim", "update", "reply"])
        if kind == "ingest" or not ids:
            sender = f"email:c{rng.randrange(6)}@x.org"
            key = f"m{rng.randrange(step + 1)}"  # now and then a duplicate
            contact = inbound(key, sender, subject=rng.choice(QUEUES), at=at)
            ids.append((await store.commit_inbound(contact, ROUTER, WINDOW)).ticket_id)
        elif kind == "claim":
            await store.claim_next(rng.choice(QUEUES), "agent", at)
        elif kind == "reply":
            with contextlib.suppress(TicketFinal):  # a closed ticket takes no reply
                await store.append_outbound(rng.choice(ids), "reply", "agent", at)
        else:
            with contextlib.suppress(MoveRefused, TicketFinal):  # refused: nothing changes
                await store.update_ticket(rng.choice(ids), random_change(rng), at)
        if step % 10 == 9:
            await assert_counts_agree(store)


def random_change(rng: random.Random) -> TicketChange:
    return TicketChange(
        status=rng.choice([None, *Status]),
        queue=rng.choice([None, *QUEUES]),
        assignee=rng.choice([None, UNASSIGN, "ann"]),
        priority=rng.choice([None, *Priority]),
    )
