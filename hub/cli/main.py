"""The `contacthub` command line."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
from pathlib import Path

import click
from aiohttp import web
from rich.console import Console

from core.errors import HubError, ListenError
from hub.cli.backup import backup, restore
from hub.cli.campaigns import campaign
from hub.cli.collector import settle as settle_collector
from hub.cli.common import config_option, load_config
from hub.cli.customers import customer
from hub.cli.logs import configure_logging, settings_secrets
from hub.cli.people import agent, token, with_store
from hub.cli.reports import reports
from hub.cli.rules import rules
from hub.cli.workers import (
    Supervisor,
    die_with_parent,
    parse_worker,
    probe_ports,
    worker_command,
)
from hub.settings.tree import Settings
from hub.wiring.webchat_siblings import Siblings
from storage.base import Store

# what binding the HTTP port fails with: taken, privileged, or an address not on this machine
_BIND_ERRORS = {errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL}


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
    configure_logging(
        settings.logging.level,
        format=settings.logging.format,
        secrets=settings_secrets(settings),
    )
    if worker is not None:
        run_worker(settings, worker)
        return
    count = workers or settings.server.workers or cores()
    where = f"http://{settings.server.host}:{settings.server.port}"
    if count == 1:
        run_hub(settings)
        return
    try:
        probe_ports(listeners(settings), shared=settings.server.reuse_port)
    except ListenError as exc:
        raise click.ClickException(str(exc)) from exc
    # opened once before the workers (and migrated, on a new release): a store that cannot be
    # opened is said once, and the hub never says it serves
    with_store(settings.storage.url, _opened)
    click.echo(f"contacthub serving on {where} ({count} workers)")
    commands = [worker_command(config, index, count) for index in range(count)]
    sys.exit(Supervisor(commands).run())


async def _opened(_store: Store) -> None:
    """Nothing more than opening the store (and closing it)."""


def listeners(settings: Settings) -> list[tuple[str, str, int, str]]:
    """The ports every worker binds: (listener, host, port, setting)."""
    ports = [("HTTP", settings.server.host, settings.server.port, "server.port")]
    smtp = settings.channels.smtp
    if smtp is not None:
        ports.append(("SMTP", smtp.host, smtp.port, "channels.smtp.port"))
    return ports


def cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s share, not the
    machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def run_worker(settings: Settings, worker: str) -> None:
    try:
        index, count = parse_worker(worker)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--worker") from exc
    die_with_parent()
    server = settings.server.model_copy(update={"reuse_port": True})
    siblings = Siblings.from_environment(index, count)
    run_hub(
        settings.model_copy(update={"server": server}),
        background=index == 0, quiet=True, siblings=siblings,
    )  # fmt: skip


def build(
    settings: Settings, *, background: bool = True, siblings: Siblings | None = None
) -> web.Application:
    from hub.app import build_app

    try:
        return build_app(settings, background=background, siblings=siblings)
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc


def run_hub(
    settings: Settings,
    *,
    background: bool = True,
    quiet: bool = False,
    siblings: Siblings | None = None,
) -> None:
    app = build(settings, background=background, siblings=siblings)
    app.on_startup.append(reload_rules_on_sighup)
    app.on_startup.append(settle_collector)  # last: after the store and listeners opened
    host, port = settings.server.host, settings.server.port
    try:
        # `print` is called once every listener is bound: only then is the hub serving
        web.run_app(
            app,
            host=host,
            port=port,
            reuse_port=settings.server.reuse_port or None,
            print=None
            if quiet
            else lambda _: click.echo(f"contacthub serving on http://{host}:{port}"),
            access_log=None,
        )
    except OSError as exc:
        if exc.errno not in _BIND_ERRORS:
            raise
        raise click.ClickException(
            str(ListenError.from_os_error("HTTP", host, port, exc, "server.port"))
        ) from exc
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc


main.add_command(rules)
main.add_command(campaign)
main.add_command(agent)
main.add_command(token)
main.add_command(backup)
main.add_command(restore)
main.add_command(customer)
main.add_command(reports)


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
