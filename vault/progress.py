"""How far an import is, for people: ``45.2 MB of 135 MB (33 %) · 6.1 MB/s · 15 s left``.

The importers put a ``Position`` on their checkpoints where they know one (bytes of an mbox,
files of a Maildir, messages of an IMAP folder); ingest hands the latest to the progress
callback in the ``Summary``. Both faces turn it into words with a ``ProgressMeter``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vault.records import Position
from vault.text import byte_size

MIN_SECONDS_FOR_RATE = 1.0
"""A rate (and so a time left) is said once this much time has passed: a first batch alone
would promise a rate it does not keep."""


@dataclass(frozen=True)
class Reading:
    """One progress reading: ``amount`` (``45.2 MB of 135 MB``), the fraction done (0–1),
    the rate (``6.1 MB/s``) and the time left (``15 s left``) once they can be told."""

    amount: str
    fraction: float
    rate: str | None = None
    left: str | None = None

    def __str__(self) -> str:
        parts = [f"{self.amount} ({self.fraction:.0%})"]
        parts += [part for part in (self.rate, self.left) if part]
        return " · ".join(parts)


def _amount(count: float, unit: str) -> str:
    if unit == "bytes":
        return byte_size(int(count))
    return f"{int(count):,} {unit}"


def _rate(per_second: float, unit: str) -> str:
    if unit == "bytes":
        return f"{byte_size(int(per_second))}/s"
    return f"{per_second:,.0f} {unit}/s"


def duration(seconds: float) -> str:
    """``8 s``, ``3 min 20 s``, ``1 h 05 min``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressMeter:
    """Readings of one source's positions over time; the rate counts only what this run read
    (a resumed import starts part-way)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._first: tuple[str, int, float] | None = None

    def reading(self, position: Position | None) -> Reading | None:
        """The reading at ``position``; None where the importer gave none."""
        if position is None or position.total <= 0:
            return None
        now = self._clock()
        key = f"{position.unit}:{position.where}:{position.total}"
        if self._first is None or self._first[0] != key:
            self._first = (key, position.done, now)  # a new file or folder: a new rate
        done = min(position.done, position.total)
        amount = f"{_amount(done, position.unit)} of {_amount(position.total, position.unit)}"
        if position.where:
            amount = f"{position.where}: {amount}"
        elapsed = now - self._first[2]
        gained = done - self._first[1]
        if elapsed < MIN_SECONDS_FOR_RATE or gained <= 0:
            return Reading(amount, done / position.total)
        per_second = gained / elapsed
        left = duration((position.total - done) / per_second) + " left"
        return Reading(amount, done / position.total, _rate(per_second, position.unit), left)
