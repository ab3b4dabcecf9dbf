"""Watching a folder for exports: which files are complete, and which were handled already.

A browser writes a download under a temporary name (``.crdownload``, ``.part`` …) and renames
it when done; a copy or a sync client writes it in place. So a file counts as complete once
its size and modification time have not changed for ``settle`` seconds, and partial names
are never looked at. What was handled is recorded inside the vault by content hash (a
``sourcecursor`` row ``watched:sha256:…``), so a restart, or a second copy of the same
export under another name, is not imported again, and a file kluis cannot read is named
once, not retried forever.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vault.store import Store

PARTIAL_SUFFIXES = frozenset(
    {".crdownload", ".part", ".partial", ".download", ".tmp", ".opdownload", ".!qb", ".aria2"}
)
"""Names browsers and download tools give a file while it is still being written."""

SETTLE_SECONDS = 5.0
"""Seconds a file's size and mtime must stay the same before it counts as complete."""

_KEY_PREFIX = "watched:sha256:"
_HASH_CHUNK = 1 << 20


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float
    taken: bool = False


def is_partial(name: str) -> bool:
    """True for a name a download still being written has, or a hidden file."""
    lowered = name.lower()
    return lowered.startswith((".", "~$")) or any(lowered.endswith(s) for s in PARTIAL_SUFFIXES)


class SettledFiles:
    """The files of a folder that stopped growing, each handed out once per size and mtime."""

    def __init__(self, folder: Path, settle: float = SETTLE_SECONDS) -> None:
        self.folder = folder
        self.settle = settle
        self._seen: dict[Path, _Seen] = {}

    def scan(self, now: float | None = None) -> list[Path]:
        """The files that have been still for ``settle`` seconds and were not handed out yet
        (a file that changes again is handed out again once it is still)."""
        now = time.monotonic() if now is None else now
        ready: list[Path] = []
        present: set[Path] = set()
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if is_partial(entry.name):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:  # gone between listing and looking
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue  # folders, links, FIFOs: never read by a watcher
                path = Path(entry.path)
                present.add(path)
                seen = self._seen.get(path)
                if seen is None or (seen.size, seen.mtime_ns) != (info.st_size, info.st_mtime_ns):
                    self._seen[path] = _Seen(info.st_size, info.st_mtime_ns, now)
                elif not seen.taken and now - seen.since >= self.settle:
                    seen.taken = True
                    ready.append(path)
        for gone in self._seen.keys() - present:
            del self._seen[gone]
        return sorted(ready)


def content_hash(path: Path) -> str:
    """The SHA-256 of the file's bytes, read in chunks (exports can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def handled(store: Store, sha256: str) -> dict[str, Any] | None:
    """What happened to the file with this content before, or None if it is new."""
    from vault.store import execute  # deferred: the CLI reads this module to build its parser

    with store.read() as conn:
        row = execute(
            conn, "SELECT state FROM sourcecursor WHERE key=:k", {"k": _KEY_PREFIX + sha256}
        ).first()
    if row is None:
        return None
    state: dict[str, Any] = json.loads(row[0])
    return state


def record(store: Store, sha256: str, path: Path, outcome: str, detail: str = "") -> None:
    """Remember that the file with this content was handled: ``imported`` or ``refused``."""
    from vault.store import execute
    from vault.timefmt import now_iso

    state = {"path": str(path), "outcome": outcome, "detail": detail}
    with store.begin() as conn:
        execute(
            conn,
            "INSERT OR REPLACE INTO sourcecursor(key, state, updated_at) VALUES (:k, :s, :t)",
            {"k": _KEY_PREFIX + sha256, "s": json.dumps(state), "t": now_iso()},
        )
