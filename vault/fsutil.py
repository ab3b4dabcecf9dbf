"""Private files and folders: 0700 folders, 0600 files, atomic replacement, bounded reads;
what kind a path is."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from vault.errors import InputError, RefusedInput, UsageError

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows, where links need privileges


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


def check_output(path: Path, *, force: bool = False, folder: bool = False) -> None:
    """Refuse, before any work, an output path kluis could not write or must not replace.

    Args:
        path: where a file (or, with ``folder``, a new or empty folder) will be written.
        force: replacing an existing file is allowed.
        folder: ``path`` is a folder to create or fill, not a file.

    Raises:
        UsageError: its folder does not exist, is no folder or is not writable; a file that
            exists without ``force``; a folder given for a file.
    """
    parent = path.expanduser().absolute().parent
    if not parent.exists():
        raise UsageError(f"cannot write {path}: there is no folder {parent}")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: the folder {parent} is not writable")
    if folder:
        return
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name")
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to replace it")


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


def write_atomically(path: Path, data: bytes, *, tmp: Path | None = None) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Writes a 0600 temporary file beside it (``tmp``, by default ``.NAME.PID.tmp``, after
    removing those of killed writes), fsyncs, renames over it and fsyncs the folder. No other
    copy is kept: the temporary file lives only while it is written.
    """
    if tmp is None:
        remove_killed_temporaries(path)
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
    fsync_folder(path.parent)


def _open_regular(path: Path) -> int:
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(0, f"{file_kind(mode)}, not a regular file", str(path))
    return fd


def _read_up_to(fd: int, size: int) -> bytes:
    chunks, got = [], 0
    while got < size and (chunk := os.read(fd, size - got)):
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (symbolic links followed), at most ``limit``.

    A FIFO would block the open and ``/dev/zero`` would never end, so the file is opened
    without blocking, checked to be a regular file, and read only to ``limit + 1`` bytes,
    whatever size it reports.

    Raises:
        FileNotFoundError: nothing is there.
        OSError: it cannot be read; ``strerror`` says why in words ("a FIFO, not a regular
            file", "larger than 4,096 bytes").
    """
    fd = _open_regular(path)
    try:
        data = _read_up_to(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(0, f"larger than {limit:,} bytes", str(path))
    return data


def read_file_start(path: Path, size: int) -> bytes:
    """The first ``size`` bytes (fewer if it is shorter) of the regular file at ``path``.

    Raises:
        FileNotFoundError: nothing is there.
        OSError: it cannot be read, or it is not a regular file.
    """
    fd = _open_regular(path)
    try:
        return _read_up_to(fd, size)
    finally:
        os.close(fd)


def remove_killed_temporaries(path: Path) -> None:
    """Remove ``.NAME.PID.tmp`` beside ``path`` of processes that are gone: writes of this
    very file that were killed. Best effort (a read-only folder is left as it is)."""
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
