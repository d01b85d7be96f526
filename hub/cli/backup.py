"""`contacthub backup FILE` and `contacthub restore FILE`: a hub's data in one file.

Like the agent and token commands they read only `[storage]` of the config. A backup is
taken while the hub runs; a restore goes into a stopped hub (see storage/sqlite/backup.py).
On Redis, the backup is Redis's own snapshot of one instant (storage/redis/backup.py), and
Redis restores it: `restore` says how.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import click

from core.errors import ConfigError, HubError
from hub.cli.common import config_option
from hub.cli.people import storage_settings
from hub.settings.tree import StorageSettings
from storage.redis import backup as redis_backup
from storage.sqlite.backup import BackupSummary, restore_backup, write_backup
from storage.sqlite.options import SqliteOptions

T = TypeVar("T")
_REDIS_ADVICE = (
    "a Redis store is restored by Redis: stop it, put the backup's dump.rdb (tar -xf FILE "
    "dump.rdb) in its dir, start it with appendonly no, then turn the AOF on; and the "
    "attachments (tar -xf FILE blobs) into storage.blob_dir. See the README's Backups section"
)


@click.command()
@config_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def backup(config: Path | None, file: Path) -> None:
    """Copy the store and its attachments into FILE (a tar), while the hub serves."""
    settings = storage_settings(config)
    if urlsplit(settings.url).scheme.startswith("redis"):
        size, blobs = _run(
            lambda: redis_backup.write_backup(settings.url, settings.blob_dir, file),
            f"cannot write the backup {file}",
        )
        click.echo(
            f"backed up to {file}: Redis's snapshot ({size} bytes, every key of the server),"
            f" {_files(blobs)}"
        )
        return
    database = _database(settings)
    summary = _run(
        lambda: write_backup(database, settings.blob_dir, file), f"cannot write the backup {file}"
    )
    click.echo(f"backed up to {file}: {_describe(summary)}")


@click.command()
@config_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--force", is_flag=True, help="Replace a store that already holds data.")
def restore(config: Path | None, file: Path, force: bool) -> None:
    """Put a backup's store and attachments in place (the hub must be stopped)."""
    settings = storage_settings(config)
    database = _database(settings)
    summary = _run(
        lambda: restore_backup(file, database, settings.blob_dir, force=force),
        f"cannot restore {file} into {database}",
    )
    click.echo(f"restored {database} from {file}: {_describe(summary)}")


def _database(settings: StorageSettings) -> Path:
    scheme = urlsplit(settings.url).scheme
    if scheme != "sqlite":
        raise click.ClickException(_REDIS_ADVICE if scheme.startswith("redis") else scheme)
    try:
        return SqliteOptions.from_url(settings.url).path
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _run(work: Callable[[], T], failing: str) -> T:
    """What `work` returns; its failure said as a command's error (`failing`: what could not
    be done, before the system's reason), never a traceback."""
    try:
        return work()
    except HubError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:  # a folder that is not there or not writable, a full disk
        where = f" ({exc.filename})" if exc.filename else ""
        raise click.ClickException(f"{failing}: {exc.strerror or exc}{where}") from exc


def _describe(summary: BackupSummary) -> str:
    counts = ", ".join(f"{n} {table.replace('_', ' ')}" for table, n in summary.counts.items())
    return f"{counts}, {_files(summary.blobs)}"


def _files(count: int) -> str:
    return f"{count} attachment file{'' if count == 1 else 's'}"
