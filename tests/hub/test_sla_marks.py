"""SLA marks kept in the commit of the change that moves them, on SQLite and on Redis, with
the hub's own pieces (the rules router, the marks of changes and replies, the watcher) on a
real store and no watcher running unless the test runs a round: a new clocked ticket has its
deadlines from its commit; a pause, a priority change and a reply replace them at once; the
watcher's warning and breach set the standing the listings filter on, a pause clears it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.deadlines import AT_RISK, BREACH, BREACHED, WARNING
from core.model import Priority, Status, ThreadPolicy, TicketChange, TicketFilter
from core.record import Actor
from hub.desk.sla_free import MARGIN, sets_sla
from hub.desk.sla_marks import reply_marks, with_marks
from hub.desk.sla_watch import SlaWatcher
from hub.metrics import Metrics
from hub.rules.routing import Rules, RulesRouter
from router import load_ruleset
from storage.base import Store, open_store
from tests.storage.test_contract import NO_WINDOW
from tests.support import T0, inbound

RULES = """
queues:
  general:
    sla:
      first_response: 1h
      next_response: 2h
      resolution: 8h
      urgent: {first_response: 10m}
default: {queue: general}
"""
SUE = Actor.agent("sue")
FAR = T0 + timedelta(days=30)


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = (
        str(request.getfixturevalue("redis_url"))
        if request.param == "redis"
        else f"sqlite:///{tmp_path / 'hub.db'}"
    )
    opened = open_store(url)
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def router() -> RulesRouter:
    return RulesRouter(Rules(load_ruleset(RULES, "rules.yaml")))


async def new_ticket(store: Store, router: RulesRouter, external_id: str = "m1") -> int:
    made = await store.commit_inbound(inbound(external_id), router, NO_WINDOW)
    return made.ticket_id


async def deadlines(store: Store, ticket_id: int) -> dict[tuple[str, str], datetime]:
    """The ticket's deadlines as the store holds them (claimed with a lease that ends
    before T0: claimable again at once)."""
    claimed = await store.claim_deadlines(FAR, T0 - FAR, 1000)
    return {(d.metric, d.kind): d.due for d in claimed if d.ticket_id == ticket_id}


async def change(store: Store, router: RulesRouter, ticket_id: int, **fields: object) -> None:
    now = T0 + timedelta(minutes=5)
    asked = TicketChange(actor=SUE, **fields)  # type: ignore[arg-type]
    await store.update_ticket(
        ticket_id, await with_marks(store, router, ticket_id, asked, now), now
    )


async def test_a_new_clocked_ticket_has_its_deadlines_from_its_commit(
    store: Store, router: RulesRouter
) -> None:
    ticket_id = await new_ticket(store, router)
    assert await deadlines(store, ticket_id) == {
        ("first_response", WARNING): T0 + timedelta(minutes=45),
        ("first_response", BREACH): T0 + timedelta(hours=1),
        ("resolution", WARNING): T0 + timedelta(hours=6),
        ("resolution", BREACH): T0 + timedelta(hours=8),
    }
    marks = (await store.get_ticket(ticket_id)).sla
    assert marks is not None
    assert [(c.metric, c.state) for c in marks.clocks] == [
        ("first_response", "active"),
        ("resolution", "active"),
    ]


async def test_a_change_replaces_the_deadlines_in_its_commit(
    store: Store, router: RulesRouter
) -> None:
    ticket_id = await new_ticket(store, router)
    await change(store, router, ticket_id, priority=Priority.URGENT)
    assert (await deadlines(store, ticket_id))[("first_response", BREACH)] == T0 + timedelta(
        minutes=10
    )
    await change(store, router, ticket_id, status=Status.PENDING)
    assert await deadlines(store, ticket_id) == {}  # paused: nothing to watch
    marks = (await store.get_ticket(ticket_id)).sla
    assert marks is not None
    assert {c.state for c in marks.clocks} == {"paused"}


async def test_a_reply_meets_the_first_response_in_its_commit(
    store: Store, router: RulesRouter
) -> None:
    ticket_id = await new_ticket(store, router)
    now = T0 + timedelta(minutes=20)
    marks = await reply_marks(store, router, ticket_id, SUE, now)
    await store.append_outbound(ticket_id, "on it", "sue", now, sla=marks)
    assert set(await deadlines(store, ticket_id)) == {
        ("resolution", WARNING),
        ("resolution", BREACH),
    }  # no next response awaited: nothing came after the reply


async def test_a_customers_message_sets_its_next_response_in_its_commit(
    store: Store, router: RulesRouter
) -> None:
    ticket_id = await new_ticket(store, router)
    replied = T0 + timedelta(minutes=20)
    marks = await reply_marks(store, router, ticket_id, SUE, replied)
    await store.append_outbound(ticket_id, "on it", "sue", replied, sla=marks)
    follow_up = inbound("m2", at=T0 + timedelta(minutes=30))
    made = await store.commit_inbound(follow_up, router, ThreadPolicy({}, timedelta(days=1)))
    assert made.ticket_id == ticket_id
    assert (await deadlines(store, ticket_id))[("next_response", BREACH)] == T0 + timedelta(
        minutes=150
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def listed(store: Store, standing: str) -> list[int]:
    return [t.id for t in (await store.list_tickets(TicketFilter(sla=standing))).items]


async def test_the_watchers_firings_set_the_standing_and_a_pause_clears_it(
    store: Store, router: RulesRouter
) -> None:
    clock = Clock()
    metrics = Metrics()
    watcher = SlaWatcher(store, router, metrics, clock)
    ticket_id, other = await new_ticket(store, router, "a"), await new_ticket(store, router, "b")
    clock.now = T0 + timedelta(minutes=46)
    await watcher.round()
    assert await listed(store, AT_RISK) == [other, ticket_id]
    assert {q.name: q.at_risk for q in await store.queue_stats()} == {"general": 2}
    clock.now = T0 + timedelta(minutes=61)
    await watcher.round()
    assert await listed(store, BREACHED) == [other, ticket_id]
    assert await listed(store, AT_RISK) == []
    await change(store, router, ticket_id, status=Status.PENDING)
    assert await listed(store, BREACHED) == [other]
    page = await store.list_tickets(TicketFilter(sla=BREACHED))
    assert page.items[0].sla is not None
    assert page.items[0].sla.standing == BREACHED
    labels = {"queue": "general", "metric": "first_response"}
    assert metrics.registry.get_sample_value("contacthub_sla_breaches_total", labels) == 2


async def left_behind(store: Store, ticket_id: int, **fields: object) -> None:
    """A change written without its marks (as a change whose record moved on is)."""
    asked = TicketChange(actor=SUE, **fields)  # type: ignore[arg-type]
    await store.update_ticket(ticket_id, asked, T0 + timedelta(minutes=5))


async def running_clocks(store: Store, ticket_id: int) -> set[str]:
    marks = (await store.get_ticket(ticket_id)).sla
    assert marks is not None
    return {clock.metric for clock in marks.clocks if clock.running}


async def test_the_follow_keeps_marks_left_behind_from_the_record_it_holds(
    store: Store, router: RulesRouter
) -> None:
    """A ticket the follow saw created is held whole: later events extend what it holds,
    and the marks it writes are those of the whole record."""
    clock = Clock()
    watcher = SlaWatcher(store, router, Metrics(), clock)
    ticket_id = await new_ticket(store, router)
    await watcher.round()
    assert watcher.records.take([]) == {}  # nothing new: nothing known anew
    await left_behind(store, ticket_id, status=Status.PENDING)
    assert await running_clocks(store, ticket_id) == {"first_response", "resolution"}
    clock.now = T0 + timedelta(minutes=6)
    await watcher.round()
    assert await running_clocks(store, ticket_id) == set()  # pending: the clocks wait
    await left_behind(store, ticket_id, status=Status.OPEN)
    await watcher.round()
    assert await running_clocks(store, ticket_id) == {"first_response", "resolution"}


async def test_a_checkpoint_another_watcher_moved_drops_what_the_follow_held(
    store: Store, router: RulesRouter
) -> None:
    """Two hubs follow: the events one took the other never saw, so what it held is
    dropped and it reads the record whole (its marks are never those of a shortened one)."""
    clock = Clock()
    first, second = (SlaWatcher(store, router, Metrics(), clock) for _ in range(2))
    ticket_id = await new_ticket(store, router)
    await first.round()
    await left_behind(store, ticket_id, status=Status.PENDING)
    await second.round()  # takes the pause: `first` never sees it
    await left_behind(store, ticket_id, priority=Priority.URGENT)
    await first.round()
    record = await store.ticket_events(ticket_id)
    assert first.records.upto == record[-1].seq
    assert await running_clocks(store, ticket_id) == set()  # still pending, as the record says


FREE = "queues:\n  general: {}\ndefault: {queue: general}\n"


@pytest.mark.parametrize(
    ("rules", "sets"),
    [
        (FREE, False),
        (RULES, True),
        ("queues:\n  general: {sla: {urgent: {first_response: 10m}}}\ndefault: {queue: general}\n",
         True),
        ("queues:\n  general: {}\nrules:\n  - name: vip\n    when: {channel: sms}\n"
         "    then: {sla: {resolution: 1d}}\ndefault: {queue: general}\n", True),
    ],
    ids=["none", "queue", "one-priority", "one-rule"],
)  # fmt: skip
def test_rules_set_an_sla_when_any_queue_rule_or_priority_has_a_target(
    rules: str, sets: bool
) -> None:
    assert sets_sla(load_ruleset(rules, "rules.yaml").doc) is sets


async def test_under_rules_without_sla_the_follow_still_clears_marks_older_rules_left(
    store: Store, router: RulesRouter
) -> None:
    """A ticket made before every hub took up rules without SLA may hold marks: the follow
    reads it and clears them; one made after holds none, and nothing is written on it."""
    clock = Clock()
    watcher = SlaWatcher(store, router, Metrics(), clock)
    marked = await new_ticket(store, router, "m1")
    assert await running_clocks(store, marked) == {"first_response", "resolution"}
    saved = await store.save_rules(FREE, "test", T0 + timedelta(minutes=1))
    router.rules = Rules(load_ruleset(FREE, "rules.yaml"), saved.version)
    await left_behind(store, marked, tags=("late",))
    after = T0 + timedelta(minutes=1) + MARGIN
    made = await store.commit_inbound(inbound("m2", "email:bo@example.com", at=after), router,
                                      NO_WINDOW)  # fmt: skip
    await watcher.round()
    cleared = (await store.get_ticket(marked)).sla
    assert cleared is not None
    assert (cleared.standing, cleared.clocks) == ("", ())
    assert (await store.get_ticket(made.ticket_id)).sla is None


async def test_a_deadline_claimed_under_rules_without_sla_clears_its_tickets_marks(
    store: Store, router: RulesRouter
) -> None:
    """Marks the shortcut could not know of (a ticket stamped after the rules changed, as a
    clock running ahead would stamp it) are cleared when their deadline comes due."""
    clock = Clock()
    watcher = SlaWatcher(store, router, Metrics(), clock)
    ticket_id = await new_ticket(store, router)
    saved = await store.save_rules(FREE, "test", T0 - MARGIN - timedelta(minutes=1))
    router.rules = Rules(load_ruleset(FREE, "rules.yaml"), saved.version)
    await watcher.round()  # the follow takes the shortcut: the marks stay
    assert await running_clocks(store, ticket_id) == {"first_response", "resolution"}
    clock.now = T0 + timedelta(hours=9)  # every deadline of the old rules is due
    await watcher.round()
    cleared = (await store.get_ticket(ticket_id)).sla
    assert cleared is not None
    assert (cleared.standing, cleared.clocks) == ("", ())
    assert watcher.fired == 0  # no clock under the rules in force: nothing fired
