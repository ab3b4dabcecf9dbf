"""Tickets that come as a PDF or an image (``--format ticket``), attached or on their own.

A boarding pass sent as a PDF or a picture carries its IATA barcode (Resolution 792, read by
``importers.bookings.bcbp``); ``importers.scan`` finds the barcodes, and every boarding-pass
barcode among them becomes its flights, the barcode text kept in each booking's details.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from importers.bookings import bcbp
from importers.bookings.document import booking_interaction, read_document
from importers.files import file_checkpoint
from importers.scan import Scan, kind_of, scan_document, with_scans
from vault.errors import MalformedInput
from vault.records import Booking, ImportOptions, Item

_SNIFF_BYTES = 1024


def bookings_in_scans(scans: list[Scan], context: date) -> list[Booking]:
    """The flights of every boarding-pass barcode in ``scans``, each barcode once.

    Args:
        scans: what the PDFs and images of one item held.
        context: a date near the flight (the mail's), for the year the barcode does not hold.
    """
    found: list[Booking] = []
    seen: set[str] = set()
    for scan in scans:
        for code in scan.barcodes:
            text = code.text
            if text is None or text in seen or not bcbp.looks_like_bcbp(text):
                continue
            seen.add(text)
            try:
                boarding_pass = bcbp.parse(text)
            except MalformedInput:
                continue
            for booking in bcbp.leg_bookings(boarding_pass, context):
                booking.details["barcode"] = text
                found.append(booking)
    return found


def sniff(path: Path) -> bool:
    """A PDF or an image (PNG, JPEG, GIF, WebP), by its first bytes or its suffix."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    return kind_of(path.name, "", head) is not None


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The boarding pass in a PDF or image file, as one booking interaction.

    Raises:
        MalformedInput: the file holds no boarding-pass barcode kluis can read.
    """
    raw = read_document(path)
    kind = kind_of(path.name, "", raw)
    if kind is None:
        raise MalformedInput(f"{path}: not a PDF or an image")
    scan = scan_document(raw, kind, path.name)
    mtime = path.stat().st_mtime
    # A saved ticket's file date is near its issue: a better year than today's for old ones.
    context = datetime.fromtimestamp(mtime, UTC).date()
    bookings = bookings_in_scans([scan], context)
    if not bookings:
        why = "; ".join(scan.notes) or "no boarding-pass barcode found in it"
        raise MalformedInput(f"{path}: no ticket kluis can read ({why})")
    item = booking_interaction(bookings, raw, str(path), mtime)
    item.body = with_scans(item.body, [scan])
    yield item
    yield file_checkpoint(path)
