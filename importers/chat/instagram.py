"""Instagram DMs from "Download your information" (JSON) → chat interactions.

Instagram writes its messages in Messenger's shape (``your_instagram_activity/messages/inbox/…``,
``message_N.json``, the same mojibake), so the parsing lives in ``importers.chat.meta`` and the
reading of the download's zip in ``importers.chat.meta_zip``. An export is Instagram's when a
folder on its path, or inside its zip, says so (``instagram-<user>-<date>``,
``your_instagram_activity``); ``--format instagram`` reads any such JSON as Instagram's.
Instagram's HTML export is not read: kluis says so and asks for the JSON one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers import archive
from importers.chat import meta, meta_zip
from vault.errors import UnsupportedFormat
from vault.records import ImportOptions, Item


def sniff(path: Path) -> bool:
    """True for a Meta message JSON page or folder inside an Instagram export, Instagram's
    download zip (or a part of it), or a folder holding such zips."""
    if archive.is_zip(path):
        return meta_zip.contents(path).app == "instagram" and meta_zip.is_export_zip(path)
    if meta.looks_like_export(path):
        return meta.app_of(path) == "instagram"
    return any(meta_zip.contents(z).app == "instagram" for z in meta_zip.export_zips_in(path))


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of ``path``; see ``importers.chat.meta.read_export``.

    Raises:
        UnsupportedFormat: a zip of Instagram's HTML export, which kluis does not read.
    """
    if archive.is_zip(path):
        found = meta_zip.contents(path)
        if found.html_pages and not found.json_pages:
            raise UnsupportedFormat(
                f"{path}: this is Instagram's HTML export; kluis reads the JSON one "
                "(choose the JSON format when you download your information)"
            )
        return meta_zip.read_json(path, options, "instagram")
    if not meta.looks_like_export(path) and meta_zip.export_zips_in(path):
        return meta_zip.read_zips_in(path, options)
    return meta.read_export(path, options, "instagram")
