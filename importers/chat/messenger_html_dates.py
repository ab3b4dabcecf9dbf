"""Dates as Messenger's HTML export writes them, in the account's Facebook language ("Jan 05,
2020, 3:04 PM" until 2021, "Jan 05, 2024 3:04:05 pm" since; Dutch and German month names too),
read as wall-clock times (see ``importers.chat.messenger_html``).

A page's dates are read together: the language whose month names read most of them wins, and
the order of all-number dates is decided by a first field above 12 (else AM/PM means month
first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


def _months(*spellings: str, **more: int) -> dict[str, int]:
    """Month number by name: each argument spells the twelve months, space separated."""
    table = {name: number for names in spellings for number, name in enumerate(names.split(), 1)}
    return {**table, **more}


_MONTHS: dict[str, dict[str, int]] = {
    "en": _months(
        "jan feb mar apr may jun jul aug sep oct nov dec",
        "january february march april may june july august september october november december",
        sept=9,
    ),
    "nl": _months(
        "jan feb mrt apr mei jun jul aug sep okt nov dec",
        "januari februari maart april mei juni juli augustus september oktober november december",
        sept=9,
    ),
    "de": _months(
        "jan feb mär apr mai jun jul aug sep okt nov dez",
        "januar februar märz april mai juni juli august september oktober november dezember",
        mrz=3,
        sept=9,
    ),
    "fr": _months(
        "janv févr mars avr mai juin juil août sept oct nov déc",
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    ),
    "es": _months(
        "ene feb mar abr may jun jul ago sep oct nov dic",
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    ),
    "it": _months(
        "gen feb mar apr mag giu lug ago set ott nov dic",
        "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
        "dicembre",
    ),
    "pt": _months(
        "jan fev mar abr mai jun jul ago set out nov dez",
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    ),
}
"""Month names and abbreviations (lower case, without the dot) per Facebook language."""


def month_number(word: str) -> int | None:
    """The month a (casefolded) month name means in any of the languages above; None if none."""
    return next((months[word] for months in _MONTHS.values() if word in months), None)


_FILLER_WORDS = frozenset({"at", "om", "um"})
_AMPM = re.compile(r"(?<![^\W\d_])([ap])\.?\s?m\.?(?![^\W\d_])", re.IGNORECASE)
_TOKEN = re.compile(r"\d{1,2}[:.]\d{2}(?:[:.]\d{2})?|\d+|[^\W\d_]+")
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?$")
SPACES = re.compile(r"[\s\u202f\u00a0]+")


@dataclass(frozen=True, slots=True)
class Written:
    """A date as a page writes it, split into its parts (before the language is known)."""

    words: tuple[str, ...]
    numbers: tuple[int, ...]
    clock: tuple[int, int, int]
    afternoon: bool | None


def split_date(text: str) -> Written | None:
    """The parts of a date-and-time text; None if it has no clock time or stray parts."""
    cleaned = SPACES.sub(" ", text).strip().casefold()
    afternoon: bool | None = None
    marker = _AMPM.search(cleaned)
    if marker:
        afternoon = marker[1] == "p"
        cleaned = cleaned[: marker.start()] + " " + cleaned[marker.end() :]
    words: list[str] = []
    numbers: list[int] = []
    clock: tuple[int, int, int] | None = None
    for token in _TOKEN.findall(cleaned):
        found = _CLOCK.match(token)
        if found and clock is None and (":" in token or numbers):
            clock = (int(found[1]), int(found[2]), int(found[3] or 0))
        elif token.isdigit():
            numbers.append(int(token))
        elif token not in _FILLER_WORDS:
            words.append(token)
    if clock is None or len(words) > 1 or not 2 <= len(numbers) + len(words) <= 3:
        return None
    return Written(tuple(words), tuple(numbers), clock, afternoon)


@dataclass(frozen=True, slots=True)
class Calendar:
    """How one page writes dates: its language and, for all-number dates, the order."""

    language: str
    month_first: bool

    def read(self, written: Written) -> datetime:
        """The wall-clock time; raises ``ValueError`` when the parts make no date."""
        if written.words:
            month = _MONTHS[self.language].get(written.words[0])
            if month is None or len(written.numbers) != 2:
                raise ValueError("no month")
            day, year = _day_and_year(written.numbers)
        else:
            if len(written.numbers) != 3:
                raise ValueError("no month")
            first, second, year = written.numbers
            if first > 31:  # 2024-01-05
                year, month, day = written.numbers
            else:
                month, day = (first, second) if self.month_first else (second, first)
        if year < 100:
            year += 2000
        hour, minute, second_ = written.clock
        if written.afternoon is not None:
            hour = hour % 12 + (12 if written.afternoon else 0)
        return datetime(year, month, day, hour, minute, second_)


def _day_and_year(numbers: tuple[int, ...]) -> tuple[int, int]:
    first, second = numbers
    return (first, second) if second > 31 else (second, first)


def calendar_of(dates: Iterable[Written]) -> Calendar:
    """The language whose month names read most of a page's dates, and the order of all-number
    dates (a first field above 12 is a day; AM/PM without such evidence means month first)."""
    written = list(dates)
    counts = {
        language: sum(1 for w in written if w.words and w.words[0] in months)
        for language, months in _MONTHS.items()
    }
    language = max(counts, key=lambda name: counts[name])  # ties: English, listed first
    numeric = [w.numbers for w in written if not w.words and len(w.numbers) == 3]
    day_first = sum(1 for n in numeric if n[0] > 12 and n[0] <= 31)
    month_first = sum(1 for n in numeric if n[1] > 12)
    if day_first == month_first:
        twelve_hour = any(w.afternoon is not None for w in written)
        return Calendar(language, twelve_hour)
    return Calendar(language, month_first > day_first)


def looks_like_date(text: str) -> bool:
    written = split_date(text)
    if written is None:
        return False
    if not written.words:
        return len(written.numbers) == 3
    return any(written.words[0] in months for months in _MONTHS.values())
