"""A follow-up of a closed ticket on SQLite: one writer job makes the new ticket (as an
ingest does: its row, its queue's count, `created`), then opens it and gives it to the agent
through the ticket change every other assignment takes, so counters, record and tallies
move as they do for a claim."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.errors import NotFinal, NotFound
from core.model import CustomerFacts, Decision, Priority, Status, Ticket, TicketChange
from core.record import Actor, Detail, EventKind
from core.workflow import is_final
from storage.sqlite.changes import update_ticket
from storage.sqlite.ingest import create_ticket
from storage.sqlite.record import record
from storage.sqlite.rows import ts


def open_follow_up(db: sqlite3.Connection, closed_id: int, agent: str, now: datetime) -> Ticket:
    row = db.execute(
        "SELECT status, channel, queue, priority, customer_id, subject FROM tickets WHERE id = ?",
        (closed_id,),
    ).fetchone()
    if row is None:
        raise NotFound("ticket", closed_id)
    status, channel, queue, priority, customer_id, subject = row
    if not is_final(Status(status)):
        raise NotFinal(closed_id, status)
    why = (f"a follow-up of #{closed_id} by {agent}",)
    decision = Decision(queue, Priority(priority), explanation=why)
    at, actor = ts(now), Actor.agent(agent)
    facts = CustomerFacts(customer_id)
    ticket_id = create_ticket(db, (channel, subject), customer_id, decision, facts, at)
    detail: dict[str, Detail] = {
        "queue": queue, "priority": priority, "rule": None, "channel": channel,
        "follow_up_of": closed_id,
    }  # fmt: skip
    record(db, ticket_id, EventKind.CREATED, actor, at, detail)
    opened = TicketChange(status=Status.OPEN, assignee=agent, actor=actor)
    return update_ticket(db, ticket_id, opened, now)
