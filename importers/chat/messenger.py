"""Facebook Messenger "Download your information", as JSON or as HTML → chat interactions.

The JSON parsing is shared with Instagram DMs in ``importers.chat.meta``; the HTML export is read
by ``importers.chat.messenger_html`` into the same records, and either is read straight from the
download's zip by ``importers.chat.meta_zip``. This module says which exports are Messenger's (any
Meta message export that is not Instagram's) and which of the two formats a path holds: JSON
pages win when a folder or zip has both. A folder holding the download's zips (not unpacked)
reads every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers import archive
from importers.chat import messenger_html, messenger_legacy, meta, meta_zip
from importers.chat.meta_thread import App
from vault.records import ImportOptions, Item


def sniff(path: Path) -> bool:
    """True for a Messenger page, thread folder or export folder (JSON or HTML), its zip or a
    part of it, or a folder holding such zips."""
    if archive.is_zip(path):
        found = meta_zip.contents(path)
        return found.app != "instagram" and (meta_zip.is_export_zip(path) or found.legacy)
    if meta.app_of(path) == "instagram":
        return False
    return (
        meta.looks_like_export(path)
        or messenger_html.sniff(path)
        or messenger_legacy.sniff(path)
        or bool(meta_zip.export_zips_in(path))
    )


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of ``path``; see ``read_as``."""
    return read_as(path, options, "messenger")


def read_as(path: Path, options: ImportOptions, app: App) -> Iterator[Item]:
    """Stream the interactions of ``path`` as ``app``'s export, JSON or HTML, folder or zip; see
    ``meta.read_export``, ``messenger_html.read`` and ``meta_zip``."""
    if archive.is_zip(path):
        found = meta_zip.contents(path)
        if found.json_pages:
            return meta_zip.read_json(path, options, app)
        if found.legacy and not found.html_pages:
            return messenger_legacy.read(path, options)
        return messenger_html.read(path, options, app)
    if meta.looks_like_export(path) or (path.suffix.lower() == ".json" and not path.is_dir()):
        return meta.read_export(path, options, app)  # a JSON file: its reason if it is none
    if messenger_legacy.sniff(path) and not messenger_html.sniff(path):
        return messenger_legacy.read(path, options)
    if not messenger_html.sniff(path) and meta_zip.export_zips_in(path):
        return meta_zip.read_zips_in(path, options)
    return messenger_html.read(path, options, app)
