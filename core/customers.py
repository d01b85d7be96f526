"""What agents do to customers: find them, edit them, merge two and undo a merge.

A search (`CustomerQuery`) names identity keys, found exactly, and name words, each found as
the prefix of a word of the name, or an email domain: the customers with an address there.
Both backends index names by `name_words`, the one rule that turns a name (or what an agent
typed) into words: case-folded, accents dropped.

A merge moves everything of one customer (`other`) to another (`survivor`) and is kept as a
`CustomerMerge` that says exactly what moved, so that an unmerge puts it all back.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from core.errors import PayloadError
from core.identity import EMAIL, SLACK, email_identity, normalise_phone
from core.model import Identity

MAX_NAME_WORDS = 10
MAX_WORD_CHARS = 32
"""Caps on what one name puts in the index (a query is cut the same way, so it still finds)."""

_WORD = re.compile(r"[^\W_]+")
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{6,}")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]*\d[A-Z0-9]*")  # U0123ABC: always holds a digit
_DOMAIN = re.compile(r"(@?)((?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}[\w-]*)\.?")
"""An email domain, "@acme.com" or "acme.com": labels of letters, digits and hyphens (any
script), the last starting with two letters."""
EMAIL_KEY = f"{EMAIL}:"
"""How an address's identity key starts ("email:ada@acme.com")."""
DOMAIN_CURSOR = re.compile(rf"{EMAIL_KEY}[^\x00-\x1f]{{1,400}}")
"""A domain search's cursor: the key of the last address its page listed."""


@functools.lru_cache(maxsize=65536)
def name_words(name: str) -> tuple[str, ...]:
    """The words a name is found by, in order and once each: "Élodie  O'Brien" gives
    ("elodie", "o", "brien"). Cached: the ingest asks for every named contact, and the same
    senders come back again and again."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    words = (word[:MAX_WORD_CHARS] for word in _WORD.findall(plain))
    return tuple(dict.fromkeys(words))[:MAX_NAME_WORDS]


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """Customers owning one of `identities` (keys, e.g. "phone:+15552010042"), then those whose
    name has, for every one of `words`, a word starting with it."""

    identities: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    domain: str = ""
    """An email domain (lower case): customers with an address at exactly it, listed by
    address, the rest of the query aside (the stores answer it alone)."""
    strict: bool = True
    """Whether the domain was asked for as one ("@acme.com"), not a name that looks like
    one ("j.smith"): a search of a bare domain that finds no address finds by name instead."""

    def by_name(self) -> CustomerQuery:
        """The same search without its domain."""
        return CustomerQuery(self.identities, self.words)


def customer_query(text: str, default_region: str) -> CustomerQuery:
    """What an agent typed, as a query: an email address or a phone number is looked up as
    that identity alone; "@acme.com" or "acme.com" as a domain; anything else as a name
    (and as a Slack user id when it looks like one)."""
    text = text.strip()
    domain = _DOMAIN.fullmatch(text.lower())  # as email_identity keeps addresses
    if domain:
        words = () if domain[1] else name_words(text)
        return CustomerQuery(words=words, domain=domain[2], strict=bool(domain[1]))
    if "@" in text:
        try:
            return CustomerQuery((email_identity(text).key,))
        except PayloadError:
            pass
    if _PHONE_LIKE.fullmatch(text):
        try:
            return CustomerQuery((Identity("phone", normalise_phone(text, default_region)).key,))
        except PayloadError:
            return CustomerQuery()
    slack = text.upper()
    identities = (Identity(SLACK, slack).key,) if _SLACK_USER.fullmatch(slack) else ()
    return CustomerQuery(identities, name_words(text))


@dataclass(frozen=True, slots=True)
class CustomerChange:
    """An agent's edit of a customer; None leaves a field as it is. Tags replace the old ones
    (the rules' `customer.tags` see them from the next contact on)."""

    name: str | None = None
    tags: tuple[str, ...] | None = None


def tag_key(tag: str) -> str:
    """What makes two tags one (the rules fold case: `VIP` and `vip`)."""
    return tag.casefold()


def tags_added(survivor: tuple[str, ...], other: tuple[str, ...]) -> tuple[str, ...]:
    """The other's tags a merge adds to the survivor's: those it has in no case, once each,
    as the other spells them (the survivor keeps its own spelling of the rest)."""
    had = {tag_key(tag) for tag in survivor}
    added: dict[str, str] = {}
    for tag in other:
        if tag_key(tag) not in had:
            added.setdefault(tag_key(tag), tag)
    return tuple(added.values())


@dataclass(frozen=True, slots=True)
class CustomerMerge:
    """`other` merged into `survivor` by `by` at `at`, and exactly what moved."""

    id: int
    survivor: int
    other: int
    by: str
    at: datetime
    identities: tuple[Identity, ...]
    """Every identity of the other, now the survivor's."""
    tickets: tuple[int, ...]
    """Every ticket of the other, now the survivor's (oldest first)."""
    tags: tuple[str, ...]
    """The other's tags: they go back to it on unmerge."""
    added_tags: tuple[str, ...]
    """Those of the other's tags the survivor did not have: it loses them on unmerge."""
    undone_by: str | None = None
    undone_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.undone_at is None
