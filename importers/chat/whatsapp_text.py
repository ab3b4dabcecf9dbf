"""A WhatsApp chat text split into its messages: the line layouts, who said what, and the
order of the dates (see ``importers.chat.whatsapp`` for the decisions).

Lines are split at ``\n`` only; a line that starts with a date and time begins a message, every
other line continues the one above.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from importers.chat.base import Malformed
from importers.files import LongLine, long_line_reason

Line = str | LongLine
"""A line of a chat text, decoded, or what stands in for one over ``MAX_LINE_BYTES``."""

_S = "[ \u00a0\u202f]"  # Android 2.23+ puts U+202F (narrow no-break space) before AM/PM
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_HEADER = re.compile(
    rf"^[{BIDI}]*(?P<open>\[)?"
    r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})\.?"
    rf",?{_S}+(?:klo{_S}+)?"  # Finnish: "30.6.2023 klo 16.13"
    r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?"
    rf"(?:{_S}*(?P<ampm>[AaPp]\.?{_S}?[Mm]\.?))?"
    rf"(?(open)\]{_S}?|{_S}*[-–]{_S})"
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
    def shape(self) -> tuple[str, bool, int]:
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
    orders: dict[tuple[str, bool, int], str]
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
    parsed = Parsed(entries, preamble, _date_orders(entries), long_lines=long_lines)
    parsed.said = _who_said_what(entries)
    return parsed


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


def _shape(match: re.Match[str]) -> tuple[str, bool, int]:
    """A date layout: separator, year first, and the digits of the last field."""
    year_first = len(match["a"]) == 4 or int(match["a"]) > 31
    return match["sep"], year_first, len(match["c"])


def _date_orders(entries: list[Entry]) -> dict[tuple[str, bool, int], str]:
    """``ymd``, ``dmy`` or ``mdy`` for each date layout in the file."""
    by_shape: dict[tuple[str, bool, int], list[re.Match[str]]] = {}
    for entry in entries:
        by_shape.setdefault(entry.shape, []).append(entry.match)
    return {shape: _order(shape, matches) for shape, matches in by_shape.items()}


def _order(shape: tuple[str, bool, int], matches: list[re.Match[str]]) -> str:
    if shape[1]:
        return "ymd"
    pairs = [(int(m["a"]), int(m["b"])) for m in matches]
    day_first = sum(1 for a, b in pairs if a > 12 and b <= 12)
    month_first = sum(1 for a, b in pairs if b > 12 and a <= 12)
    if day_first != month_first:
        return "dmy" if day_first > month_first else "mdy"
    # Undecided (no day above 12): the order in which the dates run forward wins.
    backward = {order: _backward_steps(matches, order) for order in ("dmy", "mdy")}
    if backward["dmy"] != backward["mdy"]:
        return min(backward, key=backward.__getitem__)
    # Still undecided: US phones write "1/2/23, 3:04 PM"; nearly everyone else puts the day first.
    twelve_hour = any(m["ampm"] for m in matches)
    return "mdy" if shape[0] == "/" and twelve_hour else "dmy"


def _backward_steps(matches: list[re.Match[str]], order: str) -> int:
    steps, previous = 0, None
    for match in matches:
        a, b, c = int(match["a"]), int(match["b"]), int(match["c"])
        day, month = (a, b) if order == "dmy" else (b, a)
        current = (c, month, day)
        if previous is not None and current < previous:
            steps += 1
        previous = current
    return steps


def wall_time(match: re.Match[str], order: str) -> datetime:
    """The entry's date and time as written, without a zone."""
    a, b, c = int(match["a"]), int(match["b"]), int(match["c"])
    if order == "ymd":
        year, month, day = a, b, c
    elif order == "dmy":
        day, month, year = a, b, c
    else:
        month, day, year = a, b, c
    if year < 100:
        year += 2000  # WhatsApp dates from 2009; two-digit years are this century
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if match["ampm"]:
        hour = _twelve_hour(hour, match["ampm"])
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        written = f"{match['a']}{match['sep']}{match['b']}{match['sep']}{match['c']}"
        raise Malformed(f"date {written} {match['h']}:{match['m']} is not valid") from exc


def _twelve_hour(hour: int, marker: str) -> int:
    # "12:10 p. m." is 12:10 and "12:05 AM" is 00:05; Android es-MX also writes "00:08 a. m.".
    afternoon = marker.lstrip()[0] in "pP"
    if hour == 12:
        return 12 if afternoon else 0
    return hour + 12 if afternoon and hour < 12 else hour
