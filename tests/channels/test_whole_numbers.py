"""Numbers from providers and paths are ASCII digits within an id's range, or refused (a
`str.isdigit` check let "²" through to `int`, which raised: a 500)."""

from __future__ import annotations

import pytest

from channels.twilio.dialer import CallEvent
from core.errors import PayloadError
from core.model import ascii_digits, whole_id

OTHER_DIGITS = ["²", "\u0661", "\uff11", "1" * 5000, "-1", "+1", " 1", "1.0", ""]


@pytest.mark.parametrize("text", OTHER_DIGITS)
def test_only_ascii_digits_are_whole_numbers(text: str) -> None:
    assert whole_id(text) is None
    assert not ascii_digits(text) or len(text) > 16


@pytest.mark.parametrize("text", OTHER_DIGITS)
def test_a_dialer_callbacks_ids_are_refused_unless_ascii_digits(text: str) -> None:
    event = CallEvent("CA1", "completed", "", {"attempt": text})
    with pytest.raises(PayloadError, match="attempt"):
        event.number("attempt")


def test_a_dialer_callbacks_id_in_ascii_digits_is_read() -> None:
    assert CallEvent("CA1", "completed", "", {"attempt": "42"}).number("attempt") == 42
