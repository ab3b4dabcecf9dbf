"""Importers: each turns one kind of source into neutral ``vault.records`` items.

An importer module provides two functions and never touches the store::

    def sniff(path: Path) -> bool            # does this file or folder look like my format?
    def read(path: Path, options: ImportOptions) -> Iterator[Item]

``read`` streams: it yields ``Interaction`` items, ``Quarantined`` items for what it cannot
parse, and ``Checkpoint`` items that let a killed import resume. Every file is opened through
``importers.files``: only inside the chosen source, only regular files, every read bounded.
Modules are loaded lazily, so ``kluis --help`` does not pay for parsers it does not run.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, cast

from vault.errors import UnsupportedFormat
from vault.records import ImportOptions, Item

FORMATS: dict[str, str] = {
    "takeout": "importers.email.takeout",
    "mbox": "importers.email.mbox",
    "maildir": "importers.email.maildir",
    "eml": "importers.email.eml",
    "telegram": "importers.chat.telegram",
    "instagram": "importers.chat.instagram",
    "messenger": "importers.chat.messenger",
    "ics": "importers.bookings.ics",
    "pkpass": "importers.bookings.pkpass",
    "ticket": "importers.bookings.tickets",
    # Before WhatsApp: a boarding-pass barcode is a one-line .txt file too.
    "bcbp": "importers.bookings.bcbp",
    # Bank statements: before WhatsApp and the bookings' JSON, which take .txt and .xml too.
    "camt": "importers.bank.camt",
    "mt940": "importers.bank.mt940",
    "ofx": "importers.bank.ofx",
    "bank-csv": "importers.bank.csv_banks",
    "whatsapp": "importers.chat.whatsapp",
    "html": "importers.bookings.html",
    "jsonld": "importers.bookings.jsonld",
    "zip": "importers.archive",
}
"""Format name (``kluis import --format``) → module, in auto-detection order."""


class Importer(Protocol):
    """What every importer module provides."""

    def sniff(self, path: Path) -> bool:
        """True if ``path`` looks like this importer's format."""

    def read(self, path: Path, options: ImportOptions) -> Iterator[Item]:
        """Stream the items of ``path``."""


def load(format_name: str) -> Importer:
    """The importer module for ``format_name``.

    Raises:
        UnsupportedFormat: kluis has no importer of that name (yet).
    """
    module_name = FORMATS.get(format_name)
    if module_name is None:
        raise UnsupportedFormat(f"kluis cannot import the {format_name!r} format yet")
    return cast(Importer, importlib.import_module(module_name))


def read(path: Path, format_name: str, options: ImportOptions) -> Iterator[Item]:
    """The records of ``path`` read by the ``format_name`` importer (``vault.imports``'s
    ``SourceReader``: the faces hand this package to the core's import service)."""
    return load(format_name).read(path, options)


def detect(path: Path) -> str:
    """The format of ``path``, by asking each importer in turn.

    Raises:
        UnsupportedFormat: no importer recognises the file or folder.
    """
    for name in FORMATS:
        if load(name).sniff(path):
            return name
    kind = "folder" if path.is_dir() else "file"
    raise UnsupportedFormat(f"{path}: kluis does not recognise this {kind}'s format")
