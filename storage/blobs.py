"""Attachment bytes on disk, content-addressed: a file's name is the sha256 of its bytes.

    <root>/ab/cd/abcd...ef      (two levels of fan-out keep directories small)

The same bytes are stored once however many messages carry them. A blob is written to a
temporary file, fsynced and renamed into place, so a reader never sees half a file; then its
directory is fsynced (and, when the fan-out directories were made for it, theirs), since
a rename or a new directory is durable only once its directory is: so a blob referenced by
a committed ticket survives a crash or a power cut (all of it happens before the ingest).
Blocking: call `put`/`put_many` through a thread (`asyncio.to_thread`) from the event loop.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from core.errors import NotFound, PayloadTooLarge, StorageUnavailable
from storage.files import fsync_directory

_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobStore:
    """Content-addressed files under `root`; `max_blob_bytes` refuses larger ones."""

    def __init__(self, root: Path, max_blob_bytes: int = 25 * 1024 * 1024) -> None:
        self.root = root
        self.max_blob_bytes = max_blob_bytes

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise NotFound("blob", sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store bytes (once) and return their sha256."""
        if len(data) > self.max_blob_bytes:
            raise PayloadTooLarge(
                f"blob of {len(data)} bytes exceeds {self.max_blob_bytes}",
                limit=self.max_blob_bytes,
            )
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        try:
            self._write(target, data)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write blob {digest[:12]}: {exc.strerror}") from exc
        return digest

    def put_many(self, blobs: Iterable[bytes]) -> list[str]:
        return [self.put(data) for data in blobs]

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound("blob", sha256) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read blob {sha256[:12]}: {exc.strerror}") from exc

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> bool:
        """Remove a blob no message refers to any more (core/retention.py); whether it was
        there."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete blob {sha256[:12]}: {exc.strerror}") from exc
        return True

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        made = [] if target.parent.is_dir() else [d for d in target.parents[:3] if not d.is_dir()]
        if made:  # <root>/ab/cd, deepest first: their parents are fsynced after the rename
            target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)  # same bytes from a racing writer: either rename wins
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for directory in (target.parent, *(d.parent for d in made)):
            fsync_directory(directory)
