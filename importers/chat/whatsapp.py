"""WhatsApp "Export chat" text (a ``.txt``, a folder, or the ``.zip`` with media) → chat items.

WhatsApp writes one line per message, ``<date>, <time> - <sender>: <text>`` on Android and
``[<date>, <time>] <sender>: <text>`` on iOS, in the phone's locale: the date order, separators,
year digits and clock all vary, and nothing in the file names the locale. Lines that do not start
with a date continue the message above. There is no time zone anywhere.

Decisions worth knowing:

- The date order is inferred per *layout* (separator, year digits) from the whole file, since one
  export can switch layout mid-file (Android 2.23 after a locale change): a day above 12 decides;
  otherwise the order in which the dates run forward most often wins, then the locale habit
  (AM/PM with slashes → month first, else day first).
- Times are wall-clock times in ``options.timezone`` (``tz_known=False``). Dedup keys use the
  wall-clock time as written, so a re-import with another ``--timezone`` still matches.
- Lines without a sender (encryption notice, group events) and notices written like a message
  (``<Media omitted>``, "This message was deleted", the disappearing-messages timer) are
  ``direction="system"``; their sender is the chat, never a person, and ``extras["actor"]`` keeps
  who it was about.
- Direction: ``--me`` (``options.me_names``, a name or a phone number) decides. Without it, the
  owner is the sender present in every chat when a folder or zip holds several chats, or, in a
  private chat named after its contact ("WhatsApp Chat with X"), the one sender who is not X.
  Otherwise every message is ``in``: a lone group export does not say who exported it.
- The chat's name comes from the file name (localised "WhatsApp Chat with X"), else from the
  folder or zip (iOS names its text ``_chat.txt``), else from a "created group" line, else from the
  file name as is. It keys the thread, so the ``.txt`` and the ``.zip`` of one chat dedup together.
- Texts are read line by line (``importers.files.capped_lines``): a line over ``MAX_LINE_BYTES``
  is never held whole, and its message is quarantined with the reason. Media are read only
  from beside the text inside the chosen folder (or from the zip), by plain file name; one that
  leads out of it is refused, and the reason is kept in ``extras["media"]["missing"]``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from importers.archive import open_zip
from importers.chat.base import Chat, Malformed, MediaLookup, Message, Moment, mime_of
from importers.chat.text import title_of
from importers.files import (
    LongLine,
    Source,
    capped_lines,
    file_state,
    long_line_reason,
    name_reason,
    peek,
    read_at_most,
    too_large,
    unchanged,
)
from vault.errors import InputError, MalformedInput, RefusedInput
from vault.records import (
    Attachment,
    ChatKind,
    Checkpoint,
    ImportOptions,
    Interaction,
    Item,
    Party,
    Quarantined,
)
from vault.text import one_line

Line = str | LongLine
"""A line of a chat text, decoded, or what stands in for one over ``MAX_LINE_BYTES``."""

MAX_CHAT_BYTES = 256 * 1024 * 1024
"""Larger chat texts are quarantined instead of loaded: a chat is parsed in one piece."""

MAX_MEDIA_BYTES = 100 * 1024 * 1024
"""Media files above this stay named in ``extras["media"]`` instead of stored as blobs."""

MAX_ZIP_RATIO = 200
"""A zip member that claims to expand more than this (and past 1 MiB) is a zip bomb: refused."""

SNIFF_BYTES = 4096
SOURCE = "whatsapp"

_S = "[ \u00a0\u202f]"  # Android 2.23+ puts U+202F (narrow no-break space) before AM/PM
_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_HEADER = re.compile(
    rf"^[{_BIDI}]*(?P<open>\[)?"
    r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})\.?"
    rf",?{_S}+(?:klo{_S}+)?"  # Finnish: "30.6.2023 klo 16.13"
    r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?"
    rf"(?:{_S}*(?P<ampm>[AaPp]\.?{_S}?[Mm]\.?))?"
    rf"(?(open)\]{_S}?|{_S}*[-–]{_S})"
    r"(?P<rest>.*)$"
)
_FILE_NAME = re.compile(
    r"^(?:whatsapp[ -]chat(?: with| mit| met| con| avec| com| -)|chat de whatsapp con"
    r"|discussion whatsapp avec|chat (?:di )?whatsapp con|conversa do whatsapp com"
    r"|whatsapp-chat med)\s+(?P<name>.+?)(?: \(\d+\))?$",
    re.IGNORECASE,
)
_IOS_TEXT_NAME = "_chat.txt"
# Android: "IMG-20230630-WA0000.jpg (file attached)" with the caption on the lines below.
_ANDROID_FILE = re.compile(
    r"^(?P<file>[^\n/\\]+?\.[A-Za-z0-9]{1,6}) \((?:file attached|datei angehängt"
    r"|bestand bijgevoegd|archivo adjunto|fichier joint|file allegato|arquivo anexado"
    r"|dosya ekli|plik załączony)\)",
    re.IGNORECASE,
)
# iOS: "‎<attached: 00000012-PHOTO-2023-03-12-10-15-30.jpg>" (a document adds "• 3 pages").
_IOS_FILE = re.compile(
    r"<(?:attached|anhang|bijgevoegd|adjunto|pièce jointe|allegato|anexo|anexado)\s?:\s?"
    r"(?P<file>[^<>/\\\n]+?)>",
    re.IGNORECASE,
)
# Android 2.23+ appends this to an edited message's text.
_EDITED = re.compile(
    r"\s*<(?:This message was edited|Diese Nachricht wurde bearbeitet|Dit bericht is bewerkt"
    r"|Se editó este mensaje|Ce message a été modifié|Questo messaggio è stato modificato"
    r"|Essa mensagem foi editada)>$",
    re.IGNORECASE,
)
_OMITTED = re.compile(
    r"^(?:<(?:media omitted|medien ausgeschlossen|media weggelaten|multimedia omitido"
    r"|médias omis|media omessi|mídia oculta|arquivo de mídia oculto)>"
    r"|(?:image|video|audio|sticker|gif|document|contact card) omitted"
    r"|(?:bild|video|audio|sticker|gif|dokument|kontaktkarte) weggelassen"
    r"|(?:afbeelding|video|audio|sticker|gif|document|contactkaart) weggelaten)$",
    re.IGNORECASE,
)
_NOTICE = re.compile(
    r"^(?:this message was deleted|you deleted this message|diese nachricht wurde gelöscht"
    r"|du hast diese nachricht gelöscht|dit bericht is verwijderd|je hebt dit bericht verwijderd"
    r"|se eliminó este mensaje|eliminaste este mensaje|ce message a été supprimé"
    r"|vous avez supprimé ce message|questo messaggio è stato eliminato"
    r"|essa mensagem foi apagada|missed (?:voice|video) call|verpasster (?:sprach|video)anruf"
    r"|gemiste (?:spraak|video)oproep)\.?$"
    r"|updated the message timer|turned (?:on|off) disappearing messages"
    r"|uses a default timer for disappearing messages|new messages will disappear",
    re.IGNORECASE,
)
_BUSINESS = re.compile(
    r"business account|this business|secure service from meta|official business"
    r"|zakelijk account|dit bedrijf|unternehmenskonto|business-konto|dieses unternehmen"
    r"|cuenta de empresa|esta empresa|compte professionnel|cette entreprise|account aziendale"
    r"|questa azienda|conta comercial",
    re.IGNORECASE,
)
_GROUP_EVENT = re.compile(
    r"\b(?:created group|created this group|added|removed|left|joined using"
    r"|changed the subject|changed the group|changed this group|were added"
    r"|hat die gruppe|hinzugefügt|hat .* entfernt|heeft groep|toegevoegd|is vertrokken"
    r"|creó el grupo|añadió|a créé le groupe|a ajouté|ha creato il gruppo|ha aggiunto"
    r"|criou o grupo|adicionou)\b",
    re.IGNORECASE,
)
_E2E = re.compile(
    r"end-to-end|ende-zu-ende|extremo a extremo|bout en bout|ponta a ponta", re.IGNORECASE
)
_GROUP_CREATED = re.compile(
    r"(?:created group|hat die gruppe|heeft groep) [\"“„](?P<name>.+?)[\"”“]"
)
_PHONE = re.compile(r"^\+?[\d ()\-.\u00a0\u202f]{6,}$")
_ANDROID_NAME_PREFIX = re.compile(r"^~[ \u00a0\u202f]*")  # Android 2.24: "~ Name", not a contact
_EXTRA_MIME = {".opus": "audio/ogg", ".webp": "image/webp", ".vcf": "text/vcard"}
_MEDIA_KINDS = (
    ("PTT-", "Voice message"),
    ("STK-", "Sticker"),
    ("IMG-", "Photo"),
    ("VID-", "Video"),
    ("AUD-", "Audio"),
    ("-PHOTO-", "Photo"),
    ("-VIDEO-", "Video"),
    ("-AUDIO-", "Audio"),
    ("-STICKER-", "Sticker"),
)


@dataclass(slots=True)
class _Entry:
    """One message as written: its header line and the lines that continue it."""

    line: int
    match: re.Match[str]
    lines: list[str]

    @property
    def shape(self) -> tuple[str, bool, int]:
        return _shape(self.match)

    def text(self) -> str:
        return "\n".join([self.match["rest"], *self.lines])

    def raw(self) -> bytes:
        return "\n".join([self.match.string, *self.lines]).encode("utf-8", "surrogatepass")

    too_long: str | None = None
    """Why it is quarantined: one of its lines was over ``MAX_LINE_BYTES`` and left out."""


@dataclass(slots=True)
class _Said:
    """What an entry says: who (None for a notice), the text, and whether iOS marked it."""

    sender: str | None
    text: str
    marked: bool


@dataclass(slots=True)
class _Parsed:
    """A chat text split into entries, with the date order of each layout decided."""

    entries: list[_Entry]
    preamble: list[str]
    orders: dict[tuple[str, bool, int], str]
    said: list[_Said] = field(default_factory=list)
    long_lines: list[tuple[int, LongLine]] = field(default_factory=list)
    """Lines over the limit before the first message, by line number."""


# --- the module protocol -------------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """True for a chat ``.txt``, a ``.zip`` holding one, or a folder holding either.

    A text is a chat when its first non-empty line starts with a WhatsApp date and time.
    """
    try:
        if path.is_dir():
            return any(True for _ in _chat_sources(path, Source(path)))
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


def parse_chat(
    text: str,
    source_ref: str,
    options: ImportOptions,
    media: MediaLookup | None = None,
    *,
    chat_name: str | None = None,
    owner: str | None = None,
) -> Iterator[Item]:
    """Parse one chat's text; never raises for bad content.

    Args:
        text: the chat as exported (UTF-8 decoded; a leading BOM is ignored).
        source_ref: where the text came from; each item's ``source_ref`` adds ``#line=N``.
        options: the zone of the wall-clock times and who "me" is.
        media: finds the files that attached-file lines name (a zip's members, a folder's
            files); without it they are only described in ``extras["media"]``.
        chat_name: the chat's name, when the caller knows it (``chat_name_from_path``).
        owner: the export owner's name as the chat writes it, when ``--me`` is not given.
    """
    return parse_lines(
        text.split("\n"), source_ref, options, media, chat_name=chat_name, owner=owner
    )


def parse_lines(
    lines: Iterable[Line],
    source_ref: str,
    options: ImportOptions,
    media: MediaLookup | None = None,
    *,
    chat_name: str | None = None,
    owner: str | None = None,
) -> Iterator[Item]:
    """``parse_chat`` of a text given line by line (split at ``\n`` only), where a line over
    the limit stands as a ``LongLine``: its message is quarantined with the reason."""
    parsed = _split(lines)
    for number, line in parsed.long_lines:
        yield Quarantined(f"{source_ref}#line={number}", line.head, long_line_reason(number, line))
    if parsed.preamble:
        reason = "text before the first WhatsApp message line"
        yield Quarantined(f"{source_ref}#line=1", "\n".join(parsed.preamble).encode(), reason)
    if not parsed.entries:
        if not parsed.preamble and not parsed.long_lines:
            yield Quarantined(source_ref, b"", "no WhatsApp message lines in this text")
        return
    chat = _chat(parsed, options, chat_name, owner)
    for entry, said in zip(parsed.entries, parsed.said, strict=True):
        ref = f"{source_ref}#line={entry.line}"
        if entry.too_long is not None:
            yield Quarantined(ref, entry.raw(), entry.too_long)
            continue
        try:
            yield _interaction(entry, said, parsed, chat, options, media, ref)
        except (ValueError, OverflowError) as exc:  # Malformed among them
            yield Quarantined(ref, entry.raw(), one_line(str(exc)))


def looks_like_chat(head: str) -> bool:
    """True if the first non-empty line of ``head`` starts like a WhatsApp message."""
    for line in head.lstrip("\ufeff").split("\n")[:5]:
        if line.strip():
            return _HEADER.match(line.rstrip("\r")) is not None
    return False


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
    source, state = file_state(path)
    if unchanged(options.cursors.get(source), state):
        return
    try:
        lines = _file_lines(path, within)
    except RefusedInput as exc:
        yield Quarantined(source, b"", exc.reason)
    else:
        name = chat_name_from_path(path.name) or _folder_chat_name(path)
        media = _folder_media(path.parent, within)
        yield from parse_lines(lines, source, options, media, chat_name=name, owner=owner)
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
        line if isinstance(line, LongLine) else _decode(line.removesuffix(b"\n"))
        for line in capped_lines(stream, MAX_CHAT_BYTES, what)
    ]


def _folder_chat_name(path: Path) -> str | None:
    # iOS "_chat.txt" names nothing; the folder it was unzipped into names the chat.
    if path.name != _IOS_TEXT_NAME:
        return None
    folder = path.resolve().parent.name
    return chat_name_from_path(folder) or folder or None


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
    source, state = file_state(path)
    if unchanged(options.cursors.get(source), state):
        return
    try:
        with open_zip(path, within) as archive:
            yield from _zip_items(archive, path, source, options, owner)
    except RefusedInput as exc:
        yield Quarantined(source, b"", exc.reason)
    except MalformedInput as exc:
        yield Quarantined(source, b"", one_line(str(exc).removeprefix(f"{path}: ")))
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as exc:
        yield Quarantined(source, b"", one_line(f"not a readable zip: {exc}"))
    yield Checkpoint(source=source, state=state)


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
        name = chat_name_from_path(info.filename) or chat_name_from_path(path.name) or path.stem
        yield from parse_lines(lines, ref, options, media, chat_name=name, owner=owner)


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


def _decode(data: bytes) -> str:
    # WhatsApp writes UTF-8; a damaged byte must not cost the rest of the chat.
    return data.decode("utf-8", "replace")


# --- the export owner ----------------------------------------------------------------------------


def _common_sender(sources: list[Path], within: Source) -> str | None:
    """The one sender present in every chat of a folder or zip of several chats: the owner."""
    texts = list(_source_texts(sources, within))
    if len(texts) < 2:
        return None
    common: set[str] | None = None
    spelled: dict[str, str] = {}
    for lines in texts:
        parsed = _split(lines)
        names = {said.sender for said in parsed.said if said.sender}
        spelled.update({_fold(name): name for name in names})
        folded = {_fold(name) for name in names}
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


def _fold(name: str) -> str:
    """A sender's identity: phone numbers by their digits, names by their casefolded text."""
    if _PHONE.match(name):
        return "+" + re.sub(r"\D", "", name)
    return name.casefold()


# --- splitting a text into entries ---------------------------------------------------------------


def _split(lines: Iterable[Line]) -> _Parsed:
    """Entries from the lines of a text, split at ``\n`` only (``str.splitlines()`` would also
    cut at U+2028 and friends inside messages)."""
    entries: list[_Entry] = []
    preamble: list[str] = []
    long_lines: list[tuple[int, LongLine]] = []
    for number, line in enumerate(lines, start=1):
        if isinstance(line, LongLine):
            _add_long_line(number, line, entries, long_lines)
            continue
        line = line.removesuffix("\r").lstrip("\ufeff") if number == 1 else line.removesuffix("\r")
        match = _HEADER.match(line)
        if match is not None:
            entries.append(_Entry(number, match, []))
        elif entries:
            entries[-1].lines.append(line)
        elif line.strip():
            preamble.append(line)
    for entry in entries:
        _trim_trailing_blank_lines(entry)
    parsed = _Parsed(entries, preamble, _date_orders(entries), long_lines=long_lines)
    parsed.said = _who_said_what(entries)
    return parsed


def _add_long_line(
    number: int, line: LongLine, entries: list[_Entry], long_lines: list[tuple[int, LongLine]]
) -> None:
    """A line over the limit: its message (the one it starts, or the one it continues) is
    quarantined with the reason; before the first message it is quarantined on its own."""
    reason = long_line_reason(number, line)
    match = _HEADER.match(_decode(line.head))
    if match is not None:
        entries.append(_Entry(number, match, [], too_long=reason))
    elif entries:
        entries[-1].too_long = entries[-1].too_long or reason
    else:
        long_lines.append((number, line))


def _trim_trailing_blank_lines(entry: _Entry) -> None:
    # Android ends the file with "\n" and iOS does not, and both may leave a blank line before
    # the next header: neither belongs to the message.
    while entry.lines and not entry.lines[-1].strip():
        entry.lines.pop()


def _who_said_what(entries: list[_Entry]) -> list[_Said]:
    """Each entry's sender and text; a sender is known once a line spells it ``Name: text``."""
    first = [_split_sender(entry.text()) for entry in entries]
    known = {name for name, _ in first if name}
    said = []
    for entry, (name, text) in zip(entries, first, strict=True):
        if name is None:
            name, text = _known_sender(entry.text(), known)
        marked = text.startswith("\u200e")
        said.append(_Said(name, text.lstrip(_BIDI) if marked else text, marked))
    return said


def _split_sender(rest: str) -> tuple[str | None, str]:
    head, colon, text = rest.partition(": ")
    if not colon:
        head, colon, text = rest.partition(":\n")
    if not colon or not head.strip(_BIDI + " ") or '"' in head or "“" in head or "\n" in head:
        return None, rest
    return _clean_name(head), text


def _known_sender(rest: str, known: set[str]) -> tuple[str | None, str]:
    """``John Doe:.`` (no space after the colon) is a message when John Doe speaks elsewhere."""
    head, colon, text = rest.partition(":")
    if colon and _clean_name(head) in known:
        return _clean_name(head), text
    return None, rest


def _clean_name(name: str) -> str:
    return _ANDROID_NAME_PREFIX.sub("", name.strip(_BIDI + " \u00a0\u202f"))


# --- dates and times -----------------------------------------------------------------------------


def _shape(match: re.Match[str]) -> tuple[str, bool, int]:
    """A date layout: separator, year first, and the digits of the last field."""
    year_first = len(match["a"]) == 4 or int(match["a"]) > 31
    return match["sep"], year_first, len(match["c"])


def _date_orders(entries: list[_Entry]) -> dict[tuple[str, bool, int], str]:
    """``ymd``, ``dmy`` or ``mdy`` for each date layout in the file."""
    by_shape: dict[tuple[str, bool, int], list[re.Match[str]]] = {}
    for entry in entries:
        by_shape.setdefault(entry.shape, []).append(entry.match)
    return {shape: _order(shape, matches) for shape, matches in by_shape.items()}


def _order(shape: tuple[str, bool, int], matches: list[re.Match[str]]) -> str:
    if shape[1]:
        return "ymd"
    pairs = [(int(m["a"]), int(m["b"])) for m in matches]
    day_first = sum(1 for a, b in pairs if a > 12 and b <= 12)
    month_first = sum(1 for a, b in pairs if b > 12 and a <= 12)
    if day_first != month_first:
        return "dmy" if day_first > month_first else "mdy"
    # Undecided (no day above 12): the order in which the dates run forward wins.
    backward = {order: _backward_steps(matches, order) for order in ("dmy", "mdy")}
    if backward["dmy"] != backward["mdy"]:
        return min(backward, key=backward.__getitem__)
    # Still undecided: US phones write "1/2/23, 3:04 PM"; nearly everyone else puts the day first.
    twelve_hour = any(m["ampm"] for m in matches)
    return "mdy" if shape[0] == "/" and twelve_hour else "dmy"


def _backward_steps(matches: list[re.Match[str]], order: str) -> int:
    steps, previous = 0, None
    for match in matches:
        a, b, c = int(match["a"]), int(match["b"]), int(match["c"])
        day, month = (a, b) if order == "dmy" else (b, a)
        current = (c, month, day)
        if previous is not None and current < previous:
            steps += 1
        previous = current
    return steps


def _wall_time(match: re.Match[str], order: str) -> datetime:
    """The entry's date and time as written, without a zone."""
    a, b, c = int(match["a"]), int(match["b"]), int(match["c"])
    if order == "ymd":
        year, month, day = a, b, c
    elif order == "dmy":
        day, month, year = a, b, c
    else:
        month, day, year = a, b, c
    if year < 100:
        year += 2000  # WhatsApp dates from 2009; two-digit years are this century
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if match["ampm"]:
        hour = _twelve_hour(hour, match["ampm"])
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        written = f"{match['a']}{match['sep']}{match['b']}{match['sep']}{match['c']}"
        raise Malformed(f"date {written} {match['h']}:{match['m']} is not valid") from exc


def _twelve_hour(hour: int, marker: str) -> int:
    # "12:10 p. m." is 12:10 and "12:05 AM" is 00:05; Android es-MX also writes "00:08 a. m.".
    afternoon = marker.lstrip()[0] in "pP"
    if hour == 12:
        return 12 if afternoon else 0
    return hour + 12 if afternoon and hour < 12 else hour


# --- the chat ------------------------------------------------------------------------------------


def _chat(
    parsed: _Parsed, options: ImportOptions, chat_name: str | None, owner: str | None
) -> Chat:
    notices = [
        said.text
        for said in parsed.said
        if said.sender is None or (said.marked and _is_ios_notice(said.text))
    ]
    senders = _senders(parsed.said)
    business = any(_BUSINESS.search(text) for text in notices)
    title = chat_name or _group_name(notices) or _other_sender(senders, owner) or "WhatsApp chat"
    group = len(senders) > 2 or any(_GROUP_EVENT.search(text) for text in notices)
    kind: ChatKind = "business" if business else "group" if group else "private"
    me = _me(senders, options, title, owner, kind)
    return Chat(
        source=SOURCE,
        key=f"whatsapp:{_fold(title)}",
        title=title,
        kind=kind,
        party=_party(title, group=kind == "group"),
        owner=me,
    )


def _senders(said: list[_Said]) -> list[str]:
    """Who speaks in the chat, in order of first appearance, one spelling each."""
    seen: dict[str, str] = {}
    for entry in said:
        # iOS notices come "from" the group itself, marked with U+200E; marked media do not.
        notice = entry.marked and not (_IOS_FILE.search(entry.text) or _OMITTED.match(entry.text))
        if entry.sender and not notice and _fold(entry.sender) not in seen:
            seen[_fold(entry.sender)] = entry.sender
    return list(seen.values())


def _group_name(notices: Iterable[str]) -> str | None:
    for text in notices:
        found = _GROUP_CREATED.search(text)
        if found:
            return found["name"]
    return None


def _other_sender(senders: list[str], owner: str | None) -> str | None:
    others = [name for name in senders if owner is None or _fold(name) != _fold(owner)]
    return others[0] if len(others) == 1 else None


def _me(
    senders: list[str], options: ImportOptions, title: str, owner: str | None, kind: ChatKind
) -> str | None:
    """The owner's folded identity in this chat, if known; see the module docstring."""
    if options.me_names:
        wanted = {_fold(name) for name in options.me_names}
        return next((_fold(name) for name in senders if _fold(name) in wanted), None)
    if owner is not None:
        return _fold(owner)
    others = [name for name in senders if _fold(name) != _fold(title)]
    if kind != "group" and len(senders) == 2 and len(others) == 1:
        return _fold(others[0])
    return None


def _party(name: str, *, group: bool = False) -> Party:
    if _PHONE.match(name) and not group:
        return Party(name=name, address=_fold(name), kind="phone")
    return Party(name=name, kind="chat_handle")


# --- messages ------------------------------------------------------------------------------------


def _interaction(
    entry: _Entry,
    said: _Said,
    parsed: _Parsed,
    chat: Chat,
    options: ImportOptions,
    media: MediaLookup | None,
    ref: str,
) -> Interaction:
    wall = _wall_time(entry.match, parsed.orders[entry.shape])
    occurred_at = wall.replace(tzinfo=options.timezone)
    occurred_at.astimezone(UTC)  # year 9999 plus an offset leaves datetime's range: quarantine
    message = _notice(said) if _is_notice(said, chat) else _message(said, media)
    if message.direction != "system" and said.sender and chat.owner == _fold(said.sender):
        message.direction = "out"
    return chat.record(message, Moment(occurred_at, wall, tz_known=False), ref, entry.raw())


def _is_notice(said: _Said, chat: Chat) -> bool:
    if said.sender is None:
        return True
    first_line = said.text.split("\n", 1)[0].strip()
    if _OMITTED.match(first_line) or _NOTICE.search(first_line):
        return True
    # iOS writes its notices as if the chat itself spoke, the text led by U+200E.
    if not said.marked or _IOS_FILE.search(said.text):
        return False
    return _fold(said.sender) == _fold(chat.title or "") or _is_ios_notice(said.text)


def _is_ios_notice(text: str) -> bool:
    return bool(_BUSINESS.search(text) or _E2E.search(text) or _GROUP_EVENT.search(text))


def _notice(said: _Said) -> Message:
    text = said.text.strip()
    extras: dict[str, Any] = {"notice": True}
    if said.sender:
        extras["actor"] = said.sender
    if _OMITTED.match(text):
        extras["media_omitted"] = True
    shown = f"{said.sender}: {text}" if said.sender else text
    return Message(
        "system", title_of(shown, _BIDI), shown, said.sender or "", said.text, extras=extras
    )


def _message(said: _Said, media: MediaLookup | None) -> Message:
    key_sender, sender = said.sender or "", _party(said.sender) if said.sender else None
    text, edited = _EDITED.subn("", said.text)
    extras: dict[str, Any] = {"edited": True} if edited else {}
    file_name, caption = _attached_file(text)
    if file_name is None:
        title = title_of(text, _BIDI)
        return Message("in", title, text, key_sender, said.text, sender, extras=extras)
    label = _media_label(file_name)
    extras["media"] = {"type": label, "file": file_name}
    try:
        data = media(file_name) if media is not None else None
    except RefusedInput as exc:
        data, extras["media"]["missing"] = None, exc.reason
    attachments = [Attachment(file_name, mime_of(file_name), data)] if data is not None else []
    extras["media"]["attached"] = bool(attachments)
    described = f"[{label}: {file_name}]"
    body = f"{caption}\n{described}" if caption else described
    title = title_of(caption or f"{label}: {file_name}", _BIDI)
    return Message("in", title, body, key_sender, said.text, sender, attachments, extras)


def _attached_file(text: str) -> tuple[str | None, str]:
    """The attached file's name, and the caption without the marker."""
    first, _, more = text.partition("\n")
    android = _ANDROID_FILE.match(first.strip(_BIDI))
    if android:
        caption = "\n".join(filter(None, (first[android.end() :].strip(), more.strip())))
        return android["file"].strip(_BIDI + " "), caption
    ios = _IOS_FILE.search(text)
    if ios:
        caption = (text[: ios.start()] + text[ios.end() :]).strip(_BIDI + " \n")
        # iOS describes a document before its marker: "Invoice.pdf • 3 pages <attached: …>".
        return ios["file"].strip(), caption
    return None, text


def _media_label(file_name: str) -> str:
    upper = file_name.upper()
    for marker, label in _MEDIA_KINDS:
        if marker in upper:
            return label
    mime = mime_of(file_name)
    for prefix, label in (("image/", "Photo"), ("video/", "Video"), ("audio/", "Audio")):
        if mime.startswith(prefix):
            return label
    return "File"
