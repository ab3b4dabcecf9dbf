"""The Maildir importer: one file per mail in ``cur/`` and ``new/``, and nested folders.

Both ways of nesting are walked: Maildir++ (Dovecot, Courier: ``.Sent``, ``.Archive.2023`` beside
``cur``) and plain nested maildirs (mbsync, offlineimap: ``Mail/Work/cur``). ``tmp/`` holds mail
still being delivered and is skipped. Each mail gets its folder (``INBOX``, ``Sent``,
``Archive/2023``) and its flags (the ``:2,FRS`` suffix of its file name) in ``extras``.

Files are read in sorted name order, which is delivery order for the usual ``<time>.<unique>``
names. A ``Checkpoint`` per finished folder (``maildir:<resolved folder>``: file count and
newest mtime, counting the ``cur``/``new`` folders themselves, which change on every delivery or
rename) lets a re-import skip unchanged folders; a folder interrupted part-way is read again and
dedup (Message-ID) keeps it at zero duplicates, also against the same mail from an mbox.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from importers.archive import zip_aware
from importers.email.message import parse_message
from vault.errors import UnsupportedFormat
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Quarantined

MAX_MESSAGE_BYTES = 100 * 1024 * 1024
"""Mail files larger than this are quarantined unread."""

FLAGS = {"D": "draft", "F": "flagged", "P": "passed", "R": "replied", "S": "seen", "T": "trashed"}
"""Maildir info flags (``:2,<letters>``) → the names kept in ``extras["flags"]``."""

MAIL_SUBFOLDERS = ("cur", "new")
"""Where a maildir keeps its mail; ``tmp`` is for deliveries still being written."""

# ":" is the standard separator; ";" and "!" are used where the filesystem forbids ":".
_INFO = re.compile(r"[:;!]2,([A-Za-z]*)$")


def sniff(path: Path) -> bool:
    """True for a maildir, or a folder with a maildir directly inside it."""
    try:
        return path.is_dir() and (is_maildir(path) or any(map(is_maildir, _subfolders(path))))
    except OSError:
        return False


def is_maildir(path: Path) -> bool:
    """A folder with ``cur/`` or ``new/`` (exports often drop the empty one)."""
    return any((path / name).is_dir() for name in MAIL_SUBFOLDERS)


@zip_aware("maildir")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Yield the mails of every maildir in ``path``, a ``Checkpoint`` after each folder.

    Raises:
        UnsupportedFormat: there is no maildir in ``path``.
    """
    root = path.resolve()
    folders = list(_maildirs(root))
    if not folders:
        raise UnsupportedFormat(f"{path}: no Maildir here (a folder with cur/ and new/)")
    names = folder_names(folder.relative_to(root.parent).parts for folder in folders)
    for folder in folders:
        yield from _read_folder(folder, names[folder.relative_to(root.parent).parts], options)


def parse_file(
    raw: bytes, source_ref: str, folder: str, filename: str, options: ImportOptions
) -> Interaction | Quarantined:
    """``parse_message`` plus the folder and the flags of the file's name."""
    item = parse_message(raw, source_ref, options)
    if isinstance(item, Interaction):
        item.extras["folder"] = folder
        item.extras["flags"] = flags(filename)
    return item


def flags(filename: str) -> list[str]:
    """The flags in a maildir file name: ``…:2,FRS`` → ``["flagged", "replied", "seen"]``."""
    match = _INFO.search(filename)
    letters = match.group(1) if match else ""
    # Lower-case letters are Dovecot keywords, meaningless without that server's keyword list.
    return [name for letter, name in FLAGS.items() if letter in letters]


def folder_names(folders: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """The name to show for each maildir, given as path parts from a common root.

    The top maildir is ``INBOX`` when it is named Maildir or has Maildir++ subfolders, else
    it keeps its own name; a folder below it is named by its path from there, Maildir++ dots
    read as levels: ``(".Archive.2023",)`` → ``Archive/2023``, ``("Work", "Sub")`` → ``Work/Sub``.
    """
    paths = list(folders)
    common = _common_prefix(paths)
    below = [path[len(common) :] for path in paths]
    plus_plus = any(rest and rest[0].startswith(".") for rest in below)
    top = "INBOX" if not common or plus_plus or common[-1].lower() == "maildir" else common[-1]
    names: dict[tuple[str, ...], str] = {}
    for path, rest in zip(paths, below, strict=True):
        levels = [level for part in rest for level in part.lstrip(".").split(".") if level]
        names[path] = "/".join(levels) if rest else top
    return names


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The leading path parts that all ``paths`` share."""
    if not paths:
        return ()
    shortest = min(paths, key=len)
    for length in range(len(shortest)):
        if any(path[length] != shortest[length] for path in paths):
            return shortest[:length]
    return shortest


def _subfolders(folder: Path) -> list[Path]:
    """Subfolders to look for maildirs in, sorted; symlinks are not followed (no loops)."""
    return sorted(
        child
        for child in folder.iterdir()
        if child.is_dir() and not child.is_symlink() and child.name not in ("cur", "new", "tmp")
    )


def _maildirs(folder: Path) -> Iterator[Path]:
    """``folder`` if it is a maildir, then every maildir below it, in sorted order."""
    if is_maildir(folder):
        yield folder
    try:
        children = _subfolders(folder)
    except OSError:
        return
    for child in children:
        yield from _maildirs(child)


def _read_folder(folder: Path, name: str, options: ImportOptions) -> Iterator[Item]:
    """The mails of one maildir, then its checkpoint (nothing if the cursor says unchanged)."""
    source = f"maildir:{folder}"
    files, state = _listing(folder)
    cursor = options.cursors.get(source)
    if cursor is not None and all(cursor.get(key) == value for key, value in state.items()):
        return
    complete = True
    for file in files:
        try:
            if file.stat().st_size > MAX_MESSAGE_BYTES:
                limit = MAX_MESSAGE_BYTES // (1024 * 1024)
                yield Quarantined(str(file), b"", f"file is over the {limit} MB limit")
                continue
            raw = file.read_bytes()
        except FileNotFoundError:
            # A running mail client moved it (new/ → cur/, flags changed): read it next time.
            complete = False
            continue
        except OSError as exc:
            complete = False
            yield Quarantined(str(file), b"", f"cannot read file: {exc.strerror or exc}")
            continue
        yield parse_file(raw, str(file), name, file.name, options)
    if complete:
        yield Checkpoint(source, state)


def _listing(folder: Path) -> tuple[list[Path], dict[str, Any]]:
    """The mail files of a maildir in sorted order, and its state: count and newest mtime."""
    found: list[tuple[str, str, Path]] = []
    newest = 0
    for sub in MAIL_SUBFOLDERS:
        directory = folder / sub
        try:
            newest = max(newest, directory.stat().st_mtime_ns)
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            newest = max(newest, entry.stat(follow_symlinks=False).st_mtime_ns)
            found.append((entry.name, sub, Path(entry.path)))
    found.sort()
    return [path for _, _, path in found], {"files": len(found), "mtime_ns": newest}
