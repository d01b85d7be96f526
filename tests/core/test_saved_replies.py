"""Saved replies' bodies: what is checked at saving is what renders, for any ticket."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidRequest
from core.saved_replies import PLACEHOLDERS, check_body, draft, name_key, render, ticket_values

VALUES = ticket_values(42, "Order {7}", "Ada  Lovelace", "ann")

plain = st.text(st.characters(blacklist_characters="{}"), max_size=40)
placeholder = st.builds(
    lambda name, fallback: "{" + name + ("" if fallback is None else "|" + fallback) + "}",
    st.sampled_from(PLACEHOLDERS),
    st.none() | st.text(st.characters(blacklist_characters="{}|"), max_size=10),
)
bodies = st.lists(plain | placeholder | st.sampled_from(["{{", "}}"]), max_size=8).map("".join)
values = st.dictionaries(st.sampled_from(PLACEHOLDERS), st.text(max_size=20))
braceless = st.dictionaries(st.sampled_from(PLACEHOLDERS), plain)


@given(bodies, values)
def test_a_body_that_passes_the_check_renders_for_any_values(
    body: str, given: dict[str, str]
) -> None:
    check_body(body)
    assert isinstance(render(body, given), str)


@given(st.lists(plain | placeholder, max_size=8).map("".join), braceless)
def test_every_placeholder_is_filled_in(body: str, given: dict[str, str]) -> None:
    assert not {"{", "}"} & set(render(body, given))


@given(plain)
def test_text_without_braces_is_itself(text: str) -> None:
    check_body(text)
    assert render(text, VALUES) == text


@given(st.text(max_size=30))
def test_escaped_braces_render_as_braces(text: str) -> None:
    escaped = text.replace("{", "{{").replace("}", "}}")
    check_body(escaped)
    assert render(escaped, VALUES) == text


def test_placeholders_fill_in_and_fall_back() -> None:
    body = "Hi {customer.first_name|there}, #{ticket.id} ({ticket.subject}) from { agent.name }"
    assert render(body, VALUES) == "Hi Ada, #42 (Order {7}) from ann"
    nameless = ticket_values(7, "", None, "bob")
    assert render("Hi {customer.first_name|there}{customer.name}!", nameless) == "Hi there!"
    assert render("{{customer.name}}", VALUES) == "{customer.name}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Hi {name}", "unknown placeholder(s) {name}; known: {customer.name}"),
        ("{a} {b} {a}", "unknown placeholder(s) {a}, {b}; known:"),
        ("{customer.name|a|b}", "unknown placeholder(s) {customer.name|a|b}"),
        ("50% {", "a lone '{' at character 5: write {{ for a brace"),
        ("x } y", "a lone '}' at character 3: write }} for a brace"),
        ("{}", "unknown placeholder(s) {}"),
    ],
)
def test_a_bad_body_is_refused_naming_what_is_wrong(body: str, reason: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_body(body)
    assert refused.value.message.startswith(reason)


def test_a_draft_is_trimmed_and_its_queues_kept_once() -> None:
    made = draft("  Refund \n sent ", "  Done.\n", ["billing", "general", "billing"])
    assert (made.name, made.body, made.queues) == ("Refund sent", "Done.", ("billing", "general"))
    assert name_key("REFUND  sent") == name_key(made.name)
