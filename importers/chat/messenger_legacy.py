"""Facebook's 2016–2017 "Download a copy of your Facebook data" messages (HTML) → chat items.

Two generations, a folder or its zip:

- until mid 2017: ``html/messages.htm`` holds every thread: ``<div class="thread">`` starting
  with the participants ("Joris Bakker, Sanne de Vries"), then for each message
  ``<div class="message"><div class="message_header"><span class="user">`` (sender) and
  ``<span class="meta">`` (date), and the text in the ``<p>`` after it. A long conversation is
  split over several ``div.thread``\\ s with the same participants: they are one thread here.
- late 2017: ``messages/<n>.html``, one thread per file (``<h3>Conversation with …</h3>``,
  "Participants: …", then the same message markup), photos as ``<img>`` in the ``<p>``.

Dates are written in the account's language with a zone ("Tuesday, 3 January 2017 at 14:05
UTC+01", "Tuesday, January 3, 2017 at 2:05pm PST", "dinsdag 3 januari 2017 om 14:05 UTC+01",
"Dienstag, 3. Januar 2017 um 14:05 UTC+01"; French, Spanish, Italian, Portuguese month names
too): a date with a zone is an instant, one without is read in ``--timezone``.

Decisions worth knowing:

- Everything after reading is ``importers.chat.meta_thread``'s, as for today's exports. The
  thread key of ``messages.htm`` is made of the participants' names (the file has no thread id),
  that of ``messages/<n>.html`` is ``<n>``; neither can match a later JSON export's keys.
- The owner: ``--me``, else the name heading ``messages.htm``, else the one participant of every
  thread. Attachments are read only inside the export's ``messages`` folder, like today's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from importers import archive
from importers.chat import meta, meta_thread, meta_zip
from importers.chat.base import Malformed, MediaLookup, Moment
from importers.chat.messenger_html import read_content, wall_clock
from importers.chat.messenger_html_dates import SPACES, month_number
from importers.files import Source, file_state, peek, unchanged
from vault.errors import InputError, RefusedInput
from vault.records import Checkpoint, ImportOptions, Item, Quarantined

SNIFF_BYTES = 65536
_MARK = re.compile(rb"""class=["']?(?:thread|message_header)\b""")
_THREAD_FILE = re.compile(r"^\d+\.html$")
_PARTICIPANTS = re.compile(r"^(?:participants|deelnemers|teilnehmer|participantes)\s?:\s*", re.I)
_ZONE = re.compile(r"\b(?:UTC|GMT)(?:\s*([+-])(\d{1,2})(?::?(\d{2}))?)?(?![\w+-])", re.I)
_NAMED_ZONES = {
    "pst": -8,
    "pdt": -7,
    "mst": -7,
    "mdt": -6,
    "cst": -6,
    "cdt": -5,
    "est": -5,
    "edt": -4,
    "bst": 1,
    "cet": 1,
    "cest": 2,
    "eet": 2,
    "eest": 3,
}
_CLOCK = re.compile(r"(\d{1,2})[:.h](\d{2})(?:\s*([ap])\.?\s?m\b\.?)?", re.I)


# --- the module protocol -------------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """True for a 2016–2017 ``messages.htm`` or ``messages/<n>.html``, a folder holding them
    (the unpacked download), or the download's zip."""
    if archive.is_zip(path):
        return meta_zip.contents(path).legacy
    try:
        if path.is_dir():
            return bool(pages_in(path))
        return path.suffix.lower() in (".htm", ".html") and _is_page(path)
    except OSError:
        return False


def pages_in(folder: Path) -> list[Path]:
    """The message pages of an unpacked download: ``html/messages.htm`` or ``messages/<n>.html``."""
    found = [folder / "html" / "messages.htm", folder / "messages.htm"]
    for messages in (folder / "messages", folder):
        if messages.is_dir():
            found += sorted(p for p in messages.iterdir() if _THREAD_FILE.match(p.name))
    return [page for page in found if page.is_file() and _is_page(page)]


def _is_page(path: Path) -> bool:
    return _MARK.search(peek(path, SNIFF_BYTES)) is not None


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of a page, a folder or the zip; each page ends with its
    ``Checkpoint`` (an unchanged page is skipped).

    Raises:
        InputError: the path does not exist or cannot be listed.
        MalformedInput: an unreadable zip, or one refused as a likely zip bomb.
    """
    if archive.is_zip(path):
        yield from _read_zip(path, options)
        return
    try:
        files = [path] if path.is_file() else pages_in(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    root = path if path.is_dir() else path.parent
    if root.name in ("html", "messages"):
        root = root.parent
    within = Source(path, root=root)
    media = meta.folder_media(root / "messages" / "thread")
    owner = _owner(_head(within, root / "html" / "messages.htm"))
    for file in files:
        source, state = file_state(file)
        if unchanged(options.cursors.get(source), state):
            continue
        try:
            data = within.read(file, meta.MAX_PAGE_BYTES)
        except RefusedInput as exc:
            yield Quarantined(source, b"", f"page not read: {exc.reason}")
        except OSError as exc:
            yield Quarantined(source, b"", f"cannot read: {exc.strerror or exc}")
        else:
            yield from _threads(data, source, file.name, options, media, owner)
        yield Checkpoint(source=source, state=state)


def _head(within: Source, path: Path) -> bytes:
    """The start of a file of the source (the index's heading); empty if it cannot be read."""
    try:
        with within.open(path) as handle:
            return handle.read(SNIFF_BYTES)
    except (OSError, RefusedInput):
        return b""


def _read_zip(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The pages of the download's zip, each ending with a checkpoint of the zip's state."""
    stat_result = path.stat()
    state = {"size": stat_result.st_size, "mtime_ns": stat_result.st_mtime_ns}
    resolved = path.resolve()
    with meta_zip.opened_export(path) as export:
        yield from export.unsafe_members()
        owners: dict[str, str | None] = {}
        for name in export.readable_names():
            cursor = f"zip:{resolved}!{name}"
            if not meta_zip.is_legacy_page(name) or unchanged(options.cursors.get(cursor), state):
                continue
            ref = f"{path}!{name}"
            data = export.member(name)
            if data is None:
                yield Quarantined(ref, b"", "page not read: too large or unreadable")
            elif _MARK.search(data[:SNIFF_BYTES]) is not None:  # else an index of links (2017)
                root = name.rsplit("messages", 1)[0].removesuffix("html/").rstrip("/")
                if root not in owners:
                    index_name = meta_zip.under(root, "html/messages.htm")
                    index = data if name == index_name else export.member(index_name) or b""
                    owners[root] = _owner(index[:SNIFF_BYTES])
                media = export.media_for(meta_zip.under(root, "messages/thread"))
                page = PurePosixPath(name).name
                yield from _threads(data, ref, page, options, media, owners[root])
            yield Checkpoint(source=cursor, state=state)


# --- pages and threads ---------------------------------------------------------------------------


def _owner(index: bytes) -> str | None:
    """The account's name heading ``html/messages.htm`` (casefolded), if it is there."""
    found = re.search(rb'<div class="contents"><h1>([^<]{1,200})</h1>', index)
    if found is None:
        return None
    return SPACES.sub(" ", found[1].decode("utf-8", "replace")).strip().casefold() or None


def _threads(
    data: bytes,
    ref: str,
    name: str,
    options: ImportOptions,
    media: MediaLookup,
    owner: str | None = None,
) -> Iterator[Item]:
    """The items of one page: its threads, those with the same participants as one."""
    tree = _tree(data)
    groups: dict[str, list[meta_thread.Page]] = {}
    names: list[set[str]] = []
    outermost = (thread for thread in tree.css("div.thread") if not _in_thread(thread))
    for number, thread in enumerate(outermost):
        people = _participants(thread)
        names.append(set(people) | {_text(user) for user in thread.css("span.user")})
        if _THREAD_FILE.match(name):
            key = name.removesuffix(".html")
        else:
            key = re.sub(r"\W+", "_", "_".join(sorted(people)).casefold()).strip("_")
        page = meta_thread.Page(f"{ref}#thread={number}", _html(thread))
        groups.setdefault(key or "thread", []).append(page)
    if not groups:
        yield Quarantined(ref, data[:65536], "no Facebook message threads found in this page")
        return
    if options.me_names:
        owner = None
    else:
        owner = owner or _owner(data[:SNIFF_BYTES]) or meta.common_name(names)
    reader = meta_thread.ThreadReader(
        options, "messenger", owner, read_page=_document, clock=_clock(options)
    )
    for key, pages in groups.items():
        yield from reader.items(pages, folder=key, media=media)


def _in_thread(node: LexborNode) -> bool:
    """True for a ``div.thread`` a few levels inside another (hostile: real pages never nest
    them), so that a page of nested threads is read once, not once per level."""
    parent = node.parent
    for _ in range(4):
        if parent is None:
            return False
        if parent.tag == "div" and "thread" in (parent.attributes.get("class") or "").split():
            return True
        parent = parent.parent
    return False


def _document(page: meta_thread.Page) -> meta_thread.Document:
    """One ``div.thread``: its participants and messages, as ``meta_thread`` reads JSON."""
    thread = _tree(page.data).css_first("div.thread")
    if thread is None:
        raise Malformed("no Facebook message thread in this part of the page")
    messages: list[tuple[Any, Any]] = []
    current: dict[str, Any] | None = None
    parts: list[str] = []
    for child in thread.iter():
        classes = (child.attributes.get("class") or "").split()
        if child.tag == "div" and "message" in classes:
            if current is not None:
                messages.append(_finished(current, parts))
            header = child.css_first("span.user")
            current = {"sender_name": _text(header), "meta": _text(child.css_first("span.meta"))}
            parts = [child.html or ""]
            parts += [p.html or "" for p in child.css("p")]
        elif child.tag == "p" and current is not None:
            parts.append(child.html or "")
    if current is not None:
        messages.append(_finished(current, parts))
    if not messages:
        raise Malformed("no messages found in this thread (the page may be cut off)")
    fields = {
        "participants": _participants(thread),
        "messages": [message for _, message in messages],
        "title": None,
        "thread_path": None,
        "thread_type": None,
    }
    return meta_thread.Document(page.ref, fields, messages)


def _finished(message: dict[str, Any], parts: list[str]) -> tuple[bytes, dict[str, Any]]:
    """A message with its time and content read, paired with its HTML (``raw``)."""
    raw = "".join(parts)
    try:
        when = legacy_time(message.pop("meta"))
    except ValueError as exc:
        message["date_problem"] = str(exc)
    else:
        if when.tzinfo is None:
            message["wall_time"] = when
        else:
            message["timestamp_ms"] = round(when.timestamp() * 1000)
    content = _tree(("<div>" + "".join(parts[1:]) + "</div>").encode()).css_first("div")
    if content is not None:
        read_content(content, message)
    return raw.encode("utf-8", "surrogatepass"), message


def _participants(thread: LexborNode) -> list[str]:
    """The names before the first message: "A, B" (2016) or "Participants: A, B" (2017)."""
    for child in thread.iter(include_text=True):
        if child.tag == "div":
            break
        if child.tag == "-text":
            line = _PARTICIPANTS.sub("", SPACES.sub(" ", child.text() or "").strip())
            if line:
                return [name.strip() for name in line.split(",") if name.strip()]
    return []


def _clock(options: ImportOptions) -> meta_thread.Clock:
    wall = wall_clock(options.timezone)

    def moment(message: dict[str, Any]) -> Moment:
        if "timestamp_ms" in message:
            return meta_thread.json_moment(message)
        return wall(message)

    return moment


def legacy_time(text: str) -> datetime:
    """The time of a 2016–2017 date line, aware when it names its zone.

    Raises:
        ValueError: no day, month, year and clock time in it (the quarantine reason).
    """
    line = SPACES.sub(" ", text).strip()
    zone = None
    found = _ZONE.search(line)
    if found:
        sign = -1 if found[1] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(found[2] or 0), minutes=int(found[3] or 0)))
        line = line[: found.start()] + line[found.end() :]
    elif (last := line.rsplit(" ", 1)[-1].casefold()) in _NAMED_ZONES:
        zone = timezone(timedelta(hours=_NAMED_ZONES[last]))
        line = line.rsplit(" ", 1)[0]
    clock = _CLOCK.search(line)
    rest = (line[: clock.start()] + " " + line[clock.end() :]).casefold() if clock else ""
    numbers = re.findall(r"\d+", rest)
    months = [m for word in re.findall(r"[^\W\d_]+", rest) if (m := month_number(word))]
    years = [int(n) for n in numbers if len(n) == 4]
    days = [int(n) for n in numbers if len(n) <= 2]
    unreadable = ValueError(f"date {text[:40]!r} is not a date kluis can read")
    if clock is None or not (months and years and days):
        raise unreadable
    hour, minute = int(clock[1]), int(clock[2])
    if clock[3]:
        hour = hour % 12 + (12 if clock[3].casefold() == "p" else 0)
    try:
        when = datetime(years[0], months[0], days[0], hour, minute, tzinfo=zone)
        when.astimezone(UTC)  # out of datetime's range with the offset
    except (ValueError, OverflowError):
        raise unreadable from None
    return when


def _tree(data: bytes) -> LexborHTMLParser:
    return LexborHTMLParser(data.decode("utf-8", "replace"))


def _html(node: LexborNode) -> bytes:
    return (node.html or "").encode("utf-8", "surrogatepass")


def _text(node: LexborNode | None) -> str:
    return SPACES.sub(" ", node.text(deep=True) or "").strip() if node is not None else ""
