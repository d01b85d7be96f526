"""The one atomic ingest operation on SQLite: dedupe, identify, thread, route, store.

A writer job: it runs on the event loop's thread after the earlier jobs of its group commit,
in their `BEGIN IMMEDIATE` transaction, so it sees every write committed or pending before it,
and two copies of one provider message can never both be stored. The ticket's record
(storage/sqlite/record.py) is written in the same transaction: `created` for a new ticket
(its route), `message_in`, and the status move the message made (the customer's).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta

from core.model import (
    TICKET_KEY_PREFIX,
    CustomerFacts,
    Decision,
    Direction,
    Inbound,
    IngestResult,
    Outcome,
    Router,
    Status,
    ThreadPolicy,
    whole_id,
)
from core.record import Actor, Detail, EventKind
from core.workflow import after_customer_message
from storage.marks import marks_json
from storage.sqlite import search, tally
from storage.sqlite.customers import index_name
from storage.sqlite.deadlines import count_new, set_deadlines, write_marks
from storage.sqlite.record import Event, record_all, ticket_events
from storage.sqlite.rows import (
    LIVE,
    Row,
    attachments_json,
    facts_json,
    json_list,
    json_map,
    ts,
)

_Move = tuple[Status, Status]
"""A status move a customer's message made: (from, to)."""


def commit_inbound(
    db: sqlite3.Connection, inbound: Inbound, router: Router, policy: ThreadPolicy
) -> IngestResult:
    seen = _duplicate(db, inbound)
    if seen is not None:
        return seen
    now = ts(inbound.received_at)
    owners = _identity_owners(db, inbound)
    known = min(owners.values()) if owners else None
    thread = None if known is None else _find_thread(db, inbound, known, policy)
    decision: Decision | None = None
    reopening: _Move | None = None
    if known is not None and thread is not None:
        customer_id, ticket_id, outcome = known, thread, Outcome.APPENDED
        queue, reopening = _touch_ticket(db, ticket_id, now)
    else:
        facts = _facts(db, known) if router.needs_history else CustomerFacts(known)
        decision = router.decide(inbound, facts)
        customer_id = known if known is not None else _create_customer(db, inbound, now)
        ticket_id = create_ticket(
            db, (inbound.channel, inbound.subject), customer_id, decision, facts, now
        )
        outcome, queue = Outcome.CREATED, decision.queue
    if len(owners) < len(inbound.all_identities):
        _link_identities(db, inbound, customer_id, now)
    message_id = _insert_message(db, inbound, ticket_id, now)
    search.index_contact(db, outcome, ticket_id, message_id, inbound)
    _keep_thread_keys(db, inbound, ticket_id)
    result = IngestResult(outcome, ticket_id, message_id, customer_id, queue, decision)
    _record_contact(db, inbound, result, reopening)
    if outcome is Outcome.APPENDED:
        _follow_clocks(db, ticket_id, router, inbound.received_at)
    return result


def _follow_clocks(db: sqlite3.Connection, ticket_id: int, router: Router, at: datetime) -> None:
    """A customer's message on a clocked ticket moves its clocks (a next response is awaited,
    a paused or solved ticket runs again): its marks, from its record, in this commit."""
    row = db.execute("SELECT sla_marks IS NOT NULL FROM tickets WHERE id = ?", (ticket_id,))
    if not row.fetchone()[0]:
        return  # no clocks kept yet: the watcher's to compute
    marks = router.sla_after(ticket_events(db, ticket_id), at)
    if marks is not None:
        write_marks(db, ticket_id, marks)


def _record_contact(
    db: sqlite3.Connection, inbound: Inbound, result: IngestResult, reopening: _Move | None
) -> None:
    """The contact's events, in one statement: `created` with its route when it made the
    ticket, the customer's message, then what the message did to the ticket's status."""
    customer, decision = Actor.customer(result.customer_id), result.decision
    events: list[Event] = []
    if decision is not None:
        route: dict[str, Detail] = {
            "queue": decision.queue, "priority": decision.priority, "rule": decision.rule,
        }  # fmt: skip
        events.append((EventKind.CREATED, Actor.by_rule(decision.rule), route))
    message: dict[str, Detail] = {"message_id": result.message_id, "channel": inbound.channel}
    events.append((EventKind.MESSAGE_IN, customer, message))
    if reopening is not None:
        moved: dict[str, Detail] = {"from": reopening[0], "to": reopening[1]}
        events.append((EventKind.STATUS, customer, moved))
    record_all(db, result.ticket_id, ts(inbound.received_at), events)


def _duplicate(db: sqlite3.Connection, inbound: Inbound) -> IngestResult | None:
    """The result of the first commit of this provider message, if there was one."""
    seen = db.execute(
        "SELECT m.id, m.ticket_id, t.customer_id, t.queue FROM messages m "
        "JOIN tickets t ON t.id = m.ticket_id WHERE m.dedupe_key = ?",
        (inbound.key,),
    ).fetchone()
    if seen is None:
        return None
    message_id, ticket_id, customer_id, queue = seen
    return IngestResult(Outcome.DUPLICATE, ticket_id, message_id, customer_id, queue)


def _keep_thread_keys(db: sqlite3.Connection, inbound: Inbound, ticket_id: int) -> None:
    """A key stays with its live ticket: a new sender's reply-all must not take it; a closed
    ticket's key goes to the new one.

    Read first, then a plain INSERT or UPDATE where one is needed: an upsert on this table
    (its foreign key) ran under a statement journal, which made FTS5 write out the words
    held for the group commit (schema migration 14): ~17 µs for every contact with a thread
    key (an email's Message-ID, a Slack thread), 11 % of the hub's CPU per Slack event."""
    for key in inbound.thread_keys:
        if key.startswith(TICKET_KEY_PREFIX):
            continue
        found = db.execute(_THREAD_KEY_STATUS, (key,)).fetchone()
        if found is None:
            db.execute("INSERT INTO thread_keys (key, ticket_id) VALUES (?, ?)", (key, ticket_id))
        elif found[0] == "closed":
            db.execute("UPDATE thread_keys SET ticket_id = ? WHERE key = ?", (ticket_id, key))


_THREAD_KEY_STATUS = (
    "SELECT t.status FROM thread_keys AS k LEFT JOIN tickets AS t ON t.id = k.ticket_id "
    "WHERE k.key = ?"
)
"""The status of the ticket a thread key leads to (NULL: purged, and the key stays)."""


def _identity_owners(db: sqlite3.Connection, inbound: Inbound) -> dict[str, int]:
    """Which customer owns each of the sender's identities that is known; the oldest wins."""
    keys = [identity.key for identity in inbound.all_identities]
    marks = ",".join("?" * len(keys))
    rows = db.execute(
        f"SELECT key, customer_id FROM identities WHERE key IN ({marks})",  # noqa: S608  # only "?" marks
        keys,
    ).fetchall()
    return dict(rows)


def _find_thread(
    db: sqlite3.Connection, inbound: Inbound, customer_id: int, policy: ThreadPolicy
) -> int | None:
    """Explicit thread keys first; else the customer's live ticket on this channel."""
    for key in inbound.thread_keys:
        row = _thread_key_ticket(db, key, customer_id)
        if row is not None:
            return int(row[0])
    window = policy.window(inbound.channel).total_seconds()
    if window <= 0:
        return None
    row = db.execute(
        "SELECT id FROM tickets WHERE customer_id = ? AND channel = ? AND status != 'closed' "
        "AND updated_at >= ? ORDER BY updated_at DESC LIMIT 1",
        (customer_id, inbound.channel, ts(inbound.received_at) - window),
    ).fetchone()
    return None if row is None else int(row[0])


def _thread_key_ticket(db: sqlite3.Connection, key: str, customer_id: int) -> Row | None:
    """The live ticket a key names; `ticket:<id>` only when the customer owns that ticket."""
    if key.startswith(TICKET_KEY_PREFIX):
        number = whole_id(key.removeprefix(TICKET_KEY_PREFIX))
        if number is None:
            return None
        return db.execute(  # type: ignore[no-any-return]  # a row is Any to sqlite3
            "SELECT id FROM tickets WHERE id = ? AND customer_id = ? AND status != 'closed'",
            (number, customer_id),
        ).fetchone()
    return db.execute(  # type: ignore[no-any-return]  # a row is Any to sqlite3
        "SELECT t.id FROM thread_keys k JOIN tickets t ON t.id = k.ticket_id "
        "WHERE k.key = ? AND t.status != 'closed'",
        (key,),
    ).fetchone()


def _facts(db: sqlite3.Connection, customer_id: int | None) -> CustomerFacts:
    if customer_id is None:
        return CustomerFacts(None)
    tags, open_tickets = db.execute(
        "SELECT c.tags, (SELECT count(*) FROM tickets WHERE customer_id = c.id "  # noqa: S608  # our SQL
        f"AND {LIVE}) FROM customers c WHERE c.id = ?",
        (customer_id,),
    ).fetchone()
    return CustomerFacts(customer_id, tuple(json.loads(tags)), int(open_tickets))


def _create_customer(db: sqlite3.Connection, inbound: Inbound, now: float) -> int:
    cursor = db.execute(
        "INSERT INTO customers (name, created_at) VALUES (?, ?)", (inbound.sender_name, now)
    )
    customer_id = int(cursor.lastrowid or 0)
    index_name(db, customer_id, inbound.sender_name)
    tally.customer_made(db, customer_id)
    return customer_id


def _link_identities(
    db: sqlite3.Connection, inbound: Inbound, customer_id: int, now: float
) -> None:
    """Tie the sender's identities to the customer; one already owned stays with its owner."""
    db.executemany(
        "INSERT OR IGNORE INTO identities (key, customer_id, created_at) VALUES (?, ?, ?)",
        [(identity.key, customer_id, now) for identity in inbound.all_identities],
    )


def _due(now: float, due: datetime | None, target: timedelta | None) -> float | None:
    """The router's due time (business hours); a bare target counts from now."""
    if due is not None:
        return due.timestamp()
    return None if target is None else now + target.total_seconds()


def _next_ticket_id(db: sqlite3.Connection) -> int:
    """A number no ticket ever had. SQLite would give the newest row's plus one, which is a
    purged ticket's number when the newest was purged; its record stays (and its report
    tally), so the new ticket would take over its past."""
    (newest,) = db.execute(
        "SELECT max(coalesce((SELECT max(id) FROM tickets), 0), "
        "coalesce((SELECT max(ticket_id) FROM ticket_events), 0))"
    ).fetchone()
    return int(newest) + 1


def create_ticket(  # one row from the parts of an ingest (or of a follow-up)
    db: sqlite3.Connection,
    made: tuple[str, str],
    customer_id: int,
    decision: Decision,
    facts: CustomerFacts,
    now: float,
) -> int:
    """A new ticket of `made`, its channel and subject; new, unassigned, waiting."""
    first_due = _due(now, decision.first_response_due, decision.first_response)
    resolution_due = _due(now, decision.resolution_due, decision.resolution)
    marks = decision.sla
    channel, subject = made
    ticket_id = _next_ticket_id(db)
    db.execute(
        "INSERT INTO tickets (id, status, channel, queue, priority, priority_rank, customer_id, "
        "subject, tags, skills, route_rule, route_explanation, route_version, route_facts, "
        "created_at, updated_at, first_response_due, resolution_due, sla_standing, "
        "sla_marks) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            ticket_id, Status.NEW, channel, decision.queue, decision.priority,
            decision.priority.rank, customer_id, subject, json_list(decision.tags),
            json_list(decision.skills), decision.rule, json_list(decision.explanation),
            decision.rules_version, facts_json(facts), now, now, first_due, resolution_due,
            marks.standing if marks else "", marks_json(marks) if marks else None,
        ),
    )  # fmt: skip
    db.execute(_COUNT_NEW_TICKET, (decision.queue,))
    if marks is not None:  # the new ticket's deadlines, in its commit
        count_new(db, decision.queue, marks)
        set_deadlines(db, ticket_id, [replace(d, ticket_id=ticket_id) for d in marks.deadlines])
    return ticket_id


_COUNT_NEW_TICKET = (
    "INSERT INTO queue_depths (queue, waiting, open) VALUES (?, 1, 1) "
    "ON CONFLICT (queue) DO UPDATE SET waiting = waiting + 1, open = open + 1"
)
"""A new ticket (new, unassigned) waits in its queue: the counters schema migration 14 took
from the insert trigger, as a statement of its own (no statement journal, no FTS5 flush)."""


def _touch_ticket(db: sqlite3.Connection, ticket_id: int, now: float) -> tuple[str, _Move | None]:
    """A customer's new message moves the ticket as core/workflow.py's
    `after_customer_message` says (a resolved or pending ticket opens again); returns the
    ticket's queue and the status move, if any. (Closed tickets are never threaded onto.)"""
    status, queue = db.execute(
        "SELECT status, queue FROM tickets WHERE id = ?", (ticket_id,)
    ).fetchone()
    before = Status(status)
    after = after_customer_message(before)
    # An UPDATE that names no column of the depth trigger runs without a statement journal,
    # which would make FTS5 flush the words held for the group commit (schema migration 14).
    if after is None or after == before:
        db.execute(
            "UPDATE tickets SET updated_at = max(updated_at, ?) WHERE id = ?", (now, ticket_id)
        )
        return str(queue), None
    db.execute(
        "UPDATE tickets SET updated_at = max(updated_at, ?), status = ?, resolved_at = NULL "
        "WHERE id = ?",
        (now, after, ticket_id),
    )
    return str(queue), (before, after)


def _insert_message(db: sqlite3.Connection, inbound: Inbound, ticket_id: int, now: float) -> int:
    cursor = db.execute(
        "INSERT INTO messages (ticket_id, dedupe_key, direction, channel, event, external_id, "
        "sender, recipient, subject, body, attachments, meta, at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            ticket_id, inbound.key, Direction.INBOUND, inbound.channel, inbound.event,
            inbound.external_id, inbound.sender.key, inbound.recipient, inbound.subject,
            inbound.text, attachments_json(inbound.attachments), json_map(inbound.meta),
            now,
        ),
    )  # fmt: skip
    return int(cursor.lastrowid or 0)
