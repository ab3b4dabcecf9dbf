"""Apple Mail's ``.emlx`` files, one mail each, and the ``~/Library/Mail/V*`` tree of them.

An ``.emlx`` is a decimal byte count on its first line, that many bytes of RFC 822 mail, then an
XML property list Apple Mail keeps beside it: ``flags`` (a bit field: read, answered, flagged,
draft, forwarded, junk …), ``date-received`` (seconds since 1970) and a few copied headers. The
flags are kept as ``extras["flags"]`` with the names the Maildir importer uses; the mailbox a
file lies in (``Work.mbox/Projects.mbox`` → ``Work/Projects``) as ``extras["folder"]``; a mail
with no usable Date or Received header takes its time from ``date-received``.

A ``.partial.emlx`` is a mail whose attachments Apple Mail stored apart, in
``Attachments/<number>/<part>/<file name>`` beside ``Messages/``: they are read back (inside the
source, under the size limit) and kept as the mail's attachments.

Apple Mail's tree (``V2`` … ``V10``, each account's ``INBOX.mbox/<UUID>/Data/…/Messages``) is
recognised as a whole and every ``.emlx`` under it read in sorted order, each followed by a
checkpoint of its size and mtime as for ``.eml`` files; Apple's own bookkeeping (``Info.plist``,
``Envelope Index``, ``table_of_contents``) is not mail and is passed over. Mail exported with
"Export Mailbox" is an ``.mbox`` bundle (``mbox`` + ``table_of_contents``): the mbox importer's.
"""

from __future__ import annotations

import mimetypes
import os
import plistlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from typing import Any

from importers.archive import zip_aware
from importers.email.message import parse_message
from importers.files import Source, file_state, is_file, peek, unchanged
from vault.errors import InputError, RefusedInput
from vault.records import (
    Attachment,
    Checkpoint,
    ImportOptions,
    Interaction,
    Item,
    Quarantined,
    Skipped,
)

MAX_BYTES = 100 * 1024 * 1024
"""An ``.emlx`` (or a stored attachment of a partial one) larger than this is not read."""

MAX_DEPTH = 16
"""How deep below the chosen folder ``.emlx`` files are looked for (Apple nests ``Data/1/2/3``)."""

FLAG_BITS = {0: "seen", 1: "trashed", 2: "replied", 4: "flagged", 6: "draft", 8: "passed"}
"""Bits of the plist's ``flags`` → the names the Maildir importer keeps in ``extras["flags"]``."""
JUNK_BIT = 24

_SUFFIX = ".emlx"
_MAILBOX_SUFFIXES = (".mbox", ".imapmbox")
_COUNT_LINE = re.compile(rb"[ \t]*(\d{1,12})[ \t]*\r?\n")
_PARTIAL = ".partial.emlx"
_VERSION = re.compile(r"V\d{1,2}")


def sniff(path: Path) -> bool:
    """True for an ``.emlx`` file (named so, or starting with a byte count and a header), or a
    folder of Apple Mail's tree (an ``.emlx`` in a ``Messages`` folder somewhere inside)."""
    try:
        if path.is_dir():
            return _is_tree(path) and next(_tree_files(path, Source(path)), None) is not None
    except OSError:
        return False
    if not is_file(path):
        return False
    if path.name.casefold().endswith(_SUFFIX):
        return True
    head = peek(path, 1024)
    count = _COUNT_LINE.match(head)
    return count is not None and re.match(rb"[!-9;-~]+[ \t]*:", head[count.end() :]) is not None


@zip_aware("emlx")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The mail of an ``.emlx`` file, or of every ``.emlx`` in Apple Mail's tree at ``path``,
    each followed by a ``Checkpoint``; files unchanged since their cursor are passed over."""
    within = Source(path)
    files = _tree_files(path, within) if path.is_dir() else iter([path])
    for file in files:
        yield from _read_file(file, within, options)


def parse_emlx(
    data: bytes, source_ref: str, options: ImportOptions, mailbox: str | None = None
) -> Interaction | Quarantined:
    """One ``.emlx`` file's bytes as a mail with Apple Mail's flags and mailbox, or quarantined
    with the reason (no byte count, or fewer bytes than it says)."""
    count = _COUNT_LINE.match(data)
    if count is None:
        return Quarantined(source_ref, data, "not an Apple Mail .emlx: no byte count on line 1")
    size, start = int(count.group(1)), count.end()
    if start + size > len(data):
        follow = len(data) - start
        reason = f"truncated .emlx: its first line says {size:,} bytes, {follow:,} follow"
        return Quarantined(source_ref, data, reason)
    message = data[start : start + size]
    info = _plist(data[start + size :])
    item = parse_message(message, source_ref, options)
    received = _received(info)
    if isinstance(item, Quarantined) and item.reason.startswith("no usable date") and received:
        # Apple Mail keeps mail without a Date header (drafts, some bounces); its plist knows.
        dated = f"Date: {format_datetime(received)}\r\n".encode() + message
        item = parse_message(dated, source_ref, options)
        if isinstance(item, Interaction):
            item.raw = message
    if not isinstance(item, Interaction):
        return item
    flags = info.get("flags")
    if isinstance(flags, int):
        item.extras["flags"] = [name for bit, name in FLAG_BITS.items() if flags >> bit & 1]
        if flags >> JUNK_BIT & 1:
            item.extras["flags"].append("junk")
    if mailbox:
        item.extras["folder"] = mailbox
    return item


def mailbox_of(file: Path, root: Path) -> str | None:
    """The Apple Mail mailbox a file lies in, from its ``.mbox`` folders below ``root``."""
    try:
        parts = Path(os.path.realpath(file.parent)).relative_to(root).parts
    except ValueError:
        return None
    return mailbox_name(PurePosixPath(root.name, *parts, file.name).as_posix())


def mailbox_name(name: str) -> str | None:
    """The mailbox in a path's ``.mbox`` folders: ``…/Work.mbox/Projects.mbox/…/1.emlx`` →
    ``Work/Projects`` (a zip member's name, or a path below the chosen folder)."""
    names = [
        part[: -len(suffix)]
        for part in PurePosixPath(name).parent.parts
        for suffix in _MAILBOX_SUFFIXES
        if part.endswith(suffix)
    ]
    return "/".join(names) or None


def _read_file(file: Path, within: Source, options: ImportOptions) -> Iterator[Item]:
    """The item of one file and its checkpoint (nothing if it is already imported)."""
    source_ref = str(file)
    try:
        key, state = file_state(file)
        if unchanged(options.cursors.get(key), state):
            return
        data = within.read(file, MAX_BYTES)
    except RefusedInput as exc:
        yield Quarantined(source_ref, b"", exc.reason)
        return
    except (InputError, OSError) as exc:
        # Unreadable now (permissions, vanished): no checkpoint, so the next import retries.
        yield Skipped(source_ref, f"cannot read file: {exc}")
        return
    item = parse_emlx(data, source_ref, options, mailbox_of(file, within.root))
    if isinstance(item, Interaction) and file.name.casefold().endswith(_PARTIAL):
        stored = list(_stored_attachments(file, within))
        names = {attachment.filename for attachment in stored}
        # The partial mail keeps an empty part in each stored attachment's place.
        kept = [a for a in item.attachments if a.data or a.filename not in names]
        item.attachments = kept + stored
    yield item
    yield Checkpoint(key, state)


def _stored_attachments(file: Path, within: Source) -> Iterator[Attachment]:
    """The attachments Apple Mail stored apart for a ``.partial.emlx``: ``…/Attachments/<n>/``
    beside its ``Messages`` folder (one folder per MIME part, the file inside)."""
    number = file.name[: -len(_PARTIAL)]
    folder = file.parent.parent / "Attachments" / number
    if not folder.is_dir() or not within.contains(folder):
        return
    for part in sorted(folder.iterdir()):
        if not part.is_dir() or not within.contains(part):
            continue
        for stored in sorted(part.iterdir()):
            try:
                data = within.read(stored, MAX_BYTES)
            except (RefusedInput, OSError):
                continue  # a link out, a FIFO, too big: the mail keeps what could be read
            mime = mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
            yield Attachment(stored.name, mime, data)


def _plist(trailer: bytes) -> dict[str, Any]:
    """Apple Mail's property list after the mail; empty if absent or unreadable."""
    if not trailer.strip():
        return {}
    try:
        info = plistlib.loads(trailer.strip(), fmt=plistlib.FMT_XML)
    except Exception:  # expat, plistlib and value errors alike: the mail is kept without it
        return {}
    return info if isinstance(info, dict) else {}


def _received(info: dict[str, Any]) -> datetime | None:
    value = info.get("date-received")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _is_tree(folder: Path) -> bool:
    """A folder of Apple Mail's tree by its name: ``~/Library/Mail`` (with a ``V*`` inside),
    ``V10``, an account (with mailbox folders inside), a mailbox (``INBOX.mbox``), ``Messages``."""
    if _VERSION.fullmatch(folder.name) or folder.name == "Messages" or _is_mailbox(folder):
        return True
    children = [child for child in folder.iterdir() if child.is_dir()]
    if folder.name == "Mail" and any(_VERSION.fullmatch(child.name) for child in children):
        return True
    return any(map(_is_mailbox, children))


def _is_mailbox(folder: Path) -> bool:
    """An Apple Mail mailbox folder (not an exported bundle, which holds an ``mbox`` file)."""
    return folder.name.endswith(_MAILBOX_SUFFIXES) and not (folder / "mbox").exists()


def _tree_files(folder: Path, within: Source, depth: int = 0) -> Iterator[Path]:
    """Every ``.emlx`` in a ``Messages`` folder under ``folder``, in sorted order; hidden
    folders and links to folders are not walked."""
    if depth > MAX_DEPTH:
        return
    try:
        children = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    for child in children:
        if child.name.startswith("."):
            continue
        path = Path(child.path)
        if child.is_dir(follow_symlinks=False):
            yield from _tree_files(path, within, depth + 1)
        elif folder.name == "Messages" and child.name.casefold().endswith(_SUFFIX):
            yield path  # a link or a FIFO too: reading it quarantines it with the reason
