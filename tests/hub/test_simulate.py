"""Simulating the rules a ticket was routed by moves nothing (hypothesis over contacts)."""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from core.model import Identity, Inbound, ThreadPolicy
from hub.rules.routing import Rules, RulesRouter
from hub.rules.simulate import simulate
from router import load_ruleset
from storage.sqlite.store import SqliteStore

EXAMPLE = Path(__file__).parents[2] / "config" / "rules.example.yaml"
RULESET = load_ruleset(EXAMPLE.read_text(), str(EXAMPLE))
WORDS = ["refund", "invoice", "credit card", "bill", "outage", "password", "hello", "vip", "x"]

contacts = st.builds(
    lambda channel, event, words, subject, sender, minutes: Inbound(
        channel=channel,
        external_id="",
        sender=sender,
        text=" ".join(words),
        subject=subject,
        event=event,
        received_at=datetime(2026, 11, 23, tzinfo=UTC) + timedelta(minutes=minutes),
    ),
    st.sampled_from(["sms", "email", "form", "voice", "slack"]),
    st.sampled_from(["message", "missed_call", "voicemail", "callback_request"]),
    st.lists(st.sampled_from(WORDS), max_size=6),
    st.sampled_from(["", "Billing question", "Re: outage", "hi"]),
    st.sampled_from([Identity("email", f"c{i}@example.com") for i in range(3)]),
    st.integers(min_value=0, max_value=60 * 24 * 14),
)


@given(st.lists(contacts, min_size=1, max_size=15))
def test_replaying_tickets_under_their_own_rules_moves_none(batch: list[Inbound]) -> None:
    asyncio.run(_replay_equals_routing(batch))


async def _replay_equals_routing(batch: list[Inbound]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(f"sqlite:///{Path(tmp) / 'sim.db'}")
        await store.open()
        try:
            router = RulesRouter(Rules(RULESET, 1), max_explanation_lines=10_000)
            policy = ThreadPolicy({}, timedelta(hours=1))
            decided = {}
            for index, contact in enumerate(batch):
                unique = dataclasses.replace(contact, external_id=f"m{index}")
                result = await store.commit_inbound(unique, router, policy)
                if result.created:
                    decided[result.ticket_id] = (await store.get_ticket(result.ticket_id)).route
            outcome = await simulate(store, RULESET, RULESET)
            replays = (await store.replay(limit=1000)).items
        finally:
            await store.close()
    assert outcome.moves == []
    assert outcome.tickets == len(decided)
    for replay in replays:
        again = RULESET.decide(replay.inbound, replay.route.facts)
        assert (again.rule, again.explanation) == (replay.route.rule, replay.route.explanation)
