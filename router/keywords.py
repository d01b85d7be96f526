"""One matcher for every `contains` keyword of a field, whatever the number of rules.

Text is split once into casefolded words; a single-word keyword is found by one set
intersection (in C), a phrase by a substring search of the words joined with spaces, tried
only when its first word occurs. So the cost of a field is linear in its length and nearly
flat in the number of keywords, and a phrase matches whole words across any punctuation or
spacing ("credit-card" and "Credit  card" both contain "credit card").

A merged RE2 set was the alternative; RE2::Set silently answers "no match" when its DFA
runs out of memory, which would misroute contacts without a trace.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# A fixed pattern, not a supervisor's: the stdlib engine runs it in linear time.
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def normalise_phrase(phrase: str) -> str:
    """The form a keyword is stored and found in: its words, casefolded, one space apart."""
    return " ".join(words(phrase))


@dataclass(frozen=True, slots=True)
class KeywordMatcher:
    singles: frozenset[str]
    firsts: frozenset[str]
    phrases: Mapping[str, tuple[str, ...]]
    """First word -> the multi-word phrases starting with it."""

    @classmethod
    def build(cls, keywords: Iterable[str]) -> KeywordMatcher:
        singles: set[str] = set()
        phrases: defaultdict[str, list[str]] = defaultdict(list)
        for keyword in set(keywords):
            first, space, _ = keyword.partition(" ")
            if space:
                phrases[first].append(keyword)
            else:
                singles.add(keyword)
        grouped = {first: tuple(sorted(group)) for first, group in phrases.items()}
        return cls(frozenset(singles), frozenset(grouped), grouped)

    def find(self, folded: str) -> frozenset[str]:
        """The keywords that occur in already casefolded text."""
        tokens = _WORD.findall(folded)
        present = set(tokens)
        found = present.intersection(self.singles)
        starts = present.intersection(self.firsts)
        if starts:
            joined = f" {' '.join(tokens)} "
            for first in starts:
                found.update(p for p in self.phrases[first] if f" {p} " in joined)
        return frozenset(found)
