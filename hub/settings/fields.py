"""What every settings section (and every validated request body) shares: Duration, Section."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from core.duration import parse_duration


def _duration(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A timedelta written as people write it ("90s", "4h", "1h30m") or given as one."""

MAX_FILE_BYTES = 25 * 1024 * 1024
"""The largest provider's file the hub passes to an agent by default (`max_file_bytes`)."""


def _file_timeout(value: timedelta) -> timedelta:
    if not timedelta(0) < value <= timedelta(minutes=10):
        raise ValueError("must be more than 0 and at most 10m")
    return value


FileTimeout = Annotated[Duration, AfterValidator(_file_timeout)]
"""How long a provider may take to answer for a file, and between two reads of it."""


class Section(BaseModel):
    """A settings table: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
