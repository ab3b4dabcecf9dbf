"""Instagram DMs from "Download your information" (JSON) → chat interactions.

Instagram writes its messages in Messenger's shape (``your_instagram_activity/messages/inbox/…``,
``message_N.json``, the same mojibake), so the parsing lives in ``importers.chat.meta`` and the
reading of the download's zip in ``importers.chat.meta_zip``. An export is Instagram's when a
folder on its path, or inside its zip, says so (``instagram-<user>-<date>``,
``your_instagram_activity``); ``--format instagram`` reads any such JSON as Instagram's.
Instagram's HTML download (``message_1.html`` per thread, older ``messages/inbox/…``) has
Messenger's markup and is read by ``importers.chat.messenger_html`` as Instagram's. The
2018–2020 download's single ``messages.json`` is ``importers.chat.instagram_2019``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers import archive
from importers.chat import instagram_2019, messenger, messenger_html, meta, meta_zip
from vault.records import ImportOptions, Item


def sniff(path: Path) -> bool:
    """True for a Meta message page (JSON or HTML) or folder inside an Instagram export,
    Instagram's download zip (or a part of it), or a folder holding such zips."""
    if instagram_2019.sniff(path):
        return True
    if archive.is_zip(path):
        return meta_zip.contents(path).app == "instagram" and meta_zip.is_export_zip(path)
    if meta.looks_like_export(path):
        return meta.app_of(path) == "instagram"
    if meta.app_of(path) == "instagram" and messenger_html.sniff(path):
        return True
    return any(meta_zip.contents(z).app == "instagram" for z in meta_zip.export_zips_in(path))


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of ``path``; see ``importers.chat.messenger.read_as`` and, for
    the 2018–2020 download, ``importers.chat.instagram_2019``."""
    if instagram_2019.sniff(path) and not (archive.is_zip(path) and meta_zip.contents(path).pages):
        return instagram_2019.read(path, options)
    return messenger.read_as(path, options, "instagram")
