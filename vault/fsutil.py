"""Private files and folders: 0700 folders, 0600 files, atomic replacement; what kind a path is."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from vault.errors import InputError, RefusedInput

FOLDER_MODE = 0o700
FILE_MODE = 0o600


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISREG, "a file"),
)


def file_kind(mode: int) -> str:
    """What a ``st_mode`` is, for a message: ``a FIFO (named pipe)``, ``a character device`` …"""
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def require_file_or_folder(path: Path) -> None:
    """Check that ``path`` (a link followed) is a regular file or a folder, the only things
    kluis reads: a FIFO or a device would block or never end.

    Raises:
        InputError: there is no such file or folder.
        RefusedInput: it is a FIFO, a device or a socket.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"no such file or folder: {path}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise RefusedInput(path, f"{file_kind(mode)}; kluis reads only files and folders")


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
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
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
