"""What the SLA follow holds of the record (hub/desk/sla_records.py): a ticket is known
whole from its `created` event on, extended batch by batch, never twice the same event,
within a bound on the events held, and nothing once another watcher moved the checkpoint."""

from __future__ import annotations

from core.record import SYSTEM, EventKind, TicketEvent
from hub.desk.sla_records import LONGEST, Records
from tests.support import T0

CREATED, MESSAGE, PURGED = EventKind.CREATED, EventKind.MESSAGE_IN, EventKind.PURGED


def events(*kinds: tuple[int, int, EventKind]) -> list[TicketEvent]:
    return [TicketEvent(seq, ticket, kind, SYSTEM, T0) for seq, ticket, kind in kinds]


def seqs(record: list[TicketEvent]) -> list[int]:
    return [event.seq for event in record]


def test_a_ticket_seen_created_is_known_whole_and_extended_batch_by_batch() -> None:
    records = Records()
    records.resume(0)
    known = records.take(events((1, 7, CREATED), (2, 7, MESSAGE), (3, 8, MESSAGE)))
    assert {ticket: seqs(record) for ticket, record in known.items()} == {7: [1, 2]}
    records.moved(3)
    records.resume(3)
    known = records.take(events((4, 8, MESSAGE), (5, 7, MESSAGE)))
    assert {ticket: seqs(record) for ticket, record in known.items()} == {7: [1, 2, 5]}


def test_a_batch_taken_again_adds_nothing_twice() -> None:
    records = Records()
    records.resume(0)
    batch = events((1, 7, CREATED), (2, 7, MESSAGE))
    records.take(batch)
    assert seqs(records.take(batch)[7]) == [1, 2]  # the round failed: the same batch again


def test_a_checkpoint_this_watcher_did_not_move_drops_everything_held() -> None:
    records = Records()
    records.resume(0)
    records.take(events((1, 7, CREATED)))
    records.moved(1)
    records.resume(5)  # another watcher took 2..5
    assert records.take(events((6, 7, MESSAGE))) == {}


def test_the_least_recently_touched_go_first_past_the_bound() -> None:
    records = Records(kept=4)
    records.resume(0)
    records.take(events((1, 1, CREATED), (2, 1, MESSAGE), (3, 2, CREATED), (4, 2, MESSAGE)))
    records.take(events((5, 1, MESSAGE)))  # ticket 1 touched again: ticket 2 goes
    assert records.take(events((6, 2, MESSAGE))) == {}


def test_long_records_and_records_with_personal_data_gone_are_not_held() -> None:
    records = Records()
    records.resume(0)
    long = events(*((n, 1, CREATED if n == 1 else MESSAGE) for n in range(1, LONGEST + 2)))
    assert len(records.take(long)[1]) == LONGEST + 1  # known for this round
    assert records.take(events((LONGEST + 2, 1, MESSAGE))) == {}  # not held after it
    records.take(events((LONGEST + 3, 2, CREATED), (LONGEST + 4, 2, PURGED)))
    assert records.take(events((LONGEST + 5, 2, MESSAGE))) == {}
