"""An item's attachments: list them, and save one out of the vault as a file the user chose.

Saving is the one place where the vault writes a user's data in plaintext, because the user
asked for exactly that file: the name is made safe (no path, no control characters, no hidden
file), an existing file is never replaced (``name (2).pdf``), and the file is written 0600 and
atomically, so a crash leaves no half-written copy.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from vault.blobs import get_blob
from vault.errors import UsageError
from vault.fsutil import FILE_MODE, write_atomically
from vault.store import Conn, execute
from vault.text import one_line

NAME_CHARS = 120  # a file name is cut to this many characters, its extension kept
NAME_BYTES = 240  # and to this many UTF-8 bytes (most file systems allow 255)
EXTENSION_CHARS = 16
FALLBACK_NAME = "attachment"
MAX_COPIES = 1000
_SEPARATORS = re.compile(r"[/\\]")
# Characters Windows refuses in names (the file may be copied there later).
_UNSAFE = re.compile(r'[:*?"<>|]')


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """One attachment as a list shows it (``filename`` as the sender named it, made safe)."""

    id: int
    filename: str
    mime: str
    size: int


def list_attachments(conn: Conn, interaction_id: int) -> list[AttachmentInfo]:
    """The attachments of an item, in the order they came."""
    rows = execute(
        conn,
        "SELECT id, filename, mime, size FROM attachment WHERE interaction_id=:i ORDER BY id",
        {"i": interaction_id},
    ).all()
    return [
        AttachmentInfo(int(r.id), one_line(r.filename or ""), one_line(r.mime or ""), int(r.size))
        for r in rows
    ]


def safe_filename(name: str) -> str:
    """``name`` usable as a file name in any folder: no path, controls or leading dots.

    Control and format characters go (``vault.text.one_line``, plus bidirectional overrides).

    Whitespace is collapsed, the result is cut to ``NAME_CHARS`` characters and ``NAME_BYTES``
    bytes keeping the extension, and an empty result becomes ``attachment``.
    """
    flat = unicodedata.normalize("NFC", one_line(name, 10_000))
    # Format characters too: a right-to-left override makes "cod.exe" look like "exe.doc".
    flat = "".join(c for c in flat if unicodedata.category(c) != "Cf")
    # A sender's "docs/x.pdf" or "C:\\docs\\x.pdf" means x.pdf, as mail programs read it.
    flat = _SEPARATORS.split(flat.rstrip("/\\ "))[-1]
    flat = _UNSAFE.sub("_", flat).lstrip(". ").rstrip(". ")
    stem, dot, extension = flat.rpartition(".")
    if not dot or not stem or len(extension) > EXTENSION_CHARS:
        stem, extension = flat, ""
    suffix = f".{extension}" if extension else ""
    stem = stem[: NAME_CHARS - len(suffix)]
    while stem and len((stem + suffix).encode()) > NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(". ")
    return stem + suffix if stem else FALLBACK_NAME + suffix


def _copy_name(name: str, number: int) -> str:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({number})"
    return f"{stem} ({number}).{extension}"


def _reserve(folder: Path, name: str) -> Path:
    """Create an empty 0600 file under a name nobody uses yet: ``name``, ``name (2)``, …"""
    for number in range(1, MAX_COPIES + 1):
        path = folder / (name if number == 1 else _copy_name(name, number))
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise UsageError(f"{folder} already holds {MAX_COPIES} copies of {name}")


def save_attachment(conn: Conn, attachment_id: int, folder: Path) -> Path:
    """Write attachment ``attachment_id`` into ``folder`` and return the file's path.

    Raises:
        UsageError: no such attachment, its bytes are missing, or ``folder`` is not a folder.
    """
    row = execute(
        conn, "SELECT filename, blob_sha FROM attachment WHERE id=:i", {"i": attachment_id}
    ).first()
    if row is None:
        raise UsageError(f"no attachment with id {attachment_id}")
    data = get_blob(conn, row.blob_sha)
    if data is None:
        raise UsageError(f"the vault has no contents for {one_line(row.filename or '')}")
    if not folder.is_dir():
        raise UsageError(f"there is no folder {folder}")
    # The name is taken first (O_EXCL), so a file that appears meanwhile is never replaced.
    path = _reserve(folder, safe_filename(row.filename or ""))
    try:
        write_atomically(path, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
