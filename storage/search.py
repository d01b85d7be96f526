"""Pages of a customer search, laid out the same way by every backend.

The first page holds the owners of the query's identities, then customers found by name;
the later pages only customers found by name, after a cursor "WORD:ID" (the index entry of
the last one). A customer is found by name at the first word of its name (in index order)
that starts with the query's first word, so it appears once however many of its words do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.customers import DOMAIN_CURSOR
from core.errors import InvalidRequest
from core.model import Customer, Page, whole_id

NameHit = tuple[str, Customer]
"""A customer found by name, with the word of its name that the index found it at."""


@dataclass(frozen=True, slots=True)
class NameCursor:
    """Where a search by name goes on: after this entry of the index."""

    word: str = ""
    customer_id: int = 0

    def __str__(self) -> str:
        return f"{self.word}:{self.customer_id}"


def parse_cursor(cursor: str | None) -> NameCursor | None:
    """The cursor of a search page; None for the first page."""
    if cursor is None:
        return None
    word, colon, number = cursor.rpartition(":")
    after = whole_id(number)
    if not colon or after is None:
        raise InvalidRequest(f"not a cursor: {cursor[:40]!r}")
    return NameCursor(word, after)


def prefix_end(prefix: str) -> str:
    """Above every text that starts with `prefix`, in code point (and UTF-8 byte) order."""
    return prefix + "\U0010ffff"


def search_page(
    owners: Sequence[Customer],
    hits: Sequence[NameHit],
    room: int,
    after: NameCursor,
    resume: NameCursor | None = None,
) -> Page[Customer]:
    """The page: `owners` (none after the first page), then up to `room` of `hits`, which
    the backend found after `after`, up to room + 1 of them. A backend that stopped looking
    early (Redis caps one call's work) says where to resume."""
    items = (*owners, *(customer for _, customer in hits[:room]))
    if len(hits) <= room:
        return Page(items, None if resume is None else str(resume))
    if room == 0:
        return Page(items, str(after))
    word, last = hits[room - 1]
    return Page(items, str(NameCursor(word, last.id)))


def domain_cursor(cursor: str | None) -> str:
    """Where a domain search goes on: after this address's key ("" for the first page)."""
    if cursor is None:
        return ""
    if not DOMAIN_CURSOR.fullmatch(cursor):
        raise InvalidRequest(f"not a cursor: {cursor[:40]!r}")
    return cursor


def domain_page(found: Sequence[tuple[str, Customer]], limit: int) -> Page[Customer]:
    """A page of a domain search from up to limit + 1 addresses in key order, each with its
    owner: the owners of the first `limit`, each once (a customer with two addresses there
    is listed at the first), and the cursor after the last when there is more."""
    page = found[:limit]
    owners: dict[int, Customer] = {}
    for _, customer in page:
        owners.setdefault(customer.id, customer)
    return Page(tuple(owners.values()), page[-1][0] if len(found) > limit else None)
