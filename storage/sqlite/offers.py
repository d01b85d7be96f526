"""Offers on SQLite (schema migration 12): each a writer job, so the checks and the writes of
one offer, answer or expiry are one transaction of the only writer.

Exactly once across restarts falls out of the table: an offer is `open` until one
transaction moves it on, and a ticket has at most one open offer (offers_open_ticket).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.errors import Conflict, NotFound
from core.json_text import dumps, loads
from core.model import Status, TicketChange
from core.people import NewOffer, Offer, OfferState, WaitingTicket
from core.record import CLOCK, Actor, Detail, EventKind
from storage.sqlite.changes import update_ticket
from storage.sqlite.load import load
from storage.sqlite.record import record
from storage.sqlite.rows import WAITING as WAITS
from storage.sqlite.rows import Row, dt, opt_dt, ts

OFFER_COLUMNS = (
    "id, ticket_id, agent, queue, channel, state, created_at, deadline, explanation, answered_at"
)
NOT_OFFERED = "NOT EXISTS (SELECT 1 FROM offers o WHERE o.ticket_id = t.id AND o.state = 'open')"
WAITING = (
    "SELECT t.id, t.queue, t.channel, t.priority_rank, t.created_at, t.skills FROM tickets t "  # noqa: S608  # our constant
    f"WHERE t.queue = ? AND {WAITS} AND {NOT_OFFERED} "
    "ORDER BY t.priority_rank DESC, t.created_at, t.id LIMIT ?"
)
"""A queue's waiting tickets that nobody is offered, in the tickets_waiting index's order."""


def waiting_for_offer(db: sqlite3.Connection, queue: str, limit: int) -> list[WaitingTicket]:
    rows = db.execute(WAITING, (queue, limit)).fetchall()
    declined: dict[int, set[str]] = {}
    if rows:
        marks = ",".join("?" * len(rows))
        for ticket_id, agent in db.execute(
            f"SELECT ticket_id, agent FROM offers WHERE ticket_id IN ({marks}) "  # noqa: S608  # placeholders only
            "AND state IN ('rejected', 'expired')",
            [row[0] for row in rows],
        ):
            declined.setdefault(ticket_id, set()).add(agent)
    return [
        WaitingTicket(
            id=id_,
            queue=queue_,
            channel=channel,
            priority_rank=rank,
            created_at=dt(created),
            skills=frozenset(loads(skills)),
            declined_by=frozenset(declined.get(id_, ())),
        )
        for id_, queue_, channel, rank, created, skills in rows
    ]


def make_offer(db: sqlite3.Connection, offer: NewOffer, now: datetime) -> Offer:
    _check_ticket(db, offer)
    _check_agent(db, offer)
    at = ts(now)
    explanation = dumps(list(offer.explanation))
    cursor = db.execute(
        "INSERT INTO offers (ticket_id, agent, queue, channel, state, created_at, deadline, "
        "explanation) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
        (offer.ticket_id, offer.agent, offer.queue, offer.channel, at, ts(offer.deadline),
         explanation),
    )  # fmt: skip
    offer_id = int(cursor.lastrowid or 0)
    db.execute("UPDATE agents SET last_offered_at = ? WHERE name = ?", (at, offer.agent))
    detail: dict[str, Detail] = {
        "offer_id": offer_id,
        "agent": offer.agent,
        "deadline": offer.deadline.isoformat(),
        "explanation": offer.explanation,
    }
    record(db, offer.ticket_id, EventKind.OFFERED, Actor.by_rule("assignment"), at, detail)
    return get_offer(db, offer_id)


def _check_ticket(db: sqlite3.Connection, offer: NewOffer) -> None:
    row = db.execute(
        f"SELECT t.queue, t.status, t.assignee, {NOT_OFFERED} FROM tickets t WHERE t.id = ?",  # noqa: S608  # our constant
        (offer.ticket_id,),
    ).fetchone()
    if row is None:
        raise Conflict(f"ticket {offer.ticket_id} does not exist")
    queue, status, assignee, not_offered = row
    if queue != offer.queue:
        raise Conflict(f"ticket {offer.ticket_id} is in queue {queue} now")
    if assignee is not None or status not in ("new", "open", "pending"):
        raise Conflict(f"ticket {offer.ticket_id} is held by {assignee} or {status}")
    if not not_offered:
        raise Conflict(f"ticket {offer.ticket_id} is offered to someone already")


def _check_agent(db: sqlite3.Connection, offer: NewOffer) -> None:
    row = db.execute(
        "SELECT presence, capacity FROM agents WHERE name = ?", (offer.agent,)
    ).fetchone()
    if row is None:
        raise Conflict(f"agent {offer.agent} does not exist")
    if row[0] != "online":
        raise Conflict(f"agent {offer.agent} is {row[0]}")
    capacity = loads(row[1]).get(offer.channel, 0)
    held = load(db, offer.agent).get(offer.channel, 0)
    if held >= capacity:
        raise Conflict(f"agent {offer.agent} is at capacity on {offer.channel} ({held})")


def answer_offer(
    db: sqlite3.Connection,
    offer_id: int,
    agent: str,
    now: datetime,
    accept: bool,  # a writer job's arguments are positional
) -> Offer:
    offer = get_offer(db, offer_id)
    if offer.agent != agent:
        raise Conflict(f"offer {offer_id} is {offer.agent}'s, not {agent}'s")
    if offer.state is not OfferState.OPEN:
        raise Conflict(f"offer {offer_id} is {offer.state}")
    if offer.deadline <= now:
        raise Conflict(f"offer {offer_id} expired at {offer.deadline.isoformat()}")
    at = ts(now)
    state = OfferState.ACCEPTED if accept else OfferState.REJECTED
    _end(db, offer_id, state, at)
    if accept:
        _assign(db, offer, now)
    else:
        detail: dict[str, Detail] = {"offer_id": offer_id, "agent": agent}
        record(db, offer.ticket_id, EventKind.OFFER_REJECTED, Actor.agent(agent), at, detail)
    return get_offer(db, offer_id)


def _assign(db: sqlite3.Connection, offer: Offer, now: datetime) -> None:
    status = db.execute("SELECT status FROM tickets WHERE id = ?", (offer.ticket_id,)).fetchone()
    opened = Status.OPEN if status[0] == Status.NEW else None
    change = TicketChange(status=opened, assignee=offer.agent, actor=Actor.agent(offer.agent))
    extra: dict[str, Detail] = {"offer_id": offer.id, "explanation": offer.explanation}
    update_ticket(db, offer.ticket_id, change, now, assigned_detail=extra)
    db.execute("UPDATE agents SET last_assigned_at = ? WHERE name = ?", (ts(now), offer.agent))


def _end(db: sqlite3.Connection, offer_id: int, state: OfferState, at: float) -> None:
    db.execute("UPDATE offers SET state = ?, answered_at = ? WHERE id = ?", (state, at, offer_id))


def list_offers(db: sqlite3.Connection, agent: str | None) -> list[Offer]:
    where, args = ("AND agent = ?", (agent,)) if agent is not None else ("", ())
    rows = db.execute(
        f"SELECT {OFFER_COLUMNS} FROM offers WHERE state = 'open' {where} ORDER BY id",  # noqa: S608  # our constants
        args,
    ).fetchall()
    return [offer_from_row(row) for row in rows]


def expire_offers(db: sqlite3.Connection, now: datetime, limit: int) -> list[Offer]:
    at = ts(now)
    rows = db.execute(
        f"SELECT {OFFER_COLUMNS} FROM offers WHERE state = 'open' AND deadline <= ? "  # noqa: S608  # our constants
        "ORDER BY deadline LIMIT ?",
        (at, limit),
    ).fetchall()
    expired = []
    for row in rows:
        offer = offer_from_row(row)
        _end(db, offer.id, OfferState.EXPIRED, at)
        db.execute(
            "UPDATE agents SET presence = 'away' WHERE name = ? AND presence = 'online'",
            (offer.agent,),
        )
        detail: dict[str, Detail] = {"offer_id": offer.id, "agent": offer.agent}
        record(db, offer.ticket_id, EventKind.OFFER_TIMED_OUT, CLOCK, at, detail)
        expired.append(get_offer(db, offer.id))
    return expired


def withdraw_agent_offers(db: sqlite3.Connection, name: str, now: datetime) -> list[Offer]:
    """The agent's open offers end: they left `online` before answering."""
    at = ts(now)
    withdrawn = []
    for offer in list_offers(db, name):
        _end(db, offer.id, OfferState.WITHDRAWN, at)
        detail: dict[str, Detail] = {"offer_id": offer.id, "agent": name}
        record(db, offer.ticket_id, EventKind.OFFER_WITHDRAWN, Actor.agent(name), at, detail)
        withdrawn.append(get_offer(db, offer.id))
    return withdrawn


def next_offer_deadline(db: sqlite3.Connection) -> datetime | None:
    row = db.execute("SELECT min(deadline) FROM offers WHERE state = 'open'").fetchone()
    return opt_dt(row[0])


def get_offer(db: sqlite3.Connection, offer_id: int) -> Offer:
    row = db.execute(f"SELECT {OFFER_COLUMNS} FROM offers WHERE id = ?", (offer_id,)).fetchone()  # noqa: S608  # our constants
    if row is None:
        raise NotFound("offer", offer_id)
    return offer_from_row(row)


def offer_from_row(row: Row) -> Offer:
    id_, ticket_id, agent, queue, channel, state, created, deadline, explanation, answered = row
    return Offer(
        id=id_,
        ticket_id=ticket_id,
        agent=agent,
        queue=queue,
        channel=channel,
        state=OfferState(state),
        created_at=dt(created),
        deadline=dt(deadline),
        explanation=tuple(loads(explanation)),
        answered_at=opt_dt(answered),
    )
