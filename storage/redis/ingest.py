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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.customers import name_words
from core.errors import StorageUnavailable
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
from core.record import Actor
from core.search import words
from core.workflow import after_customer_message
from storage.redis.rows import inbound_json, route_json, ticket_fields, ts
from storage.redis.scripts import Scripts

MAX_ROUNDS = 5
"""Each round sees facts changed by a concurrent write; five in a row mean a hot customer."""

KNOWN_CAPACITY = 200_000


@dataclass(frozen=True, slots=True)
class Guess:
    """A routing decision and the facts it was made on; no decision: let the script ask."""

    facts: CustomerFacts
    decision: Decision | None = None
    history: bool = False
    tags_json: str = "[]"

    def payload(self, inbound: Inbound) -> str:
        if self.decision is None:
            return ""
        facts = self.facts
        return json.dumps(
            {
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
        self._owners: dict[str, int] = {}

    async def commit(self, inbound: Inbound, router: Router, policy: ThreadPolicy) -> IngestResult:
        contact = contact_json(inbound, policy)
        guess = self._guess(inbound, router, policy)
        for _ in range(MAX_ROUNDS):
            reply = await self._scripts.run("ingest", contact, guess.payload(inbound))
            if reply[0] != "route":
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

    def _result(
        self, inbound: Inbound, reply: Sequence[Any], sent: Decision | None
    ) -> IngestResult:
        """The script's answer; a new ticket was made with the decision sent along, the only
        one the script ever stores (a speculative one it refused was never kept)."""
        outcome, ticket_id, message_id, customer_id, queue = reply
        if len(self._owners) >= KNOWN_CAPACITY:
            self._owners.clear()  # cheaper than an LRU, and a miss costs only a round trip
        for identity in inbound.all_identities:
            self._owners[identity.key] = int(customer_id)
        kept = sent if outcome == Outcome.CREATED else None
        return IngestResult(
            Outcome(outcome), int(ticket_id), int(message_id), int(customer_id), queue, kept
        )


def contact_json(inbound: Inbound, policy: ThreadPolicy) -> str:
    """The script's contact: everything but the routing decision."""
    return json.dumps(
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
        }
    )


def decide(inbound: Inbound, router: Router, reply: Sequence[Any]) -> Guess:
    """Decide on the facts the script read (`reply` is ["route", customer, tags, open])."""
    _, customer, tags_json, open_tickets = reply
    customer_id = int(customer) if customer else None
    history = router.needs_history
    if history and customer_id is not None:
        facts = CustomerFacts(customer_id, tuple(json.loads(tags_json)), int(open_tickets))
    else:
        facts = CustomerFacts(customer_id)
    return Guess(facts, router.decide(inbound, facts), history, tags_json)
