"""Files written outside the vault for a ledger row: share packages and GDPR letters.

A file system and a database do not commit together, and neither order survives a kill: write
first and a killed run leaves a package with no ledger row; commit first and it leaves a row for
a package that never was. So it takes three steps:

1. the ledger row commits together with an outbox entry (a ``meta`` row) naming the file, the
   temporary file it is first written to, its SHA-256, the writing process, and how to take the
   row back;
2. the file is written under the temporary name (0600, beside its destination) and renamed;
3. the entry is removed.

A run killed between 1 and 3 leaves an entry whose process is gone. Opening the vault takes it
back (``settle``): the temporary file, the file itself if it is still exactly what was written,
and the row. So a share or letter either finished or left nothing, in the ledger or on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vault.fsutil import process_alive, sha256_file, write_atomically
from vault.store import Conn, execute

if TYPE_CHECKING:
    from vault.store import Store

PREFIX = "outbox:"
_ENTRIES = "SELECT key, value FROM meta WHERE key >= 'outbox:' AND key < 'outbox;'"
# How each kind of row an entry names is taken back: entries hold ids, never SQL.
UNDO = {
    "gdpr_request": "DELETE FROM gdpr_request WHERE id = :id",
    "revocation": "UPDATE disclosure SET revoked_at = NULL WHERE id = :id",
    "disclosure": "DELETE FROM disclosure WHERE id = :id",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One file on its way out, and how to take back the rows recorded with it."""

    key: str
    path: Path
    temp: Path
    sha256: str
    pid: int
    undo: tuple[tuple[str, int], ...]

    def to_json(self) -> str:
        """The ``meta`` value."""
        return json.dumps(
            {
                "path": str(self.path),
                "temp": str(self.temp),
                "sha256": self.sha256,
                "pid": self.pid,
                "undo": [list(step) for step in self.undo],
            }
        )

    @classmethod
    def from_row(cls, key: str, value: str) -> Entry:
        """The entry stored under ``key``."""
        data = json.loads(value)
        undo = tuple((str(kind), int(row)) for kind, row in data["undo"] if kind in UNDO)
        return cls(
            key, Path(data["path"]), Path(data["temp"]), data["sha256"], int(data["pid"]), undo
        )


class Outbox:
    """The files recorded in one transaction, written once it has committed."""

    def __init__(self) -> None:
        self._files: list[tuple[Entry, bytes]] = []

    def add(
        self, conn: Conn, path: Path, data: bytes, undo: list[tuple[str, int]], kind: str
    ) -> str:
        """Record ``data`` for ``path`` (absolute) in ``conn``'s transaction; its SHA-256.

        Args:
            undo: (kind of row, id) of the rows that exist only because of this file, taken
                back in this order if it is never written.
            kind: what the file is (``share``, ``letter``), for its temporary name.
        """
        from vault.leftovers import work_file  # only a write needs it, not every open's check

        entry = Entry(
            PREFIX + secrets.token_hex(8),
            path,
            work_file(path.parent, kind),
            hashlib.sha256(data).hexdigest(),
            os.getpid(),
            tuple(undo),
        )
        execute(
            conn,
            "INSERT INTO meta(key, value) VALUES (:k, :v)",
            {"k": entry.key, "v": entry.to_json()},
        )
        self._files.append((entry, data))
        return entry.sha256

    def deliver(self, store: Store) -> None:
        """Write every file and clear its entry; if that fails, take them all back."""
        if not self._files:
            return
        try:
            for entry, data in self._files:
                write_atomically(entry.path, data, tmp=entry.temp)
            with store.begin() as conn:
                for entry, _data in self._files:
                    execute(conn, "DELETE FROM meta WHERE key = :k", {"k": entry.key})
        except BaseException:
            # What cannot be taken back now (the vault itself failing) is settled at the next open.
            with contextlib.suppress(Exception), store.begin() as conn:
                for entry, _data in self._files:
                    _take_back(conn, entry)
            raise


@contextmanager
def transaction(store: Store) -> Iterator[tuple[Conn, Outbox]]:
    """``store.begin()`` with an outbox: its files are written after the commit, and if that
    fails the rows recorded with them are taken back."""
    outbox = Outbox()
    with store.begin() as conn:
        yield conn, outbox
    outbox.deliver(store)


def entries(conn: Conn) -> list[Entry]:
    """Every outbox entry (none, unless a file is being written or a run was killed)."""
    return [Entry.from_row(row.key, row.value) for row in execute(conn, _ENTRIES)]


def unsettled(conn: Conn) -> bool:
    """Whether an entry's process is gone: the quick check made at every open."""
    return any(not process_alive(entry.pid) for entry in entries(conn))


def settle(conn: Conn) -> None:
    """Take back, in one transaction, every entry whose process is gone."""
    # IMMEDIATE: wait for the write lock before reading, so two starts settle one after another.
    execute(conn, "BEGIN IMMEDIATE")
    try:
        for entry in entries(conn):
            if not process_alive(entry.pid):
                # A file we may not remove (now) raises: its row stays until the next open.
                with contextlib.suppress(OSError):
                    _take_back(conn, entry)
        execute(conn, "COMMIT")
    except BaseException:
        execute(conn, "ROLLBACK")
        raise


def forget(conn: Conn) -> None:
    """Drop every entry, keeping its rows: for a copy of the vault (a backup), whose entries
    name files that belong to the original's runs."""
    execute(conn, "DELETE FROM meta WHERE key >= 'outbox:' AND key < 'outbox;'")


def _take_back(conn: Conn, entry: Entry) -> None:
    # The files first: if this stops half-way the entry is still there for the next try.
    _remove(entry.temp)
    _remove(entry.path, entry.sha256)  # only what this run wrote, never a user's file
    for kind, row in entry.undo:
        execute(conn, UNDO[kind], {"id": row})
    execute(conn, "DELETE FROM meta WHERE key = :k", {"k": entry.key})


def _remove(path: Path, sha256: str | None = None) -> None:
    """Delete ``path`` (if its contents have that digest); a path that is not there is fine."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        if sha256 is None or sha256_file(path) == sha256:
            path.unlink()
