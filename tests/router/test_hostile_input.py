"""Hostile input to the router's parsers: any rules file (YAML text, or YAML of any shape
built from the rules' own words) loads or is a RuleError; any list row normalises to a
contact or an Invalid with its reason. Never another exception."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from core.campaigns import CampaignPolicy, NewContact
from core.errors import RuleError
from router.campaign_lists import COLUMNS, Invalid, Normaliser, map_header
from router.engine import Ruleset, load_ruleset
from router.rules import ACTIONS, RULE_KEYS, SECTIONS
from router.sections import QUEUE_KEYS
from tests.router.helpers import HEADER

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

# The words a rules file is made of, and YAML's own punctuation, anchors and tags.
WORDS = [
    *SECTIONS, *RULE_KEYS, *ACTIONS, *QUEUE_KEYS, "general", "billing", "office", "body",
    "subject", "channel", "contains", "matches", "any", "all", "not", "equals", "timezone",
    "weekly", "mon-fri", "08:00-18:00", "4h", "2d", "urgent", "email", "(a+)+$", "&a", "*a",
    "<<", "!!python/object", "!!binary", "~", "null", "yes", "1e999", "0x1F", "-1",
]  # fmt: skip
PUNCTUATION = [
    ": ", "- ", "\n", "\n  ", "\n    ", "{", "}", "[", "]", ", ", "'", '"', "|", ">", "#", "? ",
    "%YAML 1.1\n", "---\n", "...\n", "\t", "\\", "\x00", "\ud800",
]  # fmt: skip

yaml_text = st.lists(st.sampled_from(WORDS + PUNCTUATION), max_size=40).map("".join)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(WORDS)
documents: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(WORDS), inner, max_size=5)
    ),
    max_leaves=25,
)


def loads_or_rule_error(text: str) -> Ruleset | None:
    try:
        return load_ruleset(text, "rules.yaml")
    except RuleError as exc:
        refusal = exc
    assert refusal.problems or refusal.message  # says what is wrong
    return None


@given(yaml_text)
@example("queues: {general: {}}\ndefault: {queue: general}\n# \ud800")  # once a UnicodeEncodeError
def test_any_text_is_a_ruleset_or_a_rule_error(text: str) -> None:
    loads_or_rule_error(text)


@given(yaml_text)
def test_any_text_after_a_valid_header_is_a_ruleset_or_a_rule_error(text: str) -> None:
    loads_or_rule_error(HEADER + text)


@given(st.dictionaries(st.sampled_from(SECTIONS), documents, max_size=4))
def test_any_shape_of_the_rules_own_words_is_a_ruleset_or_a_rule_error(
    document: dict[str, Any],
) -> None:
    loads_or_rule_error(yaml.safe_dump(document, allow_unicode=True))


@given(st.lists(documents, max_size=4))
def test_any_rules_list_is_a_ruleset_or_a_rule_error(rules: list[Any]) -> None:
    loads_or_rule_error(HEADER + yaml.safe_dump(rules, default_flow_style=True))


# List rows: cells of numbers, names, addresses, hours and junk.
CELLS = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\A\+?[0-9 ()\-.]{0,16}\Z"),
    st.sampled_from([
        "+12125550100", "(212) 555-0101", "212.555.0102", "+442079460000", "morning",
        "14:00-17:00", "25:00-26:00", "2026-12-01T15:00-05:00", "2026-12-01T15:00",
        "ada@example.com", "@", "\ufffd", "x" * 3000,
    ]),
)  # fmt: skip
HEADERS = st.lists(st.sampled_from([*COLUMNS, "Phone Number", "tel", "e-mail", "x", ""]),
                   min_size=1, max_size=8)  # fmt: skip


@given(HEADERS, st.lists(st.lists(CELLS, max_size=8), max_size=6))
def test_any_row_is_a_contact_or_invalid_with_a_reason(
    header: list[str], rows: list[list[str]]
) -> None:
    try:
        columns = map_header(header)
    except ValueError as exc:  # the header is refused whole, with its reason
        reason = str(exc)
        assert reason
        return
    normaliser = Normaliser(columns, "US", CampaignPolicy(timezone="America/New_York"), NOW)
    results = normaliser.rows((n + 2, row) for n, row in enumerate(rows))
    assert len(results) == len(rows)
    for result in results:
        assert isinstance(result, NewContact | Invalid)
        if isinstance(result, Invalid):
            assert result.reason
