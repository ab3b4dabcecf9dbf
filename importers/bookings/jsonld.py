"""Bare schema.org JSON-LD files (``--format jsonld``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers.bookings.document import document_items, read_document
from importers.bookings.markup import flatten, loads_leniently
from importers.bookings.schemaorg import bookings_from
from importers.files import peek
from vault.errors import MalformedInput
from vault.records import ImportOptions, Item

SUFFIXES = (".json", ".jsonld")


def sniff(path: Path) -> bool:
    """A JSON file whose start names schema.org and a ``@type``."""
    if path.suffix.casefold() not in SUFFIXES:
        return False
    head = peek(path, 4096)
    return b"schema.org" in head and b"@type" in head


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The bookings of one JSON-LD document, as one interaction."""
    raw = read_document(path)
    data = loads_leniently(raw.decode("utf-8", "replace"))
    if data is None:
        raise MalformedInput(f"{path}: not valid JSON-LD")
    yield from document_items(path, raw, bookings_from(flatten(data)), options)
