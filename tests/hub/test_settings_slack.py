"""`[channels.slack]`: validated at start, secrets from the environment, every problem named."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from hub.settings import parse_settings

ENV = {"SLACK_SIGNING_SECRET": "s" * 32, "SLACK_BOT_TOKEN": "xoxb-1-2-3"}


def slack(**fields: object) -> dict[str, object]:
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
    raw = slack(support_channels=["#support"], api_base="https://slack.com/api", mode="socket")
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, {}, base=tmp_path)
    problems = "\n".join(caught.value.problems)
    for key in ("signing_secret", "bot_token", "support_channels.0", "api_base", "mode"):
        assert f"channels.slack.{key}" in problems
