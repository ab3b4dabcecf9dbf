"""Android "SMS Backup & Restore" XML (``sms-*.xml``, ``calls-*.xml``) → sms and call items.

The app writes one ``<smses>`` file of ``<sms>`` and ``<mms>`` elements, and one ``<calls>``
file of ``<call>`` elements, every value an attribute (``"null"`` for none). Times (``date``)
are epoch milliseconds, so every item is an exact instant, shown in ``--timezone``.

- Threads are the phone's: one per set of addresses (``sms:+31612345678``; a group MMS lists its
  members as ``a~b~c``). A sender that is not a phone number, an alphanumeric sender id
  (``PostNL``, ``ING``) or a short code (``3669``), is an organisation: its thread is a
  ``business`` chat, so the core resolver joins it to the company of that name from mail.
  Phone numbers are people.
- SMS ``type``: 1 received, 2 sent; 3–6 (draft, outbox, failed, queued) are the user's own
  unsent texts, kept as ``out`` with the state in the title. MMS ``msg_box`` likewise.
- MMS parts: ``text/plain`` parts are the body, SMIL layout is dropped, every other part (photo,
  vCard, audio) is an attachment from its base64 ``data``. A part whose data is not base64 is
  named in the body and kept in the item's raw XML; the rest of the message is kept.
- Dedup keys are (thread, UTC instant, sender, text, ordinal): the file they come from does not
  count, so a re-import or a second, overlapping backup adds nothing twice.
- The file is streamed (``iterparse``; each message is dropped once recorded), with no DTD
  allowed: entity expansion ("billion laughs") and external entities are refused, never
  resolved. One element may hold at most ``MAX_ELEMENT_BYTES`` of XML; past that, or at
  malformed XML, the rest of the file is quarantined with the reason and what came before is kept.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from importers.archive import zip_aware
from importers.chat.base import Chat, Malformed, Message, Moment, mime_of
from importers.chat.text import brief, clip, title_of
from importers.files import Source, file_state, is_file, peek, unchanged
from vault.errors import InputError, RefusedInput
from vault.records import (
    Attachment,
    ChatKind,
    Checkpoint,
    Direction,
    ImportOptions,
    Item,
    Party,
    PartyKind,
    Quarantined,
)
from vault.text import byte_size, one_line

MAX_ELEMENT_BYTES = 32 * 1024 * 1024
"""One message (an MMS with its base64 photos) may take this much XML; carriers cap MMS at a
few MB, so more is not a message."""

READ_BYTES = 1024 * 1024
"""The parser is fed this much at a time, not its own 16 KiB: expat before 2.6 parses an
unfinished token again from its start at every feed, so a message of many MB fed in small
pieces costs quadratic time (64 MB took minutes)."""

SNIFF_BYTES = 4096
_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?[^>]*\?>\s*|<!--.*?-->\s*)*<(smses|calls)[\s>/]", re.S
)
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_HIDDEN = re.compile(r"-\d")
_NOT_NUMBER = re.compile(r"[\s\-().]")
_LETTER = re.compile(r"[^\W\d_]")
_SHORT_CODE_DIGITS = 6
_ME = Party(name="me", kind="name")
_NO_CONTACT = frozenset({"(unknown)", "unknown"})  # the app's contact_name for a stranger
_SMS_STATES = {"3": "draft", "4": "outbox", "5": "failed", "6": "queued"}
_MMS_OUT_BOXES = {"2": None, "3": "draft", "4": "outbox", "5": "failed"}
_CALL_TITLES: dict[str, tuple[Direction, str]] = {
    "1": ("in", "Incoming call"),
    "2": ("out", "Outgoing call"),
    "3": ("in", "Missed call"),
    "4": ("in", "Voicemail"),
    "5": ("in", "Rejected call"),
    "6": ("in", "Blocked call"),
}
_DTD_REFUSED = (
    "refused: the file declares a DTD (entities, external references), which SMS backups never do"
)
_MMS_FROM = "137"  # PduHeaders.FROM, in an <addr type="…">
_TEXT_PART = "text/plain"
_LAYOUT_PARTS = frozenset({"application/smil"})


def sniff(path: Path) -> bool:
    """True for a regular file that starts like an SMS Backup & Restore file (its root is
    ``<smses>`` or ``<calls>``, after the XML declaration and the app's comment), or a folder
    whose ``.xml`` files (the app's backup folder) are all such files."""
    if path.is_dir():
        files = _xml_files(path)
        return bool(files) and all(map(_is_backup, files))
    return _is_backup(path)


@zip_aware("sms")
def read(path: Path, options: ImportOptions) -> Iterator[Item]:
    """Stream the texts, MMS and calls of a backup file (or of each in a folder, oldest name
    first), each followed by a ``Checkpoint`` of its file (an unchanged file is skipped on the
    next import).

    Raises:
        InputError: the file cannot be opened.
        RefusedInput: it is not a regular file.
    """
    source = Source(path)
    for file in [f for f in _xml_files(path) if _is_backup(f)] if path.is_dir() else [path]:
        key, state = file_state(file)
        if unchanged(options.cursors.get(key), state):
            continue
        try:
            handle = source.open(file)
        except RefusedInput as exc:  # a link in the folder leading out of it
            yield Quarantined(str(file), b"", exc.reason)
            continue
        except OSError as exc:
            raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from None
        with handle:
            yield from parse_backup(handle, str(file), options)
        yield Checkpoint(source=key, state=state)


def _is_backup(path: Path) -> bool:
    return is_file(path) and is_backup_start(peek(path, SNIFF_BYTES))


def is_backup_start(start: bytes) -> bool:
    """True if ``start`` (a file's first ``SNIFF_BYTES``) begins like a backup file."""
    return _ROOT.match(start) is not None


def _xml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.casefold() == ".xml")


def parse_backup(stream: IO[bytes], source_ref: str, options: ImportOptions) -> Iterator[Item]:
    """The items of a backup read from ``stream``; never raises for bad content.

    A message that cannot be read is quarantined alone; malformed XML, a DTD or an element over
    ``MAX_ELEMENT_BYTES`` quarantines the rest of the file, with its reason and position.
    """
    bounded = _Bounded(stream)
    reader = _Reader(source_ref, options)
    depth = 0
    root: Element | None = None
    try:
        for event, element in iterparse(bounded, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                    if element.tag not in ("smses", "calls"):
                        reason = f"not an SMS backup: its root is <{brief(element.tag)}>"
                        yield _rest(source_ref, reason)
                        return
                continue
            depth -= 1
            if depth == 1 and root is not None:
                yield reader.item(element)
                root.clear()  # drop what is recorded: memory stays at one message
                bounded.mark()
    except ParseError as exc:
        line, column = exc.position
        yield _rest(source_ref, f"malformed XML at line {line} column {column}: {_expat(exc)}")
    except DefusedXmlException:
        yield _rest(source_ref, _DTD_REFUSED)
    except RefusedInput as exc:
        yield _rest(source_ref, exc.reason)
    except OSError as exc:
        yield _rest(source_ref, f"cannot read file: {exc.strerror or exc}")


def _rest(source_ref: str, reason: str) -> Quarantined:
    """The part of the file from a fault on: the file itself stays where it is."""
    return Quarantined(source_ref, b"", f"{reason}; the rest of the file is not read")


def _expat(exc: ParseError) -> str:
    return one_line(str(exc)).partition(":")[0] or "not XML"


class _Bounded:
    """A stream that refuses to go on once one element has taken ``MAX_ELEMENT_BYTES``."""

    __slots__ = ("_since", "_stream")

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._since = 0

    def read(self, size: int = -1) -> bytes:
        """The next ``READ_BYTES`` (whatever ``size`` the parser asks for: see there).

        Raises:
            RefusedInput: the element being read is over the limit.
        """
        if self._since > MAX_ELEMENT_BYTES:
            limit = byte_size(MAX_ELEMENT_BYTES)
            raise RefusedInput("element", f"one element is over the {limit} limit of a message")
        chunk = self._stream.read(READ_BYTES)
        self._since += len(chunk)
        return chunk

    def mark(self) -> None:
        """An element was recorded: the next one starts counting."""
        self._since = 0


class _Reader:
    """Turns each top-level element into an item, one chat per thread."""

    def __init__(self, source_ref: str, options: ImportOptions) -> None:
        self.source_ref = source_ref
        self.timezone = options.timezone
        self.chats: dict[tuple[str, str], Chat] = {}
        self.position = 0

    def item(self, element: Element) -> Item:
        """The item of one ``<sms>``, ``<mms>`` or ``<call>``, or its quarantine."""
        self.position += 1
        ref = f"{self.source_ref}#{element.tag}-{self.position}"
        try:
            if element.tag == "sms":
                return self._sms(element, ref)
            if element.tag == "mms":
                return self._mms(element, ref)
            if element.tag == "call":
                return self._call(element, ref)
            raise Malformed(f"an unknown element <{brief(element.tag)}>")
        except Malformed as exc:
            return Quarantined(ref, _raw(element), str(exc))

    def _sms(self, element: Element, ref: str) -> Item:
        addresses = _addresses(_attr(element, "address"))
        chat = self._chat("sms", addresses, _attr(element, "contact_name"))
        text = _attr(element, "body") or ""
        kind = _attr(element, "type") or "1"
        direction: Direction = "in" if kind == "1" else "out"
        state = None if kind == "1" else _SMS_STATES.get(kind)
        message = _message(direction, state, text, chat, None, [])
        return chat.record(message, self._when(element), ref, _raw(element))

    def _mms(self, element: Element, ref: str) -> Item:
        addresses = _addresses(_attr(element, "address"))
        chat = self._chat("sms", addresses, _attr(element, "contact_name"))
        box = _attr(element, "msg_box") or "1"
        direction: Direction = "out" if box in _MMS_OUT_BOXES else "in"
        texts, attachments, unreadable = _parts(element)
        text = "\n".join(texts)
        subject = _attr(element, "sub")
        sender = None
        if direction == "in" and chat.kind == "group":
            sender = _mms_sender(element)
        message = _message(direction, _MMS_OUT_BOXES.get(box), text, chat, sender, attachments)
        if not message.title and subject:
            message.title = clip(subject)
        if subject:
            message.extras["subject"] = subject
        if unreadable:
            message.extras["unreadable_parts"] = unreadable
            message.body = "\n".join([message.body, *(f"[{u}]" for u in unreadable)]).strip()
        return chat.record(message, self._when(element), ref, _raw(element, keep_data=unreadable))

    def _call(self, element: Element, ref: str) -> Item:
        number = _addresses(_attr(element, "number"))
        chat = self._chat("call", number, _attr(element, "contact_name"))
        kind = _attr(element, "type") or "1"
        direction, title = _CALL_TITLES.get(kind, ("in", "Call"))
        seconds = _int(element, "duration") or 0
        if seconds > 0:
            minutes, rest = divmod(seconds, 60)
            title = f"{title}, {minutes}:{rest:02d}"
        message = Message(
            direction,
            title,
            "",
            key_sender=f"{kind}/{seconds}",
            key_text="",
            sender=_ME if direction == "out" else None,
            extras={"duration": seconds, "call_type": kind},
        )
        return chat.record(message, self._when(element), ref, _raw(element))

    def _chat(self, channel: str, addresses: list[str], contact: str | None) -> Chat:
        key = (channel, "~".join(sorted(a.casefold() for a in addresses)) or "(unknown)")
        chat = self.chats.get(key)
        if chat is None:
            if contact is not None and contact.casefold() in _NO_CONTACT:
                contact = None
            chat = self.chats[key] = _new_chat(channel, key[1], addresses, contact)
        return chat

    def _when(self, element: Element) -> Moment:
        stamp = _int(element, "date")
        if stamp is None:
            raise Malformed("no date")
        # Android keeps MMS dates in seconds and SMS dates in milliseconds; some backup versions
        # copy the seconds as they are. 10^11 ms is 1973, 10^11 s the year 5138.
        seconds = stamp / 1000 if abs(stamp) >= 10**11 else float(stamp)
        try:
            utc = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise Malformed(f"the date {stamp} is out of range") from None
        if not 1990 <= utc.year <= 2200:
            raise Malformed(f"the date {stamp} is out of range ({utc.year})")
        return Moment(utc.astimezone(self.timezone), utc)


def _new_chat(channel: str, key: str, addresses: list[str], contact: str | None) -> Chat:
    """The chat of a thread: a person, a group, or an organisation that texts."""
    kind: ChatKind
    party: Party | None
    if len(addresses) > 1:
        kind = "group"
        party = Party(name=contact or ", ".join(addresses), kind="chat_handle")
    elif addresses and _is_organisation(addresses[0]):
        kind = "business"
        sender_id = addresses[0]
        name = contact or sender_id
        party_kind: PartyKind = "chat_handle" if _LETTER.search(sender_id) else "phone"
        party = Party(name=name, address=sender_id, kind=party_kind)
    elif addresses:
        kind = "private"
        party = Party(name=contact or addresses[0], address=addresses[0], kind="phone")
    else:  # a hidden number, or a draft to no one
        kind = "private"
        party = Party(name=contact, kind="name") if contact else None
    return Chat(
        source=channel,
        key=f"{channel}:{key}",
        title=party.name if party else None,
        kind=kind,
        party=party,
        channel="sms" if channel == "sms" else "call",
    )


def _is_organisation(address: str) -> bool:
    """An alphanumeric sender id (``PostNL``) or a short code (``3669``): not a person's phone."""
    if _LETTER.search(address):
        return True
    digits = address.lstrip("+")
    return not address.startswith("+") and digits.isdigit() and len(digits) <= _SHORT_CODE_DIGITS


def _message(
    direction: Direction,
    state: str | None,
    text: str,
    chat: Chat,
    sender: Party | None,
    attachments: list[Attachment],
) -> Message:
    """The message of a text: its title from the first line (or its attachments), the unsent
    state of the user's own texts in front."""
    names = ", ".join(a.filename for a in attachments)
    title = title_of(text) or (clip(f"[{names}]") if names else "")
    if state:
        title = f"({state}) {title}".strip()
    if direction == "out":
        sender, key_sender = _ME, "me"
    else:
        party = sender or chat.party
        key_sender = (party.address or party.name or "") if party else ""
    return Message(
        direction,
        title,
        text,
        key_sender=key_sender,
        key_text="\x1f".join([text, names]) if names else text,
        sender=sender,
        attachments=attachments,
        extras={"state": state} if state else {},
    )


def _parts(element: Element) -> tuple[list[str], list[Attachment], list[str]]:
    """(texts, attachments, unreadable parts) of an MMS's ``<parts>``."""
    texts: list[str] = []
    attachments: list[Attachment] = []
    unreadable: list[str] = []
    for number, part in enumerate(element.iter("part"), 1):
        mime = (_attr(part, "ct") or "application/octet-stream").lower()
        if mime in _LAYOUT_PARTS:
            continue
        data = _attr(part, "data")
        text = _attr(part, "text")
        if mime == _TEXT_PART and data is None:
            if text:
                texts.append(text)
            continue
        name = _attr(part, "fn") or _attr(part, "name") or _attr(part, "cl") or f"part-{number}"
        if data is None:
            if text:
                attachments.append(Attachment(name, mime, text.encode("utf-8", "replace")))
            continue
        try:
            content = base64.b64decode(re.sub(r"\s+", "", data), validate=True)
        except (binascii.Error, ValueError):
            unreadable.append(f"{name}: its data is not valid base64")
            continue
        attachments.append(Attachment(name, mime if "/" in mime else mime_of(name), content))
    return texts, attachments, unreadable


def _mms_sender(element: Element) -> Party | None:
    """Who sent a group MMS: its ``<addr>`` of type FROM."""
    for addr in element.iter("addr"):
        if _attr(addr, "type") == _MMS_FROM:
            found = _addresses(_attr(addr, "address"))
            if found:
                return Party(address=found[0], kind="phone")
    return None


def _addresses(value: str | None) -> list[str]:
    """The addresses of a thread, each once: phone numbers without spaces or dashes; Android's
    hidden numbers (``-1`` unknown, ``-2`` private, ``-3`` pay phone) are none."""
    found: list[str] = []
    for part in (value or "").split("~"):
        address = part.strip()
        if _HIDDEN.fullmatch(address):
            continue
        if address and not _LETTER.search(address):
            address = _NOT_NUMBER.sub("", address)
        if address and address not in found:
            found.append(address)
    return found


def _attr(element: Element, name: str) -> str | None:
    """An attribute's value; None for absent, empty or the app's ``"null"``."""
    value = element.get(name)
    return None if value is None or value in ("", "null") else value


def _int(element: Element, name: str) -> int | None:
    """An attribute's whole number; None if absent.

    Raises:
        Malformed: it is not a number.
    """
    value = _attr(element, name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise Malformed(f"{name} is not a number: {brief(value)}") from None


def _raw(element: Element, keep_data: list[str] | None = None) -> bytes:
    """The element as XML, without the base64 of parts kept as attachments (stored once, as
    the attachments); ``keep_data`` non-empty keeps all of it."""
    if len(element) == 0:
        # An <sms> or <call>: written here, in a fifth of the time ``tostring`` takes.
        attributes = "".join(f' {k}="{v.translate(_ESCAPES)}"' for k, v in element.items())
        return f"<{element.tag}{attributes} />".encode()
    if not keep_data:
        for part in element.iter("part"):
            if "data" in part.attrib:
                part.set("data", "(kept as the attachment)")
    return tostring(element, encoding="utf-8")  # type: ignore[no-any-return]
