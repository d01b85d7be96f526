"""A Redis hub's backup: the server's own point-in-time snapshot, fetched as a replica would.

Redis forks and writes an RDB of one instant while it goes on serving (what BGSAVE does);
`SYNC` hands that RDB to the caller, which is how `redis-cli --rdb` takes one. A dump made
key by key while hubs write would not be one instant (a ticket without its queue entry).
The RDB holds every key of the server, every hub prefix and every database: it is restored
by Redis itself, stopped, with the file in its `dir` (the README's Backups section).

On a Cluster the hub's keys all live in one hash slot, on one primary: take the backup from
that node (`CLUSTER KEYSLOT {prefix}`, then `CLUSTER SHARDS`) with a `redis://` URL.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import SplitResult, unquote, urlsplit

from core.errors import ConfigError, StorageUnavailable
from storage.archive import write_archive

RDB = "dump.rdb"


def write_backup(url: str, blob_dir: Path, archive: Path) -> tuple[int, int]:
    """The server's snapshot and the attachments into `archive`: (RDB bytes, attachments)."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".backup-") as work:
        snapshot = Path(work) / RDB
        size = asyncio.run(fetch_snapshot(url, snapshot))
        return size, write_archive(archive, snapshot, RDB, blob_dir)


async def fetch_snapshot(url: str, target: Path, within: float = 600.0) -> int:
    """The server's RDB into `target` (written, then renamed); its size in bytes."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise ConfigError(
            f"backup takes a redis:// URL of one server ({parts.scheme}:// is not): on a Cluster,"
            " the primary holding the hub's hash slot"
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        async with asyncio.timeout(within):
            size = await _transfer(
                parts.hostname or "127.0.0.1", parts.port or 6379, parts, partial
            )
        os.replace(partial, target)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        raise StorageUnavailable(
            f"cannot take Redis's snapshot: {str(exc) or type(exc).__name__}"
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    return size


async def _transfer(host: str, port: int, parts: SplitResult, partial: Path) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        await _authenticate(reader, writer, parts)
        # rdb-only (Redis 7): the snapshot and no replication stream after it; older ones
        # refuse the option, which only means the stream follows and is not read
        await _command(reader, writer, "REPLCONF", "rdb-only", "1", check=False)
        writer.write(_encode("SYNC"))
        await writer.drain()
        return await _receive(reader, partial)
    finally:
        writer.close()
        await writer.wait_closed()


async def _authenticate(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parts: SplitResult
) -> None:
    password, username = parts.password, parts.username
    if password:
        words = [unquote(username), unquote(password)] if username else [unquote(password)]
        await _command(reader, writer, "AUTH", *words)


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *words: str, check: bool = True
) -> None:
    writer.write(_encode(*words))
    await writer.drain()
    reply = await reader.readline()
    if check and not reply.startswith(b"+"):
        answer = reply.decode(errors="replace").strip()
        raise StorageUnavailable(f"Redis refused {words[0]}: {answer}")


async def _receive(reader: asyncio.StreamReader, partial: Path) -> int:
    header = b"\n"
    while header in (b"\n", b"\r\n"):  # newlines keep the link alive while Redis forks
        header = await reader.readline()
    if not header.startswith(b"$"):
        answer = header.decode(errors="replace").strip()
        raise StorageUnavailable(f"Redis refused SYNC: {answer}")
    announced = header[1:].strip()
    if not announced.isdigit():  # "EOF:<mark>" comes only to a replica that asked for it
        raise StorageUnavailable("Redis announced a snapshot of no size")
    with partial.open("wb") as out:
        size = await _copy_exactly(reader, out, int(announced))
        out.flush()
        os.fsync(out.fileno())
    if size < 9:
        raise StorageUnavailable("Redis sent no snapshot")
    return size


async def _copy_exactly(reader: asyncio.StreamReader, out: BinaryIO, size: int) -> int:
    left = size
    while left:
        chunk = await reader.read(min(left, 1 << 20))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", left)
        out.write(chunk)
        left -= len(chunk)
    return size


def _encode(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        raw = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)
