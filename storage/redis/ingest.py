"""The one atomic ingest on Redis: a Lua script, and the routing decision it needs.

The script (lua/ingest.lua) does the whole ingest inside Redis, where nothing else runs
meanwhile: dedupe, identities, thread, ticket, message, indexes. Only the routing decision
cannot be made there: the router is Python. It must be made *before* the script runs, on
the very facts the script will see, and only a new ticket needs it. So the caller sends a
decision together with the facts it was made on, and the script checks them: if a new
ticket must be made and the facts are not exactly those (customer, and when the router
`needs_history` its tags and open tickets), it writes nothing and answers with the facts it
read; the caller decides on those and sends the script again. The decision that is stored
is therefore always one made on the facts read in the same atomic operation, as on SQLite.

Which decision to send the first time, to make most contacts one round trip:
- a sender none of whose identities this process has seen is most likely a new customer,
  whose facts need no read (no tags, no open tickets) and who always gets a new ticket:
  decide on `CustomerFacts(None)`;
- a known sender on a channel that does not thread by time, without thread keys, gets a
  new ticket too; when the router does not read history, the facts are just the customer
  id, which this process remembers: decide on `CustomerFacts(id)`;
- otherwise (history rules, or a message that will probably thread) send no decision: an
  appended message needs none, and a new ticket costs a second round trip.
A wrong guess costs one more round trip and one more `decide` call (the router is pure, so
an unused decision is harmless), never a wrong route. Sending two decisions (new and known)
would double the router's work on every contact and still not cover history rules; reading
the facts first would make every contact two round trips.

Round trips per contact: duplicate 1, appended 1, new customer 1, known customer's new
ticket 1 (no history rules, no time threading) or 2. The guesses come from a bounded map
of identity -> customer id filled by this process's own results; it is cleared when full,
and a stale entry (another hub's customer, a flushed database) only costs a round trip.

Bursts (issue 19): when the router reads history, every new ticket changes the facts the
next one of the same customer is decided on, so a customer's concurrent contacts contend;
with a few rounds each, one email copied to 50 mailboxes failed 41 times. Two measures:
- in this process, contacts sharing an identity commit one at a time (striped locks,
  taken in order, so two contacts never wait on each other crosswise): a burst arriving at
  one hub never contends, and costs each contact its usual one or two round trips;
- across hubs (or one customer reached through two identities), a decision refused because
  another commit of the customer won is made again on the facts the refusal carries, after
  a short jittered backoff that desynchronises the contenders, up to MAX_ROUNDS. Each
  refused round means another contact of the customer was stored, so a hub that keeps
  losing is behind a real stream of that customer's tickets; the bound still ends it.
Deciding inside the script is not possible (the rules are Python), and reading the facts
once per batch would not help the other hub.

SLA marks: a new ticket's come with its decision, in the script. A customer's message on a
ticket with clocks moves them (a next response awaited, a paused or solved ticket running
again); computing them needs the rules and the ticket's whole record, so the script replies
the record and the marks follow in a second script at once, guarded by the record's newest
event (storage/base.py `set_sla`); should this process die in between, the SLA watcher
computes them from the record within its round (hub/desk/sla_watch.py).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from core.customers import name_words
from core.errors import StorageUnavailable
from core.json_text import dumps_bytes, loads
from core.model import (
    CustomerFacts,
    Decision,
    Inbound,
    IngestResult,
    Outcome,
    Router,
    Status,
    ThreadPolicy,
)
from core.periods import UTC_CELLS, Calendar
from core.record import Actor
from core.search import words
from core.workflow import after_customer_message
from storage.redis.rows import (
    inbound_json,
    report_cells,
    route_json,
    sla_fields,
    sla_json,
    ticket_fields,
    ts,
)
from storage.redis.scripts import Scripts
from storage.redis.tickets import event_from_json

MAX_ROUNDS = 40
"""Each refused round saw facts changed by another commit of the customer (another hub's:
this hub's own are serialised); forty in a row mean a customer hotter than any burst."""

BACKOFF_BASE = 0.002
BACKOFF_CAP = 0.05
"""Seconds: the jittered wait before deciding again grows from 2 ms to at most 50 ms, so
forty refused rounds wait about 1.5 s in all."""

LOCK_STRIPES = 1024

KNOWN_CAPACITY = 200_000


@dataclass(frozen=True, slots=True)
class Guess:
    """A routing decision and the facts it was made on; no decision: let the script ask."""

    facts: CustomerFacts
    decision: Decision | None = None
    history: bool = False
    tags_json: str = "[]"

    def payload(self, inbound: Inbound) -> bytes:
        if self.decision is None:
            return b""
        facts = self.facts
        sla = {} if self.decision.sla is None else {"sla": sla_fields(self.decision.sla)}
        return dumps_bytes(
            {
                **sla,
                "customer": "" if facts.customer_id is None else str(facts.customer_id),
                "history": self.history,
                "tags": self.tags_json,
                "open": facts.open_tickets,
                "fields": ticket_fields(inbound, self.decision),
                "route": route_json(inbound, self.decision, facts),
                "created": created_event(self.decision),
            }
        )


def created_event(decision: Decision) -> dict[str, object]:
    """A new ticket's first event on its record: where the router sent it, and which rule."""
    detail = {"queue": decision.queue, "priority": decision.priority, "rule": decision.rule}
    return {"actor": str(Actor.by_rule(decision.rule)), "detail": detail}


AFTER_MESSAGE = {
    str(status): str(after)
    for status in Status
    if (after := after_customer_message(status)) not in (None, status)
}
"""What a customer's message does to a ticket's status, for the script (core/workflow.py)."""


UNDECIDED = Guess(CustomerFacts(None))


class RedisIngest:
    """commit_inbound for one store: the script, and guesses from what this process saw."""

    def __init__(self, scripts: Scripts) -> None:
        self._scripts = scripts
        self.calendar = UTC_CELLS
        """The store's calendar as this hub read it when it opened (core/periods.py)."""
        self._owners: dict[str, int] = {}
        self._locks = IdentityLocks(LOCK_STRIPES)

    async def commit(self, inbound: Inbound, router: Router, policy: ThreadPolicy) -> IngestResult:
        contact = contact_json(inbound, policy, self.calendar)
        async with self._locks.holding(identity.key for identity in inbound.all_identities):
            guess = self._guess(inbound, router, policy)
            for round_ in range(MAX_ROUNDS):
                if round_ >= 2:  # a decision made on the script's own facts was refused
                    await asyncio.sleep(backoff(round_ - 2))
                reply = await self._scripts.run("ingest", contact, guess.payload(inbound))
                if reply[0] == "zone":  # changed since this hub read it: nothing written
                    self.calendar = Calendar(reply[1])  # checked when it was set
                    contact = contact_json(inbound, policy, self.calendar)
                    continue
                if reply[0] != "route":
                    await self._follow_clocks(inbound, router, reply)
                    return self._result(inbound, reply, guess.decision)
                guess = decide(inbound, router, reply)
        raise StorageUnavailable("the customer's facts kept changing while routing; retry")

    def _guess(self, inbound: Inbound, router: Router, policy: ThreadPolicy) -> Guess:
        owners = [self._owners.get(identity.key) for identity in inbound.all_identities]
        known = [owner for owner in owners if owner is not None]
        if not known:
            facts = CustomerFacts(None)
            return Guess(facts, router.decide(inbound, facts))
        threads = inbound.thread_keys or policy.window(inbound.channel).total_seconds() > 0
        if router.needs_history or threads:
            return UNDECIDED
        facts = CustomerFacts(min(known))
        return Guess(facts, router.decide(inbound, facts))

    async def _follow_clocks(self, inbound: Inbound, router: Router, reply: Sequence[Any]) -> None:
        """A customer's message moved a clocked ticket's clocks: its marks, written right
        after the script (which cannot call the router), unless another change came first
        (then the SLA watcher computes them; and it does if this process dies in between)."""
        if len(reply) < 6:
            return
        ticket_id = int(reply[1])
        events = [event_from_json(ticket_id, text) for text in reply[5]]
        marks = router.sla_after(events, inbound.received_at)
        if marks is not None:
            based = replace(marks, basis=events[-1].seq)
            await self._scripts.run("deadlines", "marks", ticket_id, sla_json(based))

    def _result(
        self, inbound: Inbound, reply: Sequence[Any], sent: Decision | None
    ) -> IngestResult:
        """The script's answer; a new ticket was made with the decision sent along, the only
        one the script ever stores (a speculative one it refused was never kept)."""
        outcome, ticket_id, message_id, customer_id, queue = reply[:5]
        if len(self._owners) >= KNOWN_CAPACITY:
            self._owners.clear()  # cheaper than an LRU, and a miss costs only a round trip
        for identity in inbound.all_identities:
            self._owners[identity.key] = int(customer_id)
        kept = sent if outcome == Outcome.CREATED else None
        return IngestResult(
            Outcome(outcome), int(ticket_id), int(message_id), int(customer_id), queue, kept
        )


def backoff(refused: int) -> float:
    """Seconds to wait after `refused` + 1 refusals: full jitter under a growing ceiling."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**refused))  # noqa: S311  # jitter, not secrecy


class IdentityLocks:
    """Contacts sharing an identity take turns; striped, so memory stays fixed.

    Unrelated identities may share a stripe and wait on each other, which is only slower.
    Stripes are taken in ascending order, so two contacts never hold one each and wait."""

    def __init__(self, stripes: int) -> None:
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    @asynccontextmanager
    async def holding(self, keys: Iterable[str]) -> AsyncIterator[None]:
        stripes = sorted({hash(key) % len(self._locks) for key in keys})
        if len(stripes) == 1:  # most contacts: one identity, one lock, no exit stack
            async with self._locks[stripes[0]]:
                yield
            return
        async with AsyncExitStack() as stack:
            for stripe in stripes:
                await stack.enter_async_context(self._locks[stripe])
            yield


def contact_json(inbound: Inbound, policy: ThreadPolicy, calendar: Calendar) -> bytes:
    """The script's contact: everything but the routing decision."""
    return dumps_bytes(
        {
            "key": inbound.key,
            "channel": inbound.channel,
            "now": ts(inbound.received_at),
            "window": policy.window(inbound.channel).total_seconds(),
            "name": inbound.sender_name,
            "name_words": name_words(inbound.sender_name) if inbound.sender_name else (),
            "message": inbound_json(inbound),
            "identities": [identity.key for identity in inbound.all_identities],
            "thread_keys": list(inbound.thread_keys),
            "words": words(inbound.text),
            "subject_words": words(inbound.subject),
            "after": AFTER_MESSAGE,
            **report_cells(calendar, inbound.received_at),
            **_blobs(inbound),
        }
    )


def _blobs(inbound: Inbound) -> dict[str, list[str]]:
    """The blobs the message refers to, counted by the script (lua/retention.lua)."""
    shas = [a.sha256 for a in inbound.attachments if a.sha256]
    return {"blobs": shas} if shas else {}


def decide(inbound: Inbound, router: Router, reply: Sequence[Any]) -> Guess:
    """Decide on the facts the script read (`reply` is ["route", customer, tags, open])."""
    _, customer, tags_json, open_tickets = reply
    customer_id = int(customer) if customer else None
    history = router.needs_history
    if history and customer_id is not None:
        facts = CustomerFacts(customer_id, tuple(loads(tags_json)), int(open_tickets))
    else:
        facts = CustomerFacts(customer_id)
    return Guess(facts, router.decide(inbound, facts), history, tags_json)
