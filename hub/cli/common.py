"""What every `contacthub` command shares: the --config option and loading it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from core.errors import ConfigError
from hub.settings.tree import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def config_option(command: F) -> F:
    option = click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="CONTACTHUB_CONFIG",
        help="contacthub.toml (default: the embedded default; env CONTACTHUB_CONFIG).",
    )
    return option(command)


def load_config(config: Path | None) -> Settings:
    try:
        return load_settings(config, os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
