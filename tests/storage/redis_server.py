"""A real redis-server for the tests, on a free port, with its data in a test directory.

Never the shared server on 6379: every test server is started here and stopped here.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.support import free_port, worker_ports

INSTALL_HINT = "redis-server is not installed: run scripts/setup --test-services"


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too, as a cluster node needs."""
    ports = worker_ports(20_000, 30_000)  # its bus port: 30,000-40,000
    for _ in range(100):
        port = random.choice(ports)
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports for a cluster node")


class RedisServer:
    """One redis-server process; stop or kill it and start it again on the same data."""

    def __init__(self, directory: Path, *, fsync: str = "everysec", port: int = 0) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.fsync = fsync
        self.process: subprocess.Popen[bytes] | None = None
        self.launcher: tuple[str, ...] = ()  # a program to run redis-server under (strace)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=10)

    def start(self, *extra: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.directory.mkdir(parents=True, exist_ok=True)
        arguments = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", self.fsync, "--dir", str(self.directory),
            "--logfile", "redis.log", *extra,
        ]  # fmt: skip
        self.process = subprocess.Popen([*self.launcher, *arguments], stdout=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

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
        if self.process.poll() is None:
            self.process.send_signal(how)
        self.process.wait(timeout=20)
        self.process = None

    def flush(self) -> None:
        with self.client() as client:
            client.flushdb()


class RedisClusterServers:
    """Three redis-server primaries (no replicas) joined into one Redis Cluster."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.nodes = [RedisServer(directory / f"node{n}", port=cluster_port()) for n in range(size)]

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()  # never leave a node of a failed start running
            raise

    def _start(self) -> None:
        for node in self.nodes:
            node.start("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
        tool = shutil.which("redis-cli")
        if tool is None:
            raise RuntimeError(INSTALL_HINT)
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [tool, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True, stdout=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
        self._wait_ok()

    def _wait_ok(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            states = []
            for node in self.nodes:
                with node.client() as client:
                    states.append(client.execute_command("CLUSTER", "INFO"))
            if all("cluster_state:ok" in str(state) for state in states):
                return
            time.sleep(0.1)
        raise TimeoutError("the Redis Cluster did not become ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def flush(self) -> None:
        for node in self.nodes:
            with node.client() as client:
                client.flushall()
