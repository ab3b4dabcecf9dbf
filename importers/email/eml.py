"""The ``.eml`` importer: single RFC 822 message files, or folders of them.

A Maildir (a folder with ``cur`` and ``new``) is left to its own importer, and so is an mbox
(an extensionless file that starts with a ``From `` line). Each file is read whole, one at a
time, and followed by a ``Checkpoint`` keyed on its resolved path, size and mtime, so a
re-import skips files it has already read unchanged. In a folder, an ``.eml`` that is a link
leading out of it, a FIFO or a device is quarantined with the reason, unread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from importers.archive import zip_aware
from importers.email.message import not_a_mail_reason, parse_message
from importers.files import Source, peek, unchanged
from vault.errors import RefusedInput
from vault.records import Checkpoint, ImportOptions, Item, Quarantined

MAX_BYTES = 100 * 1024 * 1024
"""Files larger than this are quarantined unread: no single mail is that big."""

_SUFFIX = ".eml"
_SNIFF_BYTES = 1024
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")


def sniff(path: Path) -> bool:
    """True for an ``.eml`` file, an extensionless file that starts like a mail's headers,
    or a folder (not a Maildir) with ``.eml`` files somewhere inside."""
    try:
        if path.is_dir():
            return not _is_maildir(path) and next(_eml_files(path), None) is not None
        if path.suffix.lower() == _SUFFIX:
            return path.is_file()
        if path.suffix:
            return False
    except OSError:
        return False
    head = peek(path, _SNIFF_BYTES)
    # An mbox also starts with headers after its "From " line; that is the mbox importer's.
    return _HEADER_LINE.match(head) is not None and not_a_mail_reason(head) is None


@zip_aware("eml")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Yield each mail of ``path`` (a file, or a folder's ``.eml`` files in sorted order),
    each followed by a ``Checkpoint``; files unchanged since their cursor are skipped."""
    source = Source(path)
    files = sorted(_eml_files(path)) if path.is_dir() else [path]
    for file in files:
        yield from _read_file(file, source, options)


def _read_file(file: Path, source: Source, options: ImportOptions) -> Iterator[Item]:
    """The item of one file and its checkpoint (nothing if it is already imported)."""
    source_ref = str(file)
    try:
        stat = file.stat()
        key = str(file.resolve())
        state = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        if unchanged(options.cursors.get(key), state):
            return
        yield parse_message(source.read(file, MAX_BYTES), source_ref, options)
    except RefusedInput as exc:
        yield Quarantined(source_ref, b"", exc.reason)
    except OSError as exc:
        # Unreadable now (permissions, vanished): no checkpoint, so the next import retries.
        yield Quarantined(source_ref, b"", f"cannot read file: {exc.strerror or exc}")
        return
    yield Checkpoint(source=key, state=state)


def _is_maildir(path: Path) -> bool:
    """A Maildir folder: it has ``cur`` and ``new`` subfolders."""
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _eml_files(folder: Path) -> Iterator[Path]:
    """Every ``.eml`` under ``folder`` that is not a folder, at any depth, in directory order
    (a FIFO or a link named ``.eml`` is listed, so that reading it quarantines it)."""
    return (p for p in folder.rglob("*") if p.suffix.lower() == _SUFFIX and not p.is_dir())
