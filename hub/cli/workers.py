"""`contacthub serve --workers N`: N hub processes on the same ports, one store.

The first process supervises: it starts N workers (`serve --worker I/N`, each a whole hub on
its own event loop) and otherwise only waits. Every worker binds the HTTP and SMTP ports
with SO_REUSEPORT, so the kernel spreads connections over them and each uses a core. They
share the store as separate hubs do (SQLite: one writer at a time across processes,
`BEGIN IMMEDIATE` waiting up to 10 s for the lock; Redis: atomic scripts). The background
loops that one hub runs for all (SLA watcher, progressive dialer, IMAP pollers) run in
worker 0 only; see hub/app.py.

Signals: SIGTERM and SIGINT stop every worker gracefully (each finishes its requests and
closes its store), after `STOP_SECONDS` the stragglers are killed; SIGHUP is passed on (each
worker re-reads the rules file). A worker that exits on its own stops the others and the
supervisor exits 1, so whatever runs the hub (systemd, a container) restarts it whole. A
worker dies with its supervisor (Linux's parent-death signal): a supervisor killed outright
takes its workers with it the same way, as one process would have gone; the run's directory
it leaves in /tmp is removed by the next supervisor to start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import structlog

from core.errors import ListenError
from hub.wiring.webchat_siblings import DIRECTORY_ENV

STOP_SECONDS = 30.0
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's multiprocess directory (hub/metrics.py reads it): named here, not
imported, so that every CLI command does not load the metrics and the IMAP client."""
_PR_SET_PDEATHSIG = 1
RUN_PREFIX = "contacthub-workers-"
OWNER_FILE = "supervisor.pid"
log = structlog.get_logger("contacthub.workers")


def sweep_orphans(base: Path) -> list[Path]:
    """Remove the run directories of supervisors that are gone (killed outright, so their
    `TemporaryDirectory` was never cleaned): metrics files and sockets would pile up in
    /tmp, one directory per kill. A live supervisor's, or another user's, is left, and so is
    one without its owner's pid (just made, or an older hub's: it may be running)."""
    removed = []
    for run in base.glob(RUN_PREFIX + "*"):
        with contextlib.suppress(OSError):
            if run.is_dir() and run.stat().st_uid == os.getuid() and _orphaned(run):
                shutil.rmtree(run, ignore_errors=True)
                removed.append(run)
    return removed


def _orphaned(run: Path) -> bool:
    try:
        owner = int((run / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def worker_command(config: Path | None, index: int, count: int) -> list[str]:
    options = [] if config is None else ["--config", str(config)]
    return [sys.executable, "-m", "hub.cli", "serve", *options, "--worker", f"{index}/{count}"]


def probe_ports(listeners: Sequence[tuple[str, str, int, str]], *, shared: bool = False) -> None:
    """Bind each (listener, host, port, setting), then let go: a port that is taken fails
    here as one `ListenError`, before any worker starts (else each worker would report it
    and the supervisor would already have said it was serving). Without SO_REUSEPORT unless
    `shared` (`[server] reuse_port`): the workers bind with it, so without the probe's
    refusal a second `serve` left running on the port (an old release not stopped) would
    silently take half the traffic."""
    for listener, host, port, setting in listeners:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if shared and hasattr(socket, "SO_REUSEPORT"):
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                probe.bind((host, port))  # bound, never listening: takes no connection
            except OSError as exc:
                raise ListenError.from_os_error(listener, host, port, exc, setting) from exc


def parse_worker(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N), 0 <= I < N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()) or not int(index) < int(count):
        raise ValueError(f"--worker wants I/N with 0 <= I < N, not {text!r}")
    return int(index), int(count)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its supervisor dies (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the supervisor died before the request: go now
            os.kill(os.getpid(), signal.SIGKILL)


class Supervisor:
    """Starts the workers, passes signals on, stops them all when one ends."""

    def __init__(self, commands: Sequence[list[str]]) -> None:
        self.commands = commands
        self.workers: list[subprocess.Popen[bytes]] = []
        self.stopping_since: float | None = None
        self.failed = False

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._signalled)
        # This run's own: the workers' sockets to each other (hub/wiring/webchat_siblings.py)
        # and their metrics, which any worker's scrape sums (hub/metrics.py)
        sweep_orphans(Path(tempfile.gettempdir()))
        with tempfile.TemporaryDirectory(prefix=RUN_PREFIX) as directory:
            (Path(directory) / OWNER_FILE).write_text(str(os.getpid()))
            metrics = Path(directory) / "metrics"
            metrics.mkdir()
            env = {**os.environ, DIRECTORY_ENV: directory, METRICS_ENV: str(metrics)}
            self.workers = [subprocess.Popen(c, env=env) for c in self.commands]  # noqa: S603  # our argv
            while any(worker.poll() is None for worker in self.workers):
                self._check()
                time.sleep(0.1)
            self._check()  # every worker may have ended between two looks
        return 1 if self.failed else 0

    def _signalled(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._send(signal.SIGHUP)
        else:
            self.stop()

    def stop(self) -> None:
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
            self._send(signal.SIGTERM)

    def _check(self) -> None:
        if self.stopping_since is None:
            ended = [w for w in self.workers if w.poll() is not None]
            if ended:  # a worker ended on its own: the hub is not whole any more
                log.error("worker_exited", pid=ended[0].pid, returncode=ended[0].returncode)
                self.failed = True
                self.stop()
        elif time.monotonic() - self.stopping_since > STOP_SECONDS:
            self._send(signal.SIGKILL)

    def _send(self, signum: int) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.send_signal(signum)
