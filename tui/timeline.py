"""A company's timeline: newest first, month separators, pages read on demand, filterable.

Opening a company reads its ``TimelineIndex`` (the time of every item, from the covering index)
and the first page in one worker, so the scrollbar, the month separators and the first screen
are right at once. Further pages of ``PAGE_ROWS`` rows are read by keyset from the index's
anchors when a line on screen needs them, into an LRU page cache. Lines whose page has not
arrived yet are drawn as a dim placeholder and not cached.

Filters: ``c`` cycles the channels, ``d`` asks for a date range (``DateRangeScreen``), ``a``
clears both. Every read (count, index, pages, months) goes through the same filtered queries.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from dataclasses import dataclass
from datetime import tzinfo
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static
from textual.worker import get_current_worker

from tui.dialogs import Dialog
from tui.format import (
    CHANNEL_NAMES,
    channel_icon,
    clip,
    count,
    direction_arrow,
    fit,
    month_label,
    plural,
    safe,
    short_time,
)
from tui.messages import ItemChosen, ItemHighlighted
from tui.virtual_list import VirtualList
from vault.browse import (
    TimelineIndex,
    channel_counts,
    position_in_timeline,
    timeline_index,
    timeline_page,
    timeline_start,
)
from vault.errors import UsageError
from vault.queries import TimelineRow
from vault.store import Store
from vault.timefmt import parse_user_date

PAGE_ROWS = 100
PAGE_CACHE = 64  # pages, i.e. 6,400 rows kept
TIME_WIDTH = 12


@dataclass(frozen=True, slots=True)
class DateFilter:
    """A date range as the user typed it (either side may be empty) and its epoch bounds."""

    start: str = ""
    end: str = ""
    since: int | None = None
    until: int | None = None  # exclusive: the first second after the end day, month or year

    @classmethod
    def parse(cls, start: str, end: str) -> DateFilter:
        """The range from ``start`` to ``end`` inclusive, as ``kluis timeline`` reads dates.

        Raises:
            UsageError: a side is not a date, or the range ends before it starts.
        """
        start, end = start.strip(), end.strip()
        since = _parse_side("From", start, end_of_day=False)
        until = _parse_side("To", end, end_of_day=True)
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


def _parse_side(side: str, value: str, *, end_of_day: bool) -> int | None:
    if not value:
        return None
    try:
        return parse_user_date(value, end_of_day=end_of_day)
    except UsageError:
        raise UsageError(
            f"{side}: {safe(value, 40)!r} is not a date; use YYYY, YYYY-MM or YYYY-MM-DD"
        ) from None


NO_DATES = DateFilter()


class DateRangeScreen(Dialog[DateFilter | None]):
    """d in the timeline: "From … to …"; dismissed with the range, or None when cancelled."""

    DEFAULT_CSS = """
    #dates-box {
        width: 64;
    }
    #dates-row {
        height: auto;
    }
    #dates-row Input {
        width: 1fr;
    }
    #dates-row Label {
        padding: 1 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel", id="dates.cancel"),
    ]

    def __init__(self, current: DateFilter) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        """Two inputs side by side, a hint, and a line for errors."""
        with Vertical(id="dates-box", classes="dialog-box"):
            yield Static(
                Text(
                    "Show only the items between two dates (both included). "
                    "Dates: YYYY, YYYY-MM or YYYY-MM-DD; leave a side empty for no limit.",
                    style="dim",
                )
            )
            with Horizontal(id="dates-row"):
                yield Label("From")
                yield Input(self.current.start, placeholder="2023-01", id="dates-from")
                yield Label("to")
                yield Input(self.current.end, placeholder="2023-06", id="dates-to")
            yield Static("", id="dates-error", classes="dialog-error")

    def on_mount(self) -> None:
        """Title the box and start in the first input."""
        self.title_box("Timeline dates", "enter: apply · tab: other side · esc: cancel")
        self.query_one("#dates-from", Input).focus()

    @on(Input.Submitted)
    def _apply(self, event: Input.Submitted) -> None:
        start = self.query_one("#dates-from", Input).value
        end = self.query_one("#dates-to", Input).value
        try:
            chosen = DateFilter.parse(start, end)
        except UsageError as exc:
            self.query_one("#dates-error", Static).update(Text(safe(str(exc), 120)))
            return
        self.dismiss(chosen)

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#dates-error", Static).update("")

    def action_close(self) -> None:
        """Esc: keep the timeline as it was."""
        self.dismiss(None)


def _snippet(row: TimelineRow) -> str:
    # Mail bodies often start with the subject again, and a chat's title is its text.
    snippet = row.snippet
    if snippet.startswith(row.title):
        snippet = snippet[len(row.title) :].lstrip(" -–—:·")
    return snippet


class Timeline(VirtualList):
    """One company's items, newest first, one line each, under month separators."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Open", id="timeline.open"),
        Binding("c", "next_channel", "Channel", id="timeline.channel"),
        Binding("d", "dates", "Dates", id="timeline.dates"),
        Binding("a", "clear_filters", "Clear filters", show=False, id="timeline.all-channels"),
        Binding(
            "escape,left", "screen.focus_companies", "Companies", show=False, id="timeline.back"
        ),
    ]

    class IndexLoaded(Message):
        """The worker read a timeline's index and the page at the cursor (None: keep it)."""

        def __init__(
            self,
            token: int,
            index: TimelineIndex,
            pages: dict[int, list[TimelineRow]],
            cursor: int | None,
        ) -> None:
            super().__init__()
            self.token = token
            self.index = index
            self.pages = pages
            self.cursor = cursor

    class PagesLoaded(Message):
        """The worker read some pages (``asked`` says which were requested)."""

        def __init__(
            self, token: int, pages: dict[int, list[TimelineRow]], asked: list[int]
        ) -> None:
            super().__init__()
            self.token = token
            self.pages = pages
            self.asked = asked

    class ChannelsCounted(Message):
        """The worker counted the company's items per channel (within ``dates``)."""

        def __init__(self, company_id: int, dates: DateFilter, counts: dict[str, int]) -> None:
            super().__init__()
            self.company_id = company_id
            self.dates = dates
            self.counts = counts

    def __init__(self, store: Store, zone: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.zone = zone
        self.company_id: int | None = None
        self.company_name = ""
        self.channel: str | None = None
        self.dates = NO_DATES
        self.channels: dict[str, int] = {}
        self._counted: tuple[int, DateFilter] | None = None
        self.index: TimelineIndex | None = None
        self.reading = False
        self.first_paint_at: float | None = None  # read by bench/tui_latency.py
        self._token = 0
        self._pages: LRUCache[int, list[TimelineRow]] = LRUCache(PAGE_CACHE)
        self._requested: set[int] = set()
        self._wanted: set[int] = set()
        self._fetch_scheduled = False
        self._separator_lines: list[int] = []
        self._month_firsts: list[int] = []
        self._announced: int | None = None

    def on_mount(self) -> None:
        """Titles before any company is chosen."""
        self._update_titles()

    # ---- opening ----------------------------------------------------------------------------

    def show_company(
        self,
        company_id: int,
        name: str,
        *,
        channel: str | None = None,
        dates: DateFilter = NO_DATES,
        item_id: int | None = None,
        total: int | None = None,
    ) -> None:
        """Show ``company_id``'s timeline (optionally one channel and dates), cursor on ``item_id``.

        ``total`` is the company's item count when the caller knows it (saves a count on large
        ones; ignored while a filter is on).
        """
        if (company_id, dates) != self._counted:
            self.channels = {}
            self._counted = (company_id, dates)
            self._count_channels(company_id, dates)
        self._token += 1
        self.company_id = company_id
        self.company_name = name
        self.channel = channel
        self.dates = dates
        self.index = None
        self.reading = True
        self.first_paint_at = None
        self._pages.clear()
        self._requested.clear()
        self._wanted.clear()
        self._separator_lines, self._month_firsts = [], []
        self._announced = None
        self.reset(0)
        self.scroll_to(y=0, animate=False, immediate=True)
        self._update_titles()
        self._load_index(self._token, company_id, channel, dates, item_id, total)

    def reload(self, company_id: int, name: str, total: int | None) -> None:
        """Read the timeline again (the vault changed): the same company keeps its filters
        and the item under the cursor; another company starts unfiltered."""
        if company_id != self.company_id:
            self.show_company(company_id, name, total=total)
            return
        item = self.current_item
        self._counted = None  # the counts per channel may have changed too
        self.show_company(
            company_id,
            name,
            channel=self.channel,
            dates=self.dates,
            item_id=item.id if item is not None else None,
            total=total,
        )

    @work(thread=True, exclusive=True, group="timeline-index", description="Reading a timeline")
    def _load_index(
        self,
        token: int,
        company_id: int,
        channel: str | None,
        dates: DateFilter,
        item_id: int | None,
        total: int | None,
    ) -> None:
        worker = get_current_worker()
        since, until = dates.since, dates.until
        with self.store.read() as conn:
            cursor = None
            if item_id is not None:
                cursor = position_in_timeline(
                    conn, company_id, item_id, channel=channel, since=since, until=until
                )
            if cursor is None:
                # First screen first: one page and a count, whatever the timeline's size.
                # The full index is read once that screen is drawn (see the handler).
                start, rows = timeline_start(
                    conn,
                    company_id,
                    channel=channel,
                    since=since,
                    until=until,
                    zone=self.zone,
                    limit=PAGE_ROWS,
                    total=None if channel or dates.active else total,
                )
                if not worker.is_cancelled:
                    self.post_message(self.IndexLoaded(token, start, {0: rows}, 0))
                return
            index = timeline_index(
                conn, company_id, channel=channel, since=since, until=until, zone=self.zone
            )
            page = cursor // PAGE_ROWS
            pages = {page: timeline_page(conn, index, page * PAGE_ROWS, PAGE_ROWS)}
        if not worker.is_cancelled:
            self.post_message(self.IndexLoaded(token, index, pages, cursor))

    @work(thread=True, exclusive=True, group="timeline-index", description="Indexing a timeline")
    def _load_full_index(self, token: int, start: TimelineIndex) -> None:
        with self.store.read() as conn:
            index = timeline_index(
                conn,
                start.company_id,
                channel=start.channel,
                since=start.since,
                until=start.until,
                zone=self.zone,
            )
        if not get_current_worker().is_cancelled:
            self.post_message(self.IndexLoaded(token, index, {}, None))

    def on_timeline_index_loaded(self, message: IndexLoaded) -> None:
        """The timeline (or its first screen) is known: size it, place the cursor, draw."""
        message.stop()
        if message.token != self._token:
            return
        self.index = message.index
        self.reading = False
        self._month_firsts = [m.first for m in message.index.months]
        self._separator_lines = [m.first + n for n, m in enumerate(message.index.months)]
        for page, rows in message.pages.items():
            self._pages[page] = rows
        if message.cursor is None:
            # The full index after the first screen: the user may have moved meanwhile.
            self.reset(self.cursor)
        else:
            self.reset(message.cursor)
            self.scroll_to_cursor(center=message.cursor > 0)
        self._update_titles()
        self._announce()
        if not message.index.complete:
            self.call_after_refresh(self._load_full_index, message.token, message.index)

    @work(thread=True, exclusive=True, group="timeline-channels", description="Counting channels")
    def _count_channels(self, company_id: int, dates: DateFilter) -> None:
        with self.store.read() as conn:
            counts = channel_counts(conn, company_id, since=dates.since, until=dates.until)
        self.post_message(self.ChannelsCounted(company_id, dates, counts))

    def on_timeline_channels_counted(self, message: ChannelsCounted) -> None:
        """Keep the counts for the channel filter and the title."""
        message.stop()
        if (message.company_id, message.dates) == self._counted:
            self.channels = message.counts
            self._update_titles()

    def _update_titles(self) -> None:
        if self.company_id is None:
            self.border_title = Text("Timeline")
            self.border_subtitle = None
            return
        total = len(self.index) if self.index is not None else None
        parts = [safe(self.company_name, 80)]
        if self.channel:
            parts.append(CHANNEL_NAMES.get(self.channel, self.channel))
        if self.dates.active:
            parts.append(self.dates.label)
        parts.append("…" if total is None else plural(total, "item"))
        self.border_title = Text(" · ".join(parts), no_wrap=True)
        if self.channel:
            shown = f"{channel_icon(self.channel)} {CHANNEL_NAMES.get(self.channel, self.channel)}"
            self.border_subtitle = Text(f"{shown} only · c next · d dates · a all")
        elif len(self.channels) > 1:
            parts = [f"{channel_icon(c)} {count(n)}" for c, n in self.channels.items()]
            tail = " · c filter · a all" if self.dates.active else " · c filter"
            self.border_subtitle = Text("  ".join(parts) + tail)
        elif self.dates.active:
            self.border_subtitle = Text("d dates · a all")
        else:
            self.border_subtitle = None

    # ---- channel filter ---------------------------------------------------------------------

    def action_next_channel(self) -> None:
        """c: all → the company's channels, most used first → all."""
        if self.company_id is None:
            return
        channels = list(self.channels)
        if len(channels) < 2:
            self.notify("Every item here is on one channel", timeout=2)
            return
        if self.channel in channels:
            following = channels.index(self.channel) + 1
            channel = channels[following] if following < len(channels) else None
        else:
            channel = channels[0]
        self.show_company(self.company_id, self.company_name, channel=channel, dates=self.dates)

    def action_dates(self) -> None:
        """d: ask for a date range and show only that."""
        if self.company_id is None:
            self.notify("Choose a company first", timeout=2)
            return

        def chosen(dates: DateFilter | None) -> None:
            if dates is not None and self.company_id is not None and dates != self.dates:
                self.show_company(
                    self.company_id, self.company_name, channel=self.channel, dates=dates
                )

        self.app.push_screen(DateRangeScreen(self.dates), chosen)

    def action_clear_filters(self) -> None:
        """a: every channel, every date."""
        if self.company_id is not None and (self.channel is not None or self.dates.active):
            self.show_company(self.company_id, self.company_name)

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

    def item_at(self, row: int) -> TimelineRow | None:
        """The loaded item at ``row``, or None while its page is being read."""
        rows = self._pages.get(row // PAGE_ROWS)
        if rows is None:
            return None
        offset = row % PAGE_ROWS
        return rows[offset] if offset < len(rows) else None

    @property
    def current_item(self) -> TimelineRow | None:
        """The item under the cursor, if loaded."""
        return self.item_at(self.cursor) if self.row_count else None

    def empty_text(self) -> str:
        """Nothing chosen, loading, or nothing on this channel."""
        if self.company_id is None:
            return "Choose a company on the left."
        if self.reading:
            return "Reading the timeline…"
        return "Nothing here with these filters. Press a to clear them."

    def cacheable(self, line: int) -> bool:
        """Placeholder lines are drawn again once their page arrives."""
        row = self.row_of_line(line)
        return row is None or self.item_at(row) is not None

    def render_list_line(self, line: int, row: int | None, width: int) -> list[Segment]:
        """A month separator, an item, or a placeholder for an item being read."""
        if row is None:
            return self._separator(line, width)
        item = self.item_at(row)
        if item is None:
            self._want(row // PAGE_ROWS)
            return [Segment(" " * (TIME_WIDTH + 1) + "⋯", self.style("dim"))]
        if self.first_paint_at is None:
            self.first_paint_at = time.perf_counter()
        arrow_style = self.style("out" if item.direction == "out" else "in")
        title_width = max(8, width - TIME_WIDTH - 6)
        title = clip(item.title or "(no subject)", title_width)
        rest = width - TIME_WIDTH - 6 - len(title)
        segments = [
            Segment(
                " " + fit(short_time(item.occurred_at, self.zone), TIME_WIDTH), self.style("dim")
            ),
            Segment(" " + channel_icon(item.channel), self.style("accent")),
            Segment(" " + direction_arrow(item.direction) + " ", arrow_style),
            Segment(title, self.style("strong")),
        ]
        snippet = _snippet(item)
        if snippet and rest > 4:
            segments.append(Segment("  " + clip(snippet, rest - 2), self.style("dim")))
        return segments

    def _separator(self, line: int, width: int) -> list[Segment]:
        if self.index is None:
            return []
        number = bisect_right(self._separator_lines, line) - 1
        month = self.index.months[number]
        label = f"── {month_label(month.year, month.month)} "
        # A partial index has not counted its last month to the end yet.
        counted = self.index.complete or number < len(self.index.months) - 1
        tail = f" {count(month.count)} " if counted else " "
        rule = "─" * max(0, width - len(label) - len(tail) - 3)
        return [Segment(label + rule + tail + "──", self.style("separator"))]

    # ---- paging -----------------------------------------------------------------------------

    def _want(self, page: int) -> None:
        # Neighbours too: a page is a few ms to read, and Down/PageDown then never waits.
        last_page = (self.row_count - 1) // PAGE_ROWS
        for candidate in (page, page + 1, page - 1):
            if 0 <= candidate <= last_page and candidate not in self._pages:
                self._wanted.add(candidate)
        if not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_after_refresh(self._fetch)

    def _fetch(self) -> None:
        self._fetch_scheduled = False
        index = self.index
        pages = sorted(self._wanted - self._requested - set(self._pages.keys()))
        self._wanted.clear()
        if index is not None and not index.complete:
            # Pages past the first screen wait for the full index, which redraws them.
            pages = [p for p in pages if p * PAGE_ROWS < index.known]
        if pages and index is not None:
            self._requested.update(pages)
            self._load_pages(self._token, index, pages)

    @work(thread=True, exclusive=True, group="timeline-pages", description="Reading pages")
    def _load_pages(self, token: int, index: TimelineIndex, pages: list[int]) -> None:
        worker = get_current_worker()
        loaded: dict[int, list[TimelineRow]] = {}
        with self.store.read() as conn:
            for page in pages:
                if worker.is_cancelled:
                    break  # a newer request covers what is on screen now
                loaded[page] = timeline_page(conn, index, page * PAGE_ROWS, PAGE_ROWS)
        self.post_message(self.PagesLoaded(token, loaded, pages))

    def on_timeline_pages_loaded(self, message: PagesLoaded) -> None:
        """Keep the pages and draw the lines that were waiting for them."""
        message.stop()
        if message.token != self._token:
            return
        self._requested.difference_update(message.asked)
        for page, rows in message.pages.items():
            self._pages[page] = rows
        self.redraw()
        self._announce()

    # ---- cursor -----------------------------------------------------------------------------

    def _announce(self) -> None:
        item = self.current_item
        item_id = item.id if item is not None else None
        if item_id != self._announced:
            self._announced = item_id
            self.post_message(ItemHighlighted(item_id))

    def on_cursor_moved(self, row: int) -> None:
        """Tell the app which item to preview (once its page is here)."""
        self._announce()

    def action_select(self) -> None:
        """Enter: open the item."""
        item = self.current_item
        if item is not None:
            self.post_message(ItemChosen(item.id))
