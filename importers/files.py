"""What file importers share: a file's identity for resume cursors.

A file whose size and modification time match its stored cursor was imported whole before
and is skipped; anything else is read again (dedup keeps that at zero duplicates).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vault.errors import InputError
from vault.records import Checkpoint


def file_state(path: Path) -> tuple[str, dict[str, int]]:
    """(cursor key, state) of a file: its resolved path, size and mtime.

    Raises:
        InputError: the file cannot be read.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return str(path.resolve()), {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def unchanged(cursor: Mapping[str, Any] | None, state: Mapping[str, int]) -> bool:
    """True if the stored cursor records this very state (the file was imported as it is)."""
    return cursor is not None and all(cursor.get(key) == value for key, value in state.items())


def file_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint saying all of ``path`` has been read."""
    return Checkpoint(*file_state(path))
