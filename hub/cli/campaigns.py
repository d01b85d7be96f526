"""`contacthub campaign load | dnc`: what outbound teams run on their lists."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from core.campaigns import Campaign, CampaignSpec
from core.errors import HubError, NotFound
from hub.campaigns.desk import CampaignDesk, refuse_inbound_queue
from hub.campaigns.load import (
    DoNotCallReport,
    ListLoad,
    LoadReport,
    Problem,
    load_do_not_call,
    worker_pool,
)
from hub.cli.common import config_option, load_config
from hub.rules.in_force import rules_in_force
from hub.settings.tree import Settings
from storage.base import Store, open_store

ListFile = click.Path(exists=True, dir_okay=False, path_type=Path)
SHOWN = 5
KINDS = ("invalid", "duplicate", "suppressed")


@click.group()
def campaign() -> None:
    """Outbound campaigns: load callback lists and do-not-call lists."""


@campaign.command("load")
@config_option
@click.argument("name")
@click.argument("file", type=ListFile)
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=HEADER",
              help="Read a column under another header: --map phone=Mobile.")  # fmt: skip
@click.option("--queue", default=None, help="The queue of a campaign created now.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Processes normalising numbers (default: [campaigns] workers).")  # fmt: skip
def load(  # one option per choice of the command
    config: Path | None,
    name: str,
    file: Path,
    mapping: tuple[str, ...],
    queue: str | None,
    workers: int | None,
) -> None:
    """Load a callback list (CSV) into campaign NAME, creating it with the configured
    defaults (paused) when it does not exist. Prints a summary and the rejected rows."""
    settings = load_config(config)
    explicit = dict(_pair(item) for item in mapping)
    count = settings.campaigns.workers if workers is None else workers
    console = Console(stderr=True)
    try:
        report = asyncio.run(
            _load(settings, name=name, file=file, explicit=explicit, queue=queue,
                  workers=count, console=console)
        )  # fmt: skip
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_report(Console(), file, report)


async def _load(  # noqa: PLR0913  # the command's choices
    settings: Settings,
    *,
    name: str,
    file: Path,
    explicit: dict[str, str],
    queue: str | None,
    workers: int,
    console: Console,
) -> LoadReport:
    store = open_store(settings.storage.url)
    await store.open()
    try:
        desk = CampaignDesk(store, settings.campaigns)
        now = datetime.now(UTC)
        campaign, created = await _campaign(store, desk, desk.spec(name, queue), settings, now)
        job = ListLoad(
            store, campaign, settings.routing.default_region, now,
            batch_rows=settings.campaigns.load_batch_rows, workers=workers, explicit=explicit,
            law=desk.law,
        )  # fmt: skip
        with _pool(workers) as pool, _progress(console, file) as (bar, task):
            report = await job.run(
                file,
                pool,
                lambda done, rows: bar.update(task, completed=done, rows=rows, refresh=True),
            )
        report.created = created
        return report
    finally:
        await store.close()


async def _campaign(
    store: Store, desk: CampaignDesk, spec: CampaignSpec, settings: Settings, now: datetime
) -> tuple[Campaign, bool]:
    """The campaign, made from `spec` when there is none, on a queue the API would take too."""
    try:
        return await store.get_campaign(spec.name), False
    except NotFound:
        in_force = await rules_in_force(store, settings.routing.rules)
        refuse_inbound_queue(in_force.queues, spec.queue)
        return await desk.ensure(spec, now)


@contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    if not workers:
        yield None
        return
    with worker_pool(workers) as pool:
        yield pool


@contextmanager
def _progress(console: Console, file: Path) -> Iterator[tuple[Progress, TaskID]]:
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"), TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    # Refreshed after each stored batch rather than by rich's own thread, which would trade
    # the GIL with the writer's SQL ten times a second.
    with Progress(*columns, console=console, transient=False, auto_refresh=False) as bar:
        task = bar.add_task(file.name, total=file.stat().st_size, rows=0)
        yield bar, task


def _pair(item: str) -> tuple[str, str]:
    column, sep, header = item.partition("=")
    if not sep or not column.strip() or not header.strip():
        raise click.BadParameter(f"{item!r} is not COLUMN=HEADER", param_hint="--map")
    return column.strip(), header.strip()


def _print_report(console: Console, file: Path, report: LoadReport) -> None:
    campaign = report.campaign
    made = "created (paused: start it to call)" if report.created else campaign.state.value
    click.echo(f"{file}: campaign {campaign.name!r} (id {campaign.id}, {made})")
    summary = Table(title="list loaded")
    summary.add_column("rows")
    summary.add_column("count", justify="right")
    for label, count in (
        ("read", report.rows), ("accepted", report.accepted), ("invalid", report.invalid),
        ("duplicate in the list", report.duplicate_in_list),
        ("duplicate in the campaign", report.duplicate_in_campaign),
        ("suppressed (do not call)", report.suppressed),
    ):  # fmt: skip
        summary.add_row(label, f"{count:,}")
    console.print(summary)
    if report.ignored_columns:
        click.echo(f"columns not read: {', '.join(report.ignored_columns)}")
    _print_problems(console, report.problems)


def _print_problems(console: Console, problems: Sequence[Problem]) -> None:
    """The first rows of each kind of rejection (the counts above are whole)."""
    shown = [p for kind in KINDS for p in [q for q in problems if q.kind == kind][:SHOWN]]
    if not shown:
        return
    table = Table(title=f"rows not loaded (the first {SHOWN} of each kind)")
    for column in ("line", "kind", "number", "reason"):
        table.add_column(column)
    for problem in sorted(shown, key=lambda p: p.line):
        table.add_row(str(problem.line), problem.kind, problem.phone, problem.reason)
    console.print(table)


@campaign.command("dnc")
@config_option
@click.argument("file", type=ListFile)
@click.option("--source", required=True, help="Where the numbers come from (kept with each).")
def dnc(config: Path | None, file: Path, source: str) -> None:
    """Put the numbers of FILE (CSV with a phone column, or one number a line) on the
    do-not-call list; queued contacts with them, in every campaign, are never called."""
    settings = load_config(config)
    try:
        report = asyncio.run(_dnc(settings, file, source))
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{file}: {report.rows:,} rows, {report.added:,} numbers added, "
        f"{report.already_listed:,} already listed, {report.invalid:,} invalid"
    )
    _print_problems(Console(), report.problems)


async def _dnc(settings: Settings, file: Path, source: str) -> DoNotCallReport:
    store = open_store(settings.storage.url)
    await store.open()
    try:
        region, now = settings.routing.default_region, datetime.now(UTC)
        return await load_do_not_call(store, file, source, region, now)
    finally:
        await store.close()
