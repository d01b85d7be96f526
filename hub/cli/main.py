"""The `contacthub` command line."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import click
from aiohttp import web
from rich.console import Console

from core.errors import HubError
from hub.cli.campaigns import campaign
from hub.cli.common import config_option, load_config
from hub.cli.logs import configure_logging
from hub.cli.people import agent, token
from hub.cli.rules import rules
from hub.cli.workers import Supervisor, die_with_parent, parse_worker, worker_command
from hub.settings.tree import Settings


@click.group()
@click.version_option(package_name="contacthub")
def main() -> None:
    """contacthub: every inbound contact a durable, deduplicated, routed ticket."""


@main.command()
@config_option
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Hub processes sharing the ports (default: [server] workers, else one per core).",
)
@click.option("--worker", "worker", hidden=True, help="I/N: run as worker I of N.")
def serve(config: Path | None, workers: int | None, worker: str | None) -> None:
    """Run the hub: webhooks, API and the enabled channel listeners."""
    settings = load_config(config)
    configure_logging(settings.logging.level, json_lines=settings.logging.json_lines)
    if worker is not None:
        run_worker(settings, worker)
        return
    count = workers or settings.server.workers or cores()
    where = f"http://{settings.server.host}:{settings.server.port}"
    if count == 1:
        run_hub(settings)
        return
    click.echo(f"contacthub serving on {where} ({count} workers)")
    commands = [worker_command(config, index, count) for index in range(count)]
    sys.exit(Supervisor(commands).run())


def cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s share, not the
    machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def run_worker(settings: Settings, worker: str) -> None:
    try:
        index, _ = parse_worker(worker)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--worker") from exc
    die_with_parent()
    server = settings.server.model_copy(update={"reuse_port": True})
    run_hub(settings.model_copy(update={"server": server}), background=index == 0, quiet=True)


def build(settings: Settings, *, background: bool = True) -> web.Application:
    from hub.app import build_app

    try:
        return build_app(settings, background=background)
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc


def run_hub(settings: Settings, *, background: bool = True, quiet: bool = False) -> None:
    app = build(settings, background=background)
    app.on_startup.append(reload_rules_on_sighup)
    if not quiet:
        click.echo(f"contacthub serving on http://{settings.server.host}:{settings.server.port}")
    server = settings.server
    web.run_app(
        app,
        host=server.host,
        port=server.port,
        reuse_port=server.reuse_port or None,
        print=None,
        access_log=None,
    )


main.add_command(rules)
main.add_command(campaign)
main.add_command(agent)
main.add_command(token)


@main.command()
def demo() -> None:
    """Start a throwaway hub, drive signed contacts through it, show the result."""
    configure_logging("error")  # the demo shows refusals in its own table
    from hub.demo.run import run_demo

    asyncio.run(run_demo(Console(width=None if sys.stdout.isatty() else 120)))


async def reload_rules_on_sighup(app: web.Application) -> None:
    """`kill -HUP` re-reads the rules file (the running rules stay if it is invalid)."""
    from hub.state import RULES

    keeper = app[RULES]
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(keeper.reload_file("SIGHUP")))
