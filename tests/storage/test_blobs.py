"""Attachment bytes on disk, content-addressed, written whole or not at all."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from core.errors import NotFound, PayloadTooLarge, StorageUnavailable
from storage.blobs import BlobStore


def test_put_names_a_blob_by_its_sha256_and_stores_it_once(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    digest = blobs.put(b"invoice.pdf bytes")
    assert digest == hashlib.sha256(b"invoice.pdf bytes").hexdigest()
    assert blobs.put(b"invoice.pdf bytes") == digest
    assert blobs.get(digest) == b"invoice.pdf bytes"
    assert blobs.path(digest) == tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert files == [blobs.path(digest)]  # no temporary file left behind


def test_put_many_keeps_order(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    digests = blobs.put_many([b"a", b"b", b"a"])
    assert digests[0] == digests[2] != digests[1]
    assert all(blobs.exists(d) for d in digests)


def test_over_the_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PayloadTooLarge):
        BlobStore(tmp_path, max_blob_bytes=3).put(b"four")


@pytest.mark.parametrize(
    "name", ["0" * 64, "../etc/passwd", "ABC"], ids=["missing", "path", "short"]
)
def test_unknown_or_malformed_names_are_not_found(tmp_path: Path, name: str) -> None:
    with pytest.raises(NotFound):
        BlobStore(tmp_path).get(name)


def test_unwritable_directory_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StorageUnavailable):
        BlobStore(tmp_path / "file").put(b"x")


def test_the_rename_and_the_directories_made_are_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob is durable once its directory entry is: the directory it was renamed into, and
    the parents of the fan-out directories made for it, are fsynced after the rename."""
    synced: list[Path] = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    blobs = BlobStore(tmp_path / "blobs")
    first = blobs.path(blobs.put(b"first"))
    # the rename's directory, then the parents of the three directories made for it
    assert synced == [first.parent, first.parent.parent, tmp_path / "blobs", tmp_path]
    synced.clear()
    again = blobs.path(blobs.put(bytes(first.name[:2], "ascii") + b"-other"))
    assert synced[0] == again.parent  # always the rename's directory
    assert set(synced[1:]) <= {again.parent.parent, tmp_path / "blobs"}
    synced.clear()
    blobs.put(b"first")  # there already: nothing written, nothing synced
    assert synced == []
