"""The merged matchers find exactly what one search per keyword or pattern would find."""

from __future__ import annotations

import re

import pytest
import re2
from hypothesis import given
from hypothesis import strategies as st

from router.keywords import KeywordMatcher, normalise_phrase, words
from router.patterns import PatternMatcher
from router.spec import Limits

VOCABULARY = ["refund", "credit", "card", "Crédit", "is", "down", "straße", "42"]
KEYWORDS = ["refund", "credit card", "card", "is down", "strasse", "42", "down is down"]
PATTERNS = [r"(?i)\bcard\b", r"\d{2}", r"^refund", r"down$", r"(?i)cr[eé]dit\s+card", r"é"]


def naive_contains(text: str, keyword: str) -> bool:
    return re.search(rf"(?:^| ){re.escape(keyword)}(?: |$)", " ".join(words(text))) is not None


separators = st.sampled_from([" ", "  ", "-", ", ", "\n", "!"])
texts = st.lists(st.tuples(st.sampled_from(VOCABULARY), separators), max_size=12).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@given(texts)
def test_keyword_matcher_finds_exactly_the_keywords_a_word_search_finds(text: str) -> None:
    matcher = KeywordMatcher.build(normalise_phrase(k) for k in KEYWORDS)
    expected = {normalise_phrase(k) for k in KEYWORDS if naive_contains(text, normalise_phrase(k))}
    assert matcher.find(text.casefold()) == expected


@given(texts | st.text(max_size=100))
def test_pattern_matcher_finds_exactly_the_patterns_a_search_finds(text: str) -> None:
    matcher = PatternMatcher.build(PATTERNS, Limits())
    encoded = text.encode("utf-8", "replace")
    expected = {p for p in PATTERNS if re2.search(p, encoded)}
    assert matcher.find(encoded) == expected


@pytest.mark.parametrize(
    ("phrase", "normal"),
    [
        pytest.param("Credit  Card", "credit card", id="spaces-and-case"),
        pytest.param("credit-card!", "credit card", id="punctuation"),
        pytest.param("STRASSE", "strasse", id="casefold"),
        pytest.param("Straße", "strasse", id="casefold-expands"),
    ],
)
def test_keywords_are_normalised_to_casefolded_words(phrase: str, normal: str) -> None:
    assert normalise_phrase(phrase) == normal
