"""Files made durable: a file's bytes are on disk once it is fsynced, and its name (a rename
into a directory, a directory made) once its directory is. Without the second, a power cut
can undo a rename that was reported done: a backup that is not there, a blob a committed
ticket refers to that is gone."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Make the entries of a directory durable (a rename into it, a directory made in it)."""
    _fsync(directory, os.O_RDONLY | os.O_DIRECTORY)


def replace_durably(partial: Path, target: Path) -> None:
    """`partial` fsynced, renamed to `target`, and the rename made durable."""
    _fsync(partial, os.O_RDONLY)
    os.replace(partial, target)
    fsync_directory(target.parent)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
