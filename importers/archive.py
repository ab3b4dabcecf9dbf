"""Zip archives of exports, read in place: no byte of their content is written to disk.

``kluis import export.zip`` reads the mail and chats inside a zip: ``.eml`` and Apple Mail
``.emlx`` files, Outlook ``.msg`` files, mboxes
(``.mbox``, Apple's ``X.mbox/mbox``), Google Takeout mail, maildirs (files in ``cur/`` and
``new/``), Telegram exports (``result.json``) and Android SMS backups (``.xml`` files whose root
is ``<smses>`` or ``<calls>``), recognised by their member names (and an ``.xml``'s first bytes).
Members are read straight from the archive: single mails and ``result.json`` whole (each under
its format's size limit), an mbox through ``importers.email.mbox.split`` and an SMS backup
through its streaming parser.

How it plugs in:

- ``sniff``/``read`` make the zip an importer of its own (format ``zip`` in ``importers.FORMATS``,
  which ``--format auto`` finds by the ``PK`` magic): it reads every known format inside.
- ``zip_aware(name)`` decorates a format's ``read``, so ``--format mbox`` given a zip reads only
  the mboxes inside (and ``takeout`` reads them with Gmail's labels).

Guards, checked on the central directory before anything is read (see the limits below): the
member count, the total uncompressed size against the archive's size, each big member's
compression ratio, and compressed sizes that add up to more than the file (members overlapping
one another, the trick of non-recursive zip bombs). Python's ``zipfile`` never inflates a member
past its declared size and checks its CRC, so the declared sizes can be trusted as bounds. Nested
zips are not opened. Members that would escape an extraction folder (``..``, absolute names),
symbolic links and encrypted members are quarantined with a one-line reason and not read.

Resume: one cursor per archive (``zip:<resolved path>``) records the size and mtime of the zip,
the format filter, and how far the import got: the index of the next member in the sorted plan
and, inside an mbox, the byte offset. A changed zip is read again from the start.
"""

from __future__ import annotations

import functools
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from importers.files import Source, name_reason, open_file, peek
from vault.errors import MalformedInput, RefusedInput, UnsupportedFormat
from vault.records import Checkpoint, ImportOptions, Item, Quarantined
from vault.text import byte_size

MAX_MEMBERS = 200_000
"""More members than this is refused: ``zipfile`` holds the whole directory in memory."""

MAX_EXPANSION = 20
"""All members together may unpack to at most this many times the archive's size ..."""

MIN_TOTAL_BYTES = 64 * 1024 * 1024
"""... or this much, whichever is larger (a small zip of a few mails may compress well)."""

MAX_RATIO = 100
"""A member over ``RATIO_FLOOR_BYTES`` may be at most this many times its compressed size.
Mail and JSON compress 3-15×; deflate can reach about 1,000×, which only a bomb does."""

RATIO_FLOOR_BYTES = 1024 * 1024

FORMATS_INSIDE = ("eml", "emlx", "msg", "mbox", "takeout", "maildir", "telegram", "sms")
"""The formats read from inside a zip (``--format`` values)."""

Reader = Callable[[Path, ImportOptions], Iterator[Item]]

_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive
_MAILDIR_SUBFOLDERS = ("cur", "new")
_PEEK_BYTES = 65536


@dataclass(frozen=True, slots=True)
class _Unit:
    """One member to read, and as what."""

    kind: str
    info: zipfile.ZipInfo
    folder: str = ""


@dataclass(frozen=True, slots=True)
class _Run:
    """What every unit of one import of an archive shares."""

    path: Path
    source: str
    state: dict[str, Any]
    options: ImportOptions

    def ref(self, info: zipfile.ZipInfo) -> str:
        return f"{self.path}!{info.filename}"

    def checkpoint(self, unit: int, offset: int = 0) -> Checkpoint:
        return Checkpoint(self.source, {**self.state, "unit": unit, "offset": offset})


def sniff(path: Path) -> bool:
    """True for a zip archive (by its magic bytes, whatever its name)."""
    return is_zip(path)


def is_zip(path: Path) -> bool:
    """True if ``path`` is a regular file that starts like a zip archive."""
    return peek(path, 4) in _MAGIC


@contextmanager
def open_zip(path: Path, within: Source | None = None) -> Iterator[zipfile.ZipFile]:
    """The zip at ``path``, opened as a regular file only (see ``importers.files.open_file``),
    and only inside the source ``within`` if given.

    Raises:
        RefusedInput: ``path`` is a FIFO, a device or a socket, or leads out of ``within``.
        MalformedInput: it cannot be opened as a zip.
    """
    try:
        handle = within.open(path) if within is not None else open_file(path)
        try:
            archive = zipfile.ZipFile(handle)
        except BaseException:
            handle.close()
            raise
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise MalformedInput(f"{path}: not a readable zip archive ({exc})") from None
    archive.filename = str(path)  # not the descriptor's number, for source references
    with handle, archive:
        yield archive


def member_names(path: Path) -> list[str]:
    """The member names of a zip (for sniffing); empty if it cannot be read."""
    try:
        with open_zip(path) as archive:
            return archive.namelist()
    except (MalformedInput, RefusedInput):
        return []


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every mail and chat inside the zip at ``path`` (see ``read_zip``)."""
    return read_zip(path, options, None)


def zip_aware(format_name: str) -> Callable[[Reader], Reader]:
    """Decorate a format's ``read`` so that, given a zip, it reads that format inside it."""

    def decorate(read_path: Reader) -> Reader:
        @functools.wraps(read_path)
        def read_path_or_zip(path: Path, options: ImportOptions) -> Iterator[Item]:
            if is_zip(path):
                return read_zip(path, options, format_name)
            return read_path(path, options)

        return read_path_or_zip

    return decorate


def read_zip(path: Path, options: ImportOptions, only: str | None) -> Iterator[Item]:
    """Stream the items of the members of one format (``only``), or of all known formats.

    Yields a ``Checkpoint`` after each member, and after each mail of an mbox member.

    Raises:
        UnsupportedFormat: ``only`` cannot be read from a zip, or nothing inside is readable.
        MalformedInput: not a readable zip, or refused as a likely zip bomb.
    """
    if only is not None and only not in FORMATS_INSIDE:
        inside = ", ".join(FORMATS_INSIDE)
        raise UnsupportedFormat(f"{path}: kluis reads {inside} inside a zip, not {only}")
    with open_zip(path) as archive:
        stat_result = path.stat()
        infos = archive.infolist()
        check_bomb(path, infos, stat_result.st_size)
        refused, units = _plan(archive, infos, only)
        if not units:
            what = "mail or chat export" if only is None else f"{only} files"
            raise UnsupportedFormat(f"{path}: no {what} inside this zip")
        state = {"size": stat_result.st_size, "mtime_ns": stat_result.st_mtime_ns}
        run = _Run(path, f"zip:{path.resolve()}", {**state, "formats": only or "auto"}, options)
        first, offset = _resume_at(options.cursors.get(run.source), run.state, len(units))
        if (first, offset) == (0, 0):
            yield from refused
        for index in range(first, len(units)):
            yield from _unit_items(archive, units[index], run, index, offset)
            offset = 0


def check_bomb(path: Path, infos: list[zipfile.ZipInfo], archive_bytes: int) -> None:
    """Refuse an archive whose directory promises more than a real export would hold.

    Raises:
        MalformedInput: with the reason, in one line.
    """
    refused = f"{path}: refused, this looks like a zip bomb:"
    if len(infos) > MAX_MEMBERS:
        raise MalformedInput(f"{refused} {len(infos):,} members (the limit is {MAX_MEMBERS:,})")
    total = sum(info.file_size for info in infos)
    limit = max(MAX_EXPANSION * archive_bytes, MIN_TOTAL_BYTES)
    if total > limit:
        raise MalformedInput(
            f"{refused} it would unpack to {byte_size(total)}, more than {MAX_EXPANSION}× "
            f"its {byte_size(archive_bytes)}"
        )
    if sum(info.compress_size for info in infos) > archive_bytes:
        raise MalformedInput(f"{refused} its members overlap one another")
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * info.compress_size:
            raise MalformedInput(
                f"{refused} {info.filename!r} unpacks from {byte_size(info.compress_size)} "
                f"to {byte_size(info.file_size)}, more than {MAX_RATIO}×"
            )


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be read, or None: names that would escape an extraction folder,
    symbolic links, encrypted members."""
    reason = name_reason(info.filename)
    if reason is not None:
        return reason
    if stat.S_ISLNK(info.external_attr >> 16):
        return "it is a symbolic link"
    if info.flag_bits & 0x1:
        return "it is encrypted"
    return None


def _plan(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], only: str | None
) -> tuple[list[Quarantined], list[_Unit]]:
    """The refused members, and the members to read in a fixed order (by name)."""
    refused: list[Quarantined] = []
    found: list[tuple[str, zipfile.ZipInfo]] = []
    for info in sorted(infos, key=lambda info: info.filename):
        if info.is_dir():
            continue
        reason = unsafe_reason(info)
        if reason is not None:
            ref = f"{archive.filename}!{info.filename}"
            refused.append(Quarantined(ref, b"", f"zip member not read: {reason}"))
            continue
        kind = _kind(info.filename)
        if kind is not None and _wanted(kind, only):
            found.append((kind, info))
    return refused, _units(archive, found, only)


def _kind(name: str) -> str | None:
    """The format of a member, by its name."""
    path = PurePosixPath(name)
    if path.name.startswith("."):
        return None
    if len(path.parts) >= 2 and path.parts[-2] in _MAILDIR_SUBFOLDERS:
        return "maildir"
    if path.suffix.lower() == ".eml":
        return "eml"
    if path.suffix.lower() == ".emlx":
        return "emlx"
    if path.suffix.lower() == ".msg":
        return "msg"
    if path.suffix.lower() == ".xml":
        return "sms"  # if its first bytes say so (``_units``)
    if path.suffix.lower() == ".mbox" or (path.name == "mbox" and path.parent.suffix == ".mbox"):
        return "mbox"
    if path.name == "result.json":
        return "telegram"
    return None


def _wanted(kind: str, only: str | None) -> bool:
    """Is a member of ``kind`` read when the user asked for ``only``? (Takeout is an mbox.)"""
    return only is None or only == kind or (only, kind) == ("takeout", "mbox")


def _units(
    archive: zipfile.ZipFile, found: list[tuple[str, zipfile.ZipInfo]], only: str | None
) -> list[_Unit]:
    """Units with their maildir folder names, and each mbox marked plain or Takeout."""
    from importers.email import maildir

    folders = {_maildir_of(info) for kind, info in found if kind == "maildir"}
    names = maildir.folder_names(folders)
    units: list[_Unit] = []
    for kind, info in found:
        if kind == "maildir":
            units.append(_Unit(kind, info, names[_maildir_of(info)]))
        elif kind == "mbox" and _is_takeout(archive, info, only):
            units.append(_Unit("takeout", info))
        elif kind == "sms" and not _is_sms_backup(archive, info):
            continue  # some other XML
        else:
            units.append(_Unit(kind, info))
    return units


def _maildir_of(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The maildir a ``…/cur/<file>`` member belongs to, as path parts."""
    return PurePosixPath(info.filename).parts[:-2]


def _is_takeout(archive: zipfile.ZipFile, info: zipfile.ZipInfo, only: str | None) -> bool:
    """Read an mbox member as Takeout: asked for, or (auto) named or looking like Gmail's."""
    from importers.email import takeout

    if only is not None:
        return only == "takeout"
    if takeout.TAKEOUT_MEMBER.search(info.filename):
        return True
    try:
        with archive.open(info) as stream:
            return takeout.looks_like_gmail(stream.read(_PEEK_BYTES))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError):
        return False  # reading it for real will quarantine it with the reason


def _is_sms_backup(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """An ``.xml`` member that starts like an SMS Backup & Restore file."""
    from importers.chat import sms

    try:
        with archive.open(info) as stream:
            return sms.is_backup_start(stream.read(sms.SNIFF_BYTES))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError):
        return False  # not readable as anything: not counted as an export


def _resume_at(cursor: dict[str, Any] | None, state: dict[str, Any], count: int) -> tuple[int, int]:
    """(unit, offset) to continue at: the cursor's if it is of this very archive, else (0, 0)."""
    if cursor is None or any(cursor.get(key) != value for key, value in state.items()):
        return 0, 0
    unit, offset = cursor.get("unit"), cursor.get("offset")
    if isinstance(unit, int) and isinstance(offset, int) and 0 <= unit <= count and offset >= 0:
        return unit, offset
    return 0, 0


def _unit_items(
    archive: zipfile.ZipFile, unit: _Unit, run: _Run, index: int, offset: int
) -> Iterator[Item]:
    """The items of one member, then the checkpoint past it; a member that cannot be read
    (corrupt, unsupported compression) is quarantined and the import goes on."""
    try:
        if unit.kind in ("mbox", "takeout"):
            yield from _mbox_items(archive, unit, run, index, offset)
        elif unit.kind == "sms":
            yield from _sms_items(archive, unit, run)
        else:
            yield from _whole_member_items(archive, unit, run)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        yield Quarantined(run.ref(unit.info), b"", f"cannot read zip member: {exc}")
    except MalformedInput as exc:  # an .mbox member that is not an mbox
        yield Quarantined(run.ref(unit.info), b"", str(exc))
    yield run.checkpoint(index + 1)


def _mbox_items(
    archive: zipfile.ZipFile, unit: _Unit, run: _Run, index: int, offset: int
) -> Iterator[Item]:
    from importers.email import mbox, takeout
    from importers.email.message import parse_message

    parse = takeout.parse_gmail_message if unit.kind == "takeout" else parse_message
    ref = run.ref(unit.info)
    with archive.open(unit.info) as stream:
        for message in mbox.split(stream, offset):
            yield mbox.message_item(message, ref, parse, run.options)
            yield run.checkpoint(index, message.end)


def _sms_items(archive: zipfile.ZipFile, unit: _Unit, run: _Run) -> Iterator[Item]:
    """An SMS backup member, streamed (its parser bounds each element's size). A member is
    read again whole after an interruption; its dedup keys store nothing twice."""
    from importers.chat import sms

    with archive.open(unit.info) as stream:
        yield from sms.parse_backup(stream, run.ref(unit.info), run.options)


def _whole_member_items(archive: zipfile.ZipFile, unit: _Unit, run: _Run) -> Iterator[Item]:
    """An ``.eml``, ``.emlx``, ``.msg`` or maildir mail, or a Telegram ``result.json``: read
    whole, under a limit."""
    from importers.chat import telegram
    from importers.email import emlx, maildir, msg
    from importers.email.message import parse_message

    info, ref = unit.info, run.ref(unit.info)
    limits = {"telegram": telegram.MAX_EXPORT_BYTES, "msg": msg.MAX_BYTES}
    limit = limits.get(unit.kind, maildir.MAX_MESSAGE_BYTES)
    if info.file_size > limit:
        reason = f"member is {byte_size(info.file_size)}, over the {byte_size(limit)} limit"
        yield Quarantined(ref, b"", reason)
        return
    data = archive.read(info)
    if unit.kind == "telegram":
        yield from telegram.parse_export(data, ref, run.options)
    elif unit.kind == "maildir":
        name = PurePosixPath(info.filename).name
        yield maildir.parse_file(data, ref, unit.folder, name, run.options)
    elif unit.kind == "emlx":
        yield emlx.parse_emlx(data, ref, run.options, emlx.mailbox_name(info.filename))
    elif unit.kind == "msg":
        yield msg.parse_msg(data, ref, run.options)
    else:
        yield parse_message(data, ref, run.options)
