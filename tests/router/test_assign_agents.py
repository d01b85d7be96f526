"""Assignment from stored agents: what the policy sees of an agent, who may claim, tickets an
agent declined, and the explanation as a person reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.model import Role
from core.people import DEFAULT_CAPACITY, Agent, Presence, WaitingTicket
from router.assign import Need, candidate, choose, claim_refusal, compact
from router.spec import AssignPolicy, AssignSpec

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def stored(name: str, **fields: object) -> Agent:
    values: dict[str, object] = {
        "roles": frozenset({Role.AGENT}), "skills": frozenset({"billing"}),
        "capacity": dict(DEFAULT_CAPACITY), "queues": frozenset(), "presence": Presence.ONLINE,
        "created_at": NOW - timedelta(hours=1), "online_since": NOW - timedelta(minutes=30),
    }  # fmt: skip
    values.update(fields)
    return Agent(name, **values)  # type: ignore[arg-type]  # fields as a test passes them


WAITING = WaitingTicket(7, "billing", "sms", 1, NOW, frozenset({"billing"}), frozenset())


def test_a_stored_agent_is_seen_on_the_tickets_channel() -> None:
    ann = stored("ann", load={"sms": 2, "email": 9}, queues=frozenset({"sales"}))
    seen = candidate(ann, Need.of(WAITING), NOW)
    assert (seen.capacity, seen.load, seen.serves_queue) == (DEFAULT_CAPACITY["sms"], 2, False)
    assert seen.idle_since is None  # holding tickets


def test_idle_since_is_the_later_of_coming_online_and_the_last_ticket_taken() -> None:
    ann = stored("ann", last_assigned_at=NOW - timedelta(minutes=5))
    assert ann.idle_since() == NOW - timedelta(minutes=5)
    assert stored("bob").idle_since() == NOW - timedelta(minutes=30)
    assert stored("cy", presence=Presence.AWAY).idle_since() is None


def test_an_agent_who_declined_a_ticket_is_not_offered_it_again() -> None:
    declined = WaitingTicket(7, "billing", "sms", 1, NOW, frozenset(), frozenset({"ann"}))
    need = Need.of(declined)
    spec = AssignSpec(AssignPolicy.ROUND_ROBIN)
    choice = choose(spec, need, [candidate(stored(n), need, NOW) for n in ("ann", "bob")], NOW)
    assert choice.agent == "bob"
    assert "ann: declined this ticket before" in choice.explanation


def test_a_claim_needs_capacity_and_the_skills_when_they_are_required() -> None:
    need = Need.of(WAITING)
    full = stored("ann", load={"sms": DEFAULT_CAPACITY["sms"]})
    assert claim_refusal(full, need, skills_required=True) == "at capacity on sms (5 of 5)"
    unskilled = stored("bob", skills=frozenset())
    assert claim_refusal(unskilled, need, skills_required=True) == "lacks skill billing"
    assert claim_refusal(unskilled, need, skills_required=False) is None
    assert claim_refusal(stored("cy", presence=Presence.AWAY), need, skills_required=True) is None


def test_compact_groups_everyone_passed_over_by_reason() -> None:
    lines = (
        *(f"agent{i:02d}: offline" for i in range(12)),
        "bob: at capacity on sms (5 of 5)",
        "chosen ann by round_robin: never offered",
    )
    assert compact(lines) == (
        "offline: agent00, agent01, agent02, agent03, agent04, agent05, agent06, agent07, +4 more",
        "at capacity on sms (5 of 5): bob",
        "chosen ann by round_robin: never offered",
    )


names = st.sampled_from([f"a{i}" for i in range(20)])
reasons = st.sampled_from(["offline", "away", "lacks skill billing"])


@given(st.lists(st.tuples(names, reasons), max_size=40))
def test_compact_keeps_every_reason_and_counts_every_name(passed: list[tuple[str, str]]) -> None:
    lines = (*tuple(f"{n}: {r}" for n, r in passed), "chosen x by round_robin: never offered")
    out = compact(lines)
    assert out[-1] == lines[-1]
    for reason in {r for _, r in passed}:
        (line,) = [o for o in out if o.startswith(f"{reason}: ")]
        count = sum(1 for _, r in passed if r == reason)
        shown = line.removeprefix(f"{reason}: ").split(", ")
        more = int(shown[-1].split()[0][1:]) if shown[-1].startswith("+") else 0
        assert len([s for s in shown if not s.startswith("+")]) + more == count
