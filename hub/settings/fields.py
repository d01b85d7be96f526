"""What every settings section (and every validated request body) shares: Duration, Section."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from core.duration import parse_duration


def _duration(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A timedelta written as people write it ("90s", "4h", "1h30m") or given as one."""


class Section(BaseModel):
    """A settings table: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
