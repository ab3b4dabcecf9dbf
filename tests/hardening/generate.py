"""Generated inputs of the hardening suite: big well-formed exports and hostile files."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = datetime(2023, 1, 2, 8, 0, tzinfo=AMSTERDAM)
SHOPS = ("klm.com", "bol.com", "ns.nl", "eneco.nl", "coolblue.nl", "ah.nl", "ikea.com")


def mail_bytes(
    n: int, *, subject: str | None = None, body: str | None = None, shop: str | None = None
) -> bytes:
    """One plausible shop mail; ``n`` makes its Message-ID, date and subject unique (and picks
    the shop, unless ``shop`` is given)."""
    shop = shop or SHOPS[n % len(SHOPS)]
    when = format_datetime(START + timedelta(minutes=37 * n))
    text = body if body is not None else f"Dear customer,\n\nyour order {n} ships today.\n"
    return (
        f"From: {shop.split('.')[0].upper()} <service@{shop}>\n"
        f"To: Sanne de Vries <sanne@example.org>\n"
        f"Subject: {subject if subject is not None else f'Order {n} confirmed'}\n"
        f"Date: {when}\n"
        f"Message-ID: <order-{n}@{shop}>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        f"{text}"
    ).encode()


def write_mbox(path: Path, count: int, *, first: int = 0, lines: int = 8) -> Path:
    """An mbox of ``count`` mails numbered from ``first`` (with a quoted From line in every
    tenth body), each with ``lines`` lines of text (8: ~450 bytes a mail, 180: ~4.6 KB)."""
    with path.open("wb") as out:
        for n in range(first, first + count):
            body = f"Order {n}\n" + (">From the warehouse: packed\n" if n % 10 == 0 else "")
            out.write(f"From service@shop {START:%a %b %d %H:%M:%S %Y}\n".encode())
            out.write(mail_bytes(n, body=body + "Thank you for shopping.\n" * lines))
            out.write(b"\n")
    return path


def write_mbox_of(path: Path, mails: Iterable[bytes]) -> Path:
    """An mbox of ``mails``, each after its ``From `` line."""
    with path.open("wb") as out:
        for mail in mails:
            out.write(f"From service@shop {START:%a %b %d %H:%M:%S %Y}\n".encode())
            out.write(mail)
            out.write(b"\n")
    return path


def whatsapp_text(count: int, *, contact: str = "Fietsenwinkel Jansen") -> str:
    """An Android (US) WhatsApp chat of ``count`` messages, some spanning several lines."""
    lines = []
    for n in range(count):
        when = START + timedelta(minutes=11 * n)
        stamp = f"{when.month}/{when.day}/{when:%y}, {when:%I:%M} {when:%p}".replace(" 0", " ")
        who = contact if n % 3 else "Sanne de Vries"
        text = f"message {n} about the bike" + ("\nsecond line" if n % 7 == 0 else "")
        lines.append(f"{stamp} - {who}: {text}")
    return "\n".join(lines) + "\n"


def write_whatsapp_zip(path: Path, count: int, contact: str = "Fietsenwinkel Jansen") -> Path:
    """The zip that "Export chat" with media makes, holding ``count`` messages."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"WhatsApp Chat with {contact}.txt", whatsapp_text(count, contact=contact))
    return path


# --- hand-made zips: what zipfile refuses to write ----------------------------------------------


def raw_zip(members: list[tuple[str, bytes]], *, symlinks: frozenset[str] = frozenset()) -> bytes:
    """A zip with members named exactly as given (``../x``, ``/x``), deflated; the names in
    ``symlinks`` are marked as symbolic links (their data is the link target)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.create_system = 3
                info.external_attr = (0o120777 << 16) | 0
            archive.writestr(info, data)
    return buffer.getvalue()


def overlapping_zip(name: str, data: bytes, copies: int) -> bytes:
    """A non-recursive zip bomb: ``copies`` central-directory entries that all point at the
    same compressed member, so the archive "holds" ``copies`` times its data."""
    packed = zlib.compress(data, 9)[2:-4]  # raw deflate
    crc = zlib.crc32(data)
    encoded = name.encode()
    local = (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            8,
            0,
            0,
            crc,
            len(packed),
            len(data),
            len(encoded),
            0,
        )
        + encoded
        + packed
    )
    central = b""
    for n in range(copies):
        entry = f"{n:04d}-{name}".encode()
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(packed),
                len(data),
                len(entry),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + entry
        )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, copies, copies, len(central), len(local), 0)
    return local + central + end


def zeros_member_zip(name: str, size: int) -> bytes:
    """One member of ``size`` zero bytes, deflated (a ratio of about 1000:1)."""
    buffer = io.BytesIO()
    info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(info, "w") as member,
    ):
        chunk = b"\0" * (1024 * 1024)
        for _ in range(size // len(chunk)):
            member.write(chunk)
    return buffer.getvalue()


def nested_json(depth: int) -> str:
    """``[[[[...]]]]``, ``depth`` levels deep."""
    return "[" * depth + "]" * depth


def telegram_export(messages: list[dict[str, object]], name: str = "KLM") -> str:
    """A single-chat Telegram Desktop ``result.json``."""
    return json.dumps(
        {"name": name, "type": "personal_chat", "id": 4242, "messages": messages},
        ensure_ascii=False,
    )


def telegram_message(n: int, text: str, sender: str = "KLM") -> dict[str, object]:
    when = START + timedelta(hours=n)
    return {
        "id": n,
        "type": "message",
        "date": when.replace(tzinfo=None).isoformat(),
        "date_unixtime": str(int(when.timestamp())),
        "from": sender,
        "from_id": "user4242",
        "text": text,
    }


def meta_thread(messages: list[dict[str, object]], title: str = "Garage Smit") -> str:
    """A Messenger / Instagram ``message_1.json``."""
    return json.dumps(
        {
            "participants": [{"name": title}, {"name": "Sanne de Vries"}],
            "title": title,
            "is_still_participant": True,
            "thread_type": "Regular",
            "thread_path": "inbox/garagesmit_4fe2a",
            "messages": messages,
        }
    )


def meta_message(n: int, content: str, sender: str = "Garage Smit") -> dict[str, object]:
    return {
        "sender_name": sender,
        "timestamp_ms": int((START + timedelta(hours=n)).timestamp() * 1000),
        "content": content,
        "type": "Generic",
    }


def write_meta_export(root: Path, app: str, thread_json: str) -> Path:
    """A Messenger (``facebook``) or Instagram export folder with one thread."""
    folder = root / f"{app}-sannedevries-2024-04-02-Ab12"
    activity = "your_facebook_activity" if app == "facebook" else "your_instagram_activity"
    thread = folder / activity / "messages" / "inbox" / "garagesmit_4fe2a"
    thread.mkdir(parents=True)
    (thread / "message_1.json").write_text(thread_json)
    return folder


def ics_events(count: int, summary: str = "Table for two at De Kas") -> str:
    """A calendar of ``count`` restaurant events."""
    events = []
    for n in range(count):
        start = START + timedelta(days=n % 900, hours=n % 5)
        events.append(
            "BEGIN:VEVENT\r\n"
            f"UID:res-{n}@dekas.nl\r\n"
            f"DTSTAMP:20230101T000000Z\r\n"
            f"DTSTART:{start:%Y%m%dT%H%M%S}\r\n"
            f"DTEND:{start + timedelta(hours=2):%Y%m%dT%H%M%S}\r\n"
            f"SUMMARY:{summary} #{n}\r\n"
            "ORGANIZER;CN=Restaurant De Kas:mailto:reservations@dekas.nl\r\n"
            "END:VEVENT\r\n"
        )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//De Kas//Reservations//EN\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    )


def pkpass_zip(pass_json: dict[str, object] | str) -> bytes:
    """An unsigned ``.pkpass``: just its ``pass.json``."""
    text = pass_json if isinstance(pass_json, str) else json.dumps(pass_json)
    return raw_zip([("pass.json", text.encode())])


def boarding_pass_json(description: str = "Boarding pass") -> dict[str, object]:
    """A KLM boarding pass as Wallet has it."""
    return {
        "formatVersion": 1,
        "passTypeIdentifier": "pass.com.klm.boardingpass",
        "serialNumber": "KL1234-20240301",
        "teamIdentifier": "KLM",
        "organizationName": "KLM",
        "description": description,
        "relevantDate": "2024-03-01T09:30:00+01:00",
        "boardingPass": {
            "transitType": "PKTransitTypeAir",
            "primaryFields": [
                {"key": "origin", "label": "Amsterdam", "value": "AMS"},
                {"key": "destination", "label": "Vienna", "value": "VIE"},
            ],
            "auxiliaryFields": [{"key": "flight", "label": "Flight", "value": "KL1234"}],
        },
    }


def flight_jsonld(name: str = "Sanne de Vries", reference: str = "RXJ34P") -> dict[str, object]:
    """A schema.org FlightReservation."""
    return {
        "@context": "http://schema.org",
        "@type": "FlightReservation",
        "reservationNumber": reference,
        "reservationStatus": "http://schema.org/ReservationConfirmed",
        "underName": {"@type": "Person", "name": name},
        "reservationFor": {
            "@type": "Flight",
            "flightNumber": "110",
            "airline": {"@type": "Airline", "name": "United", "iataCode": "UA"},
            "departureAirport": {"@type": "Airport", "name": "San Francisco", "iataCode": "SFO"},
            "departureTime": "2027-03-04T20:15:00-08:00",
            "arrivalAirport": {"@type": "Airport", "name": "John F. Kennedy", "iataCode": "JFK"},
            "arrivalTime": "2027-03-05T04:30:00-05:00",
        },
    }


def booking_page(data: dict[str, object], extra_html: str = "") -> str:
    """A saved confirmation page with JSON-LD markup."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Your booking</title>"
        f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
        f"<body><p>Thank you for booking.</p>{extra_html}</body></html>"
    )


LONE_SURROGATE = "AB\udfffC"
"""A reservation number with a lone surrogate: valid JSON (``"AB\\udfffC"``), not UTF-8."""


def booking_mail(data: dict[str, object], *, shop: str = "klm.com", n: int = 0) -> bytes:
    """A confirmation mail from ``shop`` whose HTML carries ``data`` as JSON-LD."""
    when = format_datetime(START - timedelta(days=1, minutes=n))
    return (
        f"From: {shop.split('.')[0].upper()} <service@{shop}>\n"
        "To: Sanne de Vries <sanne@example.org>\n"
        "Subject: Your booking is confirmed\n"
        f"Date: {when}\n"
        f"Message-ID: <booking-{n}@{shop}>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n"
        "\n"
        f"{booking_page(data)}\n"
    ).encode()
