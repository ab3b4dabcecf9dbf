"""Outlook ``.msg`` files (OLE2 compound files of MAPI properties) → the same mail as an ``.eml``.

A ``.msg`` is turned into RFC 822 bytes and handed to ``importers.email.message``, so companies,
threads, bookings and attachments come out exactly as for any mail. The headers are the original
transport headers (``PR_TRANSPORT_MESSAGE_HEADERS``) when Outlook kept them, less their MIME
headers (the body is rebuilt); otherwise they are made from the properties: subject, sender,
recipients, delivery or submit time, Message-ID. The body is the plain text and the HTML (RTF
only bodies are not converted); every attachment is kept, an attached ``.msg`` as the mail it
holds (``message/rfc822``).

The file is read whole (at most ``MAX_BYTES``) and parsed by ``olefile`` with every defect an
error; a stream that claims more than the file holds, or streams that add up to more than a few
times the file (a cyclic FAT), are refused; embedded messages nest at most ``MAX_DEPTH`` deep.
Anything wrong quarantines the file with its bytes and the reason.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path

import olefile

from importers.archive import zip_aware
from importers.email.message import parse_message
from importers.files import Source, file_state, is_file, peek, unchanged
from vault.errors import RefusedInput
from vault.records import Checkpoint, ImportOptions, Interaction, Item, Quarantined, content_key
from vault.text import one_line

MAX_BYTES = 100 * 1024 * 1024
"""A ``.msg`` larger than this is quarantined unread (as a single mail is)."""

MAX_DEPTH = 4
"""Attached messages inside attached messages: deeper than this is not a real mail."""

MAX_PARTS = 2000
"""Recipients or attachments of one message; more is a hostile file."""

READ_FACTOR = 4
"""All streams read from one file may add up to this many times its size (a cyclic FAT makes
streams repeat the same sectors)."""

_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SUFFIX = ".msg"
_PROPERTIES = "__properties_version1.0"
_UNICODE, _STRING8, _BINARY, _OBJECT = 0x001F, 0x001E, 0x0102, 0x000D
_INT32, _SYSTIME = 0x0003, 0x0040
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_MIME_HEADER = re.compile(r"^(content-[\w-]+|mime-version)\s*:", re.I)
_RECIPIENT_HEADERS = {1: "To", 2: "Cc", 3: "Bcc"}
# MAPI property ids
_SUBJECT, _BODY, _HTML, _HEADERS, _MESSAGE_ID = 0x0037, 0x1000, 0x1013, 0x007D, 0x1035
_SENDER_NAME, _SENDER_ADDRESS, _SENDER_SMTP, _SENT_AS_ADDRESS = 0x0C1A, 0x0C1F, 0x5D01, 0x0065
_DELIVERY_TIME, _SUBMIT_TIME, _CODEPAGE = 0x0E06, 0x0039, 0x3FFD
_RECIPIENT_NAME, _RECIPIENT_ADDRESS, _RECIPIENT_SMTP, _RECIPIENT_TYPE = (
    0x3001,
    0x3003,
    0x39FE,
    0x0C15,
)
_ATTACH_DATA, _ATTACH_LONG_NAME, _ATTACH_NAME, _ATTACH_MIME = 0x3701, 0x3707, 0x3704, 0x370E


class _Unreadable(ValueError):
    """A ``.msg`` that cannot be read; its text is the quarantine reason."""


def sniff(path: Path) -> bool:
    """True for an OLE2 file named ``.msg``, any OLE2 file with a message's property stream, or
    a folder with ``.msg`` files (at any depth) and no ``.eml`` ones."""
    if path.is_dir():
        names = {p.suffix.casefold() for p in path.rglob("*")}
        return _SUFFIX in names and ".eml" not in names
    if not is_file(path) or peek(path, len(_MAGIC)) != _MAGIC:
        return False
    if path.suffix.casefold() == _SUFFIX:
        return True
    try:
        with olefile.OleFileIO(str(path)) as ole:
            subject = (f"__substg1.0_{_SUBJECT:04X}{kind:04X}" for kind in (_UNICODE, _STRING8))
            return bool(ole.exists(_PROPERTIES) and any(map(ole.exists, subject)))
    except Exception:  # any broken OLE file is simply not recognised
        return False


@zip_aware("msg")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Yield the mail of each ``.msg`` (a file, or a folder's ``.msg`` files in sorted order),
    each followed by a ``Checkpoint``; files unchanged since their cursor are skipped."""
    source = Source(path)
    files = sorted(p for p in path.rglob("*") if p.suffix.casefold() == _SUFFIX and not p.is_dir())
    for file in files if path.is_dir() else [path]:
        key, state = file_state(file)
        if unchanged(options.cursors.get(key), state):
            continue
        try:
            data = source.read(file, MAX_BYTES)
        except RefusedInput as exc:
            yield Quarantined(str(file), b"", exc.reason)
        except OSError as exc:
            yield Quarantined(str(file), b"", f"cannot read file: {exc.strerror or exc}")
            continue
        else:
            yield parse_msg(data, str(file), options)
        yield Checkpoint(source=key, state=state)


def parse_msg(data: bytes, source_ref: str, options: ImportOptions) -> Interaction | Quarantined:
    """The mail in a ``.msg`` file's bytes, or their quarantine with the reason; never raises.

    The item keeps the ``.msg`` bytes as its raw original.
    """
    try:
        with olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT) as ole:
            mail = _Reader(ole, len(data)).mail([])
        item = parse_message(mail.as_bytes(policy=SMTP), source_ref, options)
    except _Unreadable as exc:
        return Quarantined(source_ref, data, f"not a readable Outlook .msg: {exc}")
    except Exception as exc:
        # A .msg is untrusted input: no parser surprise on one file may stop an import.
        return Quarantined(source_ref, data, one_line(f"not a readable Outlook .msg: {exc!r}", 300))
    item.raw = data
    if isinstance(item, Interaction):
        item.extras["format"] = "outlook-msg"
        if not item.extras.get("message_id"):
            # The rebuilt mail's MIME boundaries are random: key by the file's own bytes.
            item.dedup_key = content_key(data)
    return item


class _Reader:
    """Reads the properties of a message storage and those nested in it, within a budget."""

    def __init__(self, ole: olefile.OleFileIO, size: int) -> None:
        self.ole = ole
        self.size = size
        self.budget = READ_FACTOR * size + 1024 * 1024
        self.entries: list[list[str]] = ole.listdir(streams=True, storages=True)

    def stream(self, path: list[str]) -> bytes | None:
        """The bytes of a stream, None if it is not there.

        Raises:
            _Unreadable: it claims more than the file holds, or the reading budget is spent.
        """
        if not self.ole.exists("/".join(path)):
            return None
        declared = self.ole.get_size("/".join(path))
        if declared > self.size:
            raise _Unreadable(f"a stream claims {declared:,} bytes in a {self.size:,}-byte file")
        self.budget -= declared
        if self.budget < 0:
            raise _Unreadable("its streams add up to far more than the file (a cyclic FAT)")
        with self.ole.openstream(path) as stream:
            data: bytes = stream.read(declared)
        return data

    def properties(self, base: list[str], header: int) -> dict[int, tuple[int, bytes]]:
        """The fixed-size properties of a storage: id → (type, 8 value bytes)."""
        raw = self.stream([*base, _PROPERTIES]) or b""
        found: dict[int, tuple[int, bytes]] = {}
        for start in range(header, len(raw) - 15, 16):
            tag = struct.unpack_from("<I", raw, start)[0]
            found[tag >> 16] = (tag & 0xFFFF, raw[start + 8 : start + 16])
        return found

    def text(self, base: list[str], prop: int, codepage: str) -> str | None:
        """A string property, Unicode or 8-bit in the message's code page."""
        wide = self.stream([*base, f"__substg1.0_{prop:04X}{_UNICODE:04X}"])
        if wide is not None:
            return wide.decode("utf-16-le", "replace").rstrip("\x00")
        narrow = self.stream([*base, f"__substg1.0_{prop:04X}{_STRING8:04X}"])
        if narrow is not None:
            return narrow.decode(codepage, "replace").rstrip("\x00")
        return None

    def binary(self, base: list[str], prop: int) -> bytes | None:
        """A binary property."""
        return self.stream([*base, f"__substg1.0_{prop:04X}{_BINARY:04X}"])

    def mail(self, base: list[str], depth: int = 0) -> EmailMessage:
        """The message stored at ``base`` (the root, or an attachment's embedded message)."""
        if depth > MAX_DEPTH:
            raise _Unreadable(f"attached messages nest more than {MAX_DEPTH} deep")
        if not self.ole.exists("/".join([*base, _PROPERTIES])):
            raise _Unreadable("no MAPI property stream: an OLE2 file, but not a message")
        props = self.properties(base, 32 if not base else 24)
        codepage = _codepage(props)
        mail = EmailMessage(policy=SMTP)
        for name, value in self._headers(base, props, codepage):
            try:
                mail[name] = value
            except (ValueError, TypeError):
                continue  # a header the email package will not take as it is: left out
        body = self.text(base, _BODY, codepage)
        html = self.binary(base, _HTML) or (self.text(base, _HTML, codepage) or "").encode()
        if body or not html:
            mail.set_content(body or "")
        if html:
            page = html.decode("utf-8", "replace")
            if body:
                mail.add_alternative(page, subtype="html")
            else:
                mail.set_content(page, subtype="html")
        for storage in self._children(base, "__attach_version1.0_#"):
            self._attach(mail, [*base, storage], depth, codepage)
        return mail

    def _headers(
        self, base: list[str], props: dict[int, tuple[int, bytes]], codepage: str
    ) -> list[tuple[str, str]]:
        """The transport headers less their MIME ones, else headers made from the properties."""
        transport = self.text(base, _HEADERS, codepage)
        if transport and ":" in transport:
            headers: list[tuple[str, str]] = []
            for line in re.split(r"\r?\n(?![ \t])", transport.strip()):
                name, colon, value = line.partition(":")
                if colon and name.strip() and not _MIME_HEADER.match(line):
                    headers.append((name.strip(), re.sub(r"\r?\n", "", value).strip()))
            if any(n.casefold() == "from" for n, _ in headers):
                return headers
        made: list[tuple[str, str]] = []
        sender = (
            self.text(base, _SENDER_SMTP, codepage)
            or self.text(base, _SENDER_ADDRESS, codepage)
            or self.text(base, _SENT_AS_ADDRESS, codepage)
        )
        name = self.text(base, _SENDER_NAME, codepage)
        if sender or name:
            made.append(
                ("From", formataddr((name or "", sender if sender and "@" in sender else "")))
            )
        for kind, parties in self._recipients(base, codepage).items():
            made.append((_RECIPIENT_HEADERS[kind], ", ".join(parties)))
        made.append(("Subject", self.text(base, _SUBJECT, codepage) or ""))
        when = _time(props, _DELIVERY_TIME) or _time(props, _SUBMIT_TIME)
        if when is not None:
            made.append(("Date", format_datetime(when)))
        message_id = self.text(base, _MESSAGE_ID, codepage)
        if message_id:
            made.append(("Message-ID", message_id))
        return made

    def _recipients(self, base: list[str], codepage: str) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for storage in self._children(base, "__recip_version1.0_#"):
            at = [*base, storage]
            props = self.properties(at, 8)
            kind = _int(props, _RECIPIENT_TYPE) or 1
            address = self.text(at, _RECIPIENT_SMTP, codepage) or self.text(
                at, _RECIPIENT_ADDRESS, codepage
            )
            name = self.text(at, _RECIPIENT_NAME, codepage) or ""
            address = address if address and "@" in address else ""
            if name or address:
                found.setdefault(kind if kind in _RECIPIENT_HEADERS else 1, []).append(
                    formataddr((name, address))
                )
        return found

    def _attach(self, mail: EmailMessage, at: list[str], depth: int, codepage: str) -> None:
        """One attachment: its bytes, or the message it embeds as ``message/rfc822``."""
        name = (
            self.text(at, _ATTACH_LONG_NAME, codepage)
            or self.text(at, _ATTACH_NAME, codepage)
            or "attachment"
        )
        embedded = f"__substg1.0_{_ATTACH_DATA:04X}{_OBJECT:04X}"
        if self.ole.exists("/".join([*at, embedded])):
            inner = self.mail([*at, embedded], depth + 1)
            mail.add_attachment(inner, filename=_eml_name(name, inner))
            return
        data = self.binary(at, _ATTACH_DATA) or b""
        mime = (self.text(at, _ATTACH_MIME, codepage) or "application/octet-stream").lower()
        maintype, _, subtype = mime.partition("/")
        if not subtype or not maintype.isascii():
            maintype, subtype = "application", "octet-stream"
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)

    def _children(self, base: list[str], prefix: str) -> list[str]:
        """The names of the storages directly in ``base`` that start with ``prefix``, sorted."""
        names = sorted(
            {
                entry[len(base)]
                for entry in self.entries
                if len(entry) > len(base)
                and entry[: len(base)] == base
                and entry[len(base)].startswith(prefix)
            }
        )
        if len(names) > MAX_PARTS:
            raise _Unreadable(f"over {MAX_PARTS:,} recipients or attachments")
        return names


def _int(props: dict[int, tuple[int, bytes]], prop: int) -> int | None:
    found = props.get(prop)
    if found is None or found[0] != _INT32:
        return None
    value: int = struct.unpack_from("<i", found[1])[0]
    return value


def _time(props: dict[int, tuple[int, bytes]], prop: int) -> datetime | None:
    """A FILETIME property (100 ns since 1601) as an aware UTC time; None if absent or absurd."""
    found = props.get(prop)
    if found is None or found[0] != _SYSTIME:
        return None
    ticks: int = struct.unpack_from("<Q", found[1])[0]
    try:
        when = _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None
    return when if 1980 <= when.year <= 2200 else None


def _codepage(props: dict[int, tuple[int, bytes]]) -> str:
    """The Python codec of the message's 8-bit strings (PR_MESSAGE_CODEPAGE), cp1252 if unknown."""
    number = _int(props, _CODEPAGE)
    name = "utf-8" if number == 65001 else f"cp{number}" if number else "cp1252"
    try:
        "".encode(name)
    except LookupError:
        return "cp1252"
    return name


def _eml_name(name: str, inner: EmailMessage) -> str:
    """An attached message's file name, as ``.eml`` (it is stored as the mail it holds)."""
    stem = name[: -len(_SUFFIX)] if name.casefold().endswith(_SUFFIX) else name
    if stem == "attachment":
        stem = str(inner.get("Subject") or "message")
    return f"{stem}.eml"
