"""Assignment policy: never an ineligible agent, each policy's order, and fairness over a shift."""

from __future__ import annotations

import heapq
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleError
from core.people import Presence
from router.assign import Candidate, Need, choose, passed_over
from router.engine import load_ruleset
from router.spec import AssignPolicy, AssignSpec

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
NEED = Need("billing", "email", frozenset({"billing"}))
POLICIES = [AssignPolicy.ROUND_ROBIN, AssignPolicy.LONGEST_IDLE, AssignPolicy.LEAST_LOADED]


def agent(name: str, **fields: object) -> Candidate:
    values: dict[str, object] = {
        "presence": Presence.ONLINE, "serves_queue": True, "skills": frozenset({"billing"}),
        "capacity": 5, "load": 0, "last_offered_at": None, "idle_since": NOW,
    }  # fmt: skip
    values.update(fields)
    return Candidate(name, **values)  # type: ignore[arg-type]  # fields as a test passes them


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"presence": Presence.OFFLINE}, "offline"),
        ({"presence": Presence.AWAY}, "away"),
        ({"serves_queue": False}, "does not serve queue billing"),
        ({"load": 5}, "at capacity on email (5 of 5)"),
        ({"capacity": 0}, "at capacity on email (0 of 0)"),
        ({"skills": frozenset()}, "lacks skill billing"),
        ({}, None),
    ],
    ids=["offline", "away", "other-queue", "full", "no-capacity", "no-skill", "eligible"],
)
def test_each_reason_to_pass_an_agent_over(fields: dict[str, object], reason: str | None) -> None:
    assert passed_over(NEED, agent("ann", **fields), skills_required=True) == reason


candidates = st.lists(
    st.builds(
        Candidate,
        name=st.sampled_from(["ann", "bob", "cy", "dee", "eve", "fay", "gus"]),
        presence=st.sampled_from(Presence),
        serves_queue=st.booleans(),
        skills=st.frozensets(st.sampled_from(["billing", "french"]), max_size=2),
        capacity=st.integers(0, 4),
        load=st.integers(0, 5),
        last_offered_at=st.none() | st.just(NOW - timedelta(minutes=9)),
        idle_since=st.none() | st.just(NOW - timedelta(minutes=3)),
    ),
    max_size=7,
    unique_by=lambda c: c.name,
)


@given(candidates, st.sampled_from(POLICIES), st.booleans())
def test_the_choice_is_always_eligible_and_someone_is_chosen_when_anyone_fits(
    people: list[Candidate], policy: AssignPolicy, required: bool
) -> None:
    choice = choose(AssignSpec(policy, skills_required=required), NEED, people, NOW)
    fits = [c.name for c in people if passed_over(NEED, c, required) is None]
    assert (choice.agent is None) is (not fits)
    if choice.agent is not None:
        assert choice.agent in fits
        assert choice.explanation[-1].startswith(f"chosen {choice.agent} by {policy}")
    assert len(choice.explanation) == len(people) - len(fits) + 1


@given(candidates, st.sampled_from(POLICIES), st.randoms())
def test_the_choice_does_not_depend_on_the_order_agents_are_listed(
    people: list[Candidate], policy: AssignPolicy, shuffler: random.Random
) -> None:
    shuffled = list(people)
    shuffler.shuffle(shuffled)
    spec = AssignSpec(policy)
    assert choose(spec, NEED, people, NOW) == choose(spec, NEED, shuffled, NOW)


def test_a_manual_queue_offers_nothing() -> None:
    choice = choose(AssignSpec(AssignPolicy.MANUAL), NEED, [agent("ann")], NOW)
    assert choice.agent is None
    assert choice.explanation == ("queue assigns manually: agents claim",)


def test_round_robin_offers_to_whoever_was_offered_longest_ago() -> None:
    people = [
        agent("ann", last_offered_at=NOW - timedelta(minutes=1)),
        agent("bob", last_offered_at=NOW - timedelta(minutes=5)),
        agent("cy", last_offered_at=NOW - timedelta(minutes=3)),
    ]
    choice = choose(AssignSpec(AssignPolicy.ROUND_ROBIN), NEED, people, NOW)
    assert choice.agent == "bob"
    assert choice.explanation == (
        "chosen bob by round_robin: offered 5 min ago; next cy: offered 3 min ago",
    )


def test_longest_idle_prefers_the_agent_holding_nothing_for_longest() -> None:
    people = [
        agent("ann", idle_since=NOW - timedelta(minutes=2)),
        agent("bob", idle_since=None, load=1),
        agent("cy", idle_since=NOW - timedelta(minutes=20)),
    ]
    choice = choose(AssignSpec(AssignPolicy.LONGEST_IDLE), NEED, people, NOW)
    assert choice.agent == "cy"
    assert (
        choice.explanation[-1]
        == "chosen cy by longest_idle: idle 20 min ago; next ann: idle 2 min ago"
    )


def test_least_loaded_counts_spare_capacity_as_a_fraction_so_small_capacities_get_work() -> None:
    people = [agent("big", capacity=10, load=3), agent("small", capacity=2, load=1)]
    assert choose(AssignSpec(AssignPolicy.LEAST_LOADED), NEED, people, NOW).agent == "big"
    people = [agent("big", capacity=10, load=6), agent("small", capacity=2, load=1)]
    assert choose(AssignSpec(AssignPolicy.LEAST_LOADED), NEED, people, NOW).agent == "small"


def test_the_explanation_names_everyone_passed_over() -> None:
    people = [
        agent("ann", presence=Presence.OFFLINE),
        agent("bob", skills=frozenset()),
        agent("cy", load=5),
        agent("dee"),
    ]
    choice = choose(AssignSpec(AssignPolicy.LONGEST_IDLE), NEED, people, NOW)
    assert choice.explanation == (
        "ann: offline",
        "bob: lacks skill billing",
        "cy: at capacity on email (5 of 5)",
        "chosen dee by longest_idle: idle 0 s ago",
    )


def test_with_skills_preferred_the_skilled_come_first_then_anyone() -> None:
    spec = AssignSpec(AssignPolicy.LONGEST_IDLE, skills_required=False)
    skilled = agent("ann", idle_since=NOW)
    unskilled = agent("bob", skills=frozenset(), idle_since=NOW - timedelta(hours=1))
    assert choose(spec, NEED, [skilled, unskilled], NOW).agent == "ann"
    alone = choose(spec, NEED, [unskilled], NOW)
    assert alone.agent == "bob"
    assert alone.explanation[-1].endswith("(no eligible agent holds billing: skills are preferred)")


def test_nobody_eligible_leaves_the_ticket_waiting_and_says_so() -> None:
    spec = AssignSpec(AssignPolicy.ROUND_ROBIN)
    choice = choose(spec, NEED, [agent("ann", presence=Presence.AWAY)], NOW)
    assert choice.agent is None
    assert choice.explanation == ("ann: away", "nobody eligible: the ticket waits")


def shift(policy: AssignPolicy, seed: int) -> dict[str, int]:
    """Eight hours of email for 10 agents logging in 6 minutes apart, each for an 8-hour
    shift, capacity 3; a ticket every 20 s handled in 2-8 minutes. Counts per agent."""
    rng = random.Random(seed)
    start = NOW
    logins = {f"agent{i}": start + timedelta(minutes=6 * i) for i in range(10)}
    offered: dict[str, datetime | None] = dict.fromkeys(logins)
    idle: dict[str, datetime | None] = dict(logins)
    load = dict.fromkeys(logins, 0)
    releases: list[tuple[datetime, str]] = []
    counts = dict.fromkeys(logins, 0)
    backlog = 0
    for n in range(8 * 180):
        now = start + timedelta(seconds=20 * n)
        while releases and releases[0][0] <= now:
            at, name = heapq.heappop(releases)
            load[name] -= 1
            idle[name] = at if load[name] == 0 else None
        backlog += 1
        while backlog:
            on_shift = {n for n, at in logins.items() if at <= now < at + timedelta(hours=8)}
            people = [
                Candidate(name, Presence.ONLINE if name in on_shift else Presence.OFFLINE,
                          serves_queue=True, skills=frozenset(), capacity=3, load=load[name],
                          last_offered_at=offered[name], idle_since=idle[name])
                for name in logins
            ]  # fmt: skip
            chosen = choose(AssignSpec(policy), Need("q", "email"), people, now).agent
            if chosen is None:
                break
            backlog -= 1
            counts[chosen] += 1
            offered[chosen], idle[chosen], load[chosen] = now, None, load[chosen] + 1
            heapq.heappush(releases, (now + timedelta(minutes=rng.uniform(2, 8)), chosen))
    return counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_robin_spreads_a_shift_evenly_with_staggered_logins(seed: int) -> None:
    counts = list(shift(AssignPolicy.ROUND_ROBIN, seed).values())
    assert statistics.pstdev(counts) / statistics.mean(counts) <= 0.10


@pytest.mark.parametrize(
    ("assign", "problem"),
    [
        ("{policy: fastest}", "unknown policy"),
        ("{offer_timeout: soon}", "offer_timeout: not a duration"),
        ("{offer_timeout: 2s}", "offer_timeout must be at least 5s"),
        ("{skills: maybe}", "skills"),
        ("{polcy: manual}", "unknown key 'polcy'"),
    ],
    ids=["policy", "timeout-text", "timeout-short", "skills", "key"],
)
def test_a_wrong_assign_is_reported_on_its_queue(assign: str, problem: str) -> None:
    text = f"queues:\n  billing: {{assign: {assign}}}\ndefault: {{queue: billing}}\n"
    with pytest.raises(RuleError) as caught:
        load_ruleset(text, "rules.yaml")
    assert any("queue 'billing'" in p and problem in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_assign_is_read_with_its_defaults() -> None:
    text = (
        "queues:\n  billing: {assign: {policy: least_loaded, skills: preferred}}\n"
        "  general: {}\ndefault: {queue: general}\n"
    )
    queues = load_ruleset(text, "rules.yaml").queues
    assert queues["billing"].assign == AssignSpec(
        AssignPolicy.LEAST_LOADED, timedelta(seconds=120), skills_required=False
    )
    assert queues["general"].assign == AssignSpec()  # manual: agents claim, as before
