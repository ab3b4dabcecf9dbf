"""WhatsApp "Export chat" text (a ``.txt``, a folder, or the ``.zip`` with media) → chat items.

WhatsApp writes one line per message, ``<date>, <time> - <sender>: <text>`` on Android and
``[<date>, <time>] <sender>: <text>`` on iOS, in the phone's locale: the date order, separators,
year digits and clock all vary, and nothing in the file names the locale. Lines that do not start
with a date continue the message above. There is no time zone anywhere.

This module finds the chat texts (files, folders, zips) and their media; the text's grammar
(line layouts, senders, date order) is ``importers.chat.whatsapp_text``'s, and the chat and its
items ``importers.chat.whatsapp_chat``'s.

Decisions worth knowing:

- The date order is inferred per *layout* (separator, year digits) from the whole file, since one
  export can switch layout mid-file (Android 2.23 after a locale change), from every signal the
  file holds (``importers.chat.whatsapp_dates``); a close call is told in the import summary.
- Times are wall-clock times in ``options.timezone`` (``tz_known=False``). Dedup keys use the
  wall-clock time as written, so a re-import with another ``--timezone`` still matches.
- Lines without a sender (encryption notice, group events), lines "sent" by a name that only
  ever sends WhatsApp's own lines (iOS: a group's name), and notices written like a message
  ("This message was deleted", the disappearing-messages timer) are ``direction="system"``;
  their sender is the chat, never a person, and ``extras["actor"]`` keeps who it was about.
  Media left out of a text-only export (``<Media omitted>``, ``‎image omitted``) stays the
  message of whoever sent it, with ``extras["media_omitted"]``.
- Direction: ``--me`` (``options.me_names``, a name or a phone number) decides. Without it, the
  owner is the sender present in every chat when a folder or zip holds several chats, or, in a
  private chat named after its contact ("WhatsApp Chat with X"), the one sender who is not X.
  Otherwise every message is ``in``: a lone group export does not say who exported it.
- A one-to-one chat is named after the other participant: the one speaker who is not me, else
  the one iOS writes the encryption notice under, else the one the file is named after
  (localised "WhatsApp Chat with X"; iOS names its text ``_chat.txt`` and the zip or folder
  after the chat). A group keeps the file's name, else its latest subject or "created group"
  line, else the name iOS writes its notices under. Only when nothing else does, the folder or
  zip names the chat as it is (with a note in the summary). The name keys the thread, so the
  ``.txt`` and the ``.zip`` of one chat dedup together.
- Texts are read line by line (``importers.files.capped_lines``): a line over ``MAX_LINE_BYTES``
  is never held whole, and its message is quarantined with the reason. Media are read only
  from beside the text inside the chosen folder (or from the zip), by plain file name; one that
  leads out of it is refused, and the reason is kept in ``extras["media"]["missing"]``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from importers.archive import open_zip
from importers.chat.base import Malformed, MediaLookup
from importers.chat.whatsapp_chat import parse_chat
from importers.chat.whatsapp_text import Line, decode, fold, looks_like_chat, split_entries
from importers.files import (
    LongLine,
    Source,
    capped_lines,
    file_state,
    name_reason,
    peek,
    read_at_most,
    too_large,
    unchanged,
)
from vault.errors import InputError, MalformedInput, RefusedInput
from vault.records import Checkpoint, ImportOptions, Item, Quarantined
from vault.text import one_line

MAX_CHAT_BYTES = 256 * 1024 * 1024
"""Larger chat texts are quarantined instead of loaded: a chat is parsed in one piece."""

MAX_MEDIA_BYTES = 100 * 1024 * 1024
"""Media files above this stay named in ``extras["media"]`` instead of stored as blobs."""

MAX_ZIP_RATIO = 200
"""A zip member that claims to expand more than this (and past 1 MiB) is a zip bomb: refused."""

SNIFF_BYTES = 4096
_FILE_NAME = re.compile(
    r"^(?:whatsapp[ -]chat(?: with| mit| met| con| avec| com| -)|chat de whatsapp con"
    r"|discussion whatsapp avec|chat (?:di )?whatsapp con|conversa do whatsapp com"
    r"|whatsapp-chat med)\s+(?P<name>.+?)(?: \(\d+\))?$",
    re.IGNORECASE,
)
_IOS_TEXT_NAME = "_chat.txt"


# --- the module protocol -------------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """True for a chat ``.txt``, a ``.zip`` holding one, or a folder holding either.

    A text is a chat when its first non-empty line starts with a WhatsApp date and time.
    """
    try:
        if path.is_dir():
            # A link leading out is listed to be quarantined, never taken for a chat.
            within = Source(path)
            return any(within.contains(found) for found in _chat_sources(path, within))
        suffix = path.suffix.lower()
        if suffix == ".txt":
            return looks_like_chat(peek(path, SNIFF_BYTES).decode("utf-8", "replace"))
        if suffix == ".zip":
            with open_zip(path) as archive:
                return bool(_zip_chats(archive))
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, MalformedInput, RefusedInput):
        return False
    return False


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of a chat ``.txt``, a chat ``.zip``, or a folder of either.

    Each file ends with a ``Checkpoint`` keyed by its resolved path, with size and mtime; an
    unchanged file (same cursor in ``options.cursors``) yields nothing. Attached files are
    taken from the zip, or from beside the text.

    Raises:
        InputError: the file or folder cannot be opened (missing, no permission).
    """
    within = Source(path)
    if path.is_dir():
        sources = sorted(_chat_sources(path, within))
    elif path.exists():
        sources = [path]
    else:
        raise InputError(f"{path}: no such file or folder")
    owner = None if options.me_names else _common_sender(sources, within)
    for source in sources:
        yield from _read_source(source, options, owner, within)


def chat_name_from_path(name: str) -> str | None:
    """The chat's name from a file, folder or zip name: ``WhatsApp Chat with KLM.txt`` → KLM.

    Android names the text after the chat in the phone's language; iOS names the zip
    ``WhatsApp Chat - X.zip`` and the text inside ``_chat.txt`` (which names nothing).
    """
    stem = PurePosixPath(name.replace("\\", "/")).name
    for suffix in (".txt", ".zip"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    found = _FILE_NAME.match(stem.strip())
    return found["name"].strip() if found else None


# --- sources: text files, zips, folders ----------------------------------------------------------


def _chat_sources(folder: Path, within: Source) -> Iterator[Path]:
    """Chat texts and zips in ``folder`` and in its direct subfolders (unzipped exports); a
    link leading out of the source is listed by its name alone, never followed."""
    for child in sorted(folder.iterdir()):
        if not within.contains(child):
            if child.is_dir() or child.suffix.lower() in (".txt", ".zip"):
                yield child  # not looked into: reading it quarantines it with the reason
            continue
        if child.is_dir():
            if any(_is_chat_text(grandchild) for grandchild in child.glob("*.txt")):
                yield child
        elif _is_chat_text(child) or (child.suffix.lower() == ".zip" and sniff(child)):
            yield child


def _is_chat_text(path: Path) -> bool:
    return path.suffix.lower() == ".txt" and sniff(path)


def _read_source(
    source: Path, options: ImportOptions, owner: str | None, within: Source
) -> Iterator[Item]:
    try:
        within.inside(source)
    except RefusedInput as exc:
        yield Quarantined(str(source), b"", exc.reason)
        return
    if source.is_dir():
        for text_file in sorted(p for p in source.glob("*.txt") if _is_chat_text(p)):
            yield from _read_text_file(text_file, options, owner, within)
    elif source.suffix.lower() == ".zip":
        yield from _read_zip(source, options, owner, within)
    else:
        yield from _read_text_file(source, options, owner, within)


def _read_text_file(
    path: Path, options: ImportOptions, owner: str | None, within: Source
) -> Iterator[Item]:
    def items(source: str) -> Iterator[Item]:
        lines = _file_lines(path, within)
        name, folder = chat_name_from_path(path.name), _folder_name(path)
        media = _folder_media(path.parent, within)
        return parse_chat(
            lines,
            source,
            options,
            media,
            chat_name=name or (chat_name_from_path(folder) if folder else None),
            fallback_name=folder,
            owner=owner,
        )

    return _unless_imported(path, options, items)


def _unless_imported(
    path: Path, options: ImportOptions, items: Callable[[str], Iterator[Item]]
) -> Iterator[Item]:
    """The ``items`` of a file, then its checkpoint (resolved path, size, mtime); nothing if
    the cursors say it was imported as it is. A file refused (not a regular file inside the
    source, over a limit) is quarantined with the reason."""
    source, state = file_state(path)
    if unchanged(options.cursors.get(source), state):
        return
    try:
        yield from items(source)
    except RefusedInput as exc:
        yield Quarantined(source, b"", exc.reason)
    yield Checkpoint(source=source, state=state)


def _file_lines(path: Path, within: Source) -> list[Line]:
    """The lines of a chat text file inside the source.

    Raises:
        InputError: it cannot be read.
        RefusedInput: not a regular file inside the source, or over ``MAX_CHAT_BYTES``.
    """
    try:
        with within.open(path) as handle:
            return _lines(handle, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _lines(stream: IO[bytes], what: object) -> list[Line]:
    """A chat text's lines, decoded, each at most ``MAX_LINE_BYTES``.

    Raises:
        RefusedInput: more than ``MAX_CHAT_BYTES`` in all.
    """
    return [
        line if isinstance(line, LongLine) else decode(line.removesuffix(b"\n"))
        for line in capped_lines(stream, MAX_CHAT_BYTES, what)
    ]


def _folder_name(path: Path) -> str | None:
    # iOS "_chat.txt" names nothing; the folder it was unzipped into may.
    if path.name != _IOS_TEXT_NAME:
        return None
    return path.resolve().parent.name or None


def _folder_media(folder: Path, within: Source) -> MediaLookup:
    """Files directly in ``folder``, by plain name, inside the source; a name that is not plain
    or a file that leads out of the source is refused (``RefusedInput``)."""

    def lookup(name: str) -> bytes | None:
        if not _plain_name(name):
            raise RefusedInput(name, "not a plain file name: not read")
        try:
            return within.read(folder / name, MAX_MEDIA_BYTES)
        except (OSError, ValueError):
            return None

    return lookup


def _plain_name(name: str) -> bool:
    return name not in (".", "..") and name_reason(name) is None and "/" not in name


def _read_zip(
    path: Path, options: ImportOptions, owner: str | None, within: Source
) -> Iterator[Item]:
    def items(source: str) -> Iterator[Item]:
        try:
            with open_zip(path, within) as archive:
                yield from _zip_items(archive, path, source, options, owner)
        except MalformedInput as exc:
            yield Quarantined(source, b"", one_line(str(exc).removeprefix(f"{path}: ")))
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as exc:
            yield Quarantined(source, b"", one_line(f"not a readable zip: {exc}"))

    return _unless_imported(path, options, items)


def _zip_items(
    archive: zipfile.ZipFile, path: Path, source: str, options: ImportOptions, owner: str | None
) -> Iterator[Item]:
    chats = _zip_chats(archive)
    if not chats:
        yield Quarantined(source, b"", "the zip holds no WhatsApp chat text")
        return
    media = _zip_media(archive)
    for info in chats:
        ref = f"{source}!{info.filename}"
        try:
            lines = _member_lines(archive, info)
        except Malformed as exc:
            yield Quarantined(ref, b"", str(exc))
            continue
        name = chat_name_from_path(info.filename) or chat_name_from_path(path.name)
        yield from parse_chat(
            lines, ref, options, media, chat_name=name, fallback_name=path.stem, owner=owner
        )


def _zip_chats(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members that are WhatsApp chat texts (safe names, a date on the first line)."""
    chats = []
    for info in archive.infolist():
        if info.is_dir() or not info.filename.lower().endswith(".txt"):
            continue
        if not _safe_member(info.filename):
            continue
        try:
            with archive.open(info) as handle:
                head = handle.read(SNIFF_BYTES)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
            continue
        if looks_like_chat(head.decode("utf-8", "replace")):
            chats.append(info)
    return chats


def _zip_media(archive: zipfile.ZipFile) -> MediaLookup:
    """Members by base name (the chat names files without their folder), read on demand."""
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if not info.is_dir() and _safe_member(info.filename):
            by_name.setdefault(PurePosixPath(info.filename.replace("\\", "/")).name, info)

    def lookup(name: str) -> bytes | None:
        info = by_name.get(name)
        if info is None:
            return None
        try:
            return _read_member(archive, info, MAX_MEDIA_BYTES)
        except (Malformed, zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
            return None

    return lookup


def _safe_member(name: str) -> bool:
    """No absolute path, drive, or ``..``: a member name must stay inside the export (zip slip)."""
    return name_reason(name) is None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, refusing sizes past ``limit`` and zip-bomb ratios before reading."""
    _check_member(info, limit)
    try:
        with archive.open(info) as handle:
            return read_at_most(handle, limit, info.filename)  # the header's size may lie
    except RefusedInput as exc:
        raise Malformed(str(exc)) from None


def _member_lines(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[Line]:
    """A chat text member's lines (see ``_lines``), with the checks of ``_read_member``."""
    _check_member(info, MAX_CHAT_BYTES)
    try:
        with archive.open(info) as handle:
            return _lines(handle, info.filename)
    except RefusedInput as exc:
        raise Malformed(str(exc)) from None


def _check_member(info: zipfile.ZipInfo, limit: int) -> None:
    if info.file_size > limit:
        raise Malformed(f"{info.filename}: {_too_large(info.file_size)}")
    packed = max(info.compress_size, 1)
    if info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * packed:
        ratio = info.file_size // packed
        raise Malformed(f"{info.filename}: expands {ratio}:1, refused as a zip bomb")


def _too_large(size: int) -> str:
    return f"{too_large(size, MAX_CHAT_BYTES)}: more than kluis reads from one WhatsApp file"


# --- the export owner ----------------------------------------------------------------------------


def _common_sender(sources: list[Path], within: Source) -> str | None:
    """The one sender present in every chat of a folder or zip of several chats: the owner."""
    texts = list(_source_texts(sources, within))
    if len(texts) < 2:
        return None
    common: set[str] | None = None
    spelled: dict[str, str] = {}
    for lines in texts:
        parsed = split_entries(lines)
        names = {said.sender for said in parsed.said if said.sender}
        spelled.update({fold(name): name for name in names})
        folded = {fold(name) for name in names}
        common = folded if common is None else common & folded
    return spelled[next(iter(common))] if common and len(common) == 1 else None


def _source_texts(sources: list[Path], within: Source) -> Iterator[list[Line]]:
    for source in sources:
        try:
            within.inside(source)
            if source.is_dir():
                for text_file in source.glob("*.txt"):
                    if _is_chat_text(text_file):
                        yield _file_lines(text_file, within)
            elif source.suffix.lower() == ".zip":
                with open_zip(source, within) as archive:
                    for info in _zip_chats(archive):
                        yield _member_lines(archive, info)
            else:
                yield _file_lines(source, within)
        except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError, InputError):
            continue  # read() reports the same file again, as a quarantined item
