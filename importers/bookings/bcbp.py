"""IATA Bar Coded Boarding Passes (Resolution 792), as text (``--format bcbp``) and in passes.

Layout of a barcode string (``M``, one to four legs, then optional security data)::

    M 2 NAME/GIVEN(20) E | PNR(7) FROM(3) TO(3) CARRIER(3) FLIGHT(5) DAY(3) CLASS(1) SEAT(4)
    SEQUENCE(5) STATUS(1) SIZE(2 hex) | variable field of SIZE chars | next leg ... | ^ security

The variable field of the first leg holds ``>``, the version, and a unique conditional section
(with the issue date) before the leg's repeated conditional section (ticket number, marketing
carrier, frequent flyer); later legs hold only a repeated section. Whatever follows those
sections, up to SIZE, is for the airline's own use. Every section is read by its declared size,
so an unknown version or airline data is skipped, never misread.

The barcode has no year and no time: the flight day is a day of the year, resolved against a
date from context (the pass's relevant date, the mail's date, the file's date), and the booking
starts on that day, with no time made up for it.

Airlines cut barcodes short on booking confirmations (Brussels Airlines): a single leg that
ends after its day of flight, or after the compartment, still names the flight, and is read
with the missing items blank.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from importers.bookings.document import booking_interaction, read_document
from importers.bookings.schemaorg import segment_key
from importers.files import file_checkpoint, read_source
from vault.errors import InputError, MalformedInput
from vault.records import Booking, ImportOptions, Item, Place

MAX_BARCODE_CHARS = 4096
SUFFIXES = ("", ".txt", ".bcbp")
_HEADER = 23  # format code, leg count, passenger name, e-ticket indicator
_LEG = 37  # the mandatory items repeated per leg, up to and including the field size
_LEG_DAY = 24  # a leg's items up to and including the day of flight
_AIRPORT = re.compile(r"[A-Z]{3}")
_CARRIER = re.compile(r"[A-Z0-9]{2,3}")
_FLIGHT = re.compile(r"0*(\d{1,4})([A-Z]?)")
_DAY = re.compile(r"\d{1,3}")
_SEAT = re.compile(r"0*(\d{0,3}[A-Z]?)|INF|GATE|STBY")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_TITLES = re.compile(r"\s+(?:MR|MRS|MS|MISS|MSTR|DR|PROF)$")
# Sizes of the unique (first leg) and repeated conditional items, in order (Resolution 792).
_UNIQUE_ITEMS = (
    ("passenger_description", 1),
    ("checkin_source", 1),
    ("issue_source", 1),
    ("issue_date", 4),
    ("document_type", 1),
    ("issuer", 3),
)
_REPEATED_ITEMS = (
    ("airline_code", 3),
    ("document_number", 10),
    ("selectee", 1),
    ("document_verification", 1),
    ("marketing_carrier", 3),
    ("frequent_flyer_airline", 3),
    ("frequent_flyer_number", 16),
)


@dataclass(frozen=True, slots=True)
class Leg:
    """One flight of a boarding pass, its mandatory items cleaned of padding."""

    pnr: str
    origin: str
    destination: str
    carrier: str
    flight: str
    day_of_year: int
    compartment: str
    seat: str
    sequence: str
    passenger_status: str
    conditional: dict[str, str] = field(default_factory=dict)

    @property
    def number(self) -> str:
        """The flight as people write it: ``AC834`` (carrier as encoded, no leading zeros)."""
        return f"{self.carrier}{self.flight}"


@dataclass(frozen=True, slots=True)
class BoardingPass:
    """A decoded barcode: the passenger, the legs and the pass-wide conditional items."""

    passenger: str
    electronic_ticket: bool
    legs: tuple[Leg, ...]
    version: str | None = None
    unique: dict[str, str] = field(default_factory=dict)
    has_security_data: bool = False

    @property
    def traveller(self) -> str:
        """The passenger as a person reads it: ``DESMARAIS/LUC`` → ``Luc Desmarais``."""
        surname, _, given = self.passenger.partition("/")
        given = _TITLES.sub("", given.strip())
        return " ".join(p.title() for p in (given, surname.strip()) if p) or self.passenger

    def issue_date(self) -> tuple[int, int] | None:
        """(last digit of the year, day of the year) the pass was issued, if encoded."""
        raw = self.unique.get("issue_date", "").strip()
        if len(raw) != 4 or not raw.isdigit() or not 1 <= int(raw[1:]) <= 366:
            return None
        return int(raw[0]), int(raw[1:])


def looks_like_bcbp(text: str) -> bool:
    """A cheap test before ``parse``: the start of a Resolution 792 string."""
    return len(text) >= _HEADER + _LEG_DAY and text[0] == "M" and text[1] in "1234"


def parse(text: str) -> BoardingPass:
    """Decode one barcode string; strict about the mandatory items.

    Raises:
        MalformedInput: not a valid Resolution 792 string (the message says where).
    """
    if text[:1] != "M" or text[1:2] not in tuple("1234"):
        raise MalformedInput("not an IATA boarding-pass barcode (it must start with M1 to M4)")
    if len(text) < _HEADER:
        raise MalformedInput("invalid boarding-pass barcode: cut short before the first leg")
    count = int(text[1])
    passenger = " ".join(text[2:22].split())
    if not passenger:
        raise MalformedInput("invalid boarding-pass barcode: no passenger name")
    pos = _HEADER
    legs: list[Leg] = []
    version: str | None = None
    unique: dict[str, str] = {}
    for index in range(count):
        if len(text) < pos + _LEG:
            text = _complete_last_leg(text, pos, last=index == count - 1, number=index + 1)
        leg = _mandatory(text[pos : pos + _LEG], index + 1)
        size = int(text[pos + _LEG - 2 : pos + _LEG], 16)
        pos += _LEG
        variable = text[pos : pos + size]
        if len(variable) < size:
            raise MalformedInput(
                f"invalid boarding-pass barcode: leg {index + 1} declares {size} more characters "
                f"than the string holds"
            )
        pos += size
        if index == 0 and variable.startswith(">"):
            version, unique, variable = _unique_section(variable)
        legs.append(replace(leg, conditional=_repeated_section(variable, first=index == 0)))
    rest = text[pos:]
    return BoardingPass(
        passenger=passenger,
        electronic_ticket=text[22] == "E",
        legs=tuple(legs),
        version=version,
        unique=unique,
        has_security_data=rest.startswith("^"),
    )


def _complete_last_leg(text: str, pos: int, *, last: bool, number: int) -> str:
    """A last leg cut short after its day of flight, padded with blank items and size 00.

    Raises:
        MalformedInput: the leg is not the last, or ends before its day of flight.
    """
    rest = text[pos:]
    # Cut anywhere else (inside the day, the seat or the sequence), an item would be misread.
    if not last or len(rest) not in (_LEG_DAY, _LEG_DAY + 1):
        raise MalformedInput(f"invalid boarding-pass barcode: leg {number} is cut short")
    return text[:pos] + rest.ljust(_LEG - 2) + "00"


def _mandatory(block: str, number: int) -> Leg:
    """The 37 mandatory characters of one leg, validated."""
    pnr, origin, destination = block[0:7].strip(), block[7:10], block[10:13]
    carrier, flight, day = block[13:16].strip(), block[16:21].strip(), block[21:24].strip()
    seat = block[25:29].strip()
    problems = []
    if not pnr.isalnum():
        problems.append(f"booking reference {block[0:7]!r}")
    if not _AIRPORT.fullmatch(origin) or not _AIRPORT.fullmatch(destination):
        problems.append(f"airports {origin!r}/{destination!r}")
    if not _CARRIER.fullmatch(carrier):
        problems.append(f"carrier {carrier!r}")
    flight_match = _FLIGHT.fullmatch(flight)
    if flight_match is None:
        problems.append(f"flight number {flight!r}")
    if not _DAY.fullmatch(day) or not 1 <= int(day) <= 366:
        problems.append(f"day of the year {day!r}")
    seat_match = _SEAT.fullmatch(seat)
    if seat_match is None:
        problems.append(f"seat {seat!r}")
    if not _HEX2.fullmatch(block[35:37]):
        problems.append(f"field size {block[35:37]!r}")
    if problems or flight_match is None or seat_match is None:
        raise MalformedInput(f"invalid boarding-pass barcode, leg {number}: " + ", ".join(problems))
    return Leg(
        pnr=pnr,
        origin=origin,
        destination=destination,
        carrier=carrier,
        flight=flight_match.group(1) + flight_match.group(2),
        day_of_year=int(day),
        compartment=block[24].strip(),
        seat=seat_match.group(1) if seat_match.group(1) is not None else seat,
        sequence=block[29:34].strip().lstrip("0") or block[29:34].strip(),
        passenger_status=block[34],
    )


def _sized(text: str) -> tuple[str, str] | None:
    """(section, what follows) for a section preceded by its two-hex-digit size, if it fits."""
    if not _HEX2.fullmatch(text[:2]):
        return None
    size = int(text[:2], 16)
    if len(text) < 2 + size:
        return None
    return text[2 : 2 + size], text[2 + size :]


def _items(section: str, layout: tuple[tuple[str, int], ...]) -> dict[str, str]:
    """The items of a conditional section, as far as its size goes (older versions are shorter)."""
    found: dict[str, str] = {}
    pos = 0
    for name, size in layout:
        value = section[pos : pos + size].strip()
        if value:
            found[name] = value
        pos += size
    return found


def _unique_section(variable: str) -> tuple[str, dict[str, str], str]:
    """(version, unique items, the rest of the field) from a first leg's variable field."""
    version = variable[1:2]
    sized = _sized(variable[2:])
    if sized is None:  # a bare version mark: the rest is airline data
        return version, {}, ""
    section, rest = sized
    return version, _items(section, _UNIQUE_ITEMS), rest


def _repeated_section(variable: str, *, first: bool) -> dict[str, str]:
    """A leg's repeated conditional items; what follows them is airline data, skipped.

    A first leg without the ``>`` mark carries only airline data (easyJet), so nothing is read
    from it.
    """
    if first and not variable:
        return {}
    sized = _sized(variable)
    if sized is None:
        return {}
    items = _items(sized[0], _REPEATED_ITEMS)
    if "airline_code" in items and "document_number" in items:
        items["ticket_number"] = items["airline_code"] + items["document_number"]
    return items


def flight_day(
    day_of_year: int,
    context: date,
    issued: tuple[int, int] | None = None,
    *,
    arrived: bool = False,
) -> date:
    """The date of a flight known by its day of the year, near ``context``.

    With the pass's issue date (last digit of the year and day), the year is the latest one
    ending in that digit up to ``context``'s year, and the flight is on or after the issue
    day. Without it: when ``context`` is when the pass arrived (a mail's or a file's date),
    the flight is the first such day from then on, as a boarding pass comes before its
    flight (a day of slack for zones); otherwise the day closest to ``context``.
    """
    if issued is not None:
        digit, issue_day = issued
        year = context.year - (context.year - digit) % 10
        if day_of_year < issue_day:
            year += 1  # issued in December for a flight in January
        return _day(year, day_of_year) or _day(year + 1, day_of_year) or date(year, 12, 31)
    candidates = [d for d in (_day(context.year + n, day_of_year) for n in (-1, 0, 1, 2)) if d]
    if arrived:
        return next(d for d in candidates if d >= context - timedelta(days=1))
    return min(candidates, key=lambda d: abs((d - context).days))


def _day(year: int, day_of_year: int) -> date | None:
    """``day_of_year`` of ``year``, or None where the year has no such day (366 in 2027)."""
    found = date(year, 1, 1) + timedelta(days=day_of_year - 1)
    return found if found.year == year else None


def leg_bookings(
    boarding_pass: BoardingPass, context: date, *, year_known: bool = False
) -> list[Booking]:
    """One flight booking per leg, starting on its day (the barcode has no time).

    Args:
        boarding_pass: the decoded barcode.
        context: a date near the flight, for the year the barcode does not hold.
        year_known: ``context`` comes from the pass itself (its relevant or expiry date)
            rather than from when it arrived (a mail's or a file's date), so the year is not
            merely assumed.
    """
    issued = boarding_pass.issue_date()
    bookings = []
    for leg in boarding_pass.legs:
        day = flight_day(leg.day_of_year, context, issued, arrived=not year_known)
        origin = Place(code=leg.origin)
        details: dict[str, str | bool] = {
            "carrier": leg.carrier,
            "compartment": leg.compartment,
            "sequence": leg.sequence,
        }
        if not year_known:
            details["year_assumed"] = True
        for name in ("ticket_number", "marketing_carrier", "frequent_flyer_number"):
            if name in leg.conditional:
                details[name] = leg.conditional[name]
        bookings.append(
            Booking(
                kind="flight",
                reference=leg.pnr,
                number=leg.number,
                segment=segment_key(leg.number, day, origin),
                start=day,
                origin=origin,
                destination=Place(code=leg.destination),
                travellers=[boarding_pass.traveller],
                seat=leg.seat or None,
                details={k: v for k, v in details.items() if v},
            )
        )
    return bookings


def text_of(raw: bytes) -> str:
    """A barcode string from a file's bytes: trailing line ends dropped, spaces kept (they
    pad the last field)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.removeprefix("\ufeff").rstrip("\r\n")


def sniff(path: Path) -> bool:
    """A small text file holding one valid barcode string."""
    if path.suffix.casefold() not in SUFFIXES:
        return False
    try:
        text = text_of(read_source(path, MAX_BARCODE_CHARS))
    except InputError:
        return False
    if not looks_like_bcbp(text):
        return False
    try:
        parse(text)
    except MalformedInput:
        return False
    return True


def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """The flights of one barcode string, as one booking interaction.

    Raises:
        MalformedInput: the file holds no valid barcode string.
    """
    raw = read_document(path)
    text = text_of(raw)
    if len(text) > MAX_BARCODE_CHARS or "\n" in text:
        raise MalformedInput(f"{path}: not a single boarding-pass barcode string")
    try:
        boarding_pass = parse(text)
    except MalformedInput as exc:
        raise MalformedInput(f"{path}: {exc}") from None
    # The file's date stands for when the barcode arrived: a re-import years later must not
    # move the flight to another year.
    saved = path.stat().st_mtime
    bookings = leg_bookings(boarding_pass, datetime.fromtimestamp(saved, UTC).date())
    yield booking_interaction(bookings, raw, str(path), saved)
    yield file_checkpoint(path)
