"""A real redis-server for the tests, on a free port, with its data in a test directory.

Never the shared server on 6379: every test server is started here and stopped here.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.support import free_port

INSTALL_HINT = "redis-server is not installed: run scripts/setup --test-services"


class RedisServer:
    """One redis-server process; stop or kill it and start it again on the same data."""

    def __init__(self, directory: Path, *, fsync: str = "everysec") -> None:
        self.directory = directory
        self.port = free_port()
        self.fsync = fsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=10)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.directory.mkdir(parents=True, exist_ok=True)
        arguments = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", self.fsync, "--dir", str(self.directory),
            "--logfile", "redis.log",
        ]  # fmt: skip
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self, within: float = 20) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.directory / 'redis.log'}")
            try:
                with self.client() as client:
                    if client.ping():
                        return
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                time.sleep(0.02)
        raise TimeoutError("redis-server did not become ready")

    def stop(self) -> None:
        """A clean stop (SIGTERM: the AOF is flushed)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """A crash: SIGKILL, nothing flushed but what the fsync policy already wrote."""
        self._end(signal.SIGKILL)

    def _end(self, how: signal.Signals) -> None:
        if self.process is None:
            return
        self.process.send_signal(how)
        self.process.wait(timeout=20)
        self.process = None

    def flush(self) -> None:
        with self.client() as client:
            client.flushdb()
