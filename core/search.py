"""Words of ticket texts, for `GET /api/tickets?q=`: one tokenizer for every backend.

A ticket matches a search when each word of the query is a word of its subject or of one
of its messages. Both stores index what `words` returns and look up what it returns for
the query, so they agree by construction: SQLite keeps the words in FTS5 tables (whose
`ascii` tokenizer splits them again on the spaces between them and changes nothing else),
Redis in sets of ticket ids per word, the words handed to its scripts from here.

A word is a run of letters and digits after NFKC normalisation and case folding, so
"Refund", "REFUND" and a full-width "refund" are one word, and "order-1234" is two. Combining marks
are not letters (as in SQLite's own unicode61 tokenizer): a word of a script that writes
vowels as marks splits at them, alike in texts and queries. Words longer than `MAX_WORD`
are cut to it (a pasted token or base64 line must not make a huge key).
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORD = 64
"""Characters kept of a word; a longer query word is cut alike, so it still finds its text."""

MAX_QUERY_WORDS = 16
"""Words one search may have (each is one more index to check per candidate ticket)."""

# Letters and digits: \w without the underscore, so "snake_case" is two words.
_WORD = re.compile(r"[^\W_]+")
# The same on a folded ASCII text (most texts), where letters are lower case: every byte
# but a-z and 0-9 turned into a space and split there, four times faster than the regex.
_ASCII_SPACES = bytes(c if c in b"abcdefghijklmnopqrstuvwxyz0123456789" else 32 for c in range(256))


def normalise(text: str) -> str:
    """The text as words are taken from it: compatibility forms and case folded away."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def words(text: str) -> tuple[str, ...]:
    """The distinct words of a text, sorted (what an index stores for one text)."""
    folded = normalise(text)
    if not folded.isascii():
        return tuple(sorted({word[:MAX_WORD] for word in _WORD.findall(folded)}))
    found = set(folded.encode("ascii").translate(_ASCII_SPACES).split())
    if found and max(map(len, found)) > MAX_WORD:
        found = {word[:MAX_WORD] for word in found}
    return tuple(word.decode("ascii") for word in sorted(found))  # bytes sort as ASCII text
