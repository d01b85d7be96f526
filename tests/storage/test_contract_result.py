"""The Store contract: a commit answers with what it decided, so nobody reads it back."""

from __future__ import annotations

from datetime import timedelta

from core.model import (
    CustomerFacts,
    Decision,
    Inbound,
    Outcome,
    Priority,
    ThreadPolicy,
    TicketChange,
)
from storage.base import Store, open_store
from tests.support import FunctionRouter, inbound, later

NO_WINDOW = ThreadPolicy({}, timedelta(0))
DAY_WINDOW = ThreadPolicy({}, timedelta(hours=24))


def by_facts(contact: Inbound, facts: CustomerFacts) -> Decision:
    """A decision that tells which facts it was made on."""
    queue = "first-timers" if facts.is_new else f"returning-{facts.open_tickets}"
    return Decision(
        queue, Priority.HIGH, tags=("t",), rule=f"rule-{queue}",
        explanation=(f"{contact.external_id} on {queue}",), campaign="callbacks",
    )  # fmt: skip


async def test_a_new_ticket_carries_the_decision_stored_with_it(store: Store) -> None:
    result = await store.commit_inbound(inbound("m1"), FunctionRouter(by_facts), NO_WINDOW)
    assert result.outcome is Outcome.CREATED
    assert result.decision == by_facts(inbound("m1"), CustomerFacts(None))
    assert result.queue == "first-timers"
    ticket = await store.get_ticket(result.ticket_id)
    assert (ticket.queue, ticket.priority, ticket.route.rule, ticket.route.explanation) == (
        result.decision.queue, result.decision.priority, result.decision.rule,
        result.decision.explanation,
    )  # fmt: skip


async def test_appended_and_duplicate_contacts_carry_no_decision_and_the_queue_now(
    store: Store,
) -> None:
    router = FunctionRouter(by_facts)
    first = await store.commit_inbound(inbound("m1"), router, DAY_WINDOW)
    await store.update_ticket(first.ticket_id, TicketChange(queue="escalated"), later(1))
    appended = await store.commit_inbound(inbound("m2", at=later(2)), router, DAY_WINDOW)
    assert (appended.outcome, appended.ticket_id) == (Outcome.APPENDED, first.ticket_id)
    assert (appended.decision, appended.queue) == (None, "escalated")
    await store.update_ticket(first.ticket_id, TicketChange(queue="billing"), later(3))
    again = await store.commit_inbound(inbound("m1"), router, DAY_WINDOW)
    assert (again.outcome, again.decision, again.queue) == (Outcome.DUPLICATE, None, "billing")


async def test_the_decision_kept_is_the_one_made_on_the_facts_read_in_the_commit(
    store_url: str,
) -> None:
    """A backend may ask the router speculatively (Redis guesses a stranger is new); the
    result carries the decision it stored, made on the facts of the commit."""
    a, b = open_store(store_url), open_store(store_url)
    await a.open()
    await b.open()
    try:
        asked: list[CustomerFacts] = []

        def remember(contact: Inbound, facts: CustomerFacts) -> Decision:
            asked.append(facts)
            return by_facts(contact, facts)

        await a.commit_inbound(inbound("m1"), FunctionRouter(remember), NO_WINDOW)
        asked.clear()
        # b has never seen ada: it may guess she is new before the commit says otherwise
        result = await b.commit_inbound(
            inbound("m2", at=later(1)), FunctionRouter(remember), NO_WINDOW
        )
        assert result.outcome is Outcome.CREATED
        assert result.decision is not None
        assert result.decision.queue == result.queue == "returning-1"
        assert (await b.get_ticket(result.ticket_id)).queue == "returning-1"
        assert asked[-1].open_tickets == 1
    finally:
        await a.close()
        await b.close()
