"""Forgetting on purpose: closed tickets past their retention, and a customer's erasure.

A purged ticket is gone (its messages, attachments, search words, offers, SLA deadlines
and index entries) but its record stays, ending with a `purged` event: the record is what
reports and the live stream read, so the figures of past periods do not move, and a
reader following the stream hears that the ticket went. An erased customer keeps their
tickets and records, stripped of everything that says who they are or what they wrote:
identities, name, message texts, subjects, attachments, search words, the keys that name
them; each ticket's record gains a `customer_erased` event. Both operations say what they
removed, and which attachment blobs no message refers to any more (the hub deletes those
files: the store never touches the disk's blobs).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Purge:
    """One batch of the retention sweeper: the tickets purged, what went with them."""

    tickets: tuple[int, ...] = ()
    messages: int = 0
    attachments: int = 0
    blobs: tuple[str, ...] = ()
    """sha256 of the blobs no remaining message refers to."""

    def as_json(self) -> dict[str, object]:
        return {
            "tickets": list(self.tickets),
            "messages": self.messages,
            "attachments": self.attachments,
            "blobs": len(self.blobs),
        }


@dataclass(frozen=True, slots=True)
class Erasure:
    """The receipt of a customer's erasure: counts of what was erased, never its content."""

    customer_id: int
    customers: tuple[int, ...] = ()
    """The customer and every customer merged into it (one person)."""
    identities: int = 0
    tickets: tuple[int, ...] = ()
    closed: tuple[int, ...] = ()
    """Those of the tickets that were live work (new, open, pending): closed by the erasure,
    as nothing is left on them to work on or anyone to answer."""
    messages: int = 0
    attachments: int = 0
    search_entries: int = 0
    """Search rows (SQLite: FTS5 rows of subjects and messages; Redis: ticket-word entries)
    and name-index entries."""
    keys: int = 0
    """Lookup keys that named the customer or their messages (identities, dedupe and
    thread keys, SMS consent, rate-limit keys; on Redis also keys deleted whole)."""
    events_scrubbed: int = 0
    """Events of the record whose free text (notes, reasons) was blanked."""
    blobs: tuple[str, ...] = field(default=(), repr=False)
    """sha256 of the blobs no remaining message refers to (the hub deletes the files)."""
    blobs_deleted: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "customers": list(self.customers),
            "identities": self.identities,
            "tickets": list(self.tickets),
            "closed": list(self.closed),
            "messages": self.messages,
            "attachments": self.attachments,
            "blobs_deleted": self.blobs_deleted,
            "search_entries": self.search_entries,
            "keys": self.keys,
            "events_scrubbed": self.events_scrubbed,
        }


SCRUBBED_DETAILS = frozenset({"body", "note", "reason"})
"""Event detail fields that hold free text someone wrote (a note, a transfer's note, an
escalation's reason): blanked on an erased customer's tickets, since they may quote them."""
