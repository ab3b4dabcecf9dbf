"""The ``.eml`` importer: single RFC 822 message files, whatever their name.

A file is a mail by its ``.eml`` name or by its start: a header block with a From, Date,
Subject, Received or Message-ID header (MH folders' ``1 2 3``, numbered files, dumps with odd
names). An mbox (a file that starts with a ``From `` line) is left to its own importer. Each
file is read whole and followed by a ``Checkpoint`` keyed on its resolved path, size and mtime,
so a re-import skips files it has already read unchanged.

A folder is walked by ``importers.folder`` (``--format eml`` reads the mails in it and names
every other file as skipped); a Maildir is left to its own importer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from importers.archive import zip_aware
from importers.email.message import not_a_mail_reason, parse_message
from importers.files import Source, is_file, peek, unchanged
from vault.errors import RefusedInput
from vault.records import Checkpoint, ImportOptions, Item, Quarantined

MAX_BYTES = 100 * 1024 * 1024
"""Files larger than this are quarantined unread: no single mail is that big."""

_SUFFIX = ".eml"
_SNIFF_BYTES = 1024
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")


def sniff(path: Path) -> bool:
    """True for an ``.eml`` file, or any other file that starts like a mail's headers."""
    if not is_file(path):
        return False
    if path.suffix.lower() == _SUFFIX:
        return True
    head = peek(path, _SNIFF_BYTES)
    # An mbox also starts with headers after its "From " line; that is the mbox importer's.
    return _HEADER_LINE.match(head) is not None and not_a_mail_reason(head) is None


@zip_aware("eml")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Yield the mail of the file ``path`` and a ``Checkpoint`` (nothing if unchanged since
    its cursor), or of each mail file in the folder ``path`` (``importers.folder``)."""
    if path.is_dir():
        from importers import folder

        return folder.walk(path, options, "eml")
    return _read_file(path, Source(path), options)


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
