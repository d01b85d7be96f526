"""`contacthub rules check | test | simulate`: what supervisors run on a draft rules file."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from core.errors import HubError, PayloadError, RuleError
from core.people import CHANNELS
from hub.cli.common import config_option, load_config
from hub.rules.in_force import rules_in_force
from hub.rules.probe import probe_contact, probe_facts
from hub.rules.simulate import Simulation, simulate
from router import Ruleset, format_explanation, load_ruleset
from router.conditions import EVENTS
from router.sla.describe import describe
from storage.base import open_store

MAX_MOVES_SHOWN = 50
RulesFile = click.Path(exists=True, dir_okay=False, path_type=Path)


def _load(path: Path) -> Ruleset:
    try:
        return load_ruleset(path.read_text(encoding="utf-8"), str(path))
    except RuleError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from exc


@click.group()
def rules() -> None:
    """Check, try and simulate routing rules files."""


@rules.command("check")
@click.argument("file", type=RulesFile)
def check(file: Path) -> None:
    """Validate a rules file: exit 0, or every error with its line and rule (exit 1)."""
    ruleset = _load(file)
    click.echo(f"{file}: ok ({len(ruleset.doc.rules)} rules, {len(ruleset.queues)} queues)")


@rules.command("test")
@click.argument("file", type=RulesFile)
@click.option("--channel", required=True, type=click.Choice(CHANNELS))
@click.option("--from", "sender", default="", help="Email address, phone number or Slack id.")
@click.option("--to", default="", help="The mailbox or number the contact was sent to.")
@click.option("--subject", default="")
@click.option("--text", default="", help="The message body.")
@click.option("--event", default="message", type=click.Choice(EVENTS))
@click.option("--at", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]))
@click.option("--attachment", is_flag=True, help="The contact has an attachment.")
@click.option("--tag", "tags", multiple=True, help="A tag of the customer (repeatable).")
@click.option("--returning", is_flag=True, help="The customer is known to the hub.")
@click.option("--open-tickets", type=click.IntRange(min=0), default=0)
@click.option("--region", default="US", help="For phone numbers without a country code.")
def test(  # noqa: PLR0913  # one option per field of a contact
    file: Path,
    *,
    channel: str,
    sender: str,
    to: str,
    subject: str,
    text: str,
    event: str,
    at: datetime | None,
    attachment: bool,  # click passes flags positionally by name
    tags: tuple[str, ...],
    returning: bool,
    open_tickets: int,
    region: str,
) -> None:
    """Which rule fires for a contact, which queue, and why (rule by rule)."""
    ruleset = _load(file)
    try:
        contact = probe_contact(
            channel=channel, sender=sender, to=to, subject=subject, text=text, event=event,
            at=at, has_attachment=attachment, region=region,
        )  # fmt: skip
    except PayloadError as exc:
        raise click.BadParameter(exc.message, param_hint="--from") from exc
    facts = probe_facts(tags, is_new=not returning, open_tickets=open_tickets)
    decision = ruleset.decide(contact, facts)
    click.echo(format_explanation(decision, describe(ruleset.doc, decision)))


@rules.command("simulate")
@config_option
@click.argument("file", type=RulesFile)
def simulate_command(config: Path | None, file: Path) -> None:
    """Replay stored tickets against a draft rules file: what would move where."""
    draft = _load(file)
    settings = load_config(config)
    try:
        result = asyncio.run(_simulate(settings.storage.url, draft, settings.routing.rules))
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_simulation(Console(), file, result)


async def _simulate(url: str, draft: Ruleset, configured: Path | None) -> Simulation:
    store = open_store(url)
    await store.open()
    try:
        return await simulate(store, draft, await rules_in_force(store, configured))
    finally:
        await store.close()


def _print_simulation(console: Console, file: Path, result: Simulation) -> None:
    click.echo(f"{result.tickets} tickets replayed against {file}: {len(result.moves)} would move")
    if result.moves:
        moves = Table(title="tickets that would move")
        for column in ("ticket", "from queue", "to queue", "by rule"):
            moves.add_column(column)
        for move in result.moves[:MAX_MOVES_SHOWN]:
            moves.add_row(
                str(move.ticket_id), move.from_queue, move.to_queue, move.rule or "default"
            )
        console.print(moves)
        if len(result.moves) > MAX_MOVES_SHOWN:
            console.print(f"... and {len(result.moves) - MAX_MOVES_SHOWN} more")
    counts = Table(title="tickets per queue")
    for column in ("queue", "now", "with the draft", "change"):
        counts.add_column(column)
    for queue in sorted({*result.before, *result.after}):
        now, then = result.before[queue], result.after[queue]
        counts.add_row(queue, str(now), str(then), f"{then - now:+d}")
    console.print(counts)
