"""Configuration: validated at start, every problem named with its key path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import ConfigError
from hub.settings.tree import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contacthub.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_is_the_embedded_default() -> None:
    settings = load_settings(None, {})
    assert settings.storage.url == "sqlite:///./contacthub.db"
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.channels.webform is None


def test_example_config_loads_with_its_environment() -> None:
    example = Path(__file__).parents[2] / "config" / "contacthub.example.toml"
    settings = load_settings(example, {"CONTACTHUB_FORM_SECRET": "s" * 32})
    assert settings.channels.webform is not None
    assert settings.channels.webform.secret.get_secret_value() == "s" * 32


def test_env_secrets_are_resolved_and_masked(tmp_path: Path) -> None:
    path = write(tmp_path, '[channels.webform]\nsecret = "env:FORM_SECRET"\n')
    settings = load_settings(path, {"FORM_SECRET": "very-secret-value-123"})
    assert settings.channels.webform is not None
    assert settings.channels.webform.secret.get_secret_value() == "very-secret-value-123"
    assert "very-secret-value-123" not in repr(settings)


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[server]\nport = "http"\ncolour = "blue"\n'
        '[channels.webform]\nsecret = "env:MISSING"\n'
        '[threading]\nreopen_window = {sms = "soon"}\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    problems = caught.value.problems
    assert any(p.startswith("server.port:") for p in problems)
    assert "server.colour: unknown key" in problems
    assert "channels.webform.secret: environment variable MISSING is not set" in problems
    assert any(p.startswith("threading.reopen_window.sms:") for p in problems)
    assert len([p for p in problems if p.startswith("channels.webform.secret")]) == 1


def test_a_short_secret_is_named_in_characters_and_not_shown(tmp_path: Path) -> None:
    path = write(tmp_path, '[channels.webform]\nsecret = "hunter2"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert caught.value.problems == ("channels.webform.secret: too short, at least 16 characters",)


def test_unknown_channel_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[channels.pigeon]\nloft = "roof"\n')
    with pytest.raises(ConfigError, match=r"channels\.pigeon: unknown key"):
        load_settings(path, {})


def test_broken_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[server\n"), {})
    with pytest.raises(ConfigError, match="cannot read config"):
        load_settings(tmp_path / "absent.toml", {})


def test_reopen_windows_merge_over_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[threading]\nreopen_window = {form = "2h"}\n')
    policy = load_settings(path, {}).threading.policy()
    assert policy.window("form") == timedelta(hours=2)
    assert policy.window("sms") == timedelta(hours=24)
    assert policy.window("carrier-pigeon") == timedelta(hours=24)


def test_rules_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[routing]\nrules = "rules.yaml"\n')
    assert load_settings(path, {}).routing.rules == tmp_path / "rules.yaml"
