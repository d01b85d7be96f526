"""The one tokenizer both stores index with: words, their normal form, and its stability."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.search import MAX_WORD, words

FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in string.ascii_letters}  # "A" -> U+FF21


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Refund please, REFUND!", ("please", "refund")),
        ("order-1234 / snake_case", ("1234", "case", "order", "snake")),
        ("refund INVOICE".translate(FULL_WIDTH), ("invoice", "refund")),
        ("Straße STRASSE", ("strasse",)),
        ("café Café", ("café",)),
        ("ada@example.com", ("ada", "com", "example")),
        ("  ...  ", ()),
        ("x" * (MAX_WORD + 10), ("x" * MAX_WORD,)),
        ("x" * (MAX_WORD + 1) + " " + "y" * MAX_WORD, ("x" * MAX_WORD, "y" * MAX_WORD)),
    ],
    ids=["case", "separators", "wide", "casefold", "accents", "address", "none", "cut", "cut-1"],
)
def test_words_are_normalised_and_distinct(text: str, expected: tuple[str, ...]) -> None:
    assert words(text) == expected


@given(st.text())
def test_the_words_of_words_are_the_same_words(text: str) -> None:
    """An index re-reads joined words (SQLite's FTS) and a query is one of them: both stable."""
    found = words(text)
    assert words(" ".join(found)) == found
    for word in found:
        assert words(word) == (word,)
        # Upper-casing is not always undone by case folding (a dotless i upper-cases to I).
        if word.upper().casefold() == word:
            assert words(word.upper()) == (word,)


@given(st.text(), st.text())
def test_a_texts_words_are_found_in_any_longer_text(first: str, second: str) -> None:
    assert set(words(first)) <= set(words(f"{first} {second}"))


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_an_ascii_texts_words_are_those_of_the_unicode_rule(text: str) -> None:
    """The ASCII shortcut finds what the general rule finds (letters and digits, no "_")."""
    expected = {w[:MAX_WORD] for w in re.findall(r"[^\W_]+", text.casefold())}
    assert words(text) == tuple(sorted(expected))
