"""A WhatsApp chat text split into its messages: the line layouts, who said what, and the
order of the dates (see ``importers.chat.whatsapp`` for the decisions).

Lines are split at ``\n`` only; a line that starts with a date and time begins a message, every
other line continues the one above.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from importers.chat import whatsapp_dates
from importers.chat.base import Malformed
from importers.chat.whatsapp_dates import Written, decide
from importers.files import LongLine, long_line_reason

Shape = tuple[str, bool, int]
"""A date layout: separator, year first, and the digits of the last field."""

Line = str | LongLine
"""A line of a chat text, decoded, or what stands in for one over ``MAX_LINE_BYTES``."""

_S = "[ \u00a0\u202f]"  # Android 2.23+ puts U+202F (narrow no-break space) before AM/PM
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_B = f"[{BIDI}]*+"  # RTL locales and iOS put direction marks anywhere in the head
# Clock words before the time (Japanese, Korean, Chinese) and after it (the rest).
_BEFORE = "午前|午後|오전|오후|上午|下午"
_AFTER = r"[AaPp]\.?[ \u00a0\u202f]?[Mm]\.?|vorm\.|nachm\.|π\.\s?μ\.|μ\.\s?μ\."
AFTERNOON = ("p", "P", "nachm", "午後", "오후", "下午", "μ")
_HEADER = re.compile(
    rf"^{_B}(?P<open>\[)?{_B}"
    r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<sp> )?(?P<b>\d{1,2})(?P=sep)(?(sp) )(?P<c>\d{1,4})\.?"
    rf"{_B},?{_S}++(?:(?:klo|um|kl\.){_S}+)?{_B}"  # Finnish: "30.6.2023 klo 16.13"
    rf"(?:(?P<pre>{_BEFORE}){_S}?)?"
    r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?"
    rf"(?:{_S}*(?P<ampm>{_AFTER}))?{_B}\.?{_B}"  # "13:34. -" (a dot after the time)
    # iOS "] ", Android " - ", Finnish "13.06.18 21.25.15: ", "13. 6. 2018. 21:25:15 Name: "
    rf"(?(open)\]{_S}?|(?:[{BIDI} \u00a0\u202f]*+[-–]{_B}{_S}|:{_S}|(?(sp){_S}|(?!))))"
    r"(?P<rest>.*)$"
)
PHONE = re.compile(r"^\+?[\d ()\-.\u00a0\u202f]{6,}$")
_ANDROID_NAME_PREFIX = re.compile(r"^~[ \u00a0\u202f]*")  # Android 2.24: "~ Name", not a contact


@dataclass(slots=True)
class Entry:
    """One message as written: its header line and the lines that continue it."""

    line: int
    match: re.Match[str]
    lines: list[str]

    @property
    def shape(self) -> Shape:
        return _shape(self.match)

    def text(self) -> str:
        return "\n".join([self.match["rest"], *self.lines])

    def raw(self) -> bytes:
        return "\n".join([self.match.string, *self.lines]).encode("utf-8", "surrogatepass")

    too_long: str | None = None
    """Why it is quarantined: one of its lines was over ``MAX_LINE_BYTES`` and left out."""


@dataclass(slots=True)
class Said:
    """What an entry says: who (None for a notice), the text, and whether iOS marked it."""

    sender: str | None
    text: str
    marked: bool


@dataclass(slots=True)
class Parsed:
    """A chat text split into entries, with the date order of each layout decided."""

    entries: list[Entry]
    preamble: list[str]
    orders: dict[Shape, str]
    notes: list[str] = field(default_factory=list)
    """What the user should hear about the file: the date order where it was a close call."""
    said: list[Said] = field(default_factory=list)
    long_lines: list[tuple[int, LongLine]] = field(default_factory=list)
    """Lines over the limit before the first message, by line number."""


def looks_like_chat(head: str) -> bool:
    """True if the first non-empty line of ``head`` starts like a WhatsApp message."""
    for line in head.lstrip("\ufeff").split("\n")[:5]:
        if line.strip():
            return _HEADER.match(line.rstrip("\r")) is not None
    return False


def decode(data: bytes) -> str:
    # WhatsApp writes UTF-8; a damaged byte must not cost the rest of the chat.
    return data.decode("utf-8", "replace")


def fold(name: str) -> str:
    """A sender's identity: phone numbers by their digits, names by their casefolded text."""
    if PHONE.match(name):
        return "+" + re.sub(r"\D", "", name)
    return name.casefold()


# --- splitting a text into entries ---------------------------------------------------------------


def split_entries(lines: Iterable[Line]) -> Parsed:
    """Entries from the lines of a text, split at ``\n`` only (``str.splitlines()`` would also
    cut at U+2028 and friends inside messages)."""
    entries: list[Entry] = []
    preamble: list[str] = []
    long_lines: list[tuple[int, LongLine]] = []
    for number, line in enumerate(lines, start=1):
        if isinstance(line, LongLine):
            _add_long_line(number, line, entries, long_lines)
            continue
        line = line.removesuffix("\r").lstrip("\ufeff") if number == 1 else line.removesuffix("\r")
        match = _HEADER.match(line)
        if match is not None:
            entries.append(Entry(number, match, []))
        elif entries:
            entries[-1].lines.append(line)
        elif line.strip():
            preamble.append(line)
    for entry in entries:
        _trim_trailing_blank_lines(entry)
    said = _who_said_what(entries)
    orders, notes = _date_orders(entries, said)
    return Parsed(entries, preamble, orders, notes, said, long_lines)


def _add_long_line(
    number: int, line: LongLine, entries: list[Entry], long_lines: list[tuple[int, LongLine]]
) -> None:
    """A line over the limit: its message (the one it starts, or the one it continues) is
    quarantined with the reason; before the first message it is quarantined on its own."""
    reason = long_line_reason(number, line)
    match = _HEADER.match(decode(line.head))
    if match is not None:
        entries.append(Entry(number, match, [], too_long=reason))
    elif entries:
        entries[-1].too_long = entries[-1].too_long or reason
    else:
        long_lines.append((number, line))


def _trim_trailing_blank_lines(entry: Entry) -> None:
    # Android ends the file with "\n" and iOS does not, and both may leave a blank line before
    # the next header: neither belongs to the message.
    while entry.lines and not entry.lines[-1].strip():
        entry.lines.pop()


def _who_said_what(entries: list[Entry]) -> list[Said]:
    """Each entry's sender and text; a sender is known once a line spells it ``Name: text``."""
    first = [_split_sender(entry.text()) for entry in entries]
    known = {name for name, _ in first if name}
    said = []
    for entry, (name, text) in zip(entries, first, strict=True):
        if name is None:
            name, text = _known_sender(entry.text(), known)
        marked = text.startswith("\u200e")
        said.append(Said(name, text.lstrip(BIDI) if marked else text, marked))
    return said


def _split_sender(rest: str) -> tuple[str | None, str]:
    head, colon, text = rest.partition(": ")
    if not colon:
        head, colon, text = rest.partition(":\n")
    if not colon or not head.strip(BIDI + " ") or '"' in head or "“" in head or "\n" in head:
        return None, rest
    return _clean_name(head), text


def _known_sender(rest: str, known: set[str]) -> tuple[str | None, str]:
    """``John Doe:.`` (no space after the colon) is a message when John Doe speaks elsewhere."""
    head, colon, text = rest.partition(":")
    if colon and _clean_name(head) in known:
        return _clean_name(head), text
    return None, rest


def _clean_name(name: str) -> str:
    return _ANDROID_NAME_PREFIX.sub("", name.strip(BIDI + " \u00a0\u202f"))


# --- dates and times -----------------------------------------------------------------------------


def _shape(match: re.Match[str]) -> Shape:
    """A date layout: separator, year first, and the digits of the last field."""
    year_first = len(match["a"]) == 4 or int(match["a"]) > 31
    return match["sep"], year_first, len(match["c"])


def _date_orders(entries: list[Entry], said: list[Said]) -> tuple[dict[Shape, str], list[str]]:
    """``ymd``, ``dmy`` or ``mdy`` for each date layout in the file, and what to tell the user
    about the layouts whose order was a close call (``importers.chat.whatsapp_dates``)."""
    by_shape: dict[Shape, list[Entry]] = {}
    for entry in entries:
        by_shape.setdefault(entry.shape, []).append(entry)
    locale = _locale_words(entries, said)
    orders: dict[Shape, str] = {}
    notes: list[str] = []
    for shape, members in by_shape.items():
        decision = decide(
            [_written(entry) for entry in members],
            year_first=shape[1],
            twelve_hour=any(e.match["ampm"] or e.match["pre"] for e in members),
            slashes=shape[0] == "/",
            locale=locale,
        )
        orders[shape] = decision.order
        if decision.why:
            first = members[0].match
            try:
                read: date | None = wall_time(first, decision.order).date()
            except Malformed:
                read = None
            notes.append(whatsapp_dates.describe(decision, _written_date(first), read))
    return orders, notes


def _written(entry: Entry) -> Written:
    match = entry.match
    return Written(int(match["a"]), int(match["b"]), int(match["c"]), len(match["a"]), entry.text)


def _locale_words(entries: list[Entry], said: list[Said]) -> str:
    """Words that may name the phone's locale: clock words, the head of the first lines
    ("klo"), and the notices WhatsApp writes in the phone's language."""
    clocks = {entry.match["ampm"] or "" for entry in entries}
    heads = [entry.match.string[:40] for entry in entries[:20]]
    notices = [s.text[:200] for s in said[:50] if s.sender is None or s.marked]
    return " ".join([*clocks, *heads, *notices])


def wall_time(match: re.Match[str], order: str) -> datetime:
    """The entry's date and time as written, without a zone."""
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    marker = match["ampm"] or match["pre"]
    if marker:
        hour = _twelve_hour(hour, marker)
    numbers = int(match["a"]), int(match["b"]), int(match["c"])
    try:
        return whatsapp_dates.wall_time(numbers, (hour, minute, second), order)
    except Malformed:
        written = _written_date(match)
        raise Malformed(f"date {written} {match['h']}:{match['m']} is not valid") from None


def _written_date(match: re.Match[str]) -> str:
    return f"{match['a']}{match['sep']}{match['b']}{match['sep']}{match['c']}"


def _twelve_hour(hour: int, marker: str) -> int:
    # "12:10 p. m." is 12:10 and "12:05 AM" is 00:05; Android es-MX also writes "00:08 a. m.".
    afternoon = marker.lstrip().startswith(AFTERNOON)
    if hour == 12:
        return 12 if afternoon else 0
    return hour + 12 if afternoon and hour < 12 else hour
