"""Files made durable: the bytes fsynced before the rename, the directory after it (the
rename is durable only then), for backups' archives and the blob store alike."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage.archive import write_archive
from storage.files import replace_durably

Synced = list[tuple[str, Path]]


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Synced:
    """What os.fsync is given, in order: ("dir" or "file", the path it was opened as)."""
    seen: Synced = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        seen.append((kind, Path(os.readlink(f"/proc/self/fd/{fd}"))))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


def test_the_bytes_then_the_rename_are_made_durable(tmp_path: Path, synced: Synced) -> None:
    partial, target = tmp_path / ".x.partial", tmp_path / "x"
    partial.write_bytes(b"backup")
    replace_durably(partial, target)
    assert target.read_bytes() == b"backup"
    assert not partial.exists()
    assert synced == [("file", partial), ("dir", tmp_path)]


def test_an_archive_is_durable_when_written(tmp_path: Path, synced: Synced) -> None:
    snapshot, blobs = tmp_path / "snapshot.db", tmp_path / "blobs"
    snapshot.write_bytes(b"database")
    blobs.mkdir()
    archive = tmp_path / "out" / "backup.tar"
    archive.parent.mkdir()
    assert write_archive(archive, snapshot, "contacthub.db", blobs) == 0
    assert archive.exists()
    partial = archive.with_name(f".{archive.name}.partial")
    assert synced == [("file", partial), ("dir", archive.parent)]
