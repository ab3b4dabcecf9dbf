"""A company's timeline on screen: newest first, month separators, pages read on demand.

The widget draws and takes keys; ``TimelineModel`` (tui/timeline_model.py) holds what it shows.
Opening a company reads its ``TimelineIndex`` (the time of every item, from the covering index)
and the first page in one worker, so the scrollbar, the month separators and the first screen
are right at once. Further pages of ``PAGE_ROWS`` rows are read by keyset from the index's
anchors when a line on screen needs them, into the model's LRU page cache. Lines whose page has
not arrived yet are drawn as a dim placeholder and not cached.

Filters: ``c`` cycles the channels, ``d`` asks for a date range (``DateRangeScreen``), ``a``
clears both. Every read (count, index, pages, months) goes through one ``TimelineFilter``.
"""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.worker import get_current_worker

from tui.format import (
    CHANNEL_NAMES,
    amount_label,
    channel_icon,
    clip,
    count,
    direction_arrow,
    fit,
    month_label,
    plural,
    row_time,
    safe,
)
from tui.messages import ItemChosen, ItemHighlighted
from tui.timeline_model import (
    NO_DATES,
    PAGE_ROWS,
    DateFilter,
    IndexRead,
    PageRequest,
    PagesRead,
    TimelineModel,
)
from tui.virtual_list import VirtualList
from vault.browse import TimelineIndex
from vault.queries import TimelineFilter, TimelineRow
from vault.store import Store

TIME_WIDTH = 12


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
        # Letters only where they type nothing (in the company list they are filter text).
        Binding("z", "screen.toggle_zoom", "Zoom item", id="timeline.zoom"),
        Binding("q", "app.quit", "Quit", show=False, id="timeline.quit"),
    ]

    class IndexLoaded(Message):
        """The worker read a timeline's index and the page at the cursor (None: keep it)."""

        def __init__(self, read: IndexRead) -> None:
            super().__init__()
            self.read = read

    class PagesLoaded(Message):
        """The worker read some pages."""

        def __init__(self, read: PagesRead) -> None:
            super().__init__()
            self.read = read

    class ChannelsCounted(Message):
        """The worker counted the items per channel within ``scope`` (a company and dates)."""

        def __init__(self, scope: TimelineFilter, counts: dict[str, int]) -> None:
            super().__init__()
            self.scope = scope
            self.counts = counts

    def __init__(self, store: Store, zone: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = TimelineModel(store, zone)
        self.zone = zone
        self.first_paint_at: float | None = None  # read by bench/tui_latency.py
        self._announced: int | None = None

    def on_mount(self) -> None:
        """Titles before any company is chosen."""
        self._update_titles()

    # ---- what the model holds ---------------------------------------------------------------

    @property
    def company_id(self) -> int | None:
        """The company shown, if any."""
        return self.model.company_id

    @property
    def company_name(self) -> str:
        """Its name."""
        return self.model.company_name

    @property
    def channel(self) -> str | None:
        """The one channel shown, or None for all."""
        return self.model.channel

    @property
    def dates(self) -> DateFilter:
        """The date range shown."""
        return self.model.dates

    @property
    def channels(self) -> dict[str, int]:
        """The company's items per channel (within the dates), most first."""
        return self.model.channels

    @property
    def index(self) -> TimelineIndex | None:
        """The index of the timeline shown, once read."""
        return self.model.index

    @property
    def reading(self) -> bool:
        """True until the index of the timeline shown is read."""
        return self.model.reading

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
        scope = self.model.open(company_id, name, channel=channel, dates=dates)
        counting = self.model.counts_wanted()
        if counting is not None:
            self._count_channels(counting)
        self.first_paint_at = None
        self._announced = None
        self.reset(0)
        self.scroll_to(y=0, animate=False, immediate=True)
        self._update_titles()
        self._load_index(self.model.token, scope, item_id, total)

    def reload(self, company_id: int, name: str, total: int | None) -> None:
        """Read the timeline again (the vault changed): the same company keeps its filters
        and the item under the cursor; another company starts unfiltered."""
        if company_id != self.company_id:
            self.show_company(company_id, name, total=total)
            return
        item = self.current_item
        self.model.forget_counts()  # the counts per channel may have changed too
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
        self, token: int, scope: TimelineFilter, item_id: int | None, total: int | None
    ) -> None:
        worker = get_current_worker()
        read = self.model.read_opening(token, scope, item_id, total, lambda: worker.is_cancelled)
        if read is not None:
            self.post_message(self.IndexLoaded(read))

    @work(thread=True, exclusive=True, group="timeline-index", description="Indexing a timeline")
    def _load_full_index(self, token: int, start: TimelineIndex) -> None:
        read = self.model.read_full_index(token, start)
        if not get_current_worker().is_cancelled:
            self.post_message(self.IndexLoaded(read))

    def on_timeline_index_loaded(self, message: IndexLoaded) -> None:
        """The timeline (or its first screen) is known: size it, place the cursor, draw."""
        message.stop()
        read = message.read
        if not self.model.index_read(read):
            return
        if read.cursor is None:
            # The full index after the first screen: the user may have moved meanwhile.
            self.reset(self.cursor)
        else:
            self.reset(read.cursor)
            self.scroll_to_cursor(center=read.cursor > 0)
            # And again after the next refresh: the first may run before the new size is laid
            # out, and a search hit in the company already shown was left off screen about one
            # time in five (tests/hardening/test_tui_glitches.py).
            self.call_after_refresh(self.scroll_to_cursor, center=read.cursor > 0)
        self._update_titles()
        self._announce()
        if not read.index.complete:
            self.call_after_refresh(self._load_full_index, read.token, read.index)

    @work(thread=True, exclusive=True, group="timeline-channels", description="Counting channels")
    def _count_channels(self, scope: TimelineFilter) -> None:
        self.post_message(self.ChannelsCounted(scope, self.model.read_channels(scope)))

    def on_timeline_channels_counted(self, message: ChannelsCounted) -> None:
        """Keep the counts for the channel filter and the title."""
        message.stop()
        if self.model.channels_counted(message.scope, message.counts):
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
        if len(self.channels) < 2:
            self.notify("Every item here is on one channel", timeout=2)
            return
        channel = self.model.next_channel()
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

        from tui.date_range import DateRangeScreen  # opened rarely: not at start

        self.app.push_screen(DateRangeScreen(self.dates, self.zone), chosen)

    def action_clear_filters(self) -> None:
        """a: every channel, every date."""
        if self.company_id is not None and (self.channel is not None or self.dates.active):
            self.show_company(self.company_id, self.company_name)

    # ---- rows and lines ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Items in the (filtered) timeline."""
        return self.model.row_count

    @property
    def line_count(self) -> int:
        """Items plus one separator per month."""
        return self.model.line_count

    def line_of_row(self, row: int) -> int:
        """A row sits below its month's separator and every earlier month's."""
        return self.model.line_of_row(row)

    def row_of_line(self, line: int) -> int | None:
        """None on a separator line."""
        return self.model.row_of_line(line)

    def lines_of_row(self, row: int) -> tuple[int, int]:
        """The first row of a month keeps its separator in view."""
        return self.model.lines_of_row(row)

    def item_at(self, row: int) -> TimelineRow | None:
        """The loaded item at ``row``, or None while its page is being read."""
        return self.model.item_at(row)

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
        amount = amount_label(item.amount)
        amount_width = len(amount) + 2 if amount else 0
        title_width = max(8, width - TIME_WIDTH - 6 - amount_width)
        title = clip(item.title or "(no subject)", title_width)
        rest = width - TIME_WIDTH - 6 - len(title) - amount_width
        segments = [
            Segment(
                " " + fit(row_time(item.occurred_at, item.channel, self.zone), TIME_WIDTH),
                self.style("dim"),
            ),
            Segment(" " + channel_icon(item.channel), self.style("accent")),
            Segment(" " + direction_arrow(item.direction) + " ", arrow_style),
            Segment(title, self.style("strong")),
        ]
        if amount:
            segments.append(Segment("  " + amount, self.style("accent")))
        snippet = _snippet(item)
        if snippet and rest > 4:
            segments.append(Segment("  " + clip(snippet, rest - 2), self.style("dim")))
        return segments

    def _separator(self, line: int, width: int) -> list[Segment]:
        separator = self.model.month_at(line)
        if separator is None:
            return []
        month, counted = separator
        label = f"── {month_label(month.year, month.month)} "
        tail = f" {count(month.count)} " if counted else " "
        rule = "─" * max(0, width - len(label) - len(tail) - 3)
        return [Segment(label + rule + tail + "──", self.style("separator"))]

    # ---- paging -----------------------------------------------------------------------------

    def _want(self, page: int) -> None:
        if self.model.want(page):
            self.call_after_refresh(self._fetch)

    def _fetch(self) -> None:
        request = self.model.pages_to_fetch()
        if request is not None:
            self._load_pages(request)

    @work(thread=True, exclusive=True, group="timeline-pages", description="Reading pages")
    def _load_pages(self, request: PageRequest) -> None:
        worker = get_current_worker()
        self.post_message(
            self.PagesLoaded(self.model.read_pages(request, lambda: worker.is_cancelled))
        )

    def on_timeline_pages_loaded(self, message: PagesLoaded) -> None:
        """Keep the pages and draw the lines that were waiting for them."""
        message.stop()
        if not self.model.pages_read(message.read):
            return
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
