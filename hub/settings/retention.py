"""`[retention]`: how long closed tickets are kept, and how the sweeper purges them."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from hub.settings.fields import Duration, Section


class RetentionSettings(Section):
    closed_after_days: int = Field(0, ge=0, le=36_500)  # 0: closed tickets are kept forever
    interval: Duration = timedelta(hours=1)  # between sweeps (one hub of the store sweeps)
    batch: int = Field(100, ge=1, le=10_000)  # tickets purged per atomic store call
