"""Work in progress beside a destination, named so that a killed kluis's is found and removed.

A command that writes outside the vault (backup, restore, export, share) works under a name
that says whose it is, and moves the result into place with one rename at the end:

- ``.kluis-KIND-PID-XXXXXXXX`` (hidden): a backup's or restore's work folder, a share
  package's or letter's temporary file. All of it is encrypted, except a letter's or an
  unencrypted package's few hundred bytes (0600, removed with their ledger entry).
- ``NAME.partial-PID/`` holding ``INCOMPLETE`` (a note) and the export being written: it is
  plaintext, so it is visible and says what it is rather than hidden.

The next run of the command sweeps the destination's folder: it removes such an entry only when
its name and contents are exactly what kluis makes, it belongs to this user, and the process
named in it is gone. Never a file of the user's, never a run still going.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vault.fsutil import FILE_MODE, fsync_folder, process_alive

INCOMPLETE = "INCOMPLETE"
_INCOMPLETE_TEXT = (
    "kluis: the export in {name}/ beside this note did not finish (kluis process {pid}\n"
    "stopped while writing it). It holds part of your vault, unencrypted. The next\n"
    "`kluis export` into the folder above removes it; you can also delete it yourself.\n"
)
_SIGNATURE = _INCOMPLETE_TEXT.split("{", 1)[0].encode()
_WORK = re.compile(r"\.kluis-(?P<kind>[a-z]+)-(?P<pid>[1-9]\d*)-[0-9a-z_]{8}(?:\.tmp)?")
_PARTIAL = re.compile(r".+\.partial-(?P<pid>[1-9]\d*)")
# kluis up to 0.1.0 named its work folders ``.kluis-backup-XXXXXXXX`` (mkdtemp, no pid) and left
# them behind when killed: removed once nothing in them changed for an hour and they hold only
# what a backup or restore puts there.
_UNNAMED = re.compile(r"\.kluis-(?P<kind>backup|restore)-[0-9a-z_]{8}")
_UNNAMED_FILES = {
    "backup": {"vault.db", "backup.tar"},
    "restore": {"vault.db", "vault.db-wal", "vault.db-shm", "keys.json"},
}
_UNNAMED_AGE = 3600.0


@dataclass
class Swept:
    """What a sweep removed."""

    count: int = 0
    size: int = 0

    def __str__(self) -> str:
        what = "leftover" if self.count == 1 else "leftovers"
        return f"{self.count} {what} ({self.size / 1e6:.1f} MB)"


def work_folder(near: Path, kind: str) -> Path:
    """A new 0700 folder in ``near`` named for this process: ``.kluis-KIND-PID-XXXXXXXX``."""
    return Path(tempfile.mkdtemp(prefix=f".kluis-{kind}-{os.getpid()}-", dir=near))


def work_file(near: Path, kind: str) -> Path:
    """A name (not yet a file) in ``near`` for this process: ``.kluis-KIND-PID-XXXXXXXX.tmp``."""
    return near / f".kluis-{kind}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


@contextmanager
def partial(final: Path) -> Iterator[Path]:
    """A new 0700 folder to write ``final`` in, moved into place when the block ends well.

    It lives in ``NAME.partial-PID/`` beside ``final``, next to an ``INCOMPLETE`` note, so
    that it is marked for as long as it holds anything; one rename moves it out to ``final``
    (absent or an empty folder). A block that raises leaves nothing.

    Raises:
        OSError: ``final`` appeared meanwhile and is not empty (nothing is moved then).
    """
    outer = final.with_name(f"{final.name}.partial-{os.getpid()}")
    staging = work_folder(final.parent, "export")  # gets the visible name once the note is in
    try:
        fd = os.open(staging / INCOMPLETE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as note:
            note.write(_INCOMPLETE_TEXT.format(pid=os.getpid(), name=final.name))
        staging.rename(outer)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        work = outer / final.name
        work.mkdir(mode=0o700)
        yield work
        work.rename(final)
        fsync_folder(final.parent)
    finally:
        shutil.rmtree(outer, ignore_errors=True)


def remove(path: Path) -> int:
    """Delete a file or a folder tree (links are removed, never followed); bytes freed."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        path.unlink()
        return info.st_size
    size = sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir() or p.is_symlink())
    shutil.rmtree(path)
    return size


def sweep(folder: Path, kind: str) -> Swept:
    """Remove what killed runs of ``kind`` (``backup``, ``restore``, ``export`` …) left in
    ``folder``: their work files and folders, or for ``export`` the marked partial folders."""
    swept = Swept()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return swept
    for entry in entries:
        path = Path(entry.path)
        try:
            if not _ours(path, kind):
                continue
            swept.size += remove(path)
            swept.count += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove: the next sweep looks again
    return swept


def _ours(path: Path, kind: str) -> bool:
    info = path.lstat()
    if info.st_uid != os.getuid() or stat.S_ISLNK(info.st_mode):
        return False
    match = _WORK.fullmatch(path.name)
    if match is not None:
        return match["kind"] == kind and not process_alive(int(match["pid"]))
    if kind == "export":
        match = _PARTIAL.fullmatch(path.name)
        return (
            match is not None
            and stat.S_ISDIR(info.st_mode)
            and (_marked_incomplete(path) or not any(path.iterdir()))  # (emptied while removed)
            and not process_alive(int(match["pid"]))
        )
    unnamed = _UNNAMED.fullmatch(path.name)
    return unnamed is not None and unnamed["kind"] == kind and _old_work(path, kind)


def _marked_incomplete(folder: Path) -> bool:
    marker = folder / INCOMPLETE
    if marker.is_symlink() or not marker.is_file():
        return False
    with marker.open("rb") as handle:
        return handle.read(len(_SIGNATURE)) == _SIGNATURE


def _old_work(folder: Path, kind: str) -> bool:
    if not folder.is_dir():
        return False
    newest = folder.lstat().st_mtime
    for entry in os.scandir(folder):
        info = entry.stat(follow_symlinks=False)
        if entry.name not in _UNNAMED_FILES[kind] or not stat.S_ISREG(info.st_mode):
            return False
        newest = max(newest, info.st_mtime)
    return time.time() - newest > _UNNAMED_AGE
