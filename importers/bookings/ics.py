"""iCalendar files (``--format ics``) and calendar attachments: events, and the trips among them.

Every VEVENT becomes an interaction at its DTSTART: a ``booking`` when it is a trip or
reservation (a flight, train, rental car, hotel, table, ticket … with a reference or a place),
else a ``note``. A reservation with a reference also gives a ``Booking``; events that KDE
Itinerary wrote carry the full schema.org reservation, which is read as such.

Calendars from the wild are broken in many ways (properties without a value, folds over blank
lines, data after END:VCALENDAR, two VCALENDARs in one file, VTIMEZONEs without rules). The
``icalendar`` library reads most of them; when it rejects a file, the file is split into its
events, and each one is read on its own with the time zones that do parse, so one bad part
costs only itself (quarantined), never the file.

This module makes the items of a calendar's events; ``importers.bookings.ics_events`` reads a
calendar (parts, time zones, events) and ``importers.bookings.ics_trips`` finds the trips.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from pathlib import Path

from importers.bookings.ics_events import Event, Unreadable, decode, events_in, read_event
from importers.bookings.ics_trips import classify
from importers.files import (
    LongLine,
    capped_lines,
    file_checkpoint,
    long_line_reason,
    named_as,
    open_source,
    peek,
)
from vault.errors import InputError, MalformedInput
from vault.records import (
    Attachment,
    Booking,
    CompanyHints,
    Direction,
    ImportOptions,
    Interaction,
    Item,
    Quarantined,
)

SUFFIXES = (".ics", ".ical", ".icalendar", ".ifb", ".vcs")
MIMES = ("text/calendar", "application/ics")
MAX_CALENDAR_BYTES = 200 * 1024 * 1024
MAX_LINE_BYTES = 4 * 1024 * 1024
"""A calendar line longer than this is left out, quarantined with the reason: lines are folded
at 75 bytes, and only an inline attachment left unfolded comes near it."""
_SNIFF_BYTES = 4096


# --- events to interactions ----------------------------------------------------------------------


def dedup_key(event: Event, file_hash: str, ordinal: int) -> str:
    """UID + RECURRENCE-ID + DTSTART; an event without UID is known by its file and place.

    A revision (RFC 5546: a higher SEQUENCE) and a cancellation are new contacts about the
    same event, so they count too: otherwise a cancelled reservation would be a "duplicate"
    of its confirmation and never cancel the booking.
    """
    identity = event.uid if event.uid else f"file:{file_hash}:{ordinal}"
    parts = [identity, event.recurrence_id or "", event.start.isoformat()]
    if event.sequence:
        parts.append(f"sequence={event.sequence}")
    if event.cancelled:
        parts.append("cancelled")
    return "ics:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


def _body(event: Event) -> str:
    lines = [event.description] if event.description else []
    if event.location:
        lines.append(f"Location: {event.location}")
    when = f"{event.start:%Y-%m-%d}" if event.all_day else event.start.isoformat(" ", "minutes")
    if event.end and not event.all_day:
        when += f" – {event.end.isoformat(' ', 'minutes')}"
    lines.append(f"When: {when}")
    if event.organizer:
        lines.append(f"Organizer: {event.organizer.display()}")
    return "\n".join(lines)


def event_interaction(
    event: Event, raw: bytes, source_ref: str, key: str, options: ImportOptions
) -> Interaction:
    """The interaction of one event: a ``booking`` for a trip, else a ``note``."""
    organizer = event.organizer
    direction: Direction = "system"  # the user's own entry, with no one on the other side
    if organizer is not None and options.is_me(organizer):
        direction = "out"
    elif organizer is not None or event.kind is not None:
        direction = "in"
    return Interaction(
        channel="booking" if event.kind else "note",
        direction=direction,
        occurred_at=event.start,
        tz_known=event.tz_known,
        title=event.summary or "(no title)",
        body=_body(event),
        source_ref=source_ref,
        dedup_key=key,
        sender=organizer,
        recipients=event.attendees,
        raw=raw,
        bookings=event.bookings,
        hints=CompanyHints(
            organisation=event.provider if organizer is None else None,
            domains=[event.uid.rpartition("@")[2]]
            if organizer is None and event.uid and "@" in event.uid
            else [],
        ),
        extras=event.extras,
    )


def items_of(raw: bytes, source_ref: str, options: ImportOptions) -> Iterator[Item]:
    """The interactions of a calendar's events; a part that cannot be read is quarantined.

    Never raises for a broken event: calendars are untrusted input from anyone.
    """
    file_hash = hashlib.sha256(raw).hexdigest()
    for ordinal, entry in enumerate(events_in(decode(raw), options.timezone), start=1):
        ref = f"{source_ref}#event{ordinal}"
        if isinstance(entry, Unreadable):
            yield Quarantined(ref, entry.text.encode("utf-8", "replace"), entry.reason)
            continue
        component, context, event_raw = entry
        try:
            event = read_event(component, context)
            classify(component, event, context)
            yield event_interaction(
                event, event_raw, ref, dedup_key(event, file_hash, ordinal), options
            )
        except Exception as exc:  # one broken event must not stop the file
            yield Quarantined(ref, event_raw, f"cannot read calendar event: {exc}"[:300])


def bookings_in_calendar(raw: bytes, fallback: tzinfo) -> list[Booking]:
    """The bookings of a calendar's events (for mail attachments: invitations, tickets)."""
    found: list[Booking] = []
    for entry in events_in(decode(raw), fallback):
        if isinstance(entry, Unreadable):
            continue
        component, context, _ = entry
        try:
            event = read_event(component, context)
            classify(component, event, context)
        except Exception:  # noqa: S112 — a broken event in a mail gives no booking
            continue
        found.extend(event.bookings)
    return found


def is_calendar(attachment: Attachment) -> bool:
    """An attachment that is an iCalendar file, by type or name."""
    mime = attachment.mime.split(";")[0].strip().casefold()
    return mime in MIMES or attachment.filename.casefold().endswith(SUFFIXES)


def bookings_in_attachments(attachments: Iterable[Attachment], fallback: tzinfo) -> list[Booking]:
    """The bookings of every calendar attached to a mail; ``fallback`` zones floating times."""
    return [
        booking
        for attachment in attachments
        if is_calendar(attachment)
        for booking in bookings_in_calendar(attachment.data, fallback)
    ]


# --- the importer protocol -----------------------------------------------------------------------


def sniff(path: Path) -> bool:
    """A calendar file: by suffix, or a text file that starts with BEGIN:VCALENDAR."""
    named = named_as(path, SUFFIXES)
    if named is not None:
        return named
    head = peek(path, _SNIFF_BYTES)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR")


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Every event of a calendar file, then a checkpoint; a line over ``MAX_LINE_BYTES`` is
    left out and quarantined with the reason.

    Raises:
        InputError: the file cannot be read, is not a regular file or is too big.
        MalformedInput: the file holds no calendar at all.
    """
    kept: list[bytes] = []
    cut: list[Quarantined] = []
    with open_source(path) as handle:
        try:
            for number, line in enumerate(
                capped_lines(handle, MAX_CALENDAR_BYTES, path, MAX_LINE_BYTES), 1
            ):
                if isinstance(line, LongLine):
                    reason = long_line_reason(number, line, MAX_LINE_BYTES)
                    cut.append(Quarantined(f"{path}#line={number}", line.head, reason))
                else:
                    kept.append(line)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    raw = b"".join(kept)
    if b"BEGIN:VCALENDAR" not in raw.upper() and b"BEGIN:VEVENT" not in raw.upper():
        raise MalformedInput(f"{path}: not an iCalendar file (no BEGIN:VCALENDAR)")
    yield from cut
    yield from items_of(raw, str(path), options)
    yield file_checkpoint(path)
