"""One long writer at a time: a lock file in the vault folder that imports and syncs hold.

SQLite lets one connection write at a time, and a second import used to fail with
``database is locked``. An import or a sync now first takes ``writer.lock`` (``flock``); a
second one waits its turn and says for whom (``waiting for the import started at 14:02 (pid
4711)…``), or, when waiting is not wanted, fails with ``VaultBusy``. Short writes (a rename, a
profile field) do not take it: their transaction waits for the current batch through SQLite's
busy timeout (``Store.begin``). Reads never wait: a WAL reader does not block on the writer.

The file is 0600 and holds only the holder's pid, start time and task, never user data. The
kernel drops the lock when its holder ends, however it ends, so a killed import never leaves
the vault locked; the stale text left behind is overwritten by the next holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from vault.errors import VaultBusy

LOCK_FILE = "writer.lock"
POLL_SECONDS = 0.2
"""How often a waiting writer tries again (and asks whether it should stop waiting)."""


def _take(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    """Who holds the lock, for a message: ``the import started at 14:02 (pid 4711)``."""
    try:
        data = json.loads(os.pread(fd, 4096, 0))
        started = datetime.fromisoformat(data["started"]).astimezone()
        task, pid = str(data["task"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):  # being rewritten, or not ours
        return "another kluis writing to this vault"
    today = started.date() == datetime.now().astimezone().date()
    when = f"{started:%H:%M}" if today else f"{started:%Y-%m-%d %H:%M}"
    return f"the {task} started at {when} (pid {pid})"


@contextmanager
def writer_lock(
    folder: Path,
    task: str,
    *,
    wait: bool = True,
    notice: Callable[[str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Hold the vault's writer lock for ``task`` (``import``, ``sync``) inside the block.

    Args:
        folder: the vault folder.
        task: what this writer does, shown to a writer that waits for it.
        wait: wait for the current holder; else raise ``VaultBusy`` at once.
        notice: told once, when this writer has to wait, for whom.
        stop: asked while waiting; once it says yes, the wait ends with ``VaultBusy``.

    Raises:
        VaultBusy: another writer holds the lock and ``wait`` is false or ``stop`` said yes.
    """
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        if not _take(fd):
            other = _holder(fd)
            if not wait:
                raise VaultBusy(f"the vault is busy: {other} is still writing to it")
            if notice is not None:
                notice(f"Waiting for {other}…")
            while not _take(fd):
                if stop is not None and stop():
                    raise VaultBusy(f"stopped while waiting for {other}")
                time.sleep(POLL_SECONDS)
        mine = {"pid": os.getpid(), "started": datetime.now(UTC).isoformat(), "task": task}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(mine).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock
