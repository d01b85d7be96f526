"""The JSON bodies of the campaign API, validated (every problem named with its field)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.campaigns import CallOutcome, CampaignSpec, CampaignState, DialerMode
from core.model import Priority
from hub.campaigns.desk import NAME_PATTERN, CampaignDesk
from hub.settings.fields import Duration
from router.campaigns import LAST_YEAR

FIRST_YEAR = 2000
AGENT_OUTCOMES = tuple(o.value for o in CallOutcome if o is not CallOutcome.EXPIRED)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("needs its UTC offset (e.g. 2026-12-01T15:00:00-05:00 or ...Z)")
    if not FIRST_YEAR <= moment.year < LAST_YEAR:  # later sums with delays would overflow
        raise ValueError(f"must be between {FIRST_YEAR} and {LAST_YEAR}")
    return moment.astimezone(UTC)


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CampaignBody(StrictBody):
    """`POST /api/campaigns`: a name and a queue; whatever is left out takes `[campaigns]`."""

    name: str = Field(pattern=NAME_PATTERN)
    queue: str | None = Field(None, min_length=1)
    caller_id: str | None = Field(None, pattern=r"^(\+[1-9][0-9]{6,14})?$")
    hours: str | None = None
    days: str | None = None
    holidays: tuple[date, ...] | None = None
    timezone: str | None = None
    max_attempts: int | None = Field(None, ge=1, le=100)
    retry: dict[str, Duration] | None = None
    lease: Duration | None = None
    ends_at: datetime | None = None
    priority: Priority | None = None
    state: CampaignState = CampaignState.PAUSED
    dialer: DialerMode | None = None
    machine_detection: bool | None = None
    voicemail_url: str | None = Field(None, pattern=r"^(https?://\S+)?$")

    @field_validator("ends_at")
    @classmethod
    def _ends_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    def spec(self, desk: CampaignDesk) -> CampaignSpec:
        """The campaign this body asks for, on the configured defaults (the desk checks
        the resulting policy when it creates it)."""
        base = desk.spec(self.name, self.queue, state=self.state)
        given = self.model_dump(
            include={"hours", "days", "holidays", "timezone", "max_attempts", "lease",
                     "ends_at", "priority", "dialer", "machine_detection", "voicemail_url"},
            exclude_none=True,
        )  # fmt: skip
        if self.retry is not None:
            given["retry"] = tuple(sorted({**dict(base.policy.retry), **self.retry}.items()))
        if self.timezone == "":
            given["timezone"] = None
        policy = dataclasses.replace(base.policy, **given)
        caller = base.caller_id if self.caller_id is None else self.caller_id
        return dataclasses.replace(base, policy=policy, caller_id=caller)


class OutcomeBody(StrictBody):
    """`POST /api/campaigns/{id}/attempts/{attempt_id}`."""

    outcome: str
    callback_at: datetime | None = None
    note: str = Field("", max_length=2000)

    @field_validator("outcome")
    @classmethod
    def _known(cls, value: str) -> str:
        value = "callback" if value == "callback_at" else value  # the spelling
        if value not in AGENT_OUTCOMES:
            raise ValueError(f"must be one of {', '.join(AGENT_OUTCOMES)}")
        return value

    @field_validator("callback_at")
    @classmethod
    def _callback_aware(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    def as_outcome(self) -> CallOutcome:
        return CallOutcome(self.outcome)


class RemovalBody(StrictBody):
    """`DELETE /api/do-not-call/{phone}`: why the number may be called again."""

    reason: str = Field(min_length=3, max_length=500)
