"""One RFC 822 message (raw bytes) to an ``Interaction``, or ``Quarantined`` if it is not a mail.

This is the core that the .eml, mbox, Maildir and IMAP importers share: it takes the bytes
of one message and never raises. How the body and attachments are chosen is described in
``importers.email.mime``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from importers.email.addresses import parse_addresses
from importers.email.decode import decode_header_value, unfold_header
from importers.email.mime import PARSER, Content, extract_content
from importers.email.multipart import MailParser
from importers.files import too_large
from importers.scan import scan_attachments, with_scans
from vault.records import (
    Booking,
    CompanyHints,
    ImportOptions,
    Interaction,
    Party,
    Quarantined,
    message_id_key,
)
from vault.text import one_line

NO_SUBJECT = "(no subject)"

FULL_RECORD_MODULES = (
    "importers.bookings.ics",
    "importers.bookings.pkpass",
    "importers.bookings.tickets",
    "importers.bookings.markup",
    "importers.bookings.schemaorg",
    "importers.email.totals",
    "importers.bookings.airport_zones",
)
"""What a mail's full record needs beyond its headers (bookings, amounts): imported at the
first full record (the airport table at the first flight), so a process that only reads whom
mails are to (the owner sample) or hands them to a parse pool never loads them (7 MB and
0.08 s); a pool's fork server loads them once for its workers (``map_in_pool``'s ``preload``),
the airport table with them (it cost each worker 0.03 to 0.06 s of CPU)."""

MAX_HEADER_BYTES = 1024 * 1024
"""A mail with a header block (its own, a MIME part's, a forwarded message's) larger than this
is quarantined unparsed: real headers are kilobytes, and parsing costs ten times a header's
size in memory (a 50 MB ``To:`` list took 1.1 GB)."""

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF8_BOM = b"\xef\xbb\xbf"
_HEAD_LIMIT = 65536
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*"?([^"\s;]{1,200})', re.I)
_BOUNDARY_LOWER = re.compile(_BOUNDARY.pattern)
_MESSAGE_PART = re.compile(rb"^content-type:[ \t]*message/", re.I | re.M)
_FIRST_LINE_IS_HEADER = re.compile(rb"From |[!-9;-~]+[ \t]*:")
_KEY_HEADER = re.compile(rb"^(?:from|date|subject|received|message-id)[ \t]*:", re.I | re.M)
_MESSAGE_ID = re.compile(r"<([^<>]*)>")
_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)")
_DOMAIN = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_REPLY_PREFIX = re.compile(r"^(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|rv)(?:\[\d+\])?\s*:\s*)+", re.I)
_DISPLAY_HEADERS = ("From", "To", "Cc", "Date", "Subject")


def parse_message(
    raw: bytes,
    source_ref: str,
    options: ImportOptions,
    *,
    parser: MailParser | BytesParser = PARSER,
) -> Interaction | Quarantined:
    """Parse one mail's bytes into an ``Interaction``, or quarantine them with a reason.

    Args:
        raw: the message exactly as stored (kept as ``Interaction.raw`` and for dedup).
        source_ref: where it came from, for the user (``inbox/a.eml``, ``INBOX:4711``).
        options: who the user is, to tell sent from received mail.
        parser: cuts the bytes into a ``Message`` tree; the stdlib's ``BytesParser`` (the
            fallback ``PARSER`` ships) gives the reference record the tests compare with.

    Returns:
        An ``Interaction`` (channel ``email``), or ``Quarantined`` with a one-line reason
        when the bytes are not a mail or have no usable date. Never raises.
    """
    try:
        return _parse(raw, source_ref, options, parser)
    except Exception as exc:
        # The one deliberate catch-all: a mail is untrusted input from anyone, and no bug
        # or parser surprise on one message may stop an import or lose the message.
        return Quarantined(source_ref, raw, one_line(f"cannot parse mail: {exc!r}", 300))


def not_a_mail_reason(data: bytes) -> str | None:
    """Why ``data`` is not an RFC 822 message, or None if its start looks like one.

    Looks only at the header block (up to the first blank line, at most 64 KiB).
    """
    head = _header_block(data)
    if not head.strip():
        return "empty: no mail in it"
    if data.startswith(_OLE2_MAGIC):
        return "an Outlook .msg file (OLE2), not an RFC 822 mail"
    if data.startswith(b"PK\x03\x04"):
        return "a zip archive, not an RFC 822 mail"
    if not _FIRST_LINE_IS_HEADER.match(head) or not _KEY_HEADER.search(head):
        return "not an RFC 822 mail: no From, Date, Subject, Received or Message-ID header"
    return None


def _header_block(data: bytes) -> bytes:
    """The bytes before the first blank line, capped at 64 KiB."""
    head = data[:_HEAD_LIMIT]
    # Where _BLANK_LINE would match, found with two plain searches: a pattern that starts
    # with an optional byte cannot use the regex engine's fast literal search (5x slower).
    end = head.find(b"\n\n")
    crlf = head.find(b"\n\r\n", 0, end + 2 if end >= 0 else len(head))
    if crlf >= 0:
        end = crlf
    if end < 0:
        return head
    return head[: end - 1 if end and head[end - 1] == 0x0D else end]  # from the \r of \r\n


def _oversized_headers(data: bytes) -> str | None:
    """Why a header block of the mail is too large to parse, or None.

    Header blocks start at the top, after each delimiter line of a boundary the mail declares,
    and after the header block of a ``message/*`` part (the forwarded mail's own headers).
    """
    if len(data) <= MAX_HEADER_BYTES:
        return None
    starts = [0]
    for boundary in _declared_boundaries(data):
        delimiter = b"\n--" + boundary
        found = data.find(delimiter)
        while found >= 0:
            line_end = data.find(b"\n", found + 1)
            if line_end < 0:
                break
            if not data.startswith(b"--", found + len(delimiter)):
                starts.append(line_end)
            found = data.find(delimiter, line_end)
    while starts:
        start = starts.pop()
        blank = _BLANK_LINE.search(data, start, start + MAX_HEADER_BYTES + 4)
        if blank is None:
            if len(data) - start <= MAX_HEADER_BYTES:
                continue
            ends = [data.find(blank, start) for blank in (b"\n\n", b"\n\r\n")]
            size = min((end for end in ends if end >= 0), default=len(data)) - start
            return f"a mail header block {too_large(size, MAX_HEADER_BYTES)}"
        if _MESSAGE_PART.search(data, start, blank.start()):
            starts.append(blank.end() - 1)
    return None


def _declared_boundaries(data: bytes) -> set[bytes]:
    """Every boundary parameter anywhere in ``data``.

    Found in a lower-cased copy: a case-insensitive pattern cannot use the regex engine's fast
    literal search (5x slower on a 3 MB scan); each value is then read from ``data`` itself.
    """
    found = set()
    for match in _BOUNDARY_LOWER.finditer(data.lower()):
        declared = _BOUNDARY.match(data, match.start())
        if declared is not None:
            found.add(declared.group(1))
    return found


def _parse(
    raw: bytes, source_ref: str, options: ImportOptions, parser: MailParser | BytesParser
) -> Interaction | Quarantined:
    """``parse_message`` without the safety net."""
    data = raw.removeprefix(_UTF8_BOM).lstrip(b"\r\n")
    reason = not_a_mail_reason(data) or _oversized_headers(data)
    if reason is not None:
        return Quarantined(source_ref, raw, reason)
    message = parser.parsebytes(data)
    headers = _Headers(message)
    extras: dict[str, Any] = {}
    when = _occurred_at(headers, options)
    if when is None:
        return Quarantined(source_ref, raw, "no usable date: no valid Date or Received header")
    occurred_at, tz_known, from_received = when
    if from_received:
        extras["date_from"] = "received"
    sender = _first_party(headers, "From") or _first_party(headers, "Sender")
    subject = " ".join(headers.text("Subject").split())
    message_id = _first_id(headers, "Message-ID")
    references = _ids(headers, "References")
    in_reply_to = _first_id(headers, "In-Reply-To")
    if options.owner_sample:  # only whom it is to counts: no content, scans or bookings
        return Interaction(
            channel="email",
            direction="out" if options.is_me(sender) else "in",
            occurred_at=occurred_at,
            title=subject or NO_SUBJECT,
            body="",
            source_ref=source_ref,
            dedup_key=message_id_key(message_id, raw),
            sender=sender,
            recipients=_recipients(headers),
        )
    from importers.bookings.tickets import bookings_in_scans  # FULL_RECORD_MODULES
    from importers.email.totals import markup_money, stated_total

    content = extract_content(message)
    scans = scan_attachments(content.attachments)
    extras.update(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        list_id=headers.text("List-Id") or None,
        list_unsubscribe=unfold_header(headers.raw("List-Unsubscribe")).strip() or None,
        headers=_display_headers(headers),
    )
    thread_root = references[0] if references else in_reply_to or message_id
    bookings = _bookings(content, options, occurred_at)
    bookings += bookings_in_scans(scans, occurred_at.date())
    return Interaction(
        channel="email",
        direction="out" if options.is_me(sender) else "in",
        occurred_at=occurred_at,
        tz_known=tz_known,
        title=subject or NO_SUBJECT,
        thread_title=_REPLY_PREFIX.sub("", subject) or NO_SUBJECT,
        body=with_scans(content.body, scans),
        source_ref=source_ref,
        dedup_key=message_id_key(message_id, raw),
        sender=sender,
        recipients=_recipients(headers),
        raw=raw,
        thread_key=_normalise_id(thread_root),
        attachments=content.attachments,
        bookings=bookings,
        money=markup_money(bookings) or stated_total(subject, content.body),
        hints=_hints(headers),
        extras=extras,
    )


def _bookings(content: Content, options: ImportOptions, sent: datetime) -> list[Booking]:
    """Bookings in the mail's schema.org markup (in its HTML or a JSON-LD part of its own) and
    in attached calendars and Wallet passes.

    A booking the mail states no date for is dated by the mail: a change or cancellation
    applies in the order the mails were sent, whatever order they are imported in, and an
    order or parcel the mail gives no date was ordered or sent when the mail was.
    """
    from importers.bookings import ics, pkpass  # FULL_RECORD_MODULES
    from importers.bookings.markup import flatten, loads_leniently, schema_objects
    from importers.bookings.schemaorg import bookings_from

    objects = [obj for page in content.html for obj in schema_objects(page)]
    objects += [obj for text in content.jsonld for obj in flatten(loads_leniently(text))]
    found = bookings_from(objects)
    found += ics.bookings_in_attachments(content.attachments, options.timezone)
    found += pkpass.bookings_in_attachments(content.attachments, sent)
    for booking in found:
        booking.modified_at = booking.modified_at or sent
        if booking.kind in ("order", "parcel") and booking.start is None:
            booking.start = sent
            booking.details["date_from"] = "mail"
    return found


class _Headers:
    """The top-level headers by lower-case name, read once (``Message.get`` scans them all)."""

    __slots__ = ("_values",)

    def __init__(self, message: Message) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in message.items():
            if isinstance(value, str):
                self._values.setdefault(name.lower(), []).append(value)

    def all(self, name: str) -> list[str]:
        """Every raw value of header ``name``, in order (top first)."""
        return self._values.get(name.lower(), [])

    def raw(self, name: str) -> str:
        """The first raw value of header ``name``; empty if absent."""
        values = self._values.get(name.lower())
        return values[0] if values else ""

    def text(self, name: str) -> str:
        """The first ``name`` header, unfolded and decoded; empty if absent."""
        value = self.raw(name)
        return decode_header_value(value).strip() if value else ""


def _occurred_at(headers: _Headers, options: ImportOptions) -> tuple[datetime, bool, bool] | None:
    """(when, offset known, taken from Received) — Date first, then the topmost Received."""
    for value in headers.all("Date"):
        parsed = _parse_date(decode_header_value(value), options)
        if parsed is not None:
            return parsed[0], parsed[1], False
    for value in headers.all("Received"):
        # Received: ... ; <date> — the receiving server's clock at delivery.
        _, semicolon, stamp = unfold_header(value).rpartition(";")
        parsed = _parse_date(stamp, options) if semicolon else None
        if parsed is not None:
            return parsed[0], parsed[1], True
    return None


def _parse_date(text: str, options: ImportOptions) -> tuple[datetime, bool] | None:
    """An aware datetime and whether its offset is real, from an RFC 5322 or ISO date."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (ValueError, TypeError, OverflowError, IndexError):
        return _parse_iso_date(text, options)
    if moment.tzinfo is None:
        # RFC 5322 "-0000" (and a missing zone): UTC, the sender's offset unknown.
        return moment.replace(tzinfo=UTC), False
    return moment, True


def _parse_iso_date(text: str, options: ImportOptions) -> tuple[datetime, bool] | None:
    """Some mailers and exporters write ISO 8601 dates; zone-less ones use --timezone."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=options.timezone), False
    return moment, True


def _first_party(headers: _Headers, name: str) -> Party | None:
    """The first party of the first ``name`` header."""
    for value in headers.all(name):
        parties = parse_addresses(value)
        if parties:
            return parties[0]
    return None


def _recipients(headers: _Headers) -> list[Party]:
    """To, Cc and Bcc, in that order, each address once."""
    seen: set[str] = set()
    recipients: list[Party] = []
    for name in ("To", "Cc", "Bcc"):
        for value in headers.all(name):
            for party in parse_addresses(value):
                key = party.address or f"name:{party.name}"
                if key not in seen:
                    seen.add(key)
                    recipients.append(party)
    return recipients


def _ids(headers: _Headers, name: str) -> list[str]:
    """The message ids in header ``name`` (References: oldest first), without brackets."""
    value = unfold_header(headers.raw(name))
    ids = [found.strip() for found in _MESSAGE_ID.findall(value)]
    # Some mailers write ids without angle brackets.
    return [i for i in ids if i] or value.split()


def _first_id(headers: _Headers, name: str) -> str | None:
    """The first message id in header ``name``, without brackets."""
    ids = _ids(headers, name)
    return ids[0] if ids else None


def _normalise_id(message_id: str | None) -> str | None:
    """A message id as thread key: no brackets, case-folded (as ``message_id_key`` does)."""
    if not message_id:
        return None
    return message_id.strip().strip("<>").strip().casefold() or None


def _hints(headers: _Headers) -> CompanyHints:
    """Who really sent it, for mail relayed by an ESP (DESIGN: company resolution 4)."""
    dkim: list[str] = []
    for value in headers.all("DKIM-Signature"):
        match = _DKIM_DOMAIN.search(unfold_header(value))
        if match:
            _add(dkim, match.group(1).strip().rstrip(".").lower())
    reply_to: list[str] = []
    for value in headers.all("Reply-To"):
        for party in parse_addresses(value):
            if party.address:
                _add(reply_to, party.address)
    list_domains: list[str] = []
    list_id_header = headers.text("List-Id")
    _add(list_domains, _list_id_domain(list_id_header))
    for domain in _unsubscribe_domains(unfold_header(headers.raw("List-Unsubscribe"))):
        _add(list_domains, domain)
    list_id, list_name = _list_identity(list_id_header)
    original = _first_party(headers, "X-Original-From") or _first_party(
        headers, "X-Original-Sender"
    )
    sender = _first_party(headers, "Sender")
    return CompanyHints(
        dkim_domains=dkim,
        reply_to=reply_to,
        list_domains=list_domains,
        organisation=headers.text("Organization") or None,
        list_id=list_id,
        list_name=list_name,
        list_post="mailto:" in headers.raw("List-Post").casefold(),
        precedence=headers.text("Precedence").casefold() or None,
        sender=sender.address if sender else None,
        original_sender=original.address if original else None,
    )


def _list_identity(list_id: str) -> tuple[str | None, str | None]:
    """(id, phrase) of a List-Id: ``Dovecot Mailing List <dovecot.dovecot.org>``."""
    match = _MESSAGE_ID.search(list_id)
    ident = (match.group(1) if match else list_id).strip().strip(".").lower()
    if not _DOMAIN.fullmatch(ident):
        return None, None
    phrase = list_id[: match.start()].strip().strip("\"'").strip() if match else ""
    return ident, phrase or None


def _add(values: list[str], value: str | None) -> None:
    """Append ``value`` unless it is empty or already there (keeps first-seen order)."""
    if value and value not in values:
        values.append(value)


def _list_id_domain(list_id: str) -> str | None:
    """The domain of a List-Id: ``Name <label.example.com>`` → ``example.com``."""
    match = _MESSAGE_ID.search(list_id)
    ident = (match.group(1) if match else list_id).strip().lower()
    if "@" in ident:
        ident = ident.rpartition("@")[2]
    else:
        # The first label names the list; the rest is the domain that runs it.
        _, _, rest = ident.partition(".")
        ident = rest if "." in rest else ident
    return ident if _DOMAIN.fullmatch(ident) else None


def _unsubscribe_domains(value: str) -> list[str]:
    """Hosts of the https: and mailto: URLs in a List-Unsubscribe header, lower-case."""
    domains: list[str] = []
    for url in _MESSAGE_ID.findall(value):
        url = url.strip()
        if url.lower().startswith("mailto:"):
            host = url[7:].partition("?")[0].rpartition("@")[2]
        elif url.lower().startswith(("https:", "http:")):
            try:
                host = urlsplit(url).hostname or ""
            except ValueError:
                continue
        else:
            continue
        _add(domains, host.strip().lower() or None)
    return domains


def _display_headers(headers: _Headers) -> dict[str, str]:
    """From, To, Cc, Date and Subject as decoded strings, for the detail view."""
    shown: dict[str, str] = {}
    for name in _DISPLAY_HEADERS:
        value = headers.text(name)
        if value:
            shown[name] = value
    return shown
