"""Running `contacthub serve` as a real process for the tests that need one."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.support import FORM_SECRET, free_port


def write_config(tmp_path: Path, port: int | None = None) -> tuple[Path, int]:
    port = port or free_port()
    config = tmp_path / "contacthub.toml"
    config.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n'
        '[channels.webform]\nsecret = "env:FORM_SECRET"\n[logging]\nlevel = "warning"\n',
        encoding="utf-8",
    )
    return config, port


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub.cli", *args]


def environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "FORM_SECRET": FORM_SECRET, **extra}


def spawn_serve(config: Path, stderr: int | None = None) -> subprocess.Popen[bytes]:
    """Start `contacthub serve` as one process (the tests using it count hubs as processes:
    a SIGKILL is one hub's crash; `--workers` is tested in test_workers.py); its stderr goes
    to serve.log beside the config, or to `stderr` (`subprocess.PIPE`)."""
    with (config.parent / "serve.log").open("ab") as log:
        return subprocess.Popen(
            cli("serve", "--workers", "1", "--config", str(config)),
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=log if stderr is None else stderr,
        )


async def start_serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = spawn_serve(config)
    await wait_ready(process, port, config.parent / "serve.log")
    return process


async def wait_ready(
    process: subprocess.Popen[bytes], port: int, log: Path, within: float = 20
) -> None:
    deadline = asyncio.get_running_loop().time() + within
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"serve exited: {process.stderr.read() if process.stderr else ''!r}"
                )
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200 and process.poll() is None:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("contacthub serve did not become ready")
