"""Saved web pages and confirmation HTML with schema.org markup (``--format html``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importers.bookings.document import document_items, read_document
from importers.bookings.schemaorg import bookings_in_page
from importers.email.decode import decode_bytes, html_charset
from vault.records import ImportOptions, Item

SUFFIXES = (".html", ".htm", ".xhtml")


def sniff(path: Path) -> bool:
    """An HTML file."""
    return path.is_file() and path.suffix.casefold() in SUFFIXES


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The bookings of one page, as one interaction."""
    raw = read_document(path)
    page = decode_bytes(raw, html_charset(raw))
    yield from document_items(path, raw, bookings_in_page(page), options)
