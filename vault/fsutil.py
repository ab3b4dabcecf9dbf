"""Private files and folders: 0700 folders, 0600 files, atomic replacement."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def make_private_folder(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    path.chmod(FOLDER_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file, so nothing else ever opens it with wider permissions."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    path.chmod(FILE_MODE)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's contents (hex), read a MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_folder(path: Path) -> None:
    """Make a rename or removal in ``path`` durable (best effort: not every platform can open
    a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's counts as alive): a temporary file
    named for a process that is gone is a killed run's leftover."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_atomically(
    path: Path, data: bytes, *, backup: bool = False, tmp: Path | None = None
) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Writes a 0600 temporary file beside it (``tmp``, by default ``.NAME.PID.tmp``, after
    removing those of killed writes), fsyncs, renames over it and fsyncs the folder. With
    ``backup``, the previous contents are kept (the same way) as ``<name>.bak``.
    """
    if backup and path.exists():
        write_atomically(path.with_name(path.name + ".bak"), path.read_bytes())
    if tmp is None:
        _remove_killed_temporaries(path)
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
    fsync_folder(path.parent)


def _remove_killed_temporaries(path: Path) -> None:
    # ``.NAME.PID.tmp`` of a process that is gone: a write of this very file that was killed.
    prefix = f".{path.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            pid = entry.name[len(prefix) : -len(".tmp")]
            if (
                entry.name.startswith(prefix)
                and entry.name.endswith(".tmp")
                and pid.isdecimal()
                and entry.is_file(follow_symlinks=False)
                and not process_alive(int(pid))
            ):
                Path(entry.path).unlink()
