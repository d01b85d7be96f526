"""The ticket workflow: status moves, reopening, waiting (core/workflow.py), and where
escalations go (router/workflow.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleError
from core.model import ACTIVE_STATUSES, Status
from core.workflow import after_customer_message, allowed_moves, may_move, movable_to, waits
from router.engine import load_ruleset
from router.workflow import dropped_with_work, escalation_target

N, OP, P, R, C = Status.NEW, Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED
ALLOWED = {(N, OP), (N, P), (N, R), (N, C), (OP, P), (OP, R), (OP, C), (P, OP), (P, R), (P, C),
           (R, OP), (R, P), (R, C)}  # fmt: skip


@pytest.mark.parametrize(
    ("current", "wanted"),
    [(a, b) for a in Status for b in Status if a != b],
    ids=str,
)
def test_every_move_is_allowed_or_refused_as_the_table_says(
    current: Status, wanted: Status
) -> None:
    assert may_move(current, wanted) is ((current, wanted) in ALLOWED)
    assert (wanted in allowed_moves(current)) is ((current, wanted) in ALLOWED)
    assert (current in movable_to(wanted)) is ((current, wanted) in ALLOWED)


def test_nothing_leaves_closed_and_nothing_returns_to_new() -> None:
    assert allowed_moves(C) == ()
    assert all(N not in allowed_moves(s) for s in Status)


def test_allowed_moves_are_listed_in_workflow_order() -> None:
    assert allowed_moves(N) == (OP, P, R, C)
    assert allowed_moves(R) == (OP, P, C)


@given(st.sampled_from(Status))
def test_staying_is_no_move_and_closing_is_always_possible_until_closed(status: Status) -> None:
    assert may_move(status, status)
    assert may_move(status, C)


@given(st.lists(st.sampled_from(Status), max_size=12))
def test_any_walk_of_allowed_moves_can_still_reach_closed(walk: list[Status]) -> None:
    current = N
    for wanted in walk:
        if may_move(current, wanted):
            current = wanted
    assert current is C or C in allowed_moves(current)


@pytest.mark.parametrize(
    ("current", "after"),
    [(N, N), (OP, OP), (P, OP), (R, OP), (C, None)],
    ids=["new-stays-new", "open-stays", "pending-reopens", "resolved-reopens", "closed-refuses"],
)
def test_a_customer_message_reopens_pending_and_resolved(
    current: Status, after: Status | None
) -> None:
    assert after_customer_message(current) == after


@given(st.sampled_from(Status), st.one_of(st.none(), st.text(min_size=1, max_size=5)))
def test_live_work_is_held_or_waiting_never_neither(status: Status, assignee: str | None) -> None:
    held = assignee is not None
    assert waits(status, assignee) is (status in ACTIVE_STATUSES and not held)
    if status in ACTIVE_STATUSES:
        assert held or waits(status, assignee)


QUEUES = """\
queues:
  general: {}
  billing: {tier: 1, escalate_to: billing_l2}
  billing_l2: {tier: 2}
  technical: {tier: 2}
  experts: {tier: 3}
  callbacks: {kind: outbound, tier: 3}
default: {queue: general}
"""


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("billing", "billing_l2"),  # its own escalate_to
        ("general", "billing_l2"),  # the next tier up, by name among equals
        ("billing_l2", "experts"),  # outbound queues are never an escalation's target
        ("technical", "experts"),
        ("experts", None),  # the top
        ("gone", "billing_l2"),  # a queue the rules no longer have counts as tier 1
    ],
)
def test_an_escalation_goes_to_escalate_to_else_the_next_tier(
    current: str, target: str | None
) -> None:
    queues = load_ruleset(QUEUES, "rules.yaml").queues
    assert escalation_target(queues, current) == target


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("billing: {escalate_to: biling_l2}",
         "rules.yaml:3: queue 'billing': escalate_to: unknown queue 'biling_l2' "
         "(did you mean 'billing_l2'?)"),
        ("billing: {escalate_to: billing}",
         "rules.yaml:3: queue 'billing': escalate_to names the queue itself"),
    ],
    ids=["unknown-queue", "itself"],
)  # fmt: skip
def test_a_wrong_escalate_to_is_reported_with_its_line(line: str, problem: str) -> None:
    text = f"queues:\n  general: {{}}\n  {line}\n  billing_l2: {{tier: 2}}\n"
    text += "default: {queue: general}\n"
    with pytest.raises(RuleError) as caught:
        load_ruleset(text, "rules.yaml")
    assert problem in caught.value.problems


def test_new_rules_may_not_drop_a_queue_that_holds_live_tickets() -> None:
    queues = load_ruleset(
        "queues:\n  general: {}\n  billing: {}\n  sales: {}\ndefault: {queue: general}\n",
        "rules.yaml",
    ).queues
    kept = {name: spec for name, spec in queues.items() if name == "general"}
    live = {"billing": 2, "sales": 0, "campaign-q": 4}
    assert dropped_with_work(queues, kept, live) == [
        "queue 'billing' holds 2 live tickets and these rules drop it: transfer them to "
        "another queue first, or keep the queue"
    ]  # sales is empty; campaign-q was never the rules' to drop
    assert dropped_with_work(queues, queues, live) == []
    assert dropped_with_work(queues, kept, {"billing": 1}) == [
        "queue 'billing' holds 1 live ticket and these rules drop it: transfer it to "
        "another queue first, or keep the queue"
    ]
