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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importers.archive import member_names
from importers.bookings import bcbp
from importers.bookings.airports import airport_zone, at_airport
from importers.bookings.document import booking_interaction, read_document
from importers.bookings.markup import loads_leniently
from importers.bookings.schemaorg import segment_key
from importers.bookings.times import When, day_of, local_on, parse_instant, parse_when
from importers.files import file_checkpoint, named_as
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
    Quarantined,
    content_key,
)

SUFFIXES = (".pkpass", ".pkpasses")
MIMES = ("application/vnd.apple.pkpass", "application/vnd.apple.pkpasses")
MAX_PASS_JSON_BYTES = 1024 * 1024
MAX_BUNDLE_PASSES = 50
"""A ``.pkpasses`` bundle (iOS 15+: several passes in one file, e.g. every leg of a trip)."""
MAX_BUNDLE_BYTES = 20 * 1024 * 1024
"""All passes of a bundle together, unpacked (a pass is some kilobytes of JSON and images)."""
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
    "passenger": ("passenger", "passengername", "name", "traveller", "traveler", "guest"),
    "reference": ("pnr", "bookingreference", "booking", "reference", "confirmation", "bookingcode"),
    "boarding": ("boarding", "boardingtime", "boards", "board"),
    "checkin": ("checkin", "checkindate", "arrival", "arrivaldate"),
    "checkout": ("checkout", "checkoutdate", "departure", "departuredate"),
    "hotel": ("hotel", "hotelname", "property"),
    "room": ("room", "roomnumber", "roomtype"),
    "operator": ("operatingcarrier", "operatedby", "operator", "operated"),
}
# Field keys carry the group they sit in on some passes (airBaltic "aux_boarding").
_GROUP_PREFIX = re.compile(r"^(?:prim(?:ary)?|sec(?:ondary)?|aux(?:iliary)?|header|back)")
_LODGING = re.compile(
    r"\b(?:hotels?|hostels?|motel|resort|inn|b&b|airbnb|lodge|pension|herberg|h[ôo]tel)\b", re.I
)
_SEAT_PARTS = ("seatSection", "seatRow", "seatNumber", "seatIdentifier")


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
            plain = re.sub(r"[^a-z]", "", key.casefold())
            if plain in wanted or _GROUP_PREFIX.sub("", plain) in wanted:
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
        """The first of the pass's top-level dates ``names`` that parses (with its offset)."""
        for name in names:
            found = parse_instant(self.data.get(name))
            if found is not None:
                return found
        return None


# ValueError: a central directory that points before the file's start ("negative seek");
# RuntimeError, NotImplementedError, zlib.error: encrypted, or an unknown or broken codec.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    zlib.error,
)


def passes_in(data: bytes) -> list[tuple[str, bytes]]:
    """(member name, bytes) of each pass in a ``.pkpass`` (one, named "") or in a
    ``.pkpasses`` bundle (a zip of passes).

    Raises:
        MalformedInput: not a zip, or a zip holding neither ``pass.json`` nor passes.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if any(i.filename.rsplit("/", 1)[-1] == "pass.json" for i in infos):
                return [("", data)]
            members = [i for i in infos if i.filename.casefold().endswith(".pkpass")]
            if not members:
                raise MalformedInput("not a wallet pass: no pass.json in it")
            if len(members) > MAX_BUNDLE_PASSES:
                raise MalformedInput(f"a bundle of {len(members)} passes is too many")
            if sum(i.file_size for i in members) > MAX_BUNDLE_BYTES:
                raise MalformedInput("the passes in the bundle are too big for wallet passes")
            return [(i.filename, archive.read(i)) for i in members]
    except _ZIP_ERRORS as exc:
        raise MalformedInput(f"not a readable wallet pass ({exc})") from None


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
    except _ZIP_ERRORS as exc:
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


def pass_bookings(wallet: Pass, context: datetime) -> list[Booking]:
    """The bookings a pass stands for: one per flight leg, one per ticket or stay; none for
    cards.

    Args:
        wallet: the opened pass.
        context: when the pass was received (the mail's or the file's date), for a barcode's
            missing year when the pass gives no date of its own.
    """
    provider = wallet.text(wallet.data.get("organizationName")) or None
    if wallet.style == "boardingPass":
        body = wallet.data["boardingPass"]
        kind = _TRANSIT.get(str(body.get("transitType") or ""))
        bookings = _journey(wallet, kind, context) if kind else []
    elif _is_stay(wallet):
        bookings = [_stay(wallet)]
    elif wallet.style == "eventTicket":
        bookings = [_event(wallet)]
    else:
        bookings = []
    for booking in bookings:
        booking.provider = booking.provider or provider
    return bookings


def _is_stay(wallet: Pass) -> bool:
    """A hotel's pass (a room key, a stay), whatever style it was made in: the issuer names a
    hotel, or the pass has both a check-in and a check-out."""
    names = " ".join(
        wallet.text(wallet.data.get(k)) for k in ("organizationName", "description", "logoText")
    )
    keys = {re.sub(r"[^a-z]", "", f"{key} {label}".casefold()) for key, label, _ in wallet.fields()}
    has_in = any("checkin" in k for k in keys)
    has_out = any("checkout" in k for k in keys)
    return bool(_LODGING.search(names)) or (has_in and has_out)


def _stay(wallet: Pass) -> Booking:
    """A stay: check-in and check-out from the fields (Wallet dates are ISO 8601)."""
    hotel = wallet.field("hotel") or wallet.text(wallet.data.get("organizationName")) or None
    guest = wallet.field("passenger")
    start = parse_when(wallet.field("checkin")) or wallet.date("relevantDate")
    destination = Place(name=hotel) if hotel else None
    return Booking(
        kind="lodging",
        reference=wallet.text(wallet.semantics.get("confirmationNumber"))
        or wallet.field("reference"),
        segment=segment_key(None, start, destination),
        start=start,
        end=parse_when(wallet.field("checkout")),
        destination=destination,
        travellers=[guest] if guest else [],
        details={"room": wallet.field("room")} if wallet.field("room") else {},
    )


def _event(wallet: Pass) -> Booking:
    """An event ticket: dates and venue from the semantics, else the relevant date."""
    tags = wallet.semantics
    start_info = tags.get("eventStartDateInfo")
    start = (
        parse_when(tags.get("eventStartDate"))
        or parse_when(start_info.get("date") if isinstance(start_info, dict) else None)
        or wallet.date("relevantDate")
    )
    venue = wallet.text(tags.get("venueName")) or wallet.field("origin")
    seat = _seats(tags.get("seats"), transit=False)
    details = {
        "event": wallet.text(tags.get("eventName")) or wallet.text(wallet.data.get("description")),
        "serialNumber": wallet.text(wallet.data.get("serialNumber")),
        "ticketToken": next(iter(wallet.barcode_messages()), ""),
    }
    destination = Place(name=venue) if venue else None
    return Booking(
        kind="event",
        reference=wallet.text(tags.get("confirmationNumber")) or wallet.field("reference"),
        segment=segment_key(None, start, destination),
        start=start,
        end=parse_when(tags.get("eventEndDate")),
        destination=destination,
        seat=seat or wallet.field("seat"),
        details={k: v for k, v in details.items() if v},
    )


def _seats(value: Any, *, transit: bool) -> str | None:
    """Apple's ``seats`` semantic tag as people write it: ``52C`` on a plane or train (row and
    letter), ``section 1 · row 2 · seat 3`` in a hall; several seats joined with ", "."""
    if not isinstance(value, list):
        return None
    written = []
    for seat in value:
        if not isinstance(seat, dict):
            continue
        parts = {k: str(seat[k]).strip() for k in _SEAT_PARTS if str(seat.get(k) or "").strip()}
        if transit and parts.get("seatNumber"):
            number = parts["seatNumber"]
            row = parts.get("seatRow", "")
            written.append(number if number.startswith(row) else f"{row}{number}")
        elif parts.get("seatIdentifier"):
            written.append(parts["seatIdentifier"])
        else:
            labels = (("seatSection", "section"), ("seatRow", "row"), ("seatNumber", "seat"))
            line = " · ".join(f"{label} {parts[key]}" for key, label in labels if key in parts)
            if line:
                written.append(line)
    return ", ".join(written) or None


def _journey(wallet: Pass, kind: BookingKind, context: datetime) -> list[Booking]:
    """A boarding pass: its barcode's legs, completed by the semantics and the fields."""
    legs = _barcode_legs(wallet, context) if kind == "flight" else []
    if not legs:
        legs = [_fields_leg(wallet, kind)]
    if len(legs) == 1:
        _apply_semantics(legs[0], wallet.semantics)
        _apply_boarding(legs[0], wallet)
        legs[0].provider = wallet.field("operator")  # "operated by Germanwings"
    return legs


def _barcode_legs(wallet: Pass, context: datetime) -> list[Booking]:
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
        return bcbp.leg_bookings(boarding_pass, year_from.date(), year_known=own is not None)
    return []


def _fields_leg(wallet: Pass, kind: BookingKind) -> Booking:
    """A journey from the visible fields, for passes without a readable barcode: its day is
    the relevant date's day at the place of departure."""
    origin = _place(wallet.field("origin"))
    number = wallet.field("number")
    relevant = wallet.date("relevantDate")
    at_origin = at_airport(relevant, origin.code if origin else None)
    start = day_of(at_origin) if at_origin else None
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


def _apply_semantics(booking: Booking, tags: dict[str, Any]) -> None:
    """Fill and correct a journey from Apple's semantic tags, which are meant for machines."""
    code = tags.get("departureAirportCode") or tags.get("departureStationName")
    if isinstance(code, str) and code.strip():
        booking.origin = _place(code.strip())
    code = tags.get("destinationAirportCode") or tags.get("destinationStationName")
    if isinstance(code, str) and code.strip():
        booking.destination = _place(code.strip())
    origin = booking.origin.code if booking.origin else None
    destination = booking.destination.code if booking.destination else None
    start = parse_instant(tags.get("currentDepartureDate") or tags.get("originalDepartureDate"))
    end = parse_instant(tags.get("currentArrivalDate") or tags.get("originalArrivalDate"))
    if start is not None:
        booking.start = at_airport(start, origin)
    if end is not None:
        booking.end = at_airport(end, destination)
    number = tags.get("flightCode") or tags.get("vehicleNumber")
    if number is None and tags.get("flightNumber") and tags.get("airlineCode"):
        number = f"{tags['airlineCode']}{tags['flightNumber']}"
    if number:
        booking.number = str(number).replace(" ", "")
    if isinstance(tags.get("confirmationNumber"), str):
        booking.reference = tags["confirmationNumber"].strip() or booking.reference
    booking.seat = _seats(tags.get("seats"), transit=True) or booking.seat
    boarding = parse_instant(tags.get("currentBoardingDate") or tags.get("originalBoardingDate"))
    if boarding is not None:
        booking.details["boarding"] = _iso(at_airport(boarding, origin))
    booking.segment = segment_key(booking.number, booking.start, booking.origin)


def _apply_boarding(booking: Booking, wallet: Pass) -> None:
    """When to be at the gate, unless the semantics said: the pass's boarding-time field on
    the day of departure, read at the place of departure, else its relevant date."""
    if "boarding" in booking.details:
        return
    origin = booking.origin.code if booking.origin else None
    clock = wallet.field("boarding")
    boarding: When | None = None
    if clock and booking.start is not None:
        boarding = local_on(day_of(booking.start), clock, airport_zone(origin))
    boarding = boarding or at_airport(wallet.date("relevantDate"), origin)
    if boarding is not None:
        booking.details["boarding"] = _iso(boarding)


def _iso(when: When | None) -> str | None:
    return when.isoformat() if when is not None else None


def pass_interaction(
    data: bytes, source_ref: str, options: ImportOptions, received: datetime
) -> Interaction:
    """One interaction for a pass: ``booking`` for a ticket or boarding pass, else ``note``.

    Raises:
        MalformedInput: the bytes are not a readable pass.
    """
    wallet = open_pass(data)
    bookings = pass_bookings(wallet, received)
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


def bookings_in_attachments(attachments: list[Attachment], received: datetime) -> list[Booking]:
    """The bookings of every wallet pass (or bundle of passes) attached to a mail; unreadable
    passes give none."""
    found: list[Booking] = []
    for attachment in attachments:
        name = attachment.filename.casefold()
        if attachment.mime not in MIMES and not name.endswith(SUFFIXES):
            continue
        try:
            for _member, data in passes_in(attachment.data):
                found.extend(pass_bookings(open_pass(data), received))
        except MalformedInput:
            continue
    return found


def sniff(path: Path) -> bool:
    """A ``.pkpass`` or ``.pkpasses`` file, or a zip with ``pass.json`` at its top."""
    named = named_as(path, SUFFIXES)
    if named is not None:
        return named
    return "pass.json" in member_names(path)


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The pass as one interaction; each pass of a bundle as one (a broken one quarantined).

    Raises:
        MalformedInput: the file is not a readable pass or bundle.
    """
    raw = read_document(path)
    stat = path.stat()
    received = datetime.fromtimestamp(stat.st_mtime, UTC)
    try:
        passes = passes_in(raw)
    except MalformedInput as exc:
        raise MalformedInput(f"{path}: {exc}") from None
    for member, data in passes:
        source_ref = f"{path}#{member}" if member else str(path)
        try:
            yield pass_interaction(data, source_ref, options, received)
        except MalformedInput as exc:
            if not member:
                raise MalformedInput(f"{path}: {exc}") from None
            yield Quarantined(source_ref, data, str(exc))
    yield file_checkpoint(path)
