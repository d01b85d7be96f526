"""Settings of outbound campaigns: `[campaigns]`, the defaults a new campaign starts with.

A campaign created without a policy of its own (by `contacthub campaign load`, by a rule's
`campaign:` action, or through the API with fields left out) takes these; each campaign
keeps its own copy, so editing the file changes new campaigns only.

```toml
[campaigns]
queue = "callbacks"                 # the outbound queue of new campaigns
caller_id = "+15550001111"          # the number callees see ("" : the trunk's default)
hours = "08:00-21:00"               # callee local time (several ranges: "08:00-12:00,13:00-21:00")
days = "mon-sun"
holidays = [2026-12-25]             # callee local dates
timezone = ""                       # for numbers whose zone is unknown ("" : never call them)
max_attempts = 5
retry = { no_answer = "4h", busy = "30m", voicemail = "1d", failed = "1h" }
lease = "10m"                       # an agent's hold on a contact before it goes back
batch_rows = 5000                   # contacts per store call when the hub loads an upload
load_batch_rows = 20000             # the same in `campaign load` (its own process, see below)
workers = 2                         # processes normalising numbers in `campaign load`
max_upload_mb = 1024                # largest list over POST /api/campaigns/{id}/contacts
legal_hours = "08:00-21:00"         # the law's floor, callee local time: no campaign widens it
legal_hours_by_country = { FR = "10:00-20:00" }   # stricter where the law is (ISO country)
allow_outside_legal_hours = false   # true lifts the law for every campaign (logged at start)
dial_hold = "1h"                    # a dialled contact and its agent held until the call ends
ring_timeout = 25                   # seconds a dialled number rings before no-answer
dial_tick = "5s"                    # how often the progressive dialer looks at ready agents
dial_concurrency = 16               # dials placed at once by one hub
```

A country's hours apply to the time zones the tz database lists for it (tzdata's zone.tab),
so a number in Europe/Paris is called by France's hours.

`campaign load` runs in a process of its own, with nothing else on its event loop, so it
stores bigger chunks than the hub does with an upload: the campaign's index of numbers
takes its random inserts in fewer, larger transactions (a million-row list loads in ~16 s
rather than ~18 s), while each transaction holds the store's write lock longer (a
running hub's writes wait up to about half a second for one).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from importlib.resources import files
from typing import Self

from pydantic import Field, model_validator

from core.campaigns import DEFAULT_RETRY, CampaignPolicy
from hub.settings.fields import Duration, Section
from router.calling_law import LEGAL_HOURS, CallingLaw
from router.campaigns import check_policy


def _default_retry() -> dict[str, timedelta]:
    return {str(outcome): delay for outcome, delay in DEFAULT_RETRY}


class CampaignSettings(Section):
    queue: str = Field("callbacks", min_length=1)
    caller_id: str = Field("", pattern=r"^(\+[1-9][0-9]{6,14})?$")
    hours: str = "08:00-21:00"
    days: str = "mon-sun"
    holidays: tuple[date, ...] = ()
    timezone: str = ""
    max_attempts: int = Field(5, ge=1, le=100)
    retry: dict[str, Duration] = Field(default_factory=_default_retry)
    lease: Duration = timedelta(minutes=10)
    batch_rows: int = Field(5000, ge=1, le=100_000)
    load_batch_rows: int = Field(20_000, ge=1, le=100_000)
    workers: int = Field(2, ge=0, le=64)
    max_upload_mb: int = Field(1024, ge=1)
    legal_hours: str = LEGAL_HOURS
    legal_hours_by_country: dict[str, str] = Field(default_factory=dict)
    allow_outside_legal_hours: bool = False
    dial_hold: Duration = timedelta(hours=1)
    ring_timeout: int = Field(25, ge=5, le=600)
    dial_tick: Duration = timedelta(seconds=5)
    dial_concurrency: int = Field(16, ge=1, le=1000)

    @model_validator(mode="after")
    def _usable(self) -> Self:
        unknown = sorted(c for c in self.legal_hours_by_country if not country_zones(c))
        problems = [f"legal_hours_by_country: unknown country {c!r} (ISO 3166, e.g. FR)"
                    for c in unknown]  # fmt: skip
        problems += check_policy(self.policy())
        if not unknown:
            problems += self.law().problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def law(self) -> CallingLaw:
        """The legal calling hours, each country's hours spread over its time zones."""
        by_zone = {
            zone: hours
            for country, hours in sorted(self.legal_hours_by_country.items())
            for zone in country_zones(country)
        }
        return CallingLaw.of(self.legal_hours, by_zone, unrestricted=self.allow_outside_legal_hours)

    def policy(self) -> CampaignPolicy:
        retry = {**_default_retry(), **self.retry}
        return CampaignPolicy(
            hours=self.hours,
            days=self.days,
            holidays=self.holidays,
            timezone=self.timezone or None,
            max_attempts=self.max_attempts,
            retry=tuple(sorted(retry.items())),
            lease=self.lease,
        )


@functools.cache
def _zone_table() -> dict[str, tuple[str, ...]]:
    """Country code -> its time zones, from the tz database's zone.tab (tzdata's copy)."""
    text = (files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _, zone = line.split("\t")[:3]
            table.setdefault(country, []).append(zone)
    return {country: tuple(zones) for country, zones in table.items()}


def country_zones(country: str) -> tuple[str, ...]:
    """The zones of an ISO 3166 country code (any case); () for an unknown code."""
    return _zone_table().get(country.upper(), ())
