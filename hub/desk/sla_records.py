"""The records the SLA watcher's follow already holds, so it need not read them again.

The follow reads the record in order, a batch at a time past its checkpoint, and used to
read the whole record of every ticket a batch touched as well: a read per contact (a hop
to a reader thread and back, every event decoded again), ~20 % of the hub's CPU under a
stream of webhooks. But a ticket's record is what the follow has seen of it: its events
are numbered in commit order, so a ticket whose `created` event is in a batch, or whose
record the follow read or assembled before, is known whole up to the batch's end from the
batch itself.

That holds while this watcher alone moves the checkpoint on: another instance (or this
one before a restart) may have taken batches it never saw, so when the checkpoint is not
where it left it, everything held is dropped. Marks computed from a record held here are
written only if no event came after it (`Store.set_sla` checks the basis), so a record
short of an event can cost a round's marks, never keep wrong ones.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from core.record import EventKind, TicketEvent

KEPT = 50_000
"""Events held, of the most recently touched tickets (~0.5 KB each: ~25 MB at most)."""
LONGEST = 1_000
"""A record longer than this (a long chat) is read each time, not held."""
_DROPPED = frozenset({EventKind.PURGED, EventKind.CUSTOMER_ERASED})
"""After these the store's copy changed (personal data gone): not held in memory."""


class Records:
    """The whole records of the tickets the follow touched lately (the least recently
    touched dropped first)."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._records: OrderedDict[int, list[TicketEvent]] = OrderedDict()
        self._held = 0  # events in the records held
        self.upto = -1
        """The checkpoint this watcher last moved the follow to (-1: none yet)."""

    def resume(self, checkpoint: int) -> None:
        """The follow starts a round at `checkpoint`: hold nothing unless it was ours."""
        if checkpoint != self.upto:
            self._records.clear()
            self._held = 0
            self.upto = checkpoint

    def take(self, batch: Sequence[TicketEvent]) -> dict[int, list[TicketEvent]]:
        """The next events past the checkpoint, in order; the whole records (up to the
        batch's end) of the tickets they touch that are known from them."""
        touched: dict[int, list[TicketEvent]] = {}
        for event in batch:
            touched.setdefault(event.ticket_id, []).append(event)
        known: dict[int, list[TicketEvent]] = {}
        for ticket_id, events in touched.items():
            record = self._extended(ticket_id, events)
            if record is not None:
                known[ticket_id] = record
        return known

    def _extended(self, ticket_id: int, events: list[TicketEvent]) -> list[TicketEvent] | None:
        held = self._records.get(ticket_id)
        if held is None and events[0].kind is not EventKind.CREATED:
            return None  # older than what this watcher saw: read it whole
        if held is not None:  # a batch taken again (its round failed) adds nothing twice
            last = held[-1].seq
            events = held + [e for e in events if e.seq > last]
        self.keep(ticket_id, events)
        return events

    def keep(self, ticket_id: int, record: list[TicketEvent]) -> None:
        """A ticket's whole record as read (or assembled) now."""
        self.forget(ticket_id)
        if len(record) > LONGEST or any(event.kind in _DROPPED for event in record):
            return
        self._records[ticket_id] = record
        self._held += len(record)
        while self._held > self._kept:
            _, oldest = self._records.popitem(last=False)
            self._held -= len(oldest)

    def forget(self, ticket_id: int) -> None:
        self._held -= len(self._records.pop(ticket_id, ()))

    def moved(self, checkpoint: int) -> None:
        """This watcher moved the checkpoint to `checkpoint`."""
        self.upto = checkpoint
