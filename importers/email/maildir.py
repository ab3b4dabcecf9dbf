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

Only what lies inside the chosen folder is read: a ``cur/`` or ``new/`` that is a link leading out
of it is quarantined once with the reason, and so is each mail file that is a link leading out,
a FIFO or a device (see ``importers.files``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from importers.archive import zip_aware
from importers.email.mbox import POOL_MIN_BYTES
from importers.email.message import FULL_RECORD_MODULES, parse_message
from importers.files import Source
from vault.errors import RefusedInput, UnsupportedFormat
from vault.pool import map_in_pool, packed_ahead, raw_size, workers_ahead
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Position, Quarantined

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

    From ``POOL_MIN_BYTES`` of mail on, the files are read by a thread and parsed in worker
    processes (as for an mbox) while this process stores what comes back, in order.

    Raises:
        UnsupportedFormat: there is no maildir in ``path``.
    """
    root = path.resolve()
    folders = list(_maildirs(root))
    if not folders:
        raise UnsupportedFormat(f"{path}: no Maildir here (a folder with cur/ and new/)")
    within = Source(root)
    names = folder_names(folder.relative_to(root.parent).parts for folder in folders)
    listings = [
        _Listing(folder, names[folder.relative_to(root.parent).parts], *_listing(folder, within))
        for folder in folders
    ]
    parse = partial(_parsed, options=options)
    tasks = _tasks(listings, options, within)
    big = sum(listing.size for listing in listings) >= POOL_MIN_BYTES
    pooled = big and not options.owner_sample
    yield from (
        map_in_pool(parse, tasks, weigh=raw_size, preload=FULL_RECORD_MODULES)
        if pooled
        else map(parse, tasks)
    )


AHEAD_FILES = POOL_MIN_BYTES // 4096
"""Mail files from which ``parsing_ahead`` starts the pool: a maildir holds at least 4 KiB a
mail, as a rule, and counting its files costs no ``stat`` of each (``read`` weighs them)."""


def parsing_ahead(path: Path) -> AbstractContextManager[None]:
    """The parse pool started now if the maildirs in ``path`` hold enough mail to be parsed
    in it (``vault.pool.workers_ahead``): its workers get ready while the vault is unlocked."""
    root = path.resolve()
    within, files = Source(root), 0
    for folder in _maildirs(root):
        for subfolder in (folder / name for name in MAIL_SUBFOLDERS):
            if not within.contains(subfolder):
                continue  # ``read`` refuses it: it leads out of the source
            with contextlib.suppress(OSError), os.scandir(subfolder) as entries:
                files += sum(1 for _ in entries)
        if files >= AHEAD_FILES:
            return workers_ahead(_parsed, preload=FULL_RECORD_MODULES)
    return nullcontext()


class _Listing(NamedTuple):
    """One maildir: its folder name, mail files in reading order, state and total size, and
    its ``cur``/``new`` folders that were not read, with the reason."""

    path: Path
    name: str
    files: list[str]
    state: dict[str, Any]
    size: int
    refused: list[Quarantined]


class _Mail(NamedTuple):
    """A mail file read, to be parsed (in a worker, for a big maildir)."""

    raw: bytes
    source_ref: str
    folder: str
    filename: str


def _parsed(task: _Mail | Item, *, options: ImportOptions) -> Item:
    """The record of a mail read; anything else (a checkpoint, a quarantined file) as it is."""
    if isinstance(task, _Mail):
        mail = parse_file(task.raw, task.source_ref, task.folder, task.filename, options)
        return packed_ahead(mail)
    return task


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


def _tasks(
    listings: list[_Listing], options: ImportOptions, within: Source
) -> Iterator[_Mail | Item]:
    """Each maildir's mail files read, then its checkpoint; nothing of an unchanged one."""
    total = sum(len(listing.files) for listing in listings)
    done = 0
    for listing in listings:
        done += len(listing.files)
        source = f"maildir:{listing.path}"
        cursor = options.cursors.get(source)
        if cursor is not None and all(cursor.get(k) == v for k, v in listing.state.items()):
            continue
        yield from listing.refused
        complete = True
        for file in listing.files:
            path = Path(file)
            try:
                raw = within.read(path, MAX_MESSAGE_BYTES)
            except RefusedInput as exc:
                yield Quarantined(file, b"", exc.reason)
                continue
            except FileNotFoundError:
                # A running mail client moved it (new/ → cur/, flags changed): read it next time.
                complete = False
                continue
            except OSError as exc:
                complete = False
                yield Quarantined(file, b"", f"cannot read file: {exc.strerror or exc}")
                continue
            yield _Mail(raw, file, listing.name, path.name)
        if complete:
            yield Checkpoint(source, listing.state, Position(done, total, "files", listing.name))


def _listing(
    folder: Path, within: Source
) -> tuple[list[str], dict[str, Any], int, list[Quarantined]]:
    """The mail files of a maildir in sorted order, its state (count and newest mtime), the
    files' total size, and its mail folders refused as leading out of the source. Lean on
    purpose: it is held through the whole import."""
    found: list[tuple[str, str]] = []
    refused: list[Quarantined] = []
    newest = size = 0
    for sub in MAIL_SUBFOLDERS:
        directory = folder / sub
        if not within.contains(directory):
            reason = f"{sub}/ leads out of the source folder (a link): its mail is not read"
            refused.append(Quarantined(str(directory), b"", reason))
            continue
        try:  # a folder missing, or a file a mail client moves away while we look
            newest = max(newest, directory.stat().st_mtime_ns)
            with os.scandir(directory) as entries:  # not list(): 20,000 entries at once
                for entry in entries:
                    # Links, FIFOs and devices are listed: reading them quarantines them.
                    if entry.name.startswith(".") or entry.is_dir(follow_symlinks=False):
                        continue
                    info = entry.stat(follow_symlinks=False)
                    newest = max(newest, info.st_mtime_ns)
                    size += info.st_size
                    found.append((entry.name, entry.path))  # by name; cur/ before new/ on a tie
        except OSError:
            continue
    found.sort()
    state = {"files": len(found), "mtime_ns": newest}
    return [path for _, path in found], state, size, refused
