"""Apple Wallet passes (``.pkpass``, ``--format pkpass``): boarding passes, tickets, cards.

A pass is a zip holding ``pass.json`` and, optionally, images, ``<lang>.lproj/pass.strings``
translations, a manifest and a signature. kluis reads only ``pass.json`` and the strings: an
unsigned pass is as much the user's record as a signed one.

Where the facts come from, best first: Apple's ``semantics`` tags (iOS 12+), the IATA barcode
of a boarding pass (``importers.bookings.bcbp``), then the visible fields by their keys.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from importers.archive import member_names
from importers.bookings import bcbp
from importers.bookings.document import booking_interaction, read_document
from importers.bookings.markup import loads_leniently
from importers.bookings.schemaorg import parse_time, segment_key
from importers.files import file_checkpoint
from vault.errors import MalformedInput
from vault.records import (
    Attachment,
    Booking,
    BookingKind,
    CompanyHints,
    ImportOptions,
    Interaction,
    Item,
    Place,
    content_key,
)

SUFFIX = ".pkpass"
MIME = "application/vnd.apple.pkpass"
MAX_PASS_JSON_BYTES = 1024 * 1024
PREFERRED_LANGUAGES = ("en", "base")
_STYLES = ("boardingPass", "eventTicket", "storeCard", "coupon", "generic")
_FIELD_GROUPS = (
    "headerFields",
    "primaryFields",
    "secondaryFields",
    "auxiliaryFields",
    "backFields",
)
_TRANSIT: dict[str, BookingKind] = {
    "PKTransitTypeAir": "flight",
    "PKTransitTypeTrain": "train",
    "PKTransitTypeBus": "bus",
    "PKTransitTypeBoat": "boat",
}
_STRING_ENTRY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=\s*"((?:[^"\\]|\\.)*)"\s*;')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
# Field keys that passes use for the same fact (Lufthansa "origin", SWISS "depart", …).
_KEYS = {
    "origin": ("origin", "depart", "departure", "from", "departureairport", "fromstation"),
    "destination": ("destination", "dest", "arrival", "to", "arrivalairport", "tostation"),
    "seat": ("seat", "seatnumber", "seats"),
    "number": ("flight", "flightnumber", "flightno", "train", "trainnumber"),
    "passenger": ("passenger", "passengername", "name", "traveller", "traveler"),
    "reference": ("pnr", "bookingreference", "booking", "reference", "confirmation", "bookingcode"),
}


@dataclass(slots=True)
class Pass:
    """What kluis reads from a pass: ``pass.json`` and its strings in one language."""

    data: dict[str, Any]
    raw: bytes
    strings: dict[str, str] = field(default_factory=dict)

    @property
    def style(self) -> str:
        """``boardingPass``, ``eventTicket``, ``storeCard``, ``coupon`` or ``generic``."""
        return next((s for s in _STYLES if isinstance(self.data.get(s), dict)), "generic")

    @property
    def semantics(self) -> dict[str, Any]:
        """Apple's semantic tags, empty if the pass has none."""
        found = self.data.get("semantics")
        return found if isinstance(found, dict) else {}

    def text(self, value: Any) -> str:
        """A value as shown: localized when it is a key of the strings, numbers as written."""
        if value is None or isinstance(value, dict | list):
            return ""
        text = str(value).strip()
        return self.strings.get(text, text)

    def fields(self) -> list[tuple[str, str, str]]:
        """(key, label, value) of every visible field, front to back."""
        body = self.data.get(self.style)
        found = []
        for group in _FIELD_GROUPS:
            entries = body.get(group) if isinstance(body, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    value = self.text(entry.get("value"))
                    if value:
                        key = str(entry.get("key") or "")
                        found.append((key, self.text(entry.get("label")), value))
        return found

    def field(self, fact: str) -> str | None:
        """The value of the first field whose key names ``fact`` (see ``_KEYS``)."""
        wanted = _KEYS[fact]
        for key, _label, value in self.fields():
            if re.sub(r"[^a-z]", "", key.casefold()) in wanted:
                return value
        return None

    def barcode_messages(self) -> list[str]:
        """The messages of the pass's barcodes (``barcodes`` since iOS 9, else ``barcode``)."""
        codes = self.data.get("barcodes")
        entries = codes if isinstance(codes, list) else [self.data.get("barcode")]
        return [
            str(code["message"])
            for code in entries
            if isinstance(code, dict) and isinstance(code.get("message"), str)
        ]

    def date(self, *names: str) -> datetime | None:
        """The first of the pass's top-level dates ``names`` that parses."""
        for name in names:
            found = parse_time(self.data.get(name))
            if found is not None and found.tzinfo is not None:
                return found
        return None


def open_pass(data: bytes) -> Pass:
    """The pass in a ``.pkpass`` zip's bytes.

    Raises:
        MalformedInput: not a zip, no readable ``pass.json``, or it is not a JSON object.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            raw = _member(archive, "pass.json")
            if raw is None:
                raise MalformedInput("not a wallet pass: no pass.json in it")
            strings = _strings(archive)
    # ValueError: a central directory that points before the file's start ("negative seek");
    # RuntimeError, NotImplementedError, zlib.error: encrypted, or an unknown or broken codec.
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        raise MalformedInput(f"not a readable wallet pass ({exc})") from None
    text = raw.decode("utf-8-sig", "replace")
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past the stack
        parsed = loads_leniently(text)  # passes made by hand carry trailing commas
    if not isinstance(parsed, dict):
        raise MalformedInput("not a wallet pass: pass.json is not a JSON object")
    return Pass(parsed, raw, strings)


def _member(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """A small member of the zip by name (at the top, or in the one folder some tools add)."""
    for info in archive.infolist():
        if info.filename == name or info.filename.endswith("/" + name):
            if info.file_size > MAX_PASS_JSON_BYTES:
                raise MalformedInput(f"{name} is too big for a wallet pass")
            return archive.read(info)
    return None


def _strings(archive: zipfile.ZipFile) -> dict[str, str]:
    """The translations of one language: English if there, else the first one."""
    found = {
        info.filename.split("/")[-2].removesuffix(".lproj").casefold(): info
        for info in archive.infolist()
        if info.filename.endswith(".lproj/pass.strings") and info.file_size <= MAX_PASS_JSON_BYTES
    }
    if not found:
        return {}
    language = next((lang for lang in PREFERRED_LANGUAGES if lang in found), sorted(found)[0])
    return parse_strings(archive.read(found[language]))


def parse_strings(raw: bytes) -> dict[str, str]:
    """A ``pass.strings`` file (UTF-16 with a BOM, as Apple writes it, or UTF-8)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", "replace")
    else:
        text = raw.decode("utf-8-sig", "replace")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return {_unescape(k): _unescape(v) for k, v in _STRING_ENTRY.findall(text)}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def pass_bookings(wallet: Pass, context: datetime, fallback: tzinfo) -> list[Booking]:
    """The bookings a pass stands for: one per flight leg, one per ticket; none for cards.

    Args:
        wallet: the opened pass.
        context: when the pass was received or imported, for a barcode's missing year when
            the pass gives no date of its own.
        fallback: the zone of times that have none.
    """
    provider = wallet.text(wallet.data.get("organizationName")) or None
    if wallet.style == "eventTicket":
        bookings = [_event(wallet, fallback)]
    elif wallet.style == "boardingPass":
        body = wallet.data["boardingPass"]
        kind = _TRANSIT.get(str(body.get("transitType") or ""))
        bookings = _journey(wallet, kind, context, fallback) if kind else []
    else:
        bookings = []
    for booking in bookings:
        booking.provider = booking.provider or provider
    return bookings


def _event(wallet: Pass, fallback: tzinfo) -> Booking:
    """An event ticket: dates and venue from the semantics, else the relevant date."""
    tags = wallet.semantics
    start_info = tags.get("eventStartDateInfo")
    start = (
        parse_time(tags.get("eventStartDate"), fallback)
        or parse_time(start_info.get("date") if isinstance(start_info, dict) else None, fallback)
        or wallet.date("relevantDate")
    )
    venue = wallet.text(tags.get("venueName")) or wallet.field("origin")
    details = {
        "event": wallet.text(tags.get("eventName")) or wallet.text(wallet.data.get("description")),
        "serialNumber": wallet.text(wallet.data.get("serialNumber")),
        "ticketToken": next(iter(wallet.barcode_messages()), ""),
        "seats": _seats(tags.get("seats")),
    }
    destination = Place(name=venue) if venue else None
    return Booking(
        kind="event",
        reference=wallet.text(tags.get("confirmationNumber")) or wallet.field("reference"),
        segment=segment_key(None, start, destination),
        start=start,
        end=parse_time(tags.get("eventEndDate"), fallback),
        destination=destination,
        seat=_seats(tags.get("seats")) or wallet.field("seat"),
        details={k: v for k, v in details.items() if v},
    )


def _seats(value: Any) -> str | None:
    """Apple's ``seats`` semantic tag as one line: ``section 1, row 2, seat 3``."""
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        return None
    seat = value[0]
    parts = [
        f"{label} {seat[key]}"
        for key, label in (("seatSection", "section"), ("seatRow", "row"), ("seatNumber", "seat"))
        if seat.get(key)
    ]
    return ", ".join(parts) or None


def _journey(wallet: Pass, kind: BookingKind, context: datetime, fallback: tzinfo) -> list[Booking]:
    """A boarding pass: its barcode's legs, completed by the semantics and the fields."""
    legs = _barcode_legs(wallet, context, fallback) if kind == "flight" else []
    tags = wallet.semantics
    if not legs:
        legs = [_fields_leg(wallet, kind, fallback)]
    if len(legs) == 1:
        _apply_semantics(legs[0], tags, fallback)
    return legs


def _barcode_legs(wallet: Pass, context: datetime, fallback: tzinfo) -> list[Booking]:
    """The flights of the pass's IATA barcode, the year taken from the pass's own dates."""
    own = wallet.date("relevantDate", "expirationDate")
    for message in wallet.barcode_messages():
        if not bcbp.looks_like_bcbp(message):
            continue
        try:
            boarding_pass = bcbp.parse(message)
        except MalformedInput:
            continue
        year_from = own or context
        return bcbp.leg_bookings(
            boarding_pass, year_from.date(), fallback, year_known=own is not None
        )
    return []


def _fields_leg(wallet: Pass, kind: BookingKind, fallback: tzinfo) -> Booking:
    """A journey from the visible fields, for passes without a readable barcode."""
    origin = _place(wallet.field("origin"))
    number = wallet.field("number")
    start = wallet.date("relevantDate")
    passenger = wallet.field("passenger")
    return Booking(
        kind=kind,
        reference=wallet.field("reference"),
        number=number.replace(" ", "") if number else None,
        segment=segment_key(number, start, origin),
        start=start,
        origin=origin,
        destination=_place(wallet.field("destination")),
        travellers=[passenger] if passenger else [],
        seat=wallet.field("seat"),
    )


def _place(text: str | None) -> Place | None:
    """A field value as a place: three capitals are a code, anything else a name."""
    if not text:
        return None
    return Place(code=text) if re.fullmatch(r"[A-Z]{3}", text) else Place(name=text)


def _apply_semantics(booking: Booking, tags: dict[str, Any], fallback: tzinfo) -> None:
    """Fill and correct a journey from Apple's semantic tags, which are meant for machines."""
    start = parse_time(tags.get("currentDepartureDate") or tags.get("originalDepartureDate"))
    end = parse_time(tags.get("currentArrivalDate") or tags.get("originalArrivalDate"))
    if start is not None and start.tzinfo is not None:
        booking.start = start
        booking.details.pop("date_only", None)
    if end is not None and end.tzinfo is not None:
        booking.end = end
    code = tags.get("departureAirportCode") or tags.get("departureStationName")
    if isinstance(code, str) and code.strip():
        booking.origin = _place(code.strip())
    code = tags.get("destinationAirportCode") or tags.get("destinationStationName")
    if isinstance(code, str) and code.strip():
        booking.destination = _place(code.strip())
    number = tags.get("flightCode") or tags.get("vehicleNumber")
    if number is None and tags.get("flightNumber") and tags.get("airlineCode"):
        number = f"{tags['airlineCode']}{tags['flightNumber']}"
    if number:
        booking.number = str(number).replace(" ", "")
    if isinstance(tags.get("confirmationNumber"), str):
        booking.reference = tags["confirmationNumber"].strip() or booking.reference
    booking.seat = _seats(tags.get("seats")) or booking.seat
    booking.segment = segment_key(booking.number, booking.start, booking.origin)


def pass_interaction(
    data: bytes, source_ref: str, options: ImportOptions, received: datetime
) -> Interaction:
    """One interaction for a pass: ``booking`` for a ticket or boarding pass, else ``note``.

    Raises:
        MalformedInput: the bytes are not a readable pass.
    """
    wallet = open_pass(data)
    bookings = pass_bookings(wallet, received, options.timezone)
    body = "\n".join(_body_lines(wallet))
    organisation = wallet.text(wallet.data.get("organizationName")) or None
    if bookings:
        item = booking_interaction(bookings, data, source_ref, received.timestamp())
        event_name = bookings[0].details.get("event")
        if bookings[0].kind == "event" and event_name:
            item.title = f"{event_name} — {item.title}"
        item.body = "\n".join(filter(None, [item.body, body]))
        item.dedup_key = content_key(wallet.raw)
        item.hints = CompanyHints(organisation=organisation)
        return item
    when = wallet.date("relevantDate")
    return Interaction(
        channel="note",
        direction="in",
        occurred_at=when or received,
        tz_known=when is not None,
        title=wallet.text(wallet.data.get("description"))
        or wallet.text(wallet.data.get("logoText"))
        or organisation
        or "Wallet pass",
        body=body,
        source_ref=source_ref,
        dedup_key=content_key(wallet.raw),
        raw=data,
        hints=CompanyHints(organisation=organisation),
        extras={"pass_style": wallet.style},
    )


def _body_lines(wallet: Pass) -> Iterator[str]:
    """What the pass shows, for reading and search: its description and fields, each once."""
    seen: set[str] = set()
    lines = [wallet.text(wallet.data.get(name)) for name in ("description", "logoText")]
    lines += [f"{label}: {value}" if label else value for _key, label, value in wallet.fields()]
    for line in lines:
        if line and line not in seen:
            seen.add(line)
            yield line


def bookings_in_attachments(
    attachments: list[Attachment], timezone: tzinfo, received: datetime
) -> list[Booking]:
    """The bookings of every wallet pass attached to a mail; unreadable passes give none."""
    found: list[Booking] = []
    for attachment in attachments:
        if attachment.mime != MIME and not attachment.filename.casefold().endswith(SUFFIX):
            continue
        try:
            found.extend(pass_bookings(open_pass(attachment.data), received, timezone))
        except MalformedInput:
            continue
    return found


def sniff(path: Path) -> bool:
    """A ``.pkpass`` file, or a zip with ``pass.json`` at its top."""
    try:
        if not path.is_file():
            return False
        if path.suffix.casefold() == SUFFIX:
            return True
    except OSError:
        return False
    return "pass.json" in member_names(path)


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The pass as one interaction.

    Raises:
        MalformedInput: the file is not a readable pass.
    """
    raw = read_document(path)
    stat = path.stat()
    received = datetime.fromtimestamp(stat.st_mtime, UTC)
    try:
        yield pass_interaction(raw, str(path), options, received)
    except MalformedInput as exc:
        raise MalformedInput(f"{path}: {exc}") from None
    yield file_checkpoint(path)
