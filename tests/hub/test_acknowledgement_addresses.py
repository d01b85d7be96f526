"""Which inbox an acknowledgement counts against, and which addresses are our own."""

from __future__ import annotations

import pytest

from hub.wiring.acknowledgements import OwnAddresses, normalised


@pytest.mark.parametrize(
    ("address", "inbox"),
    [
        ("Ada@Example.com", "ada@example.com"),
        ("ada+orders@example.com", "ada@example.com"),
        ("ada+a+b@example.com", "ada@example.com"),
        ("+tag@example.com", "+tag@example.com"),  # nothing before the plus: kept whole
        (" ada@example.com ", "ada@example.com"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_an_address_is_counted_as_its_inbox(address: str, inbox: str) -> None:
    assert normalised(address) == inbox


def test_our_mailboxes_and_domains_are_ours_in_any_spelling() -> None:
    own = OwnAddresses(frozenset({"support@hub.example"}), frozenset({"help.example"}))
    assert "Support+loop@HUB.example" in own
    assert "anyone@help.example" in own
    assert "ada@example.com" not in own
    assert "support@hub.example.evil" not in own
