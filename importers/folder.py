"""A folder of mixed files, imported file by file: each file's format detected on its own.

The fallback for a folder no importer recognises as a whole (a Maildir, a Takeout, a Telegram,
Messenger or WhatsApp export, an Apple Mail tree are tried first, see ``importers.detect``): a
folder holding ``.eml``, extension-less RFC 822 files (MH folders ``1 2 3``, dumps), ``.mbox``
files, calendars, pages, passes and JSON-LD gives all of them. ``--format X`` given a folder
that ``X`` does not read as a whole walks it too, reading only the files ``X`` recognises.

The walk is recursive and confined (``importers.files``): folders in sorted order, at most
``MAX_DEPTH`` deep; a subfolder that a whole-folder format recognises (a maildir, an ``.mbox``
bundle, an export) is read as that. Every file that is not read becomes a ``Skipped`` item
with its reason, which the import's summary names: an empty file, a hidden file, a link to a
folder, a file of no format kluis reads (or not of ``X``). What is refused for safety, a link
leading out of the folder, a FIFO, a device or a socket (never opened), is quarantined with
the reason as in every importer. A file is followed by a checkpoint of its size and mtime once
read whole, so a rerun skips it (and dedup keeps anything read again at zero duplicates).
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import importers
from importers.files import Source, file_state, unchanged
from vault.errors import InputError, RefusedInput, UnsupportedFormat
from vault.fsutil import file_kind
from vault.records import Checkpoint, ImportOptions, Item, Quarantined, Skipped

MAX_DEPTH = 32
"""Folders deeper than this below the chosen one are not walked (a loop or a hostile tree)."""

SURVEY_FILES = 500
"""How many files ``survey`` looks at to say what a folder holds."""

WHOLE_FOLDER_FORMATS = ("maildir", "takeout", "emlx", "mbox", "telegram", "messenger", "instagram")
"""Formats a subfolder of the walk is read as, whole, when it is theirs."""

NOT_READ = "not a format kluis reads"

NotRead = Skipped | Quarantined
"""A file named in the summary as not read, or refused and quarantined with the reason."""


def sniff(path: Path) -> bool:
    """True for a folder with at least one file kluis reads somewhere inside."""
    return path.is_dir() and first_readable(path, None) is not None


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every file of the folder at ``path`` in its own format (see the module's docstring).

    Raises:
        UnsupportedFormat: ``path`` is not a folder.
    """
    return walk(path, options, None)


def walk(path: Path, options: ImportOptions, only: str | None) -> Iterator[Item]:
    """The items of every file under ``path`` (of the format ``only``, or of any).

    Raises:
        UnsupportedFormat: ``path`` is not a folder.
    """
    if not path.is_dir():
        raise UnsupportedFormat(f"{path}: not a folder")
    within = Source(path)
    for entry, kind in _entries(path, within, only, 0):
        if not isinstance(kind, str):
            yield kind
        elif entry.is_dir():
            yield from _read_whole(entry, kind, options)
        else:
            yield from _read_file(entry, kind, options)


def first_readable(path: Path, only: str | None) -> Path | None:
    """The first file or subfolder under ``path`` that kluis reads (as ``only`` if given)."""
    within = Source(path)
    return next(
        (entry for entry, kind in _entries(path, within, only, 0) if isinstance(kind, str)), None
    )


def survey(path: Path) -> str:
    """What a folder holds, for an error message: ``found 3 ics and 1 html``, and the reason
    of the first file refused for safety (a link leading out, a device)."""
    within = Source(path)
    counts: Counter[str] = Counter()
    refused: Quarantined | None = None
    for number, (_, kind) in enumerate(_entries(path, within, None, 0)):
        if number >= SURVEY_FILES:
            break
        counts[kind if isinstance(kind, str) else "other"] += 1
        if refused is None and isinstance(kind, Quarantined):
            refused = kind
    if not counts:
        return "the folder is empty"
    parts = [f"{count} {kind}" for kind, count in counts.most_common() if kind != "other"]
    if counts["other"]:
        parts.append(f"{counts['other']} file{'s' * (counts['other'] != 1)} kluis does not read")
    found = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if refused is not None:
        found += f"; {Path(refused.source_ref).name} {refused.reason}"
    return f"found {found}"


def _entries(
    folder: Path, within: Source, only: str | None, depth: int
) -> Iterator[tuple[Path, str | NotRead]]:
    """Each file and whole-format subfolder under ``folder`` with its format, or why not."""
    try:
        children = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        yield folder, Skipped(str(folder), f"cannot list the folder: {exc.strerror or exc}")
        return
    for child in children:
        path = Path(child.path)
        refused = _not_walked(child, within)
        if refused is not None:
            yield path, refused
        elif child.is_dir(follow_symlinks=False):
            yield from _folder_entries(path, within, only, depth + 1)
        else:
            yield path, _file_kind(path, only)


def _folder_entries(
    folder: Path, within: Source, only: str | None, depth: int
) -> Iterator[tuple[Path, str | NotRead]]:
    if depth > MAX_DEPTH:
        yield folder, Skipped(str(folder), f"more than {MAX_DEPTH} folders deep: not read")
        return
    for name in (only,) if only is not None else WHOLE_FOLDER_FORMATS:
        if name in WHOLE_FOLDER_FORMATS and importers.load(name).sniff(folder):
            yield folder, name
            return
    yield from _entries(folder, within, only, depth)


def _not_walked(child: os.DirEntry[str], within: Source) -> NotRead | None:
    """Why an entry of a folder is not walked into or read, or None. What is refused for
    safety (a link leading out, a FIFO, a device) is quarantined like in every importer."""
    path = Path(child.path)
    if child.name.startswith("."):
        return Skipped(str(path), "a hidden file or folder: not read")
    try:
        if child.is_symlink():
            within.inside(path)
            if child.is_dir():
                reason = "a link to a folder: not followed (its target is read where it lies)"
                return Skipped(str(path), reason)
        info = os.stat(child.path)  # noqa: PTH116
    except RefusedInput as exc:
        return Quarantined(str(path), b"", exc.reason)
    except OSError as exc:
        return Skipped(str(path), f"cannot read: {exc.strerror or exc}")
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return Quarantined(
            str(path), b"", f"{file_kind(info.st_mode)}, not a regular file: not read"
        )
    return Skipped(str(path), "an empty file") if info.st_size == 0 else None


def _file_kind(path: Path, only: str | None) -> str | Skipped:
    """The format of one file (``only``, if it recognises it), or why it is not read."""
    if only is not None:
        if importers.load(only).sniff(path):
            return only
        return Skipped(str(path), f"not {_article(only)} {only} file")
    try:
        return importers.detect(path)
    except UnsupportedFormat:
        return Skipped(str(path), NOT_READ)


def _article(name: str) -> str:
    return "an" if name[0] in "aeiou" else "a"


def _read_whole(folder: Path, kind: str, options: ImportOptions) -> Iterator[Item]:
    """A subfolder in its format; one that turns out unreadable is named, not fatal."""
    try:
        yield from importers.read(folder, kind, options)
    except InputError as exc:
        yield Skipped(str(folder), str(exc))


def _read_file(file: Path, kind: str, options: ImportOptions) -> Iterator[Item]:
    """One file in its format, then its checkpoint; unchanged since its cursor, nothing."""
    try:
        key, state = file_state(file)
    except InputError as exc:
        yield Skipped(str(file), str(exc))
        return
    if unchanged(options.cursors.get(key), state):
        return
    last: Item | None = None
    try:
        for last in importers.read(file, kind, options):
            yield last
    except InputError as exc:
        reason = str(exc).removeprefix(f"{file}: ")
        yield Skipped(str(file), f"not read as {kind}: {reason}")
        return
    if last != Checkpoint(key, state):  # the .eml importer says so itself
        yield Checkpoint(key, state)
