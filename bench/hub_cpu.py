"""The hub's CPU per acknowledged request on one HTTP path, and where it goes.

    .venv/bin/python -m bench.hub_cpu form|sms|slack [--seconds 8] [--profile FILE]

One `contacthub serve` (one worker, SQLite, WAL, synchronous=FULL) pinned to core 0, wrk
pinned to core 1, driven at full speed with the path's pre-signed unique requests (the
same ones webhook_bench, sms_bench and slack_bench send), or with `--rate R` open-loop at R
requests/s (bench/paced.py): the same work per second whatever the revision, so the group
commits are as large in both and the CPU per request compares like with like. Prints
req/s and the hub process's CPU seconds (all its threads) per acknowledged request: on a
shared machine the rate moves with the other load, the CPU per request much less.
`--profile` samples the hub with py-spy meanwhile (the thread holding the GIL) and prints
its top functions. Every acknowledged request must be one stored message: the bench counts
them afterwards.

`--compare` measures the bare stack first, then (form) the floor, the least a signed,
deduplicated, durable webhook costs here (bench/floor_server.py), then the hub, and prints
the ratios and what the goal of half the bare rate leaves for the hub's own work.
`--tree DIR` runs the hub from another checkout (a revision to compare with; `git worktree
add DIR REV`), with this revision's requests and config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import slack_bench, sms_bench, webhook_bench
from bench.email_bench import _sampled, top_entries
from bench.loadgen import WrkResult, run_wrk, write_requests
from bench.paced import build_request, run_paced
from bench.support import free_port
from bench.webhook_bench import wait_ready
from channels.twilio.webhook import SIGNATURE_HEADER as TWILIO_SIGNATURE
from channels.webform import SIGNATURE_HEADER as FORM_SIGNATURE


@dataclass(frozen=True, slots=True)
class Route:
    """What differs between the paths: the URL, the signed requests, the hub's config."""

    url: str
    header: str
    content_type: str
    env: dict[str, str]
    config: Callable[[Path, int, str], Path]


def _form_config(workdir: Path, port: int, _api: str) -> Path:
    return webhook_bench.hub_config(workdir, port)


def _sms_config(workdir: Path, port: int, _api: str) -> Path:
    return sms_bench.hub_config(workdir, port, "bench")


PATHS = {
    "form": Route("/webhooks/form", FORM_SIGNATURE, "application/json",
                  {"BENCH_FORM_SECRET": webhook_bench.SECRET}, _form_config),
    "sms": Route(sms_bench.PATH, TWILIO_SIGNATURE, sms_bench.FORM,
                 {"BENCH_TWILIO_TOKEN": sms_bench.AUTH_TOKEN}, _sms_config),
    "slack": Route(slack_bench.PATH, "X-Slack-Signature", "application/json", {},
                   slack_bench.hub_config),
}  # fmt: skip


WARM_REQUESTS = 20_000


@dataclass(frozen=True, slots=True)
class Measured:
    wrk: WrkResult
    cpu_seconds: float
    system_seconds: float  # of which in the kernel (syscalls, fsync, thread wake-ups)
    stored: int

    @property
    def acknowledged(self) -> int:
        return self.wrk.requests - self.wrk.non_2xx

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.acknowledged, 1) * 1e6


def _signed(
    kind: str, count: int, offset: int = 0
) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """The signed requests, and a header the same on every request (Slack's stamp)."""
    if kind == "form":
        return webhook_bench.signed_forms(count, offset), None
    if kind == "sms":
        return sms_bench.signed_sms(count, offset), None
    now, signed = slack_bench.signed_events(count, offset)
    return signed, ("X-Slack-Request-Timestamp", now)


def _warm(kind: str, port: int, workdir: Path, args: argparse.Namespace) -> int:
    """`--warm` seconds of other requests first, from the same customers: the steady state
    of a hub that has met them (Slack's users.info answers cached, SQLite's pages read)."""
    if not args.warm:
        return 0
    spec = PATHS[kind]
    signed, fixed = _signed(kind, WARM_REQUESTS, offset=args.requests)
    requests = workdir / f"{kind}-warm.txt"
    write_requests(requests, signed)
    warm = run_wrk(
        f"http://127.0.0.1:{port}{spec.url}", requests, header=spec.header,
        connections=args.connections, seconds=args.warm, content_type=spec.content_type,
        fixed_header=fixed,
    )  # fmt: skip
    return min(warm.requests - warm.non_2xx, WARM_REQUESTS)  # acknowledged, each stored


def _drive(kind: str, port: int, workdir: Path, args: argparse.Namespace) -> WrkResult:
    """wrk at full speed, or (--rate) the open-loop generator at that rate."""
    spec = PATHS[kind]
    signed, fixed = _signed(kind, args.requests)
    if args.rate is None:
        requests = workdir / f"{kind}.txt"
        write_requests(requests, signed)
        return run_wrk(
            f"http://127.0.0.1:{port}{spec.url}", requests, header=spec.header,
            connections=args.connections, seconds=args.seconds,
            content_type=spec.content_type, fixed_header=fixed,
        )  # fmt: skip
    headers = {"Content-Type": spec.content_type, **dict([fixed] if fixed else [])}
    raw = [
        build_request(f"127.0.0.1:{port}", spec.url, {**headers, spec.header: sig}, body.encode())
        for sig, body in signed
    ]
    point = asyncio.run(run_paced(port, raw, args.rate, args.seconds, args.connections))
    total = min(len(raw), int(args.rate * args.seconds))
    return WrkResult(point.achieved, point.p50_ms, point.p99_ms, total, point.non_2xx, 0)


@contextlib.contextmanager
def _api(kind: str) -> Iterator[str]:
    if kind != "slack":
        yield ""
        return
    with slack_bench.emulator() as base:
        yield base


@contextlib.contextmanager
def _profiled(pid: int, args: argparse.Namespace) -> Iterator[None]:
    """py-spy over the run when asked: every busy thread's stacks (the store's writer thread
    included, whose SQLite work runs without the GIL), or only the GIL's holder (--gil)."""
    if args.perf is not None:  # native: the kernel, SQLite, libpython's own functions
        command = ["perf", "record", "-q", "-e", "cpu-clock", "-p", str(pid), "-o", str(args.perf),
                   "--", "sleep", str(args.seconds)]  # fmt: skip
        with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            yield
        return
    if args.profile is None:
        yield
        return
    sampler = _sampled(pid, args.profile, args.seconds)
    if not args.gil:
        sampler.command.remove("--gil")
    with sampler:
        yield


def _hub_command(config: Path, tree: Path | None) -> list[str]:
    """`contacthub serve`, one worker; from another checkout (`--tree`, a revision to compare
    with) when given, whose serve may predate `--workers` (then it runs one process)."""
    command = [sys.executable, "-m", "hub.cli", "serve", "--config", str(config)]
    usage = subprocess.run(
        [*command[:4], "--help"], check=True, cwd=tree, capture_output=True, text=True
    )
    if "--workers" in usage.stdout:
        command[4:4] = ["--workers", "1"]
    return command


def _stack_command(kind: str, port: int, workdir: Path, stack: str) -> list[str]:
    """The bare stack the issue compares with: aiohttp answering as the hub does (SMS:
    validating with twilio's RequestValidator; Slack: the plain handler, as the issue's row);
    or the floor (bench/floor_server.py, the form only): signed, deduplicated, committed."""
    here = str(Path(__file__).resolve().parent)
    if stack == "floor":
        if kind != "form":
            raise SystemExit("the floor is measured on the form path only")
        return [sys.executable, f"{here}/floor_server.py", str(port), str(workdir / "bench.db"),
                webhook_bench.SECRET]  # fmt: skip
    if kind == "form":
        return [sys.executable, f"{here}/bare_server.py", str(port)]
    if kind == "sms":
        return [sys.executable, f"{here}/bare_twilio.py", str(port), "validate",
                sms_bench.AUTH_TOKEN, sms_bench.PUBLIC_URL]  # fmt: skip
    return [sys.executable, f"{here}/bare_slack.py", str(port), "plain",
            slack_bench.SIGNING_SECRET]  # fmt: skip


def _times(pid: int) -> tuple[float, float]:
    """The process's CPU seconds so far, all its threads: (user, system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def measure(kind: str, args: argparse.Namespace) -> Measured:
    spec = PATHS[kind]
    with tempfile.TemporaryDirectory(prefix="contacthub-cpu-") as tmp, _api(kind) as api:
        workdir = Path(tmp)
        port = free_port()
        config = spec.config(workdir, port, api)
        if args.stack == "hub":
            command = _hub_command(config, args.tree)
        else:
            command = _stack_command(kind, port, workdir, args.stack)
        hub = subprocess.Popen(
            command, env={**os.environ, **spec.env}, stdout=subprocess.DEVNULL, cwd=args.tree
        )
        try:
            os.sched_setaffinity(hub.pid, {0})  # the hub on one core, wrk on the other
            wait_ready(port, hub)
            warmed = _warm(kind, port, workdir, args)
            before = _times(hub.pid)
            with _profiled(hub.pid, args):
                result = _drive(kind, port, workdir, args)
            user, system = (
                after - then for after, then in zip(_times(hub.pid), before, strict=True)
            )
        finally:
            hub.terminate()
            hub.wait()
        if args.stack == "bare":
            return Measured(result, user + system, system, 0)
        db = sqlite3.connect(workdir / "bench.db")
        try:
            count, distinct = db.execute(
                "SELECT count(*), count(DISTINCT dedupe_key) FROM messages"
                " WHERE direction = 'inbound'"
            ).fetchone()
        finally:
            db.close()
        acknowledged = warmed + min(result.requests - result.non_2xx, args.requests)
        if count != distinct or count < acknowledged:
            raise SystemExit(f"stored {count} ({distinct} distinct) of {acknowledged} acked")
        return Measured(result, user + system, system, int(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", choices=sorted(PATHS))
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--profile", type=Path, help="py-spy's collapsed stacks of the hub")
    parser.add_argument("--rate", type=float, help="open loop at this rate, not wrk's most")
    parser.add_argument("--perf", type=Path, help="`perf record` of the hub into this file")
    parser.add_argument("--warm", type=int, default=3, help="seconds of warm-up first")
    parser.add_argument(
        "--bare",
        action="store_const",
        const="bare",
        dest="stack",
        default="hub",
        help="the bare stack, not the hub",
    )
    parser.add_argument(
        "--floor",
        action="store_const",
        const="floor",
        dest="stack",
        help="the floor (form): signed, deduplicated, committed, no more",
    )
    parser.add_argument("--tree", type=Path, help="run the hub from this checkout")
    parser.add_argument("--gil", action="store_true", help="profile the GIL's holder only")
    parser.add_argument(
        "--compare", action="store_true", help="the bare stack, (form) the floor, then the hub"
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    if not args.compare:
        report(args.stack, measure(args.path, args))
    else:
        compare(args)
    if args.profile is not None:
        print(f"\nhub profile (py-spy, {args.profile}):")
        print("\n".join(top_entries(args.profile)))


def compare(args: argparse.Namespace) -> None:
    """Each stack in turn, then the ratios; for the form, what the goal (half the bare
    stack's rate) leaves for the hub's own work once the floor is paid."""
    stacks = ["bare", "floor", "hub"] if args.path == "form" else ["bare", "hub"]
    measured = {}
    for stack in stacks:
        measured[stack] = measure(args.path, argparse.Namespace(**{**vars(args), "stack": stack}))
        report(stack, measured[stack])
    bare = measured["bare"]
    for stack in stacks[1:]:
        cpu = bare.cpu_us_per_request / measured[stack].cpu_us_per_request
        rate = measured[stack].wrk.requests_per_second / bare.wrk.requests_per_second
        print(f"ratio {stack}/bare: {cpu:.2f} by CPU per request, {rate:.2f} by req/s")
    if "floor" in measured:
        budget = 2 * bare.cpu_us_per_request  # the goal: at least half the bare rate
        left = budget - measured["floor"].cpu_us_per_request
        spent = measured["hub"].cpu_us_per_request - measured["floor"].cpu_us_per_request
        print(f"half the bare rate allows {budget:.0f} µs per request: {left:.0f} µs beyond "
              f"the floor for the hub's own work, which takes {spent:.0f}")  # fmt: skip


def report(name: str, result: Measured) -> None:
    print(
        f"{name}: {result.wrk.requests_per_second:.0f} req/s, p99 {result.wrk.p99_ms:.1f} ms,"
        f" CPU {result.cpu_us_per_request:.0f} µs per request"
        f" ({result.system_seconds / max(result.cpu_seconds, 1e-9):.0%} in the kernel;"
        f" {result.acknowledged} acknowledged, {result.stored} stored once each with the"
        f" warm-up, non-2xx {result.wrk.non_2xx}); load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
