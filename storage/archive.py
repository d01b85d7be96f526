"""A backup file: one tar holding a store's snapshot and the attachment files.

    <snapshot>                 contacthub.db (SQLite) or dump.rdb (Redis)
    blobs/ab/cd/abcd...ef      every attachment file, by sha256 (storage/blobs.py)

Attachments are added after the snapshot was taken. A blob is renamed into place before the
commit that references it, so every attachment the snapshot names is in the archive (one
committed later may be too: an orphan, harmless). On the way back only attachment files are
written, each through the blob store, which names it by the sha256 of its bytes: no path in
an archive is ever trusted, and a file whose bytes do not match its name is refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

from core.errors import InvalidRequest
from storage.blobs import BlobStore
from storage.files import replace_durably

_BLOB = re.compile(r"blobs/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")


def write_archive(archive: Path, snapshot: Path, name: str, blob_dir: Path) -> int:
    """The snapshot (as `name`) and the attachments into `archive`, written beside it and
    renamed into place, durably (storage/files.py); the number of attachment files."""
    partial = archive.with_name(f".{archive.name}.partial")
    try:
        with tarfile.open(partial, "w") as tar:
            tar.add(snapshot, name)
            count = 0
            for path in _blob_files(blob_dir):
                tar.add(path, f"blobs/{path.relative_to(blob_dir).as_posix()}")
                count += 1
        replace_durably(partial, archive)
    finally:
        partial.unlink(missing_ok=True)
    return count


@contextlib.contextmanager
def open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(archive) as tar:
            yield tar
    except (OSError, tarfile.TarError) as exc:
        raise InvalidRequest(f"{archive} is not a contacthub backup: {exc}") from exc


def extract_snapshot(tar: tarfile.TarFile, archive: Path, name: str, target: Path) -> None:
    """The archive's snapshot `name` into `target`, fsynced."""
    try:
        member = tar.getmember(name)
        source = tar.extractfile(member) if member.isfile() else None
    except KeyError:
        source = None
    if source is None:
        raise InvalidRequest(f"{archive} holds no {name}: not a backup of this kind of store")
    with source, target.open("wb") as out:
        while chunk := source.read(1 << 20):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def extract_blobs(tar: tarfile.TarFile, blob_dir: Path) -> int:
    """The attachment files, stored by the blob store; the number of them."""
    blobs = BlobStore(blob_dir, max_blob_bytes=sys.maxsize)
    count = 0
    for member in tar:
        source = tar.extractfile(member) if _BLOB.fullmatch(member.name) else None
        if source is None:
            continue
        with source:
            digest = blobs.put(source.read())
        if digest != member.name.rpartition("/")[2]:
            raise InvalidRequest(f"the backup's attachment {member.name} is damaged")
        count += 1
    return count


def _blob_files(blob_dir: Path) -> Iterator[Path]:
    if not blob_dir.is_dir():
        return
    for path in sorted(blob_dir.glob("??/??/*")):
        if path.is_file() and _BLOB.fullmatch(f"blobs/{path.relative_to(blob_dir).as_posix()}"):
            yield path
