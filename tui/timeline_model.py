"""What a company's timeline shows, without a widget: its filter, index, pages and channel counts.

``TimelineModel`` owns the filter (company, channel and a ``DateFilter``, read as one
``TimelineFilter``), the ``TimelineIndex`` read for it, the pages of ``PAGE_ROWS`` rows read so
far (an LRU cache) and the company's item counts per channel. Its ``read_*`` methods ask the
core's browse queries and change nothing, so the view runs them in worker threads and hands
their results back on the UI thread (``index_read``, ``pages_read``, ``channels_counted``); a
result for a filter that is no longer shown is dropped there.

Lines are rows plus one month separator above each month's first row; the model maps rows to
lines and back. It imports no Textual: tests drive it against a real vault directly.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import tzinfo

from tui.format import safe
from vault.browse import (
    MonthMark,
    TimelineIndex,
    channel_counts,
    position_in_timeline,
    timeline_index,
    timeline_page,
    timeline_start,
)
from vault.clock import LocalZone
from vault.errors import UsageError
from vault.queries import TimelineFilter, TimelineRow
from vault.store import Store
from vault.timefmt import parse_user_date

PAGE_ROWS = 100
PAGE_CACHE = 64  # pages, i.e. 6,400 rows kept

Pages = dict[int, list[TimelineRow]]


@dataclass(frozen=True, slots=True)
class DateFilter:
    """A date range as the user typed it (either side may be empty) and its epoch bounds."""

    start: str = ""
    end: str = ""
    since: int | None = None
    until: int | None = None  # exclusive: the first second after the end day, month or year

    @classmethod
    def parse(cls, start: str, end: str, zone: tzinfo | None = None) -> DateFilter:
        """The range from ``start`` to ``end`` inclusive, as ``kluis timeline`` reads dates:
        days in the user's ``zone`` (None: this machine's).

        Raises:
            UsageError: a side is not a date, or the range ends before it starts.
        """
        start, end = start.strip(), end.strip()
        where = zone or LocalZone()
        since = _parse_side("From", start, end_of_day=False, zone=where)
        until = _parse_side("To", end, end_of_day=True, zone=where)
        if since is not None and until is not None and since >= until:
            raise UsageError(f"{start} is after {end}: put the earlier date first")
        return cls(start, end, since, until)

    @property
    def active(self) -> bool:
        """True when the range limits anything."""
        return self.since is not None or self.until is not None

    @property
    def label(self) -> str:
        """``2023-01 → 2023-06``, ``2023-01 → …`` or ``… → 2023-06``."""
        return f"{self.start or '…'} → {self.end or '…'}"


def _parse_side(side: str, value: str, *, end_of_day: bool, zone: tzinfo) -> int | None:
    if not value:
        return None
    try:
        return parse_user_date(value, end_of_day=end_of_day, zone=zone)
    except UsageError:
        raise UsageError(
            f"{side}: {safe(value, 40)!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD"
        ) from None


NO_DATES = DateFilter()


@dataclass(frozen=True, slots=True)
class IndexRead:
    """A timeline's index as a worker read it, the pages read with it, and the row to put the
    cursor on (None: where the user has moved it meanwhile). ``token`` names the opening."""

    token: int
    index: TimelineIndex
    pages: Pages
    cursor: int | None


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Pages to read for the timeline opened as ``token``, whose index is ``index``."""

    token: int
    index: TimelineIndex
    pages: list[int]


@dataclass(frozen=True, slots=True)
class PagesRead:
    """The pages a worker read for a ``PageRequest`` (fewer than asked when it was cancelled)."""

    request: PageRequest
    pages: Pages


class _PageCache:
    """The ``size`` pages used last, by page number."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pages: OrderedDict[int, list[TimelineRow]] = OrderedDict()

    def __contains__(self, page: int) -> bool:
        return page in self._pages

    def get(self, page: int) -> list[TimelineRow] | None:
        rows = self._pages.get(page)
        if rows is not None:
            self._pages.move_to_end(page)
        return rows

    def put(self, page: int, rows: list[TimelineRow]) -> None:
        self._pages[page] = rows
        self._pages.move_to_end(page)
        if len(self._pages) > self._size:
            self._pages.popitem(last=False)

    def clear(self) -> None:
        self._pages.clear()


class TimelineModel:
    """One company's (filtered) timeline: which items, where each sits, which are read."""

    def __init__(self, store: Store, zone: tzinfo | None) -> None:
        self.store = store
        self.zone = zone
        self.scope: TimelineFilter | None = None
        self.company_name = ""
        self.dates = NO_DATES
        self.channels: dict[str, int] = {}
        self.index: TimelineIndex | None = None
        self.reading = False
        self.token = 0  # names the current opening; results for an older one are dropped
        self._counted: TimelineFilter | None = None
        self._pages = _PageCache(PAGE_CACHE)
        self._requested: set[int] = set()
        self._wanted: set[int] = set()
        self._fetch_due = False
        self._separator_lines: list[int] = []
        self._month_firsts: list[int] = []

    @property
    def company_id(self) -> int | None:
        """The company shown, if any."""
        return self.scope.company_id if self.scope is not None else None

    @property
    def channel(self) -> str | None:
        """The one channel shown, or None for all."""
        return self.scope.channel if self.scope is not None else None

    # ---- opening ----------------------------------------------------------------------------

    def open(
        self,
        company_id: int,
        name: str,
        *,
        channel: str | None = None,
        dates: DateFilter = NO_DATES,
    ) -> TimelineFilter:
        """Show ``company_id`` (one ``channel`` or all, within ``dates``), nothing read yet.

        Returns the filter to read the index with (``read_opening``).
        """
        self.token += 1
        self.scope = TimelineFilter(company_id, channel, dates.since, dates.until)
        self.company_name = name
        self.dates = dates
        self.index = None
        self.reading = True
        self._pages.clear()
        self._requested.clear()
        self._wanted.clear()
        self._separator_lines, self._month_firsts = [], []
        return self.scope

    def counts_wanted(self) -> TimelineFilter | None:
        """The filter to count channels in (``read_channels``), or None when they are known
        (or being read) for the company and dates shown."""
        if self.scope is None:
            return None
        counting = replace(self.scope, channel=None)
        if counting == self._counted:
            return None
        self.channels = {}
        self._counted = counting
        return counting

    def forget_counts(self) -> None:
        """The vault changed: the next opening counts the channels again."""
        self._counted = None

    def next_channel(self) -> str | None:
        """The channel after the one shown: all → the channels, most used first → all."""
        channels = list(self.channels)
        if self.channel in channels:
            following = channels.index(self.channel) + 1
            return channels[following] if following < len(channels) else None
        return channels[0] if channels else None

    # ---- reading (in a worker thread: these change nothing) ---------------------------------

    def read_opening(
        self,
        token: int,
        scope: TimelineFilter,
        item_id: int | None,
        total: int | None,
        cancelled: Callable[[], bool],
    ) -> IndexRead | None:
        """The index and the page around ``item_id`` (or, when it is not in ``scope``, the first
        page and a partial index); None when ``cancelled`` says a newer opening replaced it.

        ``total`` is the company's item count when the caller knows it (saves a count on large
        ones; ignored while a filter is on).
        """
        with self.store.reader() as conn:
            cursor = None
            if item_id is not None:
                cursor = position_in_timeline(conn, scope, item_id)
            if cursor is None:
                # First screen first: one page and a count, whatever the timeline's size.
                # The full index is read once that screen is drawn (see ``index_read``).
                start, rows = timeline_start(
                    conn,
                    scope,
                    zone=self.zone,
                    limit=PAGE_ROWS,
                    total=None if scope.narrowed else total,
                )
                return None if cancelled() else IndexRead(token, start, {0: rows}, 0)
            index = timeline_index(conn, scope, zone=self.zone)
            page = cursor // PAGE_ROWS
            pages = {page: timeline_page(conn, index, page * PAGE_ROWS, PAGE_ROWS)}
        return None if cancelled() else IndexRead(token, index, pages, cursor)

    def read_full_index(self, token: int, start: TimelineIndex) -> IndexRead:
        """The full index of the timeline a partial ``start`` began."""
        with self.store.reader() as conn:
            index = timeline_index(conn, start.scope, zone=self.zone)
        return IndexRead(token, index, {}, None)

    def read_channels(self, scope: TimelineFilter) -> dict[str, int]:
        """The items in ``scope`` per channel, most first."""
        with self.store.reader() as conn:
            return channel_counts(conn, scope)

    def read_pages(self, request: PageRequest, cancelled: Callable[[], bool]) -> PagesRead:
        """The requested pages, stopping early when ``cancelled`` says a newer request came."""
        loaded: Pages = {}
        with self.store.reader() as conn:
            for page in request.pages:
                if cancelled():
                    break  # a newer request covers what is on screen now
                loaded[page] = timeline_page(conn, request.index, page * PAGE_ROWS, PAGE_ROWS)
        return PagesRead(request, loaded)

    # ---- results (on the UI thread) ---------------------------------------------------------

    def index_read(self, read: IndexRead) -> bool:
        """Keep an index and its pages; False (and nothing kept) when it is for an older opening."""
        if read.token != self.token:
            return False
        self.index = read.index
        self.reading = False
        self._month_firsts = [m.first for m in read.index.months]
        self._separator_lines = [m.first + n for n, m in enumerate(read.index.months)]
        for page, rows in read.pages.items():
            self._pages.put(page, rows)
        return True

    def channels_counted(self, scope: TimelineFilter, counts: dict[str, int]) -> bool:
        """Keep the counts per channel when they are for the company and dates shown."""
        if scope != self._counted:
            return False
        self.channels = counts
        return True

    def pages_read(self, read: PagesRead) -> bool:
        """Keep pages read; False when they are for an older opening."""
        if read.request.token != self.token:
            return False
        self._requested.difference_update(read.request.pages)
        for page, rows in read.pages.items():
            self._pages.put(page, rows)
        return True

    # ---- rows and lines ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Items in the (filtered) timeline."""
        return len(self.index) if self.index is not None else 0

    @property
    def line_count(self) -> int:
        """Items plus one separator per month."""
        return self.row_count + len(self._separator_lines)

    def _month_of_row(self, row: int) -> int:
        return bisect_right(self._month_firsts, row) - 1

    def line_of_row(self, row: int) -> int:
        """A row sits below its month's separator and every earlier month's."""
        return row + self._month_of_row(row) + 1

    def row_of_line(self, line: int) -> int | None:
        """None on a separator line."""
        month = bisect_right(self._separator_lines, line) - 1
        if month < 0 or line == self._separator_lines[month]:
            return None
        row = line - month - 1
        return row if row < self.row_count else None

    def lines_of_row(self, row: int) -> tuple[int, int]:
        """The first row of a month keeps its separator in view."""
        line = self.line_of_row(row)
        month = self._month_of_row(row)
        if month >= 0 and self._month_firsts[month] == row:
            return line - 1, line
        return line, line

    def month_at(self, line: int) -> tuple[MonthMark, bool] | None:
        """The month whose separator is on (or last above) ``line``, and whether its count is
        final (a partial index has not counted its last month to the end yet)."""
        if self.index is None:
            return None
        number = bisect_right(self._separator_lines, line) - 1
        counted = self.index.complete or number < len(self.index.months) - 1
        return self.index.months[number], counted

    def item_at(self, row: int) -> TimelineRow | None:
        """The loaded item at ``row``, or None while its page is being read."""
        rows = self._pages.get(row // PAGE_ROWS)
        if rows is None:
            return None
        offset = row % PAGE_ROWS
        return rows[offset] if offset < len(rows) else None

    # ---- paging -----------------------------------------------------------------------------

    def want(self, page: int) -> bool:
        """Note that ``page`` is wanted on screen; True when no fetch is due yet, so the caller
        should call ``pages_to_fetch`` soon (once, for every page wanted by then)."""
        # Neighbours too: a page is a few ms to read, and Down/PageDown then never waits.
        last_page = (self.row_count - 1) // PAGE_ROWS
        for candidate in (page, page + 1, page - 1):
            if 0 <= candidate <= last_page and candidate not in self._pages:
                self._wanted.add(candidate)
        if self._fetch_due:
            return False
        self._fetch_due = True
        return True

    def pages_to_fetch(self) -> PageRequest | None:
        """The wanted pages not read nor being read, now marked as being read; None if none."""
        self._fetch_due = False
        index = self.index
        pages = sorted(p for p in self._wanted - self._requested if p not in self._pages)
        self._wanted.clear()
        if index is not None and not index.complete:
            # Pages past the first screen wait for the full index, which redraws them.
            pages = [p for p in pages if p * PAGE_ROWS < index.known]
        if not pages or index is None:
            return None
        self._requested.update(pages)
        return PageRequest(self.token, index, pages)
