"""What the SLA follow holds of the record (hub/desk/sla_records.py): a ticket is known
whole from its `created` event on, extended batch by batch, never twice the same event,
within a bound on the events held, and nothing once another watcher moved the checkpoint."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from core.record import SYSTEM, Actor, EventKind, TicketEvent
from hub.desk.sla_records import LONGEST, Records, created_at, pack, unpack
from tests.support import T0

CREATED, MESSAGE, PURGED = EventKind.CREATED, EventKind.MESSAGE_IN, EventKind.PURGED


def events(*kinds: tuple[int, int, EventKind]) -> list[TicketEvent]:
    return [TicketEvent(seq, ticket, kind, SYSTEM, T0) for seq, ticket, kind in kinds]


def seqs(record: Sequence[TicketEvent]) -> list[int]:
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


def test_a_held_record_reads_as_the_events_that_were_taken() -> None:
    taken = [
        TicketEvent(1, 7, EventKind.CREATED, Actor.by_rule("vip"), T0,
                    {"queue": "vip", "priority": "high", "rule": "vip"}),
        TicketEvent(2, 7, EventKind.MESSAGE_IN, Actor.customer(3), T0,
                    {"message_id": 9, "channel": "sms"}),
        TicketEvent(3, 7, EventKind.TAGS, Actor.agent("ann"), T0, {"added": ("a", "b")}),
    ]  # fmt: skip
    records = Records()
    records.resume(0)
    held = records.take(taken)[7]
    assert list(held) == taken
    assert (held[0], held[-1], held[1:]) == (taken[0], taken[-1], taken[1:])
    assert all(unpack(pack(event)) == event for event in taken)


def test_what_is_held_is_not_walked_by_the_garbage_collector() -> None:
    """Held as tuples of plain values, which the collector stops tracking after a pass:
    a thousand records held add next to nothing to what it walks (as objects: 2,000)."""
    records = Records()
    records.resume(0)
    batch = events(*((n, n, CREATED) for n in range(1, 1001)))
    gc.collect()
    before = len(gc.get_objects())
    assert len(records.take(batch)) == 1000
    del batch
    gc.collect()
    gc.collect()  # a record's tuple is let go a pass after the events' tuples in it
    assert len(gc.get_objects()) - before < 500


def test_when_a_ticket_was_made_is_read_alike_from_a_held_record_and_a_list() -> None:
    records = Records()
    records.resume(0)
    made, later = events((1, 7, CREATED), (2, 7, MESSAGE)), events((3, 8, MESSAGE))
    held = records.take(made)[7]
    assert created_at(held) == created_at(made) == T0
    assert created_at(later) is None
    assert created_at([]) is None
    records.keep(8, later)  # a record read whole, not starting with its `created`
    records.moved(3)
    records.resume(3)
    assert created_at(records.take(events((4, 8, MESSAGE)))[8]) is None
