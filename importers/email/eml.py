"""The ``.eml`` importer: single RFC 822 message files, or folders of them.

A Maildir (a folder with ``cur`` and ``new``) is left to its own importer, and so is an mbox
(an extensionless file that starts with a ``From `` line). Each file is read whole, one at a
time, and followed by a ``Checkpoint`` keyed on its resolved path, size and mtime, so a
re-import skips files it has already read unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from importers.archive import zip_aware
from importers.email.message import not_a_mail_reason, parse_message
from importers.files import unchanged
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
        if path.suffix or not path.is_file():
            return False
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    # An mbox also starts with headers after its "From " line; that is the mbox importer's.
    return _HEADER_LINE.match(head) is not None and not_a_mail_reason(head) is None


@zip_aware("eml")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Yield each mail of ``path`` (a file, or a folder's ``.eml`` files in sorted order),
    each followed by a ``Checkpoint``; files unchanged since their cursor are skipped."""
    files = sorted(_eml_files(path)) if path.is_dir() else [path]
    for file in files:
        yield from _read_file(file, options)


def _read_file(file: Path, options: ImportOptions) -> Iterator[Item]:
    """The item of one file and its checkpoint (nothing if it is already imported)."""
    source_ref = str(file)
    try:
        stat = file.stat()
        source = str(file.resolve())
        state = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        if unchanged(options.cursors.get(source), state):
            return
        if stat.st_size > MAX_BYTES:
            megabytes = stat.st_size // (1024 * 1024)
            reason = f"file is {megabytes} MB, over the {MAX_BYTES // (1024 * 1024)} MB limit"
            yield Quarantined(source_ref, b"", reason)
        else:
            yield parse_message(file.read_bytes(), source_ref, options)
    except OSError as exc:
        # Unreadable now (permissions, vanished): no checkpoint, so the next import retries.
        yield Quarantined(source_ref, b"", f"cannot read file: {exc.strerror or exc}")
        return
    yield Checkpoint(source=source, state=state)


def _is_maildir(path: Path) -> bool:
    """A Maildir folder: it has ``cur`` and ``new`` subfolders."""
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _eml_files(folder: Path) -> Iterator[Path]:
    """Every ``.eml`` file under ``folder``, at any depth, in directory order."""
    return (p for p in folder.rglob("*") if p.suffix.lower() == _SUFFIX and p.is_file())
