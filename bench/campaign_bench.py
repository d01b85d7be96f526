"""Load a generated callback list through the real loader into SQLite, against a bare loop.

    python -m bench.campaign_bench [--rows 1000000] [--workers 2] [--batch 20000]

The list: US numbers in the ways people write them ("(212) 555-0143", "+1 212 555 0143",
"212.555.0143", "2125550143"), names, emails, references, notes and some preferred hours,
with about 1% invalid numbers and 0.5% repeated ones. The loader is the one
`contacthub campaign load` runs (hub/campaigns/load.py: the file's structure read whole and
cut into chunks of `--batch` records, each read and normalised in a process pool and stored
with one Store.add_contacts into a fresh SQLite file with `synchronous=FULL`). The bare loop
is csv.DictReader + phonenumbers.parse + is_valid_number + E.164 formatting over the same
file, in one process, storing nothing. Peak RSS is
`resource.getrusage` (the loading process, and the largest of its workers).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers

from hub.campaigns.desk import CampaignDesk
from hub.campaigns.load import ListLoad, LoadReport, worker_pool
from hub.settings.campaigns import CampaignSettings
from storage.base import open_store

AREAS = ["212", "415", "312", "305", "206", "512", "617", "702", "213", "404", "303", "808",
         "907", "602", "713", "215", "503", "612", "314", "615"]  # fmt: skip
SHAPES = ["({a}) {b}-{c}", "+1 {a} {b} {c}", "{a}.{b}.{c}", "{a}{b}{c}", "1-{a}-{b}-{c}"]
PREFERRED = ["", "", "", "", "morning", "14:00-17:00", "evening"]


def generate(path: Path, rows: int, seed: int = 8) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["phone", "name", "email", "external_ref", "notes", "preferred_time"])
        for i in range(rows):
            a, b, c = rng.choice(AREAS), rng.randint(200, 999), rng.randint(0, 9999)
            phone = rng.choice(SHAPES).format(a=a, b=b, c=f"{c:04d}")
            roll = rng.random()
            if roll < 0.01:
                phone = f"555-{c:04d}"  # no area code: invalid
            elif roll < 0.015 and i:
                phone = f"({a}) 555-{c % 100:04d}"  # a few numbers many times over
            name = f"Customer {i}"
            writer.writerow(
                [phone, name, f"c{i}@example.com", f"R{i:07d}", "", rng.choice(PREFERRED)]
            )


def bare(path: Path) -> float:
    """The bare loop, timed; the rows/s it reached."""
    started = time.perf_counter()
    rows = valid = 0
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            rows += 1
            try:
                number = phonenumbers.parse(row["phone"], "US")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                valid += 1
    return rows / (time.perf_counter() - started)


async def load(path: Path, db: Path, workers: int, batch: int) -> tuple[LoadReport, float]:
    store = open_store(f"sqlite:///{db}")
    await store.open()
    try:
        settings = CampaignSettings(workers=workers, batch_rows=batch)
        desk = CampaignDesk(store, settings)
        now = datetime.now(UTC)
        campaign, _ = await desk.ensure(desk.spec("bench"), now)
        job = ListLoad(  # as `contacthub campaign load` runs it
            store, campaign, "US", now, batch_rows=batch, workers=workers
        )
        started = time.perf_counter()
        with worker_pool(workers) as pool:
            report = await job.run(path, pool if workers else None)
        return report, time.perf_counter() - started
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=CampaignSettings().load_batch_rows)
    parser.add_argument("--bare-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_only:
        print(bare(args.bare_only))
        return
    with tempfile.TemporaryDirectory(prefix="campaign-bench-") as tmp:
        path = Path(tmp) / "list.csv"
        generate(path, args.rows)
        print(f"list: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
        before = os.times()
        report, seconds = asyncio.run(load(path, Path(tmp) / "bench.db", args.workers, args.batch))
        after = os.times()
        peaks = (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        )  # read now: the bare loop's process, next, is a child too
        command = [sys.executable, "-m", "bench.campaign_bench", "--bare-only", str(path)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        show(report, seconds, (before, after), peaks, float(done.stdout), args)


def show(
    report: LoadReport,
    seconds: float,
    times: tuple[os.times_result, os.times_result],
    peaks: tuple[float, float],
    bare_rate: float,
    args: argparse.Namespace,
) -> None:
    rate = report.rows / seconds
    before, after = times
    own_mb, worker_mb = peaks
    own_cpu = after.user + after.system - before.user - before.system
    workers_cpu = after.children_user + after.children_system - before.children_user
    workers_cpu -= before.children_system
    print(f"loaded: {report.accepted:,} accepted, {report.invalid:,} invalid, "
          f"{report.duplicates:,} duplicates, {report.suppressed:,} suppressed")  # fmt: skip
    print(f"loader: {seconds:.1f} s, {rate:,.0f} rows/s "
          f"({args.workers} workers, batches of {args.batch:,})")  # fmt: skip
    print(f"peak RSS: loader process {own_mb:.0f} MB, largest worker {worker_mb:.0f} MB")
    print(f"CPU: loader process {own_cpu:.1f} s, workers {workers_cpu:.1f} s")
    print(f"bare csv.DictReader + parse + is_valid + E.164: {bare_rate:,.0f} rows/s (one core)")
    print(f"ratio loader/bare: {rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
