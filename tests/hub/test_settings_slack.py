"""`[channels.slack]`: validated at start, secrets from the environment, every problem named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigError
from hub.settings.tree import parse_settings

ENV = {"SLACK_SIGNING_SECRET": "s" * 32, "SLACK_BOT_TOKEN": "xoxb-1-2-3"}


def slack(**fields: object) -> dict[str, Any]:
    section = {"signing_secret": "env:SLACK_SIGNING_SECRET", "bot_token": "env:SLACK_BOT_TOKEN"}
    return {"channels": {"slack": {**section, **fields}}}


def test_slack_section_with_secrets_from_the_environment(tmp_path: Path) -> None:
    settings = parse_settings(slack(support_channels=["C0SUPPORT"]), ENV, base=tmp_path)
    section = settings.channels.slack
    assert section is not None
    assert section.bot_token.get_secret_value() == "xoxb-1-2-3"
    assert "xoxb" not in repr(section)
    assert section.support_channels == ("C0SUPPORT",)
    assert settings.threading.policy().window("slack").total_seconds() == 0


def test_every_slack_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    raw = slack(support_channels=["#support"], api_base="https://slack.com/api", mode="rtm")
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, {}, base=tmp_path)
    problems = "\n".join(caught.value.problems)
    for key in ("signing_secret", "bot_token", "support_channels.0", "api_base", "mode"):
        assert f"channels.slack.{key}" in problems


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"mode": "socket"}, 'mode = "socket" needs app_token'),
        ({"signing_secret": None}, "the Events API needs signing_secret"),
    ],
    ids=["socket-without-app-token", "events-without-signing-secret"],
)
def test_each_mode_needs_its_own_secret(
    tmp_path: Path, fields: dict[str, object], problem: str
) -> None:
    raw = slack(**fields)
    section = raw["channels"]["slack"]
    for key in [k for k, v in fields.items() if v is None]:
        del section[key]
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, ENV, base=tmp_path)
    assert any(p.startswith("channels.slack: ") and problem in p for p in caught.value.problems)


def test_socket_mode_needs_no_signing_secret(tmp_path: Path) -> None:
    raw = slack(mode="socket", app_token="env:SLACK_APP_TOKEN")
    del raw["channels"]["slack"]["signing_secret"]
    settings = parse_settings(raw, {**ENV, "SLACK_APP_TOKEN": "xapp-1-2"}, base=tmp_path)
    assert settings.channels.slack is not None
    assert settings.channels.slack.mode == "socket"
