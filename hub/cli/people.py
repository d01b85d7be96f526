"""`contacthub agent ...` and `contacthub token ...`: people and their tokens, in the store.

These commands touch only the store, so they read only `[storage]` of the config (a config
whose channels need secrets from the environment works without them). Without `--config`
they use the default store, `./contacthub.db` of the current directory, and say so; they
refuse when that directory holds a `contacthub.toml` the command would silently ignore.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import click

from core.errors import ConfigError, HubError, InvalidRequest
from core.model import Role, whole_id
from core.people import CHANNELS, MAX_CAPACITY, AgentChange, person_name
from hub.cli.common import config_option
from hub.rules.in_force import rules_in_force
from hub.settings.tree import (
    RoutingSettings,
    StorageSettings,
    load_sections,
    load_storage_settings,
)
from hub.tokens import digest, new_secret
from storage.base import Store, open_store

T = TypeVar("T")
ROLES = click.Choice([r.value for r in Role])


def storage_url(config: Path | None) -> str:
    """The store a store-only command works on, said on stderr when it is the default."""
    return storage_settings(config).url


def storage_settings(config: Path | None) -> StorageSettings:
    """`[storage]` of the config, or the default one (said on stderr)."""
    if config is not None:
        try:
            return load_storage_settings(config, os.environ)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    if Path("contacthub.toml").exists():
        raise click.ClickException(
            "./contacthub.toml is here but no --config was given: pass --config contacthub.toml "
            "(or set CONTACTHUB_CONFIG) so the command works on that hub's store"
        )
    settings = StorageSettings()
    click.echo(f"no --config: using the default store {_where(settings.url)}", err=True)
    return settings


def routing_settings(config: Path | None) -> RoutingSettings:
    """`[routing]` of the config (the rules file), or the default one."""
    if config is None:
        return RoutingSettings()
    try:
        return load_sections(config, os.environ, "routing").routing
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _where(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return url
    return str(Path(parts.path[1:]).resolve())


def with_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(url)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc


def parse_capacity(text: str | None) -> dict[str, int] | None:
    """`email=10,sms=5` as a mapping; a usage error names what is wrong."""
    if not text:
        return None
    capacity: dict[str, int] = {}
    for part in text.split(","):
        channel, sep, count = part.strip().partition("=")
        number = whole_id(count) if sep else None
        if channel not in CHANNELS or number is None or number > MAX_CAPACITY:
            raise click.BadParameter(
                f"{part.strip()!r}: use CHANNEL=COUNT, COUNT from 0 to {MAX_CAPACITY}, "
                f"channels {', '.join(CHANNELS)}",
                param_hint="--capacity",
            )
        capacity[channel] = number
    return capacity


@click.group()
def agent() -> None:
    """Agents: roles, skills, capacity per channel, queues."""


@agent.command("add")
@config_option
@click.argument("name")
@click.option("--role", "roles", type=ROLES, multiple=True, help="Repeat for several roles.")
@click.option("--skill", "skills", multiple=True, help="Repeat for several skills.")
@click.option("--capacity", help="Per channel, e.g. email=10,sms=5,chat=3,voice=1.")
@click.option("--queue", "queues", multiple=True, help="Queues served (none: every queue).")
def agent_add(
    config: Path | None,
    name: str,
    roles: tuple[str, ...],
    skills: tuple[str, ...],
    capacity: str | None,
    queues: tuple[str, ...],
) -> None:
    """Create or update an agent; a new token is printed, alone on the last line."""
    change = AgentChange(
        roles=frozenset(Role(r) for r in roles) if roles else None,
        skills=frozenset(skills) if skills else None,
        capacity=parse_capacity(capacity),
        queues=frozenset(queues) if queues else None,
    )
    secret = new_secret()

    async def add(store: Store) -> str:
        now = datetime.now(UTC)
        await _new_name_allowed(store, name)
        if queues:
            await _known_queues(store, config, queues)
        saved = await store.put_agent(name, change, now)
        token = await store.add_token(name, None, digest(secret), now)
        roles_text = ", ".join(sorted(saved.roles)) or "no role yet"
        capacity_text = ", ".join(f"{ch}={saved.capacity_on(ch)}" for ch in CHANNELS)
        return f"agent {name!r} ({roles_text}; {capacity_text}); token id {token.id}:"

    click.echo(with_store(storage_url(config), add))
    click.echo(secret)


@agent.command("list")
@config_option
def agent_list(config: Path | None) -> None:
    """Every agent with roles, presence and load."""

    async def listing(store: Store) -> list[str]:
        lines = []
        for a in await store.list_agents():
            load = ", ".join(f"{ch} {a.load_on(ch)}/{a.capacity_on(ch)}" for ch in CHANNELS)
            roles = ",".join(sorted(a.roles)) or "-"
            lines.append(f"{a.name}\t{roles}\t{a.presence}\t{load}")
        return lines

    for line in with_store(storage_url(config), listing):
        click.echo(line)


@click.group()
def token() -> None:
    """API tokens of agents."""


@token.command("create")
@config_option
@click.option("--role", type=ROLES, required=True)
@click.option("--name", required=True, help="The agent (created when new) who uses it.")
def token_create(config: Path | None, role: str, name: str) -> None:
    """A token granting one role (given to the agent); its secret alone on the last line."""
    secret = new_secret()

    async def create(store: Store) -> str:
        await _new_name_allowed(store, name, "--name")
        made = await store.add_token(name, Role(role), digest(secret), datetime.now(UTC))
        return f"created {role} token {made.name!r} (id {made.id}); store it now:"

    click.echo(with_store(storage_url(config), create))
    click.echo(secret)


@token.command("list")
@config_option
def token_list(config: Path | None) -> None:
    """Every token: id, agent, role, created, revoked (never a secret)."""

    async def listing(store: Store) -> list[str]:
        return [
            f"{t.id}\t{t.name}\t{t.role or 'all roles'}\t{t.created_at:%Y-%m-%d %H:%M}\t"
            + (f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live")
            for t in await store.list_tokens()
        ]

    for line in with_store(storage_url(config), listing):
        click.echo(line)


@token.command("revoke")
@config_option
@click.argument("name_or_id")
def token_revoke(config: Path | None, name_or_id: str) -> None:
    """Revoke a token by id, or every live token of an agent by name."""
    number = whole_id(name_or_id)
    key: str | int = name_or_id if number is None else number

    async def revoke(store: Store) -> int:
        return len(await store.revoke_tokens(key, datetime.now(UTC)))

    revoked = with_store(storage_url(config), revoke)
    if not revoked:
        raise click.ClickException(f"no live token {name_or_id!r}")
    click.echo(f"revoked {revoked} token{'s' if revoked > 1 else ''} of {name_or_id}")


async def _new_name_allowed(store: Store, name: str, hint: str = "NAME") -> None:
    """A new person's name must be one the API can find (core/people.py `person_name`); one
    named before the rule is still updated."""
    if not await store.known_person(name):
        try:
            person_name(name)
        except InvalidRequest as exc:
            raise click.BadParameter(str(exc), param_hint=hint) from exc


async def _known_queues(store: Store, config: Path | None, queues: tuple[str, ...]) -> None:
    """The queues are the rules' (those in force), as `PUT /api/agents` checks: an agent
    given a misspelt queue would be offered nothing and nobody would know why."""
    settings = routing_settings(config)
    known = (await rules_in_force(store, settings.rules)).queues
    unknown = sorted(set(queues) - set(known))
    if unknown:
        raise click.BadParameter(
            f"unknown queue(s): {', '.join(unknown)}; the rules have {', '.join(sorted(known))}",
            param_hint="--queue",
        )
