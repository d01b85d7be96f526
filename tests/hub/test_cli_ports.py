"""`contacthub serve` on a port another process holds: one line naming it, exit 1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.hub.test_cli import run
from tests.support import free_port


@contextmanager
def occupied(port: int) -> Iterator[None]:
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.listen()
    try:
        yield
    finally:
        holder.close()


def config_with_smtp(tmp_path: Path, http: int, smtp: int) -> Path:
    config = tmp_path / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {http}\n[storage]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n'
        f'[channels.smtp]\nport = {smtp}\nmailboxes = ["help@example.com"]\n'
        '[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(
    ("taken", "listener", "setting"),
    [("http", "HTTP", "server.port"), ("smtp", "SMTP", "channels.smtp.port")],
)
def test_a_taken_port_is_one_line_naming_port_and_setting(
    tmp_path: Path, taken: str, listener: str, setting: str
) -> None:
    ports = {"http": free_port(), "smtp": free_port()}
    config = config_with_smtp(tmp_path, ports["http"], ports["smtp"])
    with occupied(ports[taken]):
        result = run("serve", "--config", str(config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "serving on" not in result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line == (
        f"Error: {listener} cannot listen on 127.0.0.1:{ports[taken]}: address already in use"
        f" (change the setting {setting})"
    )
