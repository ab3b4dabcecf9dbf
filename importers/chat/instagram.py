"""Instagram DMs from "Download your information" (JSON) → chat interactions.

Instagram writes its messages in Messenger's shape (``your_instagram_activity/messages/inbox/…``,
``message_N.json``, the same mojibake), so the parsing lives in ``importers.chat.meta``. An export
is Instagram's when a folder on its path says so (``instagram-<user>-<date>``,
``your_instagram_activity``); ``--format instagram`` reads any such JSON as Instagram's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers.chat import meta
from vault.records import ImportOptions, Item


def sniff(path: Path) -> bool:
    """True for a Meta message JSON page or folder that lies inside an Instagram export."""
    return meta.looks_like_export(path) and meta.app_of(path) == "instagram"


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of ``path``; see ``importers.chat.meta.read_export``."""
    return meta.read_export(path, options, "instagram")
