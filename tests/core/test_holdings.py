"""Replaying who held what from the record: double assignments and peaks are found."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.holdings import replay
from core.record import SYSTEM, Detail, EventKind, TicketEvent

AT = datetime(2026, 12, 2, tzinfo=UTC)


def event(seq: int, ticket: int, kind: EventKind, **detail: Detail) -> TicketEvent:
    return TicketEvent(seq, ticket, kind, SYSTEM, AT, detail)


def test_peaks_follow_assignments_and_resolutions() -> None:
    events = [
        event(1, 1, EventKind.ASSIGNED, to="ann"),
        event(2, 2, EventKind.ASSIGNED, to="ann"),
        event(3, 1, EventKind.STATUS, to="resolved"),
        event(4, 3, EventKind.ASSIGNED, to="ann"),
        event(5, 1, EventKind.STATUS, to="open"),  # reopened: held again
    ]
    found = replay(reversed(events), {1: "email", 2: "email", 3: "email"})
    assert found.peaks == {("ann", "email"): 3}
    assert found.held == {("ann", "email"): 3}
    assert found.over({"ann": {"email": 2}}) == ["ann held 3 on email (capacity 2)"]
    assert found.double_assignments == []


def test_an_assignment_over_another_holder_is_a_double_assignment() -> None:
    events = [
        event(1, 1, EventKind.ASSIGNED, to="ann"),
        event(2, 1, EventKind.ASSIGNED, to="bob"),
        event(3, 2, EventKind.ASSIGNED, to="cy"),
        event(4, 2, EventKind.UNASSIGNED, to=None),
        event(5, 2, EventKind.ASSIGNED, to="dee"),
    ]
    found = replay(events, {1: "sms", 2: "sms"})
    assert found.double_assignments == ["ticket 1: bob over ann"]


moves = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.sampled_from(["assign", "unassign", "resolve", "reopen"]),
        st.sampled_from(["ann", "bob"]),
    ),
    max_size=40,
)


@given(moves)
def test_what_is_held_at_the_end_never_exceeds_the_peak(steps: list[tuple[int, str, str]]) -> None:
    events = []
    for seq, (ticket, move, agent) in enumerate(steps, 1):
        if move == "assign":
            events.append(event(seq, ticket, EventKind.UNASSIGNED, to=None))
            events.append(event(seq + 1000, ticket, EventKind.ASSIGNED, to=agent))
        elif move == "unassign":
            events.append(event(seq, ticket, EventKind.UNASSIGNED, to=None))
        else:
            to = "resolved" if move == "resolve" else "open"
            events.append(event(seq, ticket, EventKind.STATUS, to=to))
    found = replay(events, dict.fromkeys(range(1, 5), "email"))
    for key, count in found.held.items():
        assert 0 <= count <= found.peaks.get(key, 0)
    assert sum(found.held.values()) <= 4
