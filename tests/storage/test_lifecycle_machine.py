"""The lifecycle as a hypothesis state machine over a real store (SQLite and Redis).

Contacts come in (threading onto, reopening or waking tickets), agents claim, assign,
unassign, change status and reply, in any order. After every step: the store holds what the
workflow (core/workflow.py) says; every live ticket is either assigned or waiting, and the
waiting counts and oldest waiting time agree with the tickets; the record, replayed, gives
each ticket's status, queue and assignee. Draining a queue by claims hands out exactly the
tickets that wait in it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.errors import MoveRefused, NotFinal, TicketFinal
from core.model import (
    ACTIVE_STATUSES,
    UNASSIGN,
    Outcome,
    Status,
    ThreadPolicy,
    Ticket,
    TicketChange,
)
from core.record import Actor, EventKind, TicketEvent
from core.workflow import after_customer_message, is_final, may_move, waits
from storage.base import Store, open_store
from tests.storage.redis_server import RedisServer
from tests.storage.test_contract_depths import ROUTER, all_tickets
from tests.support import inbound, later

T = TypeVar("T")
QUEUES = ("billing", "sales")
AGENTS = ("ann", "bob")
WINDOW = ThreadPolicy({}, timedelta(hours=2))


@dataclass(frozen=True, slots=True)
class Expected:
    status: Status
    queue: str
    assignee: str | None
    created_at: datetime


def replayed(events: list[TicketEvent]) -> tuple[Status, str, str | None]:
    """A ticket's status, queue and assignee as its record tells them."""
    created = events[0]
    assert created.kind is EventKind.CREATED
    status, queue, assignee = Status.NEW, str(created.detail["queue"]), None
    for event in events[1:]:
        to = event.detail.get("to")
        if event.kind is EventKind.STATUS:
            status = Status(str(to))
        elif event.kind is EventKind.QUEUE:
            queue = str(to)
        elif event.kind in (EventKind.ASSIGNED, EventKind.UNASSIGNED):
            assignee = None if to is None else str(to)
    return status, queue, assignee


class Lifecycle(RuleBasedStateMachine):
    @staticmethod
    def fresh() -> str:
        """The storage URL of a run, emptied for it (each backend's subclass says)."""
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.store: Store = open_store(type(self).fresh())
        self.run(self.store.open())
        self.tickets: dict[int, Expected] = {}
        self.clock = itertools.count(1)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(work)

    def teardown(self) -> None:
        self.run(self.store.close())
        self.runner.close()

    def pick(self, n: int) -> int:
        ids = sorted(self.tickets)
        return ids[n % len(ids)]

    def waiting_in(self, queue: str) -> set[int]:
        return {
            i for i, t in self.tickets.items() if t.queue == queue and waits(t.status, t.assignee)
        }

    @rule(customer=st.integers(0, 3), queue=st.sampled_from(QUEUES))
    def ingest(self, customer: int, queue: str) -> None:
        n = next(self.clock)
        contact = inbound(f"m{n}", f"email:c{customer}@x.org", subject=queue, at=later(n))
        result = self.run(self.store.commit_inbound(contact, ROUTER, WINDOW))
        ticket = self.run(self.store.get_ticket(result.ticket_id))
        if result.outcome is Outcome.CREATED:
            self.tickets[ticket.id] = Expected(Status.NEW, queue, None, ticket.created_at)
            return
        before = self.tickets[ticket.id]
        after = after_customer_message(before.status)
        assert after is not None  # a closed ticket never takes a message
        self.tickets[ticket.id] = replace(before, status=after)

    @rule(queue=st.sampled_from(QUEUES), agent=st.sampled_from(AGENTS))
    def claim(self, queue: str, agent: str) -> None:
        waiting = self.waiting_in(queue)
        claimed = self.run(self.store.claim_next(queue, agent, later(next(self.clock))))
        if not waiting:
            assert claimed is None
            return
        assert claimed is not None
        assert claimed.id == min(waiting, key=lambda i: (self.tickets[i].created_at, i))
        self.took(claimed, agent)

    def took(self, claimed: Ticket, agent: str) -> None:
        before = self.tickets[claimed.id]
        status = Status.OPEN if before.status is Status.NEW else before.status
        self.tickets[claimed.id] = replace(before, status=status, assignee=agent)

    @precondition(lambda self: self.tickets)
    @rule(n=st.integers(0, 99), agent=st.sampled_from((*AGENTS, None)))
    def assign(self, n: int, agent: str | None) -> None:
        ticket_id = self.pick(n)
        before = self.tickets[ticket_id]
        change = TicketChange(assignee=agent or UNASSIGN, actor=Actor.agent("sue"))
        if is_final(before.status) and agent != before.assignee:
            with pytest.raises(TicketFinal):  # a closed ticket keeps its holder
                self.run(self.store.update_ticket(ticket_id, change, later(next(self.clock))))
            return
        self.run(self.store.update_ticket(ticket_id, change, later(next(self.clock))))
        self.tickets[ticket_id] = replace(before, assignee=agent)

    @precondition(lambda self: self.tickets)
    @rule(n=st.integers(0, 99), status=st.sampled_from(Status))
    def move(self, n: int, status: Status) -> None:
        ticket_id = self.pick(n)
        before = self.tickets[ticket_id]
        change = TicketChange(status=status)
        if not may_move(before.status, status):
            with pytest.raises(MoveRefused):
                self.run(self.store.update_ticket(ticket_id, change, later(next(self.clock))))
            return
        self.run(self.store.update_ticket(ticket_id, change, later(next(self.clock))))
        self.tickets[ticket_id] = replace(before, status=status)

    @precondition(lambda self: self.tickets)
    @rule(n=st.integers(0, 99))
    def reply(self, n: int) -> None:
        ticket_id = self.pick(n)
        before = self.tickets[ticket_id]
        if before.status is Status.CLOSED:
            with pytest.raises(TicketFinal):  # a closed ticket takes no reply
                self.run(
                    self.store.append_outbound(ticket_id, "On it", "ann", later(next(self.clock)))
                )
            return
        self.run(self.store.append_outbound(ticket_id, "On it", "ann", later(next(self.clock))))
        if before.status is Status.NEW:
            self.tickets[ticket_id] = replace(before, status=Status.OPEN)

    @precondition(lambda self: self.tickets)
    @rule(n=st.integers(0, 99), agent=st.sampled_from(AGENTS))
    def follow_up(self, n: int, agent: str) -> None:
        """A closed ticket's follow-up is a new ticket of its queue, the agent's and open; a
        live one is refused and nothing changes."""
        closed = sorted(i for i, t in self.tickets.items() if is_final(t.status))
        ticket_id = closed[n % len(closed)] if closed and n % 4 else self.pick(n)
        before = self.tickets[ticket_id]
        at = later(next(self.clock))
        if not is_final(before.status):
            with pytest.raises(NotFinal):
                self.run(self.store.open_follow_up(ticket_id, agent, at))
            return
        made = self.run(self.store.open_follow_up(ticket_id, agent, at))
        assert made.id not in self.tickets
        self.tickets[made.id] = Expected(Status.OPEN, before.queue, agent, made.created_at)

    @rule(queue=st.sampled_from(QUEUES))
    def drain(self, queue: str) -> None:
        """Claims hand out exactly the tickets waiting in the queue, then nothing."""
        waiting, handed = self.waiting_in(queue), set()
        at = later(next(self.clock))
        while (claimed := self.run(self.store.claim_next(queue, "dee", at))) is not None:
            handed.add(claimed.id)
            self.took(claimed, "dee")
        assert handed == waiting

    @invariant()
    def tickets_are_as_the_workflow_says(self) -> None:
        stored = {t.id: t for t in self.run(all_tickets(self.store))}
        assert set(stored) == set(self.tickets)
        for ticket_id, expected in self.tickets.items():
            ticket = stored[ticket_id]
            assert (ticket.status, ticket.queue, ticket.assignee) == (
                expected.status, expected.queue, expected.assignee,
            )  # fmt: skip

    @invariant()
    def live_work_is_held_or_waiting_and_counted(self) -> None:
        live = [t for t in self.tickets.values() if t.status in ACTIVE_STATUSES]
        assert all(t.assignee is not None or waits(t.status, t.assignee) for t in live)
        stats = {s.name: s for s in self.run(self.store.queue_stats())}
        assert set(stats) == {t.queue for t in live}
        for name, opened in Counter(t.queue for t in live).items():
            waiting = [self.tickets[i].created_at for i in self.waiting_in(name)]
            assert (stats[name].waiting, stats[name].open) == (len(waiting), opened)
            assert stats[name].oldest_waiting_at == min(waiting, default=None)

    @invariant()
    def the_record_replays_to_the_ticket(self) -> None:
        for ticket_id, expected in self.tickets.items():
            events = self.run(self.store.ticket_events(ticket_id))
            assert replayed(events) == (expected.status, expected.queue, expected.assignee)


RUNS = settings(max_examples=12, stateful_step_count=25, deadline=None)


def test_lifecycle_on_sqlite(tmp_path: Path) -> None:
    files = (tmp_path / f"run{n}.db" for n in itertools.count())

    class OnSqlite(Lifecycle):
        @staticmethod
        def fresh() -> str:
            return f"sqlite:///{next(files)}"

    run_state_machine_as_test(OnSqlite, settings=RUNS)


def test_lifecycle_on_redis(redis_server: RedisServer) -> None:
    class OnRedis(Lifecycle):
        @staticmethod
        def fresh() -> str:
            redis_server.flush()
            return redis_server.url

    run_state_machine_as_test(OnRedis, settings=RUNS)
