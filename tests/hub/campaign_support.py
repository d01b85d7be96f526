"""What the campaign and dialer tests share: a clock they set, and a hub that runs on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NOON = datetime(2036, 6, 11, 17, 0, tzinfo=UTC)
"""13:00 in New York, 12:00 in Chicago, 10:00 in Los Angeles: inside every legal window;
and years ahead, so contacts that webhooks stamp with the real time are due by then."""


@dataclass
class Clock:
    """The hub's clock in a test: it stands still until the test moves it."""

    now: datetime = NOON

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
