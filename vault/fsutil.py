"""Private files and folders: 0700 folders, 0600 files, atomic replacement."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows, where links need privileges


def make_private_folder(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    path.chmod(FOLDER_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file, so nothing else ever opens it with wider permissions."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    path.chmod(FILE_MODE)


def _fsync_folder(path: Path) -> None:
    # Not every platform can open a directory; durability there is best effort.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, data: bytes, *, backup: bool = False) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Writes a 0600 temporary file beside it, fsyncs, renames over it and fsyncs the folder.
    With ``backup``, the previous contents are kept (the same way) as ``<name>.bak``.
    """
    if backup and path.exists():
        write_atomically(path.with_name(path.name + ".bak"), path.read_bytes())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Never through a link planted under the temporary name: it would write outside the folder.
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | _NO_FOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
