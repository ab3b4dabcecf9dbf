"""A booking document (a saved confirmation page, a bare JSON-LD file) as one interaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from importers.files import file_checkpoint, read_source
from vault.records import (
    BOOKING_LABELS,
    Booking,
    CompanyHints,
    ImportOptions,
    Interaction,
    Item,
    content_key,
)

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def describe(booking: Booking) -> str:
    """One line a person reads: ``Flight UA110 SFO → JFK, 2027-03-04 (RXJ34P)``."""
    parts = [BOOKING_LABELS[booking.kind]]
    if booking.number:
        parts.append(booking.number)
    places = [p.code or p.name for p in (booking.origin, booking.destination) if p]
    if places:
        parts.append(" → ".join(p for p in places if p))
    elif booking.provider:
        parts.append(booking.provider)
    text = " ".join(parts)
    if booking.start:
        text += f", {booking.start:%Y-%m-%d}"
    if booking.reference:
        text += f" ({booking.reference})"
    if booking.status != "confirmed":
        text += f" — {booking.status}"
    return text


def read_document(path: Path) -> bytes:
    """The bytes of a booking document, refusing what is too big to be one.

    Raises:
        InputError: it cannot be read, is not a regular file, or is too big.
    """
    return read_source(path, MAX_DOCUMENT_BYTES)


def document_items(
    path: Path, raw: bytes, bookings: list[Booking], options: ImportOptions
) -> Iterator[Item]:
    """The interaction for a document's bookings, then a checkpoint.

    A page without a booking (a restaurant's site offering to book) gives no interaction:
    there is nothing of the user's in it.
    """
    if bookings:
        yield booking_interaction(bookings, raw, str(path), path.stat().st_mtime)
    yield file_checkpoint(path)


def booking_interaction(
    bookings: list[Booking], raw: bytes, source_ref: str, fallback_time: float
) -> Interaction:
    """One ``booking`` (or ``order``) interaction listing every booking of a document."""
    first = bookings[0]
    when = next((b.modified_at for b in bookings if b.modified_at), None) or min(
        (b.start for b in bookings if isinstance(b.start, datetime) and b.start.tzinfo),
        default=None,
    )
    provider = next((b.provider for b in bookings if b.provider), None)
    return Interaction(
        channel="order" if first.kind in ("order", "parcel") else "booking",
        direction="in",
        occurred_at=when or datetime.fromtimestamp(fallback_time, UTC),
        tz_known=when is not None,
        title=describe(first) + (f" and {len(bookings) - 1} more" if len(bookings) > 1 else ""),
        body="\n".join(describe(b) for b in bookings),
        source_ref=source_ref,
        dedup_key=content_key(raw),
        raw=raw,
        bookings=bookings,
        hints=CompanyHints(organisation=provider),
    )
