"""`[campaigns]`: the defaults new campaigns take, validated at start with their key paths."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from core.campaigns import CampaignPolicy
from core.errors import ConfigError
from hub.settings.tree import parse_settings


def test_without_a_section_campaigns_take_the_built_in_policy(tmp_path: Path) -> None:
    settings = parse_settings({}, {}, base=tmp_path)
    assert settings.campaigns.policy() == CampaignPolicy()
    assert (settings.campaigns.queue, settings.campaigns.workers) == ("callbacks", 2)


def test_a_section_replaces_what_it_names(tmp_path: Path) -> None:
    raw = {
        "campaigns": {
            "hours": "09:00-12:00,13:00-20:00", "days": "mon-fri", "holidays": [date(2026, 12, 25)],
            "timezone": "America/Chicago", "max_attempts": 3, "retry": {"busy": "10m"},
            "lease": "5m",
        }
    }  # fmt: skip
    policy = parse_settings(raw, {}, base=tmp_path).campaigns.policy()
    assert (policy.hours, policy.days, policy.holidays) == (
        "09:00-12:00,13:00-20:00", "mon-fri", (date(2026, 12, 25),),
    )  # fmt: skip
    assert (policy.timezone, policy.max_attempts, policy.lease) == (
        "America/Chicago", 3, timedelta(minutes=5),
    )  # fmt: skip
    assert policy.delay("busy") == timedelta(minutes=10)
    assert policy.delay("no_answer") == timedelta(hours=4)  # the others keep their default


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        pytest.param({"hours": "22:00-06:00"}, "hours", id="overnight"),
        pytest.param({"days": "weekdays"}, "days", id="days"),
        pytest.param({"timezone": "Europe/Pariss"}, "did you mean 'Europe/Paris'", id="zone"),
        pytest.param({"retry": {"answered": "1h"}}, "retry", id="retry-outcome"),
        pytest.param({"max_attempts": 0}, "campaigns.max_attempts", id="attempts"),
        pytest.param({"caller_id": "555-0100"}, "campaigns.caller_id", id="caller-id"),
        pytest.param({"colour": "red"}, "campaigns.colour: unknown key", id="unknown"),
    ],
)
def test_unusable_defaults_are_refused_at_start(
    tmp_path: Path, section: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"campaigns": section}, {}, base=tmp_path)
    assert problem in str(caught.value)


def test_the_legal_hours_are_on_unless_the_operator_lifts_them(tmp_path: Path) -> None:
    section = parse_settings({}, {}, base=tmp_path).campaigns
    assert (section.law().hours, section.law().unrestricted) == ("08:00-21:00", False)
    raw = {"campaigns": {"legal_hours_by_country": {"fr": "10:00-20:00", "DE": "09:00-20:00"}}}
    law = parse_settings(raw, {}, base=tmp_path).campaigns.law()
    assert law.ranges("Europe/Paris") == ((36000, 72000),)
    assert law.ranges("Europe/Busingen") == ((32400, 72000),)  # every zone of the country
    assert law.ranges("America/New_York") == ((28800, 75600),)
    lifted = {"campaigns": {"allow_outside_legal_hours": True}}
    assert parse_settings(lifted, {}, base=tmp_path).campaigns.law().ranges("Europe/Paris") is None


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        pytest.param(
            {"legal_hours_by_country": {"XX": "09:00-20:00"}}, "unknown country 'XX'", id="country"
        ),
        pytest.param({"legal_hours": "20:00-07:00"}, "legal_hours", id="overnight"),
        pytest.param({"legal_hours_by_country": {"FR": "soon"}}, "Europe/Paris", id="hours"),
    ],
)
def test_unusable_legal_hours_are_refused(
    tmp_path: Path, section: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({"campaigns": section}, {}, base=tmp_path)
    assert problem in " ".join(raised.value.problems)
