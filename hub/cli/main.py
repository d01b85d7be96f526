"""The `contacthub` command line."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click
from aiohttp import web
from rich.console import Console

from core.errors import HubError
from hub.cli.campaigns import campaign
from hub.cli.common import config_option, load_config
from hub.cli.customers import customer
from hub.cli.logs import configure_logging
from hub.cli.people import agent, token
from hub.cli.rules import rules


@click.group()
@click.version_option(package_name="contacthub")
def main() -> None:
    """contacthub: every inbound contact a durable, deduplicated, routed ticket."""


@main.command()
@config_option
def serve(config: Path | None) -> None:
    """Run the hub: webhooks, API and the enabled channel listeners."""
    settings = load_config(config)
    configure_logging(settings.logging.level, json_lines=settings.logging.json_lines)
    from hub.app import build_app

    try:
        app = build_app(settings)
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    app.on_startup.append(reload_rules_on_sighup)
    click.echo(f"contacthub serving on http://{settings.server.host}:{settings.server.port}")
    web.run_app(
        app, host=settings.server.host, port=settings.server.port, print=None, access_log=None
    )


main.add_command(rules)
main.add_command(campaign)
main.add_command(agent)
main.add_command(token)
main.add_command(customer)


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
