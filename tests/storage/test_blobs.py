"""Attachment bytes on disk, content-addressed, written whole or not at all."""

from __future__ import annotations

import hashlib
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
