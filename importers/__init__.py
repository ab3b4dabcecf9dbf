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
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol, cast

from vault.errors import UnsupportedFormat
from vault.records import ImportOptions, Item

FORMATS: dict[str, str] = {
    "takeout": "importers.email.takeout",
    "mbox": "importers.email.mbox",
    "maildir": "importers.email.maildir",
    "emlx": "importers.email.emlx",
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
    "sms": "importers.chat.sms",
    "msg": "importers.email.msg",
    "zip": "importers.archive",
    # Last: a folder no format above reads whole is read file by file.
    "folder": "importers.folder",
}
"""Format name (``kluis import --format``) → module, in auto-detection order."""


class Importer(Protocol):
    """What every importer module provides."""

    def sniff(self, path: Path) -> bool:
        """True if ``path`` looks like this importer's format."""

    def read(self, path: Path, options: ImportOptions) -> Iterator[Item]:
        """Stream the items of ``path``."""


class PooledImporter(Importer, Protocol):
    """An importer whose big sources are parsed in worker processes (``POOLED_FORMATS``)."""

    def parsing_ahead(self, path: Path) -> AbstractContextManager[None]:
        """Start those workers now if ``path`` is big enough to need them."""


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
    ``SourceReader``: the faces hand this package to the core's import service).

    A folder the importer does not read as a whole is walked, and each file of its format in
    it read (``importers.folder``)."""
    importer = load(format_name)
    if format_name != "folder" and path.is_dir() and not importer.sniff(path):
        from importers import folder

        return folder.walk(path, options, format_name)
    return importer.read(path, options)


def mismatch(path: Path, format_name: str) -> str | None:
    """Why ``--format format_name`` recognises nothing in ``path`` (naming what is there), or
    None when it recognises the file, the folder, or a file in the folder."""
    from importers import folder

    if load(format_name).sniff(path):
        return None
    if path.is_dir():
        if folder.first_readable(path, format_name) is not None:
            return None
        found = folder.survey(path)
    else:
        try:
            found = f"it looks like {detect(path)}"
        except UnsupportedFormat:
            found = "kluis does not recognise it"
    return f"{path}: --format {format_name} recognises nothing in it ({found})"


POOLED_FORMATS = ("takeout", "mbox", "maildir")
"""Formats whose big sources are parsed in worker processes (``vault.pool``)."""


def parsing_ahead(path: Path, format_name: str) -> AbstractContextManager[None]:
    """Where ``path`` read as ``format_name`` (``auto``: as detected) will be parsed in worker
    processes, those start now, while the face unlocks the vault, for the import to take
    over; a block that does nothing otherwise. Only the pooled formats are sniffed for it:
    a slow detection (a big folder surveyed) waits for the import."""
    for name in POOLED_FORMATS if format_name == "auto" else (format_name,):
        if name in POOLED_FORMATS:
            importer = load(name)
            if importer.sniff(path):
                return cast(PooledImporter, importer).parsing_ahead(path)
    return nullcontext()


MAIL_FORMATS = frozenset({"eml", "mbox", "maildir", "takeout", "imap"})
"""Sources whose quarantined items are single mails, read again from their bytes alone."""


def reread(raw: bytes, format_name: str, source_ref: str, options: ImportOptions) -> Iterator[Item]:
    """The records of one quarantined item's stored bytes (``vault.quarantine``'s
    ``Rereader``), read by today's parser of its source's format.

    Raises:
        UnsupportedFormat: items of that format are parts of a file (a chat's message, a
            calendar's event) that cannot be read on their own; import the file again.
    """
    if format_name in MAIL_FORMATS:
        from importers.email.message import parse_message

        yield parse_message(raw, source_ref, options)
        return
    raise UnsupportedFormat(f"a {format_name or 'source'} item is read with its whole file")


def detect(path: Path) -> str:
    """The format of ``path``, by asking each importer in turn.

    Raises:
        UnsupportedFormat: no importer recognises the file or folder.
    """
    for name in FORMATS:
        if load(name).sniff(path):
            return name
    if path.is_dir():
        from importers import folder

        found = folder.survey(path)
        raise UnsupportedFormat(f"{path}: kluis reads no file in this folder ({found})")
    raise UnsupportedFormat(f"{path}: kluis does not recognise this file's format")
