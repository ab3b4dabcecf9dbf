"""Meta's "Download your information" read straight from its .zip, JSON or HTML alike.

Facebook and Instagram deliver the export as one zip, or as several for a big one
(``facebook-<user>-<date>-<id>-1.zip``, ``-2.zip``, …), with the folders of the unpacked export
inside (``your_facebook_activity/messages/inbox/<thread>/message_1.json``, ``messages/…`` before
2024). This module walks such a zip and reads its members; what a page means is
``importers.chat.meta``'s (JSON) or ``importers.chat.messenger_html``'s (HTML) business, so a
thread read from the zip gives the very records, and dedup keys, of the unpacked folder.

Decisions worth knowing:

- Nothing is unpacked to disk: pages and attachments are read from the archive into memory,
  under ``meta.MAX_PAGE_BYTES`` and ``meta.MAX_MEDIA_BYTES``. ``importers.archive``'s guards
  run first: a likely zip bomb is refused whole; members whose names leave the archive, links and
  encrypted members are quarantined with a one-line reason and never read.
- Resume: each thread ends with a checkpoint ``zip:<resolved zip>!<thread folder>`` holding the
  zip's size and mtime; an unchanged zip's threads are skipped.
- The parts of a split download are found beside the zip by name (same name up to ``-<n>.zip``).
  A thread is read with the part holding its first page, its other pages taken from whichever
  part has them; attachments are looked up in every part, and the owner and the liked pages
  come from all of them. So importing every part gives the records of the unpacked export, each
  once; a part whose threads all start in another part adds nothing of its own.
- A folder holding export zips (not unpacked) reads each of them, each as the app it comes from.
"""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from importers import archive
from importers.chat import meta, meta_thread
from importers.chat.base import MediaLookup
from importers.files import Source, name_reason, unchanged
from vault.errors import MalformedInput, RefusedInput, UnsupportedFormat
from vault.records import Checkpoint, ImportOptions, Item, Quarantined

APP_NAMES: dict[meta_thread.App, str] = {"messenger": "Messenger", "instagram": "Instagram"}

_PART_NAME = re.compile(r"^(?P<stem>.+)-\d{1,2}\.zip$", re.IGNORECASE)
# "facebook-sanne-2024-05-10.zip" ends in a day, not a part number: other days are other downloads.
_DATE_END = re.compile(r"\d{4}[-_]\d{1,2}$")
_LEGACY_PAGE = re.compile(r"(?:^|/)(?:html/messages\.htm|messages/\d+\.html)$")
_INSTAGRAM_2019 = re.compile(r"^(?:[^/]+/)?messages\.json$")
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError)


# --- what a zip holds ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contents:
    """What a zip holds, by its member names alone."""

    app: meta_thread.App | None = None
    """The app its folders or its name say, if any."""
    json_pages: bool = False
    html_pages: bool = False
    export: bool = False
    """Anything of a Meta export at all (``your_*_activity/``, ``messages/<category>/``)."""
    legacy: bool = False
    """The 2016–2017 HTML: ``html/messages.htm`` or ``messages/<n>.html``."""
    instagram_2019: bool = False
    """Instagram's 2018–2020 ``messages.json`` (``importers.chat.instagram_2019``)."""

    @property
    def pages(self) -> bool:
        """True if it holds message pages of either format."""
        return self.json_pages or self.html_pages


def contents(path: Path) -> Contents:
    """What the zip at ``path`` holds; empty for a file that is not a readable zip."""
    try:
        if not archive.is_zip(path):
            return Contents()
        stat_result = path.stat()
        resolved = path.resolve()
    except OSError:
        return Contents()
    return _contents(resolved, stat_result.st_size, stat_result.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _contents(path: Path, size: int, mtime_ns: int) -> Contents:
    """``contents``, once per version of a file: sniffing asks several importers in turn."""
    del size, mtime_ns  # part of the cache key only
    app: meta_thread.App | None = None
    json_pages = html_pages = export = legacy = instagram_2019 = False
    for name in archive.member_names(path):
        legacy = legacy or is_legacy_page(name)
        instagram_2019 = instagram_2019 or _INSTAGRAM_2019.search(name) is not None
        parts = PurePosixPath(name).parts
        found = page_of(name)
        if found is not None:
            json_pages = json_pages or found[2] == ".json"
            html_pages = html_pages or found[2] == ".html"
        in_app = next((meta.ACTIVITY_FOLDERS[p] for p in parts if p in meta.ACTIVITY_FOLDERS), None)
        app = app or in_app
        if in_app is not None or found is not None or _in_messages(parts):
            export = True
    return Contents(
        app or meta.app_of(path), json_pages, html_pages, export, legacy, instagram_2019
    )


def _in_messages(parts: tuple[str, ...]) -> bool:
    return "messages" in parts[:-3] and parts[parts.index("messages") + 1] in meta.CATEGORIES


def is_legacy_page(name: str) -> bool:
    """True for a member that is a 2016–2017 message page (``importers.chat.messenger_legacy``)."""
    return _LEGACY_PAGE.search(name) is not None


def page_of(name: str) -> tuple[str, int, str] | None:
    """(thread folder, page number, suffix) of a ``…/messages/<category>/<thread>/message_N``."""
    path = PurePosixPath(name)
    number = meta.page_number(path.name)
    if number is None or len(path.parts) < 3 or "messages" not in path.parts[:-2]:
        return None
    return str(path.parent), number, path.suffix


def sibling_parts(path: Path) -> list[Path]:
    """The other zips of a download split in parts: same name up to ``-<n>.zip``, same folder."""
    found = _PART_NAME.match(path.name)
    if found is None or _DATE_END.search(found["stem"]):
        return []
    try:
        candidates = sorted(path.parent.iterdir())
    except OSError:
        return []
    return [
        candidate
        for candidate in candidates
        if candidate.name != path.name
        and (other := _PART_NAME.match(candidate.name)) is not None
        and other["stem"] == found["stem"]
        and archive.is_zip(candidate)
    ]


def export_zips_in(folder: Path) -> list[Path]:
    """The Meta export zips with message pages, or parts of one, directly inside ``folder``."""
    try:
        if not folder.is_dir():
            return []
        files = sorted(folder.iterdir())
    except OSError:
        return []
    return [file for file in files if file.suffix.lower() == ".zip" and is_export_zip(file)]


def is_export_zip(path: Path) -> bool:
    """True for a zip of message pages, or a part of a split export whose other parts have them."""
    found = contents(path)
    if found.pages:
        return True
    return found.export and any(contents(part).pages for part in sibling_parts(path))


# --- an open export ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Part:
    """One zip of an export, open, and its members that are safe to read."""

    path: Path
    opened: zipfile.ZipFile
    readable: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    unsafe: list[tuple[zipfile.ZipInfo, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Member:
    """A member of one of the export's zips."""

    part: _Part
    info: zipfile.ZipInfo

    @property
    def ref(self) -> str:
        """Where it is, for ``source_ref``: ``<zip>!<member>``."""
        return f"{self.part.path}!{self.info.filename}"


@dataclass(slots=True)
class ZipThread:
    """One conversation in the export: its folder inside the zip and its pages, in order."""

    key: str
    pages: list[Member]

    @property
    def folder(self) -> str:
        """The thread's folder name, its identity (``shop_1234``)."""
        return PurePosixPath(self.key).name

    @property
    def category(self) -> str | None:
        """The folder above it (``inbox``, ``message_requests``, …); None in 2018's
        ``messages/<thread>/``."""
        parent = PurePosixPath(self.key).parent.name
        return parent if parent and parent != "messages" else None


class ExportZip:
    """An export zip opened for reading, with the other parts of its download."""

    def __init__(self, main: _Part, others: list[_Part]) -> None:
        self._main = main
        self._parts = [main, *others]
        self._refused: list[Quarantined] = []
        self._threads: dict[str, list[ZipThread]] = {}

    @property
    def path(self) -> Path:
        """The zip being imported."""
        return self._main.path

    def readable_names(self) -> list[str]:
        """The names of this zip's members that are safe to read, in order."""
        return sorted(self._main.readable)

    def unsafe_members(self) -> list[Quarantined]:
        """This zip's members that are not read (names leaving it, links, encrypted)."""
        return [
            Quarantined(f"{self.path}!{info.filename}", b"", f"zip member not read: {reason}")
            for info, reason in self._main.unsafe
        ]

    def threads(self, suffix: str, *, every_part: bool = False) -> list[ZipThread]:
        """The threads whose first ``message_N<suffix>`` page is in this zip (or in any part),
        by folder, with their pages from every part; this zip's own page wins a tie."""
        if suffix not in self._threads:
            pages: dict[str, dict[int, Member]] = {}
            for part in self._parts:
                for name, info in part.readable.items():
                    found = page_of(name)
                    if found is not None and found[2] == suffix:
                        pages.setdefault(found[0], {}).setdefault(found[1], Member(part, info))
            self._threads[suffix] = [
                ZipThread(key, [by_number[n] for n in sorted(by_number)])
                for key, by_number in sorted(pages.items())
            ]
        found_threads = self._threads[suffix]
        if every_part:
            return found_threads
        return [thread for thread in found_threads if thread.pages[0].part is self._main]

    def other_parts_have_pages(self) -> bool:
        """True if another part of the download holds message pages of either format."""
        return any(page_of(name) is not None for part in self._parts[1:] for name in part.readable)

    def page(self, member: Member) -> meta_thread.Page:
        """A page's bytes; empty, and quarantined at the next ``take_refused``, if unreadable."""
        size = member.info.file_size
        if size > meta.MAX_PAGE_BYTES:
            self._refused.append(
                Quarantined(member.ref, b"", f"{size // 2**20} MB page is too large")
            )
            return meta_thread.Page(member.ref, b"")
        try:
            return meta_thread.Page(member.ref, member.part.opened.read(member.info))
        except _READ_ERRORS as exc:
            self._refused.append(Quarantined(member.ref, b"", f"cannot read zip member: {exc}"))
            return meta_thread.Page(member.ref, b"")

    def take_refused(self) -> list[Quarantined]:
        """The pages that could not be read since the last call."""
        refused, self._refused = self._refused, []
        return refused

    def media_for(self, thread_key: str) -> MediaLookup:
        """Opens a ``uri`` relative to the export root of the thread, in any part; a ``uri``
        that is a URL, absolute or leads up (``..``) is refused (``RefusedInput``)."""
        root = export_root(thread_key)

        def lookup(uri: str) -> bytes | None:
            reason = name_reason(uri)
            if reason is not None:
                raise RefusedInput(uri, f"{reason}: not read")
            return self._read(under(root, uri), meta.MAX_MEDIA_BYTES)

        return lookup

    def member(self, name: str) -> bytes | None:
        """A small member (profile, liked pages) by name, from any part; None if absent."""
        return self._read(name, meta.MAX_PAGE_BYTES)

    def files_in(self, folders: Iterable[str], suffix: str) -> Iterator[bytes]:
        """The ``<suffix>`` files directly in any of ``folders``, in every part, by name."""
        wanted = set(folders)
        names = sorted(
            {
                name
                for part in self._parts
                for name in part.readable
                if name.endswith(suffix) and str(PurePosixPath(name).parent) in wanted
            }
        )
        for name in names:
            data = self.member(name)
            if data is not None:
                yield data

    def _read(self, name: str, limit: int) -> bytes | None:
        for part in self._parts:
            info = part.readable.get(name)
            if info is None:
                continue
            if info.file_size > limit:
                return None
            try:
                return part.opened.read(info)
            except _READ_ERRORS:
                continue
        return None


def export_root(thread_key: str) -> str:
    """The folder inside the zip that ``uri`` values and profile paths start from ('' for the
    zip's top), from a thread folder ``<root>/[your_*_activity/]messages/<category>/<thread>``."""
    parts = PurePosixPath(thread_key).parts
    below = max((n for n, part in enumerate(parts) if part == "messages"), default=0)
    root = parts[:below]
    if root and root[-1] in meta.ACTIVITY_FOLDERS:
        root = root[:-1]
    return "/".join(root)


def under(root: str, relative: str) -> str:
    """A member name: ``relative`` inside the folder ``root`` of the zip."""
    return f"{root}/{relative}" if root else relative


@contextmanager
def opened_export(path: Path) -> Iterator[ExportZip]:
    """The export zip at ``path`` with its other parts, open; all closed afterwards.

    A part that cannot be opened, would be refused, or leads out of the zip's folder is left out
    (importing it says why).

    Raises:
        MalformedInput: ``path`` is not a readable zip, or is refused as a likely zip bomb.
        RefusedInput: ``path`` is not a regular file.
    """
    with ExitStack() as stack:
        main = _open_part(path, stack)
        others: list[_Part] = []
        within = Source(path)
        for sibling in sibling_parts(path):
            try:
                others.append(_open_part(sibling, stack, within))
            except (MalformedInput, RefusedInput):
                continue
        yield ExportZip(main, others)


def _open_part(path: Path, stack: ExitStack, within: Source | None = None) -> _Part:
    """A zip of the export, open until ``stack`` closes, with its members sorted out."""
    with ExitStack() as own:
        opened = own.enter_context(archive.open_zip(path, within))
        infos = opened.infolist()
        try:
            archive.check_bomb(path, infos, path.stat().st_size)
        except OSError as exc:
            raise MalformedInput(f"{path}: cannot read: {exc.strerror or exc}") from None
        stack.enter_context(own.pop_all())
    part = _Part(path, opened)
    for info in infos:
        if info.is_dir():
            continue
        reason = archive.unsafe_reason(info)
        if reason is None:
            part.readable[info.filename] = info
        else:
            part.unsafe.append((info, reason))
    return part


# --- reading threads -----------------------------------------------------------------------------


def read_threads(
    path: Path,
    options: ImportOptions,
    suffix: str,
    prepare: Callable[[ExportZip], meta_thread.ThreadReader],
    what: str,
) -> Iterator[Item]:
    """Stream the threads of ``message_N<suffix>`` pages in the zip at ``path``.

    ``prepare`` looks at the whole export once (the owner, liked pages) and returns the reader
    of its threads. Each thread ends with its checkpoint; unchanged threads yield nothing.

    Raises:
        MalformedInput: an unreadable zip, or one refused as a likely zip bomb.
        UnsupportedFormat: no such pages in the zip nor in other parts of its download.
    """
    with opened_export(path) as export:
        threads = export.threads(suffix)
        if not threads:
            if export.other_parts_have_pages():
                return  # its pages and files are read with the threads of the other parts
            raise UnsupportedFormat(f"{path}: no {what} inside this zip")
        stat_result = path.stat()
        state = {"size": stat_result.st_size, "mtime_ns": stat_result.st_mtime_ns}
        resolved = path.resolve()
        todo = [
            thread
            for thread in threads
            if not unchanged(options.cursors.get(f"zip:{resolved}!{thread.key}"), state)
        ]
        if not todo:
            return
        yield from export.unsafe_members()
        reader = prepare(export)
        export.take_refused()  # a page unreadable while preparing is reported with its thread
        for thread in todo:
            pages = [page for page in map(export.page, thread.pages) if page.data]
            media = export.media_for(thread.key)
            yield from reader.items(
                pages, folder=thread.folder, category=thread.category, media=media
            )
            yield from export.take_refused()
            yield Checkpoint(source=f"zip:{resolved}!{thread.key}", state=state)


def read_json(path: Path, options: ImportOptions, app: meta_thread.App) -> Iterator[Item]:
    """Stream the interactions of the JSON message export in the zip at ``path``, as ``app``'s.

    Raises:
        MalformedInput: an unreadable zip, or one refused as a likely zip bomb.
        UnsupportedFormat: no message JSON inside.
    """
    prepare = functools.partial(_json_reader, options=options, app=app)
    return read_threads(path, options, ".json", prepare, f"{APP_NAMES[app]} message export")


def _json_reader(
    export: ExportZip, *, options: ImportOptions, app: meta_thread.App
) -> meta_thread.ThreadReader:
    every = export.threads(".json", every_part=True)
    root = export_root(every[0].key) if every else ""
    owner = meta.export_owner(
        options,
        (data for name in meta.PROFILE_FILES[app] if (data := export.member(under(root, name)))),
        (export.page(thread.pages[0]).data for thread in every),
    )
    liked = frozenset[str]()
    if app == "messenger":
        liked = meta.liked_page_names(export.files_in(pages_folders(root), ".json"))
    return meta_thread.ThreadReader(options, app, owner, liked)


def pages_folders(root: str) -> list[str]:
    """The folders in the zip listing liked and followed pages (``meta.PAGES_FOLDERS``)."""
    return [under(root, folder) for folder in meta.PAGES_FOLDERS]


def read_zips_in(folder: Path, options: ImportOptions) -> Iterator[Item]:
    """Every export zip directly in ``folder``, each read as the app and format it holds; a zip
    that cannot be read is quarantined with the reason and the others are read."""
    from importers.chat import instagram, messenger  # they build on this module

    within = Source(folder)
    for path in export_zips_in(folder):
        importer = instagram if contents(path).app == "instagram" else messenger
        try:
            within.inside(path)
            yield from importer.read(path, options)
        except (MalformedInput, UnsupportedFormat, RefusedInput) as exc:
            yield Quarantined(str(path), b"", str(exc).removeprefix(f"{path}: "))
