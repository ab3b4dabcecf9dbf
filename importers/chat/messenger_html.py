"""Facebook Messenger "Download your information" as HTML (a folder or the .zip) → chat items.

Instagram's HTML download has the same markup and is read here too, as Instagram's
(``read(..., app="instagram")``: its dedup namespace and thread keys, no liked pages).

The HTML export has the JSON export's folders (``your_facebook_activity/messages/…`` since 2024,
``messages/…`` before; ``inbox``, ``e2ee_cutover``, ``archived_threads``, ``message_requests``,
``filtered_threads``) with ``message_1.html``, ``message_2.html`` … per thread, newest first.
Each message is a box of three parts, sender, content and time, in one of two markups:

- 2018–2021: ``div.pam._3-95._2pi0._2lej.uiBoxWhite.noborder`` holding
  ``div._3-96._2pio._2lek._2lel`` (sender), ``div._3-96._2let`` (content) and ``div._3-94._2lem``
  ("Jan 05, 2020, 3:04 PM");
- 2022+: ``div._a6-g`` holding ``div._2ph_._a6-h`` (sender), ``div._2ph_._a6-p`` (content) and
  ``div._3-94._a6-o`` ("Jan 05, 2024 3:04:05 pm", sometimes inside ``div._a72d``).

Class names change without notice, so a box is also found by its shape: the nearest element with
several children around a text that reads as a date. The content holds the text, ``<img>``,
``<video>``, ``<audio>`` and ``<a href>`` to files of the export (relative paths), links, and
reactions as a ``<ul>`` of "👍Name" items.

Decisions worth knowing:

- Everything after reading (the chat, its kind, direction, attachments, shares, reactions,
  unsent messages) is ``importers.chat.meta``'s: an HTML message becomes the dict a JSON message
  would be, and the thread key is the JSON one (``messenger:<folder>``).
- Times are wall-clock times without a zone, to the minute (older) or second (newer), in the
  account's Facebook language: they are read in ``options.timezone`` (``tz_known=False``), like
  WhatsApp's, and the language and the date order are inferred from all the dates of a page.
- Dedup keys use the wall-clock time as written, so re-importing the same HTML adds nothing, with
  any ``--timezone``. They cannot match the JSON export's keys (milliseconds since the epoch):
  importing the JSON and the HTML export of one account keeps both copies of each message.
- A box that cannot be read (no date, a date in no known language, a page cut off mid-message) is
  quarantined with its HTML; a page with no message at all is quarantined whole.
- A zip is read in place by ``importers.chat.meta_zip``, which serves the JSON export too (zip
  bomb and member guards, split downloads); attachments are read from the zip, never written to
  disk.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from importers import archive
from importers.chat import meta, meta_thread, meta_zip
from importers.chat.base import Malformed, Moment
from importers.chat.messenger_html_dates import (
    SPACES,
    Calendar,
    Written,
    calendar_of,
    looks_like_date,
    split_date,
)
from importers.files import Source, peek
from importers.html_text import Stack, push_children, walk_text
from vault.errors import InputError
from vault.records import ImportOptions, Item

SNIFF_BYTES = 16384
PAGE_SUFFIX = ".html"

_MARKUP = re.compile(rb"_a6-g|_2lej|_3-96|uiBoxWhite")
_BLOCKS = "div._a6-g, section._a6-g, div._2lej, div.uiBoxWhite"
_SENDER = "._a6-h, ._2lel, ._2pio, h2"
_CONTENT = "._a6-p, ._2let"
_TIME = "._a72d, ._a6-o, ._2lem"
_TITLE = "._3b0d, ._a70e, h1"
_PARTICIPANTS = re.compile(
    r"^(?:participants|deelnemers|teilnehmer|participantes)\s?:\s*(?P<names>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_LAST_NAME_JOIN = re.compile(r"\s+(?:and|en|und|et|y|e)\s+")
_UNSENT = re.compile(
    r"unsent a message|heeft een bericht (?:ingetrokken|verwijderd)|hebt een bericht ingetrokken"
    r"|hat eine nachricht zurückgezogen|hast eine nachricht zurückgezogen",
    re.IGNORECASE,
)
_CALL = re.compile(
    r"^(?:.+ called you|you called .+|.+ missed (?:a|your) (?:video )?call.*"
    r"|you missed a (?:video )?call .+|the (?:video )?(?:call|chat) ended"
    r"|.+ heeft je gebeld|je hebt .+ gebeld|je hebt een (?:video)?oproep .+ gemist"
    r"|de (?:video)?oproep is beëindigd)\.?$",
    re.IGNORECASE,
)
_SKIPPED_TAGS = frozenset({"ul", "img", "video", "audio", "source", "script", "style"})
_LINE_TAGS = frozenset({"div", "p", "li", "h1", "h2", "h3", "section", "footer", "table", "tr"})
_MEDIA_FOLDERS = (
    ("photos", "photos"),
    ("videos", "videos"),
    ("audio", "audio_files"),
    ("gifs", "gifs"),
    ("files", "files"),
)


# --- the module protocol -------------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """True for a Messenger HTML page, thread folder or export folder, or the zip of one."""
    try:
        if archive.is_zip(path):
            found = meta_zip.contents(path)
            return found.html_pages and found.app != "instagram"
        if path.is_dir():
            first = next(meta.pages_under(path, PAGE_SUFFIX), None)
        elif path.suffix == PAGE_SUFFIX and meta.page_number(path.name) is not None:
            first = path
        else:
            return False
    except (OSError, ValueError):
        return False
    return first is not None and _MARKUP.search(peek(first, SNIFF_BYTES)) is not None


def read(path: Path, options: ImportOptions, app: meta_thread.App = "messenger") -> Iterator[Item]:
    """Stream the interactions of a page, a thread folder, an export folder or its zip, as
    ``app``'s (Instagram's HTML download has Messenger's markup).

    Each thread of a folder ends with one ``Checkpoint`` per page file (size and mtime), each
    thread of a zip with one for the zip and that thread; unchanged threads yield nothing.

    Raises:
        InputError: the path does not exist or cannot be listed.
        MalformedInput: an unreadable zip, or one refused as a likely zip bomb.
    """
    if archive.is_zip(path):
        prepare = functools.partial(_zip_reader, options=options, app=app)
        what = f"{meta_zip.APP_NAMES[app]} export"
        yield from meta_zip.read_threads(path, options, PAGE_SUFFIX, prepare, what)
        return
    try:
        threads = meta.list_threads(path, PAGE_SUFFIX)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    root = meta.export_root(path)
    within = Source(path, root=root)
    liked = set[str]()
    if root and app == "messenger":
        liked = _liked_pages(meta.files_in(root, meta.PAGES_FOLDERS, "*.html", within))
        liked |= meta.page_names(root, within)
    owner = None
    if not options.me_names:
        owner = meta.common_name(
            _names_in_page(meta.read_or_nothing(within, t.files[0], meta.MAX_PAGE_BYTES))
            for t in threads
        )
    reader = _reader(options, owner, frozenset(liked), app)
    for thread in threads:
        yield from meta.read_folder_thread(thread, reader, within)


# --- folders -------------------------------------------------------------------------------------


def _liked_pages(files: Iterable[bytes]) -> set[str]:
    """Pages the user liked or follows, casefolded, from the export's ``pages/*.html``."""
    return {name.casefold() for data in files for name in _entry_names(data)}


# --- zips ----------------------------------------------------------------------------------------


def _zip_reader(
    export: meta_zip.ExportZip, *, options: ImportOptions, app: meta_thread.App
) -> meta_thread.ThreadReader:
    """The HTML reader for a zip: the owner and liked pages come from every part of the export."""
    every = export.threads(PAGE_SUFFIX, every_part=True)
    liked = set[str]()
    if app == "messenger":
        folders = meta_zip.pages_folders(meta_zip.export_root(every[0].key) if every else "")
        liked = _liked_pages(export.files_in(folders, PAGE_SUFFIX))
        liked |= meta.liked_page_names(export.files_in(folders, ".json"))
    owner = None
    if not options.me_names:
        owner = meta.common_name(
            _names_in_page(export.page(thread.pages[0]).data) for thread in every
        )
    return _reader(options, owner, frozenset(liked), app)


# --- parsing pages -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Box:
    """One message box, found: its parts (any may be missing) and its HTML."""

    sender: LexborNode | None
    content: LexborNode | None
    time_text: str | None
    html: bytes
    reactions: list[LexborNode] = field(default_factory=list)


def _reader(
    options: ImportOptions, owner: str | None, liked: frozenset[str], app: meta_thread.App
) -> meta_thread.ThreadReader:
    """The reader of an export's HTML threads: each page read into a ``meta_thread.Document``,
    then everything else as for JSON, with the wall-clock times of ``options.timezone``."""
    return meta_thread.ThreadReader(
        options, app, owner, liked, read_page=_document, clock=wall_clock(options.timezone)
    )


def wall_clock(zone: tzinfo) -> meta_thread.Clock:
    """Reads a message's ``wall_time`` (a time without a zone) in ``zone``."""

    def moment(message: dict[str, Any]) -> Moment:
        wall = message.get("wall_time")
        if not isinstance(wall, datetime):
            raise ValueError(str(message.get("date_problem") or "the message has no date"))
        at = wall.replace(tzinfo=zone)
        at.astimezone(UTC)  # year 9999 plus an offset leaves datetime's range: quarantine
        return Moment(at, wall, tz_known=False)

    return moment


def _tree(data: bytes) -> LexborHTMLParser:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")  # one bad byte must not lose the page
    return LexborHTMLParser(text)


def _document(page: meta_thread.Page) -> meta_thread.Document:
    """A page's title, participants and messages as ``meta_thread`` reads JSON.

    Raises:
        Malformed: the page holds no message box at all (it is quarantined whole).
    """
    tree = _tree(page.data)
    messages: list[tuple[Any, Any]] = []
    found = [(box, split_date(box.time_text or "")) for box in _boxes(tree)]
    calendar = calendar_of(written for _, written in found if written is not None)
    for box, written in found:
        if box.time_text is None and box.content is None:
            continue  # a header box: participants, "Mailbox thread pending"
        if box.sender is not None and _PARTICIPANTS.match(_text(box.sender)):
            continue
        messages.append((box.html, _message(box, written, calendar)))
    if not messages:
        raise Malformed("no messages found in this page (not an export page, or cut off)")
    fields = {
        "participants": _participants(tree),
        "messages": [message for _, message in messages],
        "title": _title(tree),
        "thread_path": None,
        "thread_type": None,
    }
    return meta_thread.Document(page.ref, fields, messages)


def _boxes(tree: LexborHTMLParser) -> list[_Box]:
    """Message boxes by their class names, else by their shape (children around a date)."""
    nodes = _outermost(tree.css(_BLOCKS))
    if not nodes:
        nodes = _outermost(_date_parents(tree))
    return [_box(node) for node in nodes]


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """Each node once (a box can match two selectors), leaving out boxes inside boxes."""
    unique = {int(node.mem_id): node for node in nodes}
    ids = set(unique)
    chosen: list[LexborNode] = []
    for node in unique.values():
        parent = node.parent
        nested = False
        while parent is not None:
            if int(parent.mem_id) in ids:
                nested = True
                break
            parent = parent.parent
        if not nested:
            chosen.append(node)
    return chosen


def _date_parents(tree: LexborHTMLParser) -> list[LexborNode]:
    """For every element whose whole text is a date, its nearest ancestor with 2+ children."""
    found: dict[int, LexborNode] = {}
    body = tree.body
    if body is None:
        return []
    for node in body.traverse():
        if node.child is not None and any(_elements(node)):
            continue  # only leaves
        if not looks_like_date(_text(node)):
            continue
        parent = node.parent
        while parent is not None and len(list(_elements(parent))) < 2:
            parent = parent.parent
        if parent is not None and parent.tag not in ("body", "html"):
            found.setdefault(int(parent.mem_id), parent)
    return list(found.values())


def _elements(node: LexborNode) -> Iterator[LexborNode]:
    return (child for child in node.iter() if child.is_element_node)


def _box(node: LexborNode) -> _Box:
    children = list(_elements(node))
    time_node = node.css_first(_TIME)
    if time_node is None:
        time_node = next((c for c in reversed(children) if looks_like_date(_text(c))), None)
    sender = node.css_first(_SENDER)
    content = node.css_first(_CONTENT)
    used = {int(n.mem_id) for n in (time_node, sender, content) if n is not None}
    rest = [c for c in children if int(c.mem_id) not in used]
    if sender is None and rest and (content is not None or len(rest) > 1):
        sender, rest = rest[0], rest[1:]
    if content is None and rest:
        content = rest[0]
    time_text = _text(time_node) if time_node is not None else None
    html = (node.html or "").encode("utf-8", "surrogatepass")
    # 2022+ puts the reactions' <ul> in the content or after the time: anywhere in the box.
    return _Box(sender, content, time_text or None, html, node.css("ul"))


def _message(box: _Box, written: Written | None, calendar: Calendar) -> dict[str, Any]:
    message: dict[str, Any] = {"sender_name": _text(box.sender) if box.sender else ""}
    if box.time_text is None:
        message["date_problem"] = "the message has no date (the page may be cut off)"
    else:
        try:
            if written is None:
                raise ValueError("no date")
            message["wall_time"] = calendar.read(written)
        except ValueError:
            shown = box.time_text[:40]
            message["date_problem"] = f"date {shown!r} is not a date kluis can read"
    reactions = [r for ul in box.reactions for li in ul.css("li") if (r := _reaction(li))]
    if reactions:
        message["reactions"] = reactions
    if box.content is not None:
        read_content(box.content, message)
    return message


def read_content(content: LexborNode, message: dict[str, Any]) -> None:
    """Text, files and the first link of a content element, as JSON would hold them."""
    seen: set[str] = set()
    for node in content.css("img[src], video[src], audio[src], source[src], a[href]"):
        uri = (node.attributes.get("src") or node.attributes.get("href") or "").strip()
        if not uri or uri in seen or uri.startswith(("#", "mailto:")):
            continue
        seen.add(uri)
        if "://" in uri:
            message.setdefault("share", {"link": uri})
        else:
            key = _media_key(uri, node.tag or "")
            if key == "sticker":
                message["sticker"] = {"uri": uri}
            else:
                message.setdefault(key, []).append({"uri": uri})
    text = _visible_text(content)
    if text:
        message["content"] = text
    if _UNSENT.search(text) and len(text) < 200:
        message["is_unsent"] = True
    elif _CALL.match(text):
        message["type"] = "Call"


def _media_key(uri: str, tag: str) -> str:
    folders = PurePosixPath(uri).parts[:-1]
    if "stickers_used" in folders:
        return "sticker"
    for folder, key in _MEDIA_FOLDERS:
        if folder in folders:
            return key
    return {"img": "photos", "video": "videos", "audio": "audio_files"}.get(tag, "files")


def _reaction(item: LexborNode) -> dict[str, str] | None:
    """``{"reaction": "👍", "actor": "Name"}`` from "👍Name" (Instagram adds " (date)")."""
    text = _text(item)
    split = 0
    while split < len(text) and not unicodedata.category(text[split]).startswith(("L", "N")):
        split += 1
    emoji, actor = text[:split].strip(), text[split:].strip()
    actor = re.sub(r"\s*\([^()]*\)$", "", actor)
    return {"reaction": emoji, "actor": actor} if emoji or actor else None


def _visible_text(content: LexborNode) -> str:
    """The message's own text: line breaks kept, files, link-only anchors and reactions left out."""
    text = walk_text(content, _message_element).replace("\r\n", "\n").replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _message_element(node: LexborNode, parts: list[str], stack: Stack) -> None:
    tag = node.tag or ""
    if tag in _SKIPPED_TAGS or _is_file_or_bare_link(node):
        return
    if tag == "br":
        parts.append("\n")
        return
    if tag in _LINE_TAGS:
        parts.append("\n")
        stack.append("\n")
    push_children(node, stack)


def _is_file_or_bare_link(node: LexborNode) -> bool:
    if node.tag != "a":
        return False
    href = (node.attributes.get("href") or "").strip()
    return "://" not in href or _text(node) == href


def _text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return SPACES.sub(" ", node.text(deep=True) or "").strip()


def _title(tree: LexborHTMLParser) -> str | None:
    for selector in ("title", _TITLE):
        node = tree.css_first(selector)
        if node is not None and (text := _text(node)):
            return text
    return None


def _participants(tree: LexborHTMLParser) -> list[str]:
    """Names from the "Participants: A, B and C" line, wherever the page puts it."""
    for node in tree.css("div, h2, span, p"):
        if any(_elements(node)):
            continue
        found = _PARTICIPANTS.match(_text(node))
        if found:
            *first, last = found["names"].split(", ")
            names = [*first, *_LAST_NAME_JOIN.split(last)]
            return [name.strip() for name in names if name.strip()]
    return []


def _names_in_page(data: bytes) -> set[str]:
    """Who is in a thread, from its first page: participants and senders."""
    if not data:
        return set()
    tree = _tree(data)
    names = set(_participants(tree))
    names.update(name for box in _boxes(tree) if box.time_text and (name := _text(box.sender)))
    return names


def _entry_names(data: bytes) -> Iterator[str]:
    """The heading of every box of a ``pages/*.html`` file: the names of liked/followed pages."""
    for box in _boxes(_tree(data)):
        name = _text(box.sender)
        if name and not _PARTICIPANTS.match(name):
            yield name
