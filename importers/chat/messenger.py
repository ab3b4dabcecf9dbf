"""Facebook Messenger "Download your information", as JSON or as HTML → chat interactions.

The JSON parsing is shared with Instagram DMs in ``importers.chat.meta``; the HTML export is read
by ``importers.chat.messenger_html`` into the same records. This module says which exports are
Messenger's (any Meta message export that is not inside an Instagram export) and which of the
two formats a path holds: JSON pages win when a folder has both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers.chat import messenger_html, meta
from vault.records import ImportOptions, Item


def sniff(path: Path) -> bool:
    """True for a Messenger page, thread folder or export folder (JSON or HTML), or its zip."""
    if meta.app_of(path) == "instagram":
        return False
    return meta.looks_like_export(path) or messenger_html.sniff(path)


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of ``path``; see ``meta.read_export`` and ``messenger_html.read``."""
    if meta.looks_like_export(path):
        return meta.read_export(path, options, "messenger")
    return messenger_html.read(path, options)
