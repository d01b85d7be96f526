"""Finding customers: the words a name is found by, and what an agent's query looks up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.customers import (
    MAX_NAME_WORDS,
    MAX_WORD_CHARS,
    CustomerMerge,
    CustomerQuery,
    customer_query,
    name_words,
    tag_key,
    tags_added,
)
from tests.support import T0


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Ada Lovelace", ("ada", "lovelace")),
        ("  ÉLODIE   d'Arc ", ("elodie", "d", "arc")),
        ("Grace Hopper-Marsh", ("grace", "hopper", "marsh")),
        ("Straße", ("strasse",)),
        ("ana ANA Ana", ("ana",)),
        ("snake_case 42", ("snake", "case", "42")),
        ("Zoë Ω", ("zoe", "ω")),
        ("", ()),
        ("!?", ()),
    ],
    ids=[
        "two-words", "accents-and-apostrophe", "hyphen", "casefold", "once-each", "underscore",
        "non-latin", "empty", "punctuation",
    ],
)  # fmt: skip
def test_name_words(name: str, words: tuple[str, ...]) -> None:
    assert name_words(name) == words


def test_a_long_name_is_cut_to_bounded_words() -> None:
    words = name_words(" ".join(f"w{i}" + "x" * 50 for i in range(20)))
    assert len(words) == MAX_NAME_WORDS
    assert {len(w) for w in words} == {MAX_WORD_CHARS}


@given(st.text(max_size=60), st.integers(0, 60))
def test_the_start_of_a_name_finds_it(name: str, cut: int) -> None:
    """What an agent types of a name (its start) finds it: each typed word starts a word
    the index holds for the whole name. (Case is folded, not guessed: a Turkish dotless i typed
    as I is an i.)"""
    indexed = name_words(name)
    for word in name_words(name[:cut]):
        assert any(w.startswith(word) for w in indexed), (name[:cut], word, indexed)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("Ada@Example.com", CustomerQuery(("email:ada@example.com",))),
        ("+1 555 201 0042", CustomerQuery(("phone:+15552010042",))),
        ("(555) 201-0042", CustomerQuery(("phone:+15552010042",))),
        ("+44 20 7946 0958", CustomerQuery(("phone:+442079460958",))),
        ("123456", CustomerQuery()),
        ("u0ada", CustomerQuery(("slack:U0ADA",), ("u0ada",))),
        ("Uma", CustomerQuery((), ("uma",))),
        ("ada love", CustomerQuery((), ("ada", "love"))),
        ("ada@", CustomerQuery((), ("ada",))),
        ("  ", CustomerQuery()),
    ],
    ids=[
        "email", "phone-e164", "phone-national", "phone-abroad", "not-a-phone", "slack-id",
        "name-not-slack", "name-words", "half-email", "blank",
    ],
)  # fmt: skip
def test_customer_query(text: str, query: CustomerQuery) -> None:
    assert customer_query(text, "US") == query


def test_a_merge_is_live_until_undone() -> None:
    merge = CustomerMerge(1, 2, 3, "alice", T0, (), (), (), ())
    assert merge.live
    assert not CustomerMerge(1, 2, 3, "alice", T0, (), (), (), (), "bob", T0).live


@given(st.lists(st.sampled_from(["vip", "VIP", "Vip", "gold", "Straße", "STRASSE", "x"])),
       st.lists(st.sampled_from(["vip", "VIP", "gold", "GOLD", "strasse", "y"])))  # fmt: skip
def test_a_merge_adds_each_tag_the_survivor_has_in_no_case_once(
    survivor: list[str], other: list[str]
) -> None:
    added = tags_added(tuple(survivor), tuple(other))
    keys = [tag_key(tag) for tag in added]
    assert len(keys) == len(set(keys))  # once each
    assert not set(keys) & {tag_key(tag) for tag in survivor}
    assert {tag_key(t) for t in survivor} | set(keys) == {tag_key(t) for t in survivor + other}
    assert all(tag in other for tag in added)  # as the other spells them
