"""Meta's "Download your information" message JSON, shared by Messenger and Instagram DMs.

Both apps export each conversation as a folder ``<category>/<name>_<id>/`` holding pages
``message_1.json``, ``message_2.json``, … (newest first), under ``your_facebook_activity/messages/``
or ``your_instagram_activity/messages/`` since 2024 and ``messages/`` before. Categories are
``inbox``, ``e2ee_cutover``, ``archived_threads``, ``message_requests`` and ``filtered_threads``.
Facebook's 2018 downloads wrote one ``message.json`` per thread, in ``messages/<thread>/`` (no
category) and later ``messages/inbox/<thread>/``, with ``timestamp`` in seconds at first.
A page is read by ``importers.chat.meta_json``, which tolerates trailing commas, a BOM and
``NaN`` and reads a page cut off up to the cut.
A page holds ``participants``, ``messages`` (``sender_name``, ``timestamp_ms``, ``content``,
``photos``/``videos``/``audio_files``/``files``/``gifs``/``sticker``, ``share``, ``reactions``,
``is_unsent``, older exports a ``type``), ``title`` and ``thread_path``.

This module finds the threads of an export folder, their pages and media, the owner and the
liked pages; ``importers.chat.meta_thread`` turns one thread's pages into items.

Decisions worth knowing:

- Facebook DYI 2018+ writes UTF-8 bytes as ``\\u00XX`` escapes ("mojibake": ``\\u00c3\\u00a9``
  for é). Every string is repaired exactly, ``text.encode("latin-1").decode("utf-8")``, and left
  as it is when that fails; nothing is guessed. The 2024 Messenger "secure storage" download
  (camelCase keys: ``senderName``, ``timestamp``, ``threadName``) is real UTF-8 and not touched.
- The thread is keyed by its folder name (``energiedirect_10158``) without the category, so a
  request that was accepted, or a thread later archived, keeps its dedup keys.
- Threads in ``message_requests``/``filtered_threads`` are ``chat_kind="request"``, threads with a
  page the user liked or follows (the export's ``pages/`` files) ``"page"``: both mean a company.
- The owner: ``--me``, else the profile name in the export, else the one participant present in
  every thread imported together. Without any of these every message is ``in``.
- A ``uri`` is relative to the export root (the folder holding ``messages/`` or
  ``your_*_activity/``) and is read only there, and only when it lies in the export's
  ``messages`` folder (or its zip: ``importers.chat.meta_zip``): URLs, absolute paths, ``..``
  and links leading out are described, never opened, the reason kept in
  ``extras["media"][n]["missing"]``. Pages, the profile and the liked pages are read inside the
  chosen folder or the export it lies in, regular files only (``importers.files``).
- Messenger's HTML export (``importers.chat.messenger_html``) reads its pages into the same
  ``Document`` shape and shares everything else (``meta_thread.ThreadReader``), with its own
  page reader and clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importers.chat.base import MediaLookup
from importers.chat.meta_thread import (
    REQUEST_FOLDERS,
    App,
    Page,
    ThreadReader,
    participants_in,
    repair_all,
)
from importers.files import Source, file_state, peek, unchanged
from vault.errors import InputError, RefusedInput
from vault.records import Checkpoint, ImportOptions, Item, Quarantined

MAX_PAGE_BYTES = 256 * 1024 * 1024
"""Larger ``message_N.json`` pages are quarantined instead of loaded."""

MAX_MEDIA_BYTES = 100 * 1024 * 1024
"""Media files above this stay described in ``extras["media"]`` instead of stored as blobs."""

SNIFF_BYTES = 8192
MAX_DEPTH = 5  # export root → your_*_activity → messages → inbox → thread → message_1.json

CATEGORIES = frozenset({"inbox", "e2ee_cutover", "archived_threads", *REQUEST_FOLDERS})
"""The folders under ``messages/`` that hold threads."""

ACTIVITY_FOLDERS: Mapping[str, App] = {
    "your_facebook_activity": "messenger",
    "your_activity_across_facebook": "messenger",  # Facebook's name for it since 2025
    "your_instagram_activity": "instagram",
}
"""The folders between an export's root and its ``messages`` since 2024, and their app."""

PAGE_NAME = re.compile(r"^message(?:_(\d+))?\.(json|html)$")
"""A page of a thread, ``message_<n>.json`` (or ``.html``), numbered from the newest; the 2018
downloads wrote one ``message.json`` (or ``message.html``) per thread, page 1."""
_SNIFF_SENDER = re.compile(rb'"(?:sender_name|senderName)"\s*:')
_SNIFF_MESSAGES = re.compile(rb'"(?:messages|participants)"\s*:')


@dataclass(slots=True)
class Thread:
    """A thread as the export holds it, before parsing: its folder name, category and pages."""

    folder: str
    category: str | None
    files: list[Path]


# --- recognising an export -----------------------------------------------------------------------


def looks_like_export(path: Path) -> bool:
    """True for a message JSON page, a thread folder, or a folder with threads a few levels down."""
    try:
        if path.is_dir():
            return next(pages_under(path), None) is not None
        if path.suffix.lower() != ".json":
            return False
    except OSError:
        return False
    head = peek(path, SNIFF_BYTES)
    return bool(_SNIFF_SENDER.search(head) and _SNIFF_MESSAGES.search(head))


def app_of(path: Path) -> App | None:
    """Which app exported ``path``, from the nearest folder name that says so.

    Exports unpack to ``instagram-<user>-<date>`` and ``facebook-<user>-<date>``, with
    ``your_instagram_activity``/``your_facebook_activity`` (or ``your_activity_across_facebook``)
    inside since 2024.
    """
    resolved = path.resolve()
    for folder in (resolved, *resolved.parents):
        name = folder.name.casefold()
        if "instagram" in name:
            return "instagram"
        if "facebook" in name or "messenger" in name:
            return "messenger"
        try:
            for activity, app in ACTIVITY_FOLDERS.items():
                if (folder / activity).is_dir():
                    return app
        except OSError:
            continue
    return None


def pages_under(path: Path, suffix: str = ".json") -> Iterator[Path]:
    """Every ``message_N<suffix>`` page in ``path`` and up to ``MAX_DEPTH`` folders below."""
    for depth in range(MAX_DEPTH + 1):
        pattern = "/".join(["*"] * depth + [f"message*{suffix}"])
        for page in sorted(path.glob(pattern)):
            # A FIFO or a device named like a page is listed: reading it quarantines it.
            if PAGE_NAME.match(page.name) and not page.is_dir():
                yield page


# --- reading files -------------------------------------------------------------------------------


def read_export(path: Path, options: ImportOptions, app: App) -> Iterator[Item]:
    """Stream the interactions of a page, a thread folder, or a folder of threads.

    After each thread comes one ``Checkpoint`` per page file (size and mtime); a thread whose
    pages are all unchanged is skipped.

    Raises:
        InputError: the path does not exist or cannot be listed.
    """
    try:
        threads = list_threads(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    root = export_root(path)
    within = Source(path, root=root)
    owner = export_owner(options, _profile_files(root, app, within), _first_pages(threads, within))
    liked = page_names(root, within) if app == "messenger" and root else frozenset[str]()
    reader = ThreadReader(options, app, owner, liked)
    for thread in threads:
        yield from read_folder_thread(thread, reader, within)


def list_threads(path: Path, suffix: str = ".json") -> list[Thread]:
    """The threads of a page, a thread folder or an export, each with its pages in order.

    Raises:
        InputError: ``path`` does not exist.
        OSError: a folder cannot be listed.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        if PAGE_NAME.match(path.name):
            siblings = [p for p in path.parent.glob(f"message*{suffix}") if PAGE_NAME.match(p.name)]
            pages = _page_order(siblings) or [path]  # a page named .json read as HTML
            return [Thread(path.parent.name, _category(path.parent), pages)]
        return [Thread(path.stem, None, [path])]
    by_folder: dict[Path, list[Path]] = {}
    for page in pages_under(path, suffix):
        by_folder.setdefault(page.parent, []).append(page)
    return [
        Thread(folder.name, _category(folder), _page_order(pages))
        for folder, pages in sorted(by_folder.items())
    ]


def page_number(name: str) -> int | None:
    """The number of a thread's page from its file name (``message.json`` is 1); None if the
    name is not a page's."""
    found = PAGE_NAME.match(name)
    if found is None:
        return None
    return int(found[1] or 1)


def _page_order(pages: Iterable[Path]) -> list[Path]:
    """``message_1``, ``message_2``, … ``message_10`` by number, not by name."""

    def number(page: Path) -> int:
        return page_number(page.name) or 0

    return sorted(pages, key=number)


def _category(thread_folder: Path) -> str | None:
    parent = thread_folder.parent.name
    # 2018: threads straight in ``messages/``, without a category folder.
    return parent if parent and parent != "messages" else None


def export_root(path: Path) -> Path | None:
    """The folder that relative ``uri`` values start from: the one holding ``messages``."""
    resolved = path.resolve()
    for below in (*(f"{activity}/messages" for activity in ACTIVITY_FOLDERS), "messages"):
        if (resolved / below).is_dir():
            return resolved
    for folder in (resolved, *resolved.parents):
        if folder.name == "messages":
            return _root_above(folder)
    return None


def read_folder_thread(thread: Thread, reader: ThreadReader, within: Source) -> Iterator[Item]:
    """The items of a thread's page files, then one ``Checkpoint`` per file; nothing at all if
    every file is as the cursors recorded it. Pages that are too large, unreadable or not
    inside ``within`` are quarantined with the reason."""
    states = [file_state(file) for file in thread.files]
    if all(unchanged(reader.options.cursors.get(source), state) for source, state in states):
        return
    loaded: list[Page] = []
    for file, (source, _) in zip(thread.files, states, strict=True):
        try:
            loaded.append(Page(source, within.read(file, MAX_PAGE_BYTES)))
        except RefusedInput as exc:
            yield Quarantined(source, b"", f"page not read: {exc.reason}")
        except OSError as exc:
            yield Quarantined(source, b"", f"cannot read: {exc.strerror or exc}")
    media = folder_media(thread.files[0].parent)
    yield from reader.items(loaded, folder=thread.folder, category=thread.category, media=media)
    for source, state in states:
        yield Checkpoint(source=source, state=state)


def folder_media(thread_folder: Path) -> MediaLookup:
    """Opens a ``uri`` relative to the export root of a thread, only inside the export's
    ``messages`` folder; a thread outside any export only inside its own folder.

    The lookup raises ``RefusedInput`` for a ``uri`` that must not be read."""
    thread_folder = thread_folder.absolute()
    messages = _messages_folder(thread_folder)
    if messages is None:
        within, base = Source(thread_folder), thread_folder
    else:
        within, base = Source(messages), _root_above(messages)

    def lookup(uri: str) -> bytes | None:
        try:
            return within.read(within.join(uri, base), MAX_MEDIA_BYTES)
        except OSError:
            return None

    return lookup


def _messages_folder(thread_folder: Path) -> Path | None:
    """The ``messages`` folder a thread folder lies in (``messages/<category>/<thread>``)."""
    for folder in list(thread_folder.parents)[:2]:
        if folder.name == "messages":
            return folder
    return None


def _root_above(messages: Path) -> Path:
    """The export root holding a ``messages`` folder (``your_*_activity`` skipped)."""
    root = messages.parent
    return root.parent if root.name in ACTIVITY_FOLDERS else root


# --- the owner and pages -------------------------------------------------------------------------


def export_owner(
    options: ImportOptions, profile_files: Iterable[bytes], first_pages: Iterable[bytes]
) -> str | None:
    """The export owner's name (casefolded), when ``--me`` is not given: the name in the first
    readable profile file, else the one participant of every thread (from each thread's first
    page). Both are read lazily, only as far as needed."""
    if options.me_names:
        return None  # decided per message against options.me_names
    for data in profile_files:
        name = profile_name_in(data)
        if name:
            return name
    return common_name(participants_in(data) for data in first_pages)


def common_name(name_sets: Iterable[set[str]]) -> str | None:
    """The one name (casefolded) in every thread's set of names, if two or more threads share
    exactly one: the export's owner."""
    common: set[str] | None = None
    threads = 0
    for names in name_sets:
        threads += 1
        folded = {name.casefold() for name in names}
        common = folded if common is None else common & folded
    return next(iter(common)) if threads >= 2 and common and len(common) == 1 else None


def _first_pages(threads: Iterable[Thread], within: Source) -> Iterator[bytes]:
    for thread in threads:
        yield read_or_nothing(within, thread.files[0], MAX_PAGE_BYTES)


def read_or_nothing(within: Source, path: Path, limit: int) -> bytes:
    """A file that only helps (a first page for the owner, a profile): empty if it cannot or
    must not be read; reading it for real, if ever, says why."""
    try:
        return within.read(path, limit)
    except (OSError, RefusedInput):
        return b""


PROFILE_FILES: Mapping[App, tuple[str, ...]] = {
    "messenger": (
        "personal_information/profile_information/profile_information.json",
        "profile_information/profile_information.json",
    ),
    "instagram": (
        "personal_information/personal_information/personal_information.json",
        "personal_information/personal_information.json",
        "account_information/personal_information.json",
    ),
}
"""Where each app's export keeps the account's own name, relative to the export root."""


def _profile_files(root: Path | None, app: App, within: Source) -> Iterator[bytes]:
    if root is None:
        return
    for relative in PROFILE_FILES[app]:
        if data := read_or_nothing(within, root / relative, MAX_PAGE_BYTES):
            yield data


def profile_name_in(data: bytes) -> str | None:
    """The account's own name in a profile file, repaired and casefolded; None if absent."""
    try:
        document = repair_all(json.loads(data))
    except (ValueError, RecursionError):
        return None
    name = _profile_field(document)
    return name.casefold() if name else None


def _profile_field(document: Any) -> str | None:
    if not isinstance(document, dict):
        return None
    # "profile_v2" since 2022, "profile" before; its "name" a plain string in 2018.
    profile = document.get("profile_v2", document.get("profile"))
    if isinstance(profile, dict):
        name = profile.get("name")
        full = name.get("full_name") if isinstance(name, dict) else name
        return full if isinstance(full, str) and full else None
    users = document.get("profile_user")
    if isinstance(users, list) and users and isinstance(users[0], dict):
        data = users[0].get("string_map_data")
        if isinstance(data, dict) and isinstance(data.get("Name"), dict):
            value = data["Name"].get("value")
            return value if isinstance(value, str) and value else None
    return None


PAGES_FOLDERS = ("your_facebook_activity/pages", "your_activity_across_facebook/pages", "pages")
"""Where a Facebook export lists the pages the user liked or follows, relative to its root."""


def page_names(root: Path, within: Source) -> frozenset[str]:
    """Names of the Facebook pages the user liked or follows (``pages/*.json``), casefolded."""
    return liked_page_names(files_in(root, PAGES_FOLDERS, "*.json", within))


def files_in(root: Path, folders: Iterable[str], pattern: str, within: Source) -> Iterator[bytes]:
    """The bytes of the files matching ``pattern`` in each of ``root``'s ``folders``; files
    that cannot or must not be read are left out."""
    for folder in folders:
        try:
            files = sorted((root / folder).glob(pattern))
        except OSError:
            continue
        for file in files:
            if data := read_or_nothing(within, file, MAX_PAGE_BYTES):
                yield data


def liked_page_names(files: Iterable[bytes]) -> frozenset[str]:
    """The casefolded names in ``pages/*.json`` files; a file that cannot be read adds none."""
    names: set[str] = set()
    for data in files:
        try:
            names.update(_names_in(repair_all(json.loads(data))))
        except (ValueError, RecursionError):
            continue
    return frozenset(name.casefold() for name in names)


def _names_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("name", "title") and isinstance(item, str) and item:
                yield item
            else:
                yield from _names_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _names_in(item)
