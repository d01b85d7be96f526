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

Events are held packed, as tuples of plain values (`Packed`), and made into TicketEvents
again only when read (`Held`): what is held lives long, and held as objects (an event, its
actor, a list per ticket) it was nearly all the garbage collector walked in a hub under
load, ~97,000 objects at 50,000 events, so its full passes took 40-73 ms. A tuple of plain
values is one the collector stops tracking (a record's tuple of them, a pass later).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import chain
from typing import Any, overload

from core.record import Actor, ActorKind, EventKind, TicketEvent

KEPT = 50_000
"""Events held, of the most recently touched tickets (~0.5 KB each: ~25 MB at most)."""
LONGEST = 1_000
"""A record longer than this (a long chat) is read each time, not held."""
_DROPPED = frozenset({EventKind.PURGED.value, EventKind.CUSTOMER_ERASED.value})
"""After these the store's copy changed (personal data gone): not held in memory."""
_CREATED = EventKind.CREATED.value

Packed = tuple[Any, ...]
"""An event as held: seq, ticket, kind, the actor's kind and name, time, then the detail's
keys and values in turn. Plain values, in one tuple: the collector keeps tracking a tuple
that holds an enum member or a dict (even an empty one), and stops tracking one of plain
values only once its parts were seen untracked (a level per pass)."""

_KINDS = {kind.value: kind for kind in EventKind}
_ACTORS = {kind.value: kind for kind in ActorKind}


def pack(event: TicketEvent) -> Packed:
    actor = event.actor
    head = (event.seq, event.ticket_id, event.kind.value, actor.kind.value, actor.name, event.at)
    detail = event.detail
    return head + tuple(chain.from_iterable(detail.items())) if detail else head


def unpack(packed: Packed) -> TicketEvent:
    seq, ticket_id, kind, actor_kind, actor_name, at = packed[:6]
    detail = dict(zip(packed[6::2], packed[7::2], strict=True))
    actor = Actor(_ACTORS[actor_kind], actor_name)
    return TicketEvent(seq, ticket_id, _KINDS[kind], actor, at, detail)


class Held(Sequence[TicketEvent]):
    """A record as held, read as TicketEvents made again on each read."""

    __slots__ = ("packed",)

    def __init__(self, packed: tuple[Packed, ...]) -> None:
        self.packed = packed

    def __len__(self) -> int:
        return len(self.packed)

    @overload
    def __getitem__(self, index: int) -> TicketEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[TicketEvent]: ...

    def __getitem__(self, index: int | slice) -> TicketEvent | list[TicketEvent]:
        if isinstance(index, slice):
            return [unpack(packed) for packed in self.packed[index]]
        return unpack(self.packed[index])

    def __iter__(self) -> Iterator[TicketEvent]:
        return map(unpack, self.packed)


def created_at(record: Sequence[TicketEvent]) -> datetime | None:
    """When the ticket was made, if its record starts with its `created` event (a held one's
    read without making the event again: the follow asks it of every ticket it touches)."""
    if not record:
        return None
    if isinstance(record, Held):
        first = record.packed[0]
        return first[5] if first[2] == _CREATED else None
    event = record[0]
    return event.at if event.kind is EventKind.CREATED else None


class Records:
    """The whole records of the tickets the follow touched lately (the least recently
    touched dropped first)."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._records: OrderedDict[int, tuple[Packed, ...]] = OrderedDict()
        self._held = 0  # events in the records held
        self.upto = -1
        """The checkpoint this watcher last moved the follow to (-1: none yet)."""

    def resume(self, checkpoint: int) -> None:
        """The follow starts a round at `checkpoint`: hold nothing unless it was ours."""
        if checkpoint != self.upto:
            self._records.clear()
            self._held = 0
            self.upto = checkpoint

    def take(self, batch: Sequence[TicketEvent]) -> dict[int, Held]:
        """The next events past the checkpoint, in order; the whole records (up to the
        batch's end) of the tickets they touch that are known from them."""
        touched: dict[int, list[TicketEvent]] = {}
        for event in batch:
            touched.setdefault(event.ticket_id, []).append(event)
        known: dict[int, Held] = {}
        for ticket_id, events in touched.items():
            record = self._extended(ticket_id, events)
            if record is not None:
                known[ticket_id] = Held(record)
        return known

    def _extended(self, ticket_id: int, events: list[TicketEvent]) -> tuple[Packed, ...] | None:
        held = self._records.get(ticket_id)
        if held is None and events[0].kind is not EventKind.CREATED:
            return None  # older than what this watcher saw: read it whole
        if held is None:
            record = tuple(map(pack, events))
        else:  # a batch taken again (its round failed) adds nothing twice
            last = held[-1][0]  # its seq
            record = held + tuple(pack(e) for e in events if e.seq > last)
        self._hold(ticket_id, record)
        return record

    def keep(self, ticket_id: int, record: Sequence[TicketEvent]) -> None:
        """A ticket's whole record as read (or assembled) now."""
        self._hold(ticket_id, tuple(map(pack, record)))

    def _hold(self, ticket_id: int, record: tuple[Packed, ...]) -> None:
        self.forget(ticket_id)
        if len(record) > LONGEST or any(packed[2] in _DROPPED for packed in record):
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
