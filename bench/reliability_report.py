"""Render docs/reliability.md from the figures the fault suite leaves (tests/reliability.py):
one JSON per scenario in a folder, turned into tables with the date and the commit.

    scripts/reliability [FOLDER] [--output docs/reliability.md]

FOLDER defaults to $CONTACTHUB_RELIABILITY, else the last pytest run's temp dir.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Figures = Mapping[str, Any]
CHANNEL_COLUMNS = ("sent", "acknowledged", "stored", "missing", "duplicates")
CHANNEL_NAMES = {
    "form": "web form", "sms": "SMS", "voice": "voice", "slack": "Slack", "mail": "SMTP email",
    "chat": "web chat", "dialer": "dialer callbacks",
}  # fmt: skip


def default_folder() -> Path:
    given = os.environ.get("CONTACTHUB_RELIABILITY")
    if given:
        return Path(given)
    return Path("/tmp") / f"pytest-of-{getpass.getuser()}" / "pytest-current" / "reliability"  # noqa: S108  # pytest's own place


def read(folder: Path) -> dict[str, Figures]:
    found: dict[str, Figures] = {}
    for path in sorted(folder.glob("*.json")):
        figures = json.loads(path.read_text(encoding="utf-8"))
        found[str(figures["scenario"])] = {**figures, "_at": path.stat().st_mtime}
    return found


def commit(output: Path) -> str:
    """HEAD, and whether tracked files other than the report itself differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    sha = git("rev-parse", "--short=12", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "-uno", "--", ".", f":!{output}")
    return sha + (" (with uncommitted changes)" if changed else "")


def table(header: list[str], rows: list[list[Any]]) -> Iterator[str]:
    yield "| " + " | ".join(header) + " |"
    yield "|" + "---|" * len(header)
    for row in rows:
        yield "| " + " | ".join(str(cell) for cell in row) + " |"


def crash(figures: Figures) -> Iterator[str]:
    channels: Mapping[str, Mapping[str, int]] = figures["channels"]
    rows = [[CHANNEL_NAMES.get(name, name), *(one[c] for c in CHANNEL_COLUMNS)]
            for name, one in channels.items()]  # fmt: skip
    totals = [sum(one[c] for one in channels.values()) for c in CHANNEL_COLUMNS]
    rows.append(["**all**", *(f"**{t}**" for t in totals)])
    yield f"### {figures['title']}"
    yield ""
    kills = ", ".join(
        f"hub {k['hub']} after {k['acknowledged_before']} acknowledged" for k in figures["kills"]
    )
    refused = sum(figures["refusals"].values())
    yield (
        f"{len(figures['kills'])} SIGKILLs ({kills}); {figures['seconds']} s of load"
        f"{on_machine(figures)}; {refused} attempts refused or cut meanwhile and retried by "
        "the senders."
    )
    yield ""
    yield from table(["channel", *CHANNEL_COLUMNS], rows)
    yield ""


def on_machine(figures: Figures) -> str:
    machine = figures.get("machine")
    if not machine:
        return ""
    return f" (on {machine['cpus']} CPUs at load average {machine['load_average']})"


def redis(found: Mapping[str, Figures]) -> Iterator[str]:
    runs = [found[k] for k in ("redis-always", "redis-everysec") if k in found]
    if not runs:
        return
    yield "## redis-server SIGKILLed under load (two hubs)"
    yield ""
    header = ["appendfsync", "sent", "acked before kill", "lost", "lost window (ms)",
              "refused (503)", "fsyncs in load", "fsync gap median / max (ms)",
              "at the kill: since last fsync (ms)", "acked since then"]  # fmt: skip
    rows = []
    for run in runs:
        cut = run["power_cut"]
        rows.append([
            f"`{run['fsync']}`", run["sent"], run["acknowledged_before_kill"], run["lost"],
            run["lost_window_ms"], run["refused"], cut.get("fsyncs", 0),
            f"{cut.get('fsync_gap_ms_median', 0)} / {cut.get('fsync_gap_ms_max', 0)}",
            cut.get("since_last_fsync_began_ms", 0), cut.get("acknowledged_since_it_began", 0),
        ])  # fmt: skip
    yield from table(header, rows)
    yield ""
    yield from EVERYSEC


EVERYSEC = [
    "**The loss window.** A SIGKILL of redis-server loses what Redis had not yet *written* to",
    "the AOF; the kernel keeps what was written, fsynced or not. Redis writes a command's AOF",
    "record before it replies, so with `always` nothing acknowledged is lost (and each write",
    "batch is also fsynced before the reply). With `everysec` the write may be postponed, by",
    "at most 2 s, while a slow background fsync runs, and replies go out meanwhile: that is",
    "the process-crash window, measured above as *lost* and *lost window* (0 when the disk",
    "kept up). A power cut or kernel crash loses what was written but not fsynced: the test",
    "runs redis-server under strace and records every fsync, so the gaps between fsyncs are",
    "the window a power cut could lose (about 1 s with `everysec`, one write batch with",
    "`always`), and *at the kill* shows how much was exposed at that moment (an upper bound:",
    "a contact acknowledged just after an fsync began may be in it). Run Redis with",
    "`appendfsync always` where a power cut must not lose an acknowledged contact.",
    "",
]


def mta(figures: Figures) -> Iterator[str]:
    yield "## A real MTA through a storage outage"
    yield ""
    yield (
        f"Postfix {figures['postfix']} (Debian's), its own config and queue in a temp dir, "
        "relaying `hub.example` to the hub's SMTP listener; the hub's Redis stopped, one "
        "message sent to Postfix, Redis started, `postqueue -f`, then a second flush."
    )
    yield ""
    header = ["accepted by Postfix", "held while down", "deferred attempts", "delivered",
              "stored by the hub", "queue empty after flush"]  # fmt: skip
    keys = ("accepted_by_postfix", "held_while_down", "deferred_attempts", "delivered", "stored")
    empty = "yes" if figures["queue_empty_after_flush"] else "no"
    yield from table(header, [[*(figures[k] for k in keys), empty]])
    yield ""
    yield f"Postfix's reason for holding it: `{figures['delay_reason']}`"
    yield ""


def render(found: Mapping[str, Figures], now: datetime, sha: str) -> str:
    newest = max((f["_at"] for f in found.values()), default=now.timestamp())
    ran = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability: the fault suite's figures",
        "",
        f"Generated {now.strftime('%Y-%m-%d %H:%M UTC')} by `scripts/reliability` at commit "
        f"`{sha}`, from the figures of the test run of {ran}. Reproduce: run the fault tests "
        "(`CONTACTHUB_RELIABILITY=/tmp/figures .venv/bin/pytest tests/hub/test_crash.py "
        "tests/hub/test_redis_durability.py tests/hub/test_mta.py`), then "
        "`scripts/reliability /tmp/figures`.",
        "",
        "*Missing* counts contacts the hub acknowledged that the store does not hold;",
        "*duplicates*, stored copies beyond the first. Every sender retries until acknowledged,",
        "as providers do, so *acknowledged* equals *sent* once the run ends.",
        "",
        "## SIGKILL of the hub under mixed load",
        "",
    ]
    for key in ("sigkill-sqlite", "sigkill-redis"):
        lines += crash(found[key]) if key in found else [f"({key}: not run)", ""]
    lines += redis(found)
    lines += mta(found["mta-postfix"]) if "mta-postfix" in found else ["(mta-postfix: not run)"]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=Path("docs/reliability.md"))
    args = parser.parse_args(argv)
    folder: Path = args.folder or default_folder()
    found = read(folder) if folder.is_dir() else {}
    if not found:
        print(f"no figures in {folder}: run the fault tests first", file=sys.stderr)
        return 1
    args.output.write_text(render(found, datetime.now(UTC), commit(args.output)), encoding="utf-8")
    print(f"wrote {args.output} from {len(found)} scenarios in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
