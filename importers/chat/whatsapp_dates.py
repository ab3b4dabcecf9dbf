"""The order of day, month and year in a WhatsApp chat's dates, decided from the whole file.

A WhatsApp export writes dates in the phone's locale and names no locale: ``3/12/24`` is 3
December in London and 12 March in New York. Each date layout of a file (separator, year
digits) gets one order, weighed from every signal the file holds, strongest first:

1. dates that cannot be in an order (a month above 12, 31 February), or not in WhatsApp's
   life (before 2009, after next year: a two-digit year first or last);
2. media file names that carry their date (``IMG-20241203-WA0003.jpg``,
   ``00000012-PHOTO-2024-12-03-10-15-30.jpg``): the order that gives their message that day;
3. the order of the lines: an export runs forward, so the order with fewer backward jumps;
4. locale words (``nachm.``, ``klo``, a German or French notice): a day-first language;
5. jumps half as large between messages (a chat of 1-4 December, not of 12 January-12 April);
6. the habit: slashes with AM/PM are month first (US phones), everything else day first.

When the first signal did not decide, the decision is close: ``Decision.why`` says why, and
``describe`` makes the import summary's sentence of it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from importers.chat.base import Malformed

ORDERS = ("dmy", "mdy", "ymd")
FIRST_YEAR = 2009
"""WhatsApp's first year: a date before it is a misread."""

_SAYS = {"dmy": "day first", "mdy": "month first", "ymd": "year first"}
_MEDIA_DATE = re.compile(
    r"\b(?:IMG|VID|AUD|PTT|DOC|STK)-(?P<compact>\d{8})-WA\d+"
    r"|\d+-(?:PHOTO|VIDEO|AUDIO|STICKER|GIF|DOCUMENT)-(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
)
# Words of locales that always write the day before the month (German, Dutch, French,
# Spanish, Italian, Portuguese, Finnish, Turkish notices and clock words; not "p. m.": es-US
# writes the month first).
_DAY_FIRST_WORDS = re.compile(
    r"\b(?:vorm\.|nachm\.|klo\b)"
    r"|ende-zu-ende|end-to-end versleuteld|bout en bout|extremo a extremo|ponta a ponta"
    r"|crittografat|päästä päähän|uçtan uca",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Written:
    """A date as written: its three numbers, their digits, and what else the entry says."""

    a: int
    b: int
    c: int
    a_digits: int
    text: Callable[[], str]
    """The entry's text, read only when the media signal is needed."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The order of one date layout, and why when it was a close call (for the summary)."""

    order: str
    why: str | None = None


def decide(
    dates: Sequence[Written], *, year_first: bool, twelve_hour: bool, slashes: bool, locale: str
) -> Decision:
    """The order of a layout's ``dates`` (see the module docstring).

    Args:
        dates: the layout's dates in file order.
        year_first: the first number is a four-digit year: the order is ``ymd``.
        twelve_hour: some time of the layout has AM/PM.
        slashes: the layout separates with ``/``.
        locale: the words of the file that may name its locale (clock words, notices).
    """
    if year_first:
        return Decision("ymd")
    orders = [o for o in ORDERS if o != "ymd" or all(d.a_digits <= 2 for d in dates)]
    every = {o: [_day(d, o) for d in dates] for o in orders}
    invalid = {o: read.count(None) for o, read in every.items()}
    wrong = {o: invalid[o] + _outside_whatsapps_life(read) for o, read in every.items()}
    fewest = min(wrong.values())
    days = {o: read for o, read in every.items() if wrong[o] == fewest}
    if len(days) == 1:
        (order,) = days
        if invalid[order]:
            return Decision(order, f"the most dates fit it; {invalid[order]} fit no order")
        return Decision(order)
    days.pop("ymd", None)  # two-digit years first only when nothing else can be
    habit = "mdy" if slashes and twelve_hour and "mdy" in days else next(iter(days))
    if len(days) == 1 or all(read == days[habit] for read in days.values()):
        return Decision(habit)  # every order reads the same dates: nothing to say
    found = _media_dates(days, dates) or _forward_lines(days)
    if found is not None:
        return Decision(*found)
    if _DAY_FIRST_WORDS.search(locale):
        return Decision("dmy", "no date decides, and the locale's words write the day first")
    found = _smallest_jumps(days)
    if found is not None:
        return Decision(*found)
    why = "slashes with AM/PM are US phones'" if habit == "mdy" else "most phones write it so"
    return Decision(habit, f"no date decides; {why}")


def _day(written: Written, order: str) -> date | None:
    """The date ``written`` is in ``order``, or None where it cannot be."""
    a, b, c = written.a, written.b, written.c
    year, month, day = (a, b, c) if order == "ymd" else (c, b, a) if order == "dmy" else (c, a, b)
    try:
        return date(_full_year(year), month, day)
    except ValueError:
        return None


def _outside_whatsapps_life(days: list[date | None]) -> int:
    """How many dates lie before WhatsApp or after next year: "24. 12. 3." is 3 December 2024
    (Korean), not 24 December 2003."""
    last = datetime.now().year + 1
    return sum(1 for day in days if day is not None and not FIRST_YEAR <= day.year <= last)


def _full_year(year: int) -> int:
    return year + 2000 if year < 100 else year  # WhatsApp dates from 2009


Days = dict[str, list[date | None]]
Found = tuple[str, str] | None


def _media_dates(days: Days, dates: Sequence[Written]) -> Found:
    """The order under which messages carry the date their media file names give."""
    agree = dict.fromkeys(days, 0)
    example = ""
    for index, written in enumerate(dates):
        media = _media_day(written.text())
        if media is None:
            continue
        for order, read in days.items():
            day = read[index]
            if day is not None and abs((day - media[0]).days) <= 1:
                agree[order] += 1
                example = example or media[1]
    most = max(agree.values())
    best = [o for o, n in agree.items() if n == most]
    if most and len(best) == 1:
        return best[0], f"media file names carry the same dates ({example})"
    return None


def _media_day(text: str) -> tuple[date, str] | None:
    found = _MEDIA_DATE.search(text)
    if found is None:
        return None
    compact = found["compact"]
    try:
        if compact:
            return date(int(compact[:4]), int(compact[4:6]), int(compact[6:])), found[0]
        return date(int(found["y"]), int(found["m"]), int(found["d"])), found[0]
    except ValueError:
        return None


def _forward_lines(days: Days) -> Found:
    backward = {o: _steps(found)[0] for o, found in days.items()}
    fewest = min(backward.values())
    best = [o for o, n in backward.items() if n == fewest]
    if len(best) == 1:
        return best[0], "the lines run forward in time only this way"
    return None


def _smallest_jumps(days: Days) -> Found:
    """The order whose messages lie closest together, by half at least: a chat runs over
    days of one month far more often than over one day of several months."""
    jumps = {o: _steps(found)[1] for o, found in days.items()}
    ranked = sorted(jumps, key=jumps.__getitem__)
    if 2 * jumps[ranked[0]] < jumps[ranked[1]]:
        spans = ", ".join(f"{_SAYS[o]} {n} days" for o, n in jumps.items())
        return ranked[0], f"no date decides; the messages lie closest together this way ({spans})"
    return None


def _steps(found: list[date | None]) -> tuple[int, int]:
    """How often the dates go back, and the days jumped between consecutive dates in all."""
    backward = jumped = 0
    previous: date | None = None
    for day in found:
        if day is None:
            continue
        if previous is not None:
            backward += day < previous
            jumped += abs((day - previous).days)
        previous = day
    return backward, jumped


def describe(decision: Decision, written: str, read: date | None) -> str:
    """The summary's sentence on a close call: ``written`` (a date of the file) read so."""
    as_read = f" ({read.day} {calendar.month_name[read.month]} {read.year})" if read else ""
    return f"dates such as {written} are read {_SAYS[decision.order]}{as_read}: {decision.why}"


def wall_time(numbers: tuple[int, int, int], clock: tuple[int, int, int], order: str) -> datetime:
    """The date and time as written, without a zone.

    Raises:
        Malformed: no such date or time.
    """
    a, b, c = numbers
    year, month, day = (a, b, c) if order == "ymd" else (c, b, a) if order == "dmy" else (c, a, b)
    try:
        return datetime(_full_year(year), month, day, *clock)
    except ValueError as exc:
        raise Malformed("is not valid") from exc
