"""Facebook Messenger "Download your information" (JSON) → chat interactions.

The parsing is shared with Instagram DMs in ``importers.chat.meta``; this module only says which
exports are Messenger's: any Meta message JSON that is not inside an Instagram export.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers.chat import meta
from vault.records import ImportOptions, Item


def sniff(path: Path) -> bool:
    """True for a Messenger ``message_N.json``, thread folder or export folder."""
    return meta.looks_like_export(path) and meta.app_of(path) != "instagram"


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the interactions of ``path``; see ``importers.chat.meta.read_export``."""
    return meta.read_export(path, options, "messenger")
