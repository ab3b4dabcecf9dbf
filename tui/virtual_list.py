"""A virtual list: rows drawn line by line on demand, whatever their number.

Lists that can grow (companies, a timeline of 100,000 items, search results) subclass
``VirtualList``. It is a ``ScrollView`` using the Line API: ``render_line`` draws only the lines
on screen, through an LRU cache of finished strips, so no widget exists per row and a key
press redraws a screenful at most. Subclasses say how many rows and lines there are, how rows
map to lines (a row may span lines; some lines, like month separators, hold no row), and how to
draw a line.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

LINE_CACHE_SIZE = 1024


class VirtualList(ScrollView, can_focus=True, inherit_bindings=False):
    """A keyboard- and mouse-driven list with a cursor, drawn with the Line API."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="list.page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="list.page-down"),
        Binding("home", "first", "First", show=False, id="list.first"),
        Binding("end", "last", "Last", show=False, id="list.last"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-list--cursor",
        "virtual-list--cursor-blurred",
        "virtual-list--dim",
        "virtual-list--strong",
        "virtual-list--accent",
        "virtual-list--separator",
        "virtual-list--in",
        "virtual-list--out",
    }

    DEFAULT_CSS = """
    VirtualList {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    VirtualList > .virtual-list--cursor { background: $accent 40%; text-style: bold; }
    VirtualList > .virtual-list--cursor-blurred { background: $panel; }
    VirtualList > .virtual-list--dim { color: $text-muted; }
    VirtualList > .virtual-list--strong { text-style: bold; }
    VirtualList > .virtual-list--accent { color: $accent; }
    VirtualList > .virtual-list--separator { color: $secondary; text-style: bold; }
    VirtualList > .virtual-list--in { color: $success; }
    VirtualList > .virtual-list--out { color: $warning; }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cursor = 0
        self._scroll_deferred = False
        self._line_cache: LRUCache[tuple[int, int, bool, bool], Strip] = LRUCache(LINE_CACHE_SIZE)

    # ---- what subclasses provide ------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """How many rows (selectable entries) the list holds."""
        return 0

    @property
    def line_count(self) -> int:
        """How many lines the list takes; one per row unless a subclass says otherwise."""
        return self.row_count

    def line_of_row(self, row: int) -> int:
        """The first line of ``row``."""
        return row

    def row_of_line(self, line: int) -> int | None:
        """The row drawn on ``line``, or None for a line that belongs to no row."""
        return line if 0 <= line < self.row_count else None

    def lines_of_row(self, row: int) -> tuple[int, int]:
        """The first and last line to keep on screen when ``row`` holds the cursor."""
        line = self.line_of_row(row)
        return line, line

    def render_list_line(self, line: int, row: int | None, width: int) -> list[Segment]:
        """The segments of ``line`` (fitting ``width`` cells); ``row`` is its row, if any."""
        return []

    def empty_text(self) -> str:
        """What the list says when it has no rows."""
        return ""

    def cacheable(self, line: int) -> bool:
        """False for a line drawn from data still being loaded."""
        return True

    def on_cursor_moved(self, row: int) -> None:
        """Called after the cursor moved to ``row`` (subclasses post a message)."""

    def action_select(self) -> None:
        """Enter on the cursor row (subclasses post a message)."""

    # ---- state ------------------------------------------------------------------------------

    def style(self, component: str) -> Style:
        """The Rich style of one of this list's component classes."""
        return self.get_component_rich_style(f"virtual-list--{component}", partial=True)

    def reset(self, cursor: int = 0) -> None:
        """Data changed: forget drawn lines, resize, and put the cursor on ``cursor``."""
        self._line_cache.clear()
        self.virtual_size = Size(1, self.line_count)
        self.cursor = max(0, min(cursor, self.row_count - 1))
        self.refresh()

    def redraw(self) -> None:
        """Data behind some lines arrived: draw again without moving anything."""
        self._line_cache.clear()
        self.virtual_size = Size(1, self.line_count)
        self.refresh()

    def move_cursor(self, row: int, *, center: bool = False) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        if self.row_count == 0:
            return
        row = max(0, min(row, self.row_count - 1))
        previous = self.cursor
        self.cursor = row
        self.scroll_to_cursor(center=center)
        self._refresh_row(previous)
        self._refresh_row(row)
        if row != previous:
            self.on_cursor_moved(row)

    def scroll_to_cursor(self, *, center: bool = False) -> None:
        """Scroll the least needed to show the cursor row (or put it mid-screen)."""
        height = self.scrollable_content_region.height
        if height <= 0:
            # Mid-layout (e.g. a title just changed) the region is empty: decide once it is set.
            if not self._scroll_deferred:
                self._scroll_deferred = True
                self.call_after_refresh(self._deferred_scroll, center)
            return
        first, last = self.lines_of_row(self.cursor)
        top = int(self.scroll_offset.y)
        if center:
            target = max(0, first - height // 2)
        elif first < top:
            target = first
        elif last >= top + height:
            target = last - height + 1
        else:
            return
        self.scroll_to(y=target, animate=False, immediate=True)

    def _deferred_scroll(self, center: bool) -> None:
        self._scroll_deferred = False
        if self.scrollable_content_region.height > 0:
            self.scroll_to_cursor(center=center)

    def _refresh_row(self, row: int) -> None:
        # Cached strips are keyed by cursor and focus state, so a redraw finds the right one.
        first, last = self.lines_of_row(row)
        self.refresh_lines(first, last - first + 1)

    # ---- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the visible region, from the cache when it was drawn before."""
        width = self.scrollable_content_region.width
        line = int(self.scroll_offset.y) + y
        base = self.rich_style
        if self.row_count == 0:
            message = self.empty_text() if y == 1 else ""
            return Strip([Segment("  " + message, self.style("dim"))]).crop_extend(0, width, base)
        if line >= self.line_count:
            return Strip.blank(width, base)
        row = self.row_of_line(line)
        selected = row is not None and row == self.cursor
        key = (line, width, selected, self.has_focus)
        cached = self._line_cache.get(key)
        if cached is not None:
            return cached
        strip = Strip(self.render_list_line(line, row, width)).crop_extend(0, width, None)
        if selected:
            # Over the segments' own styles: in 16 colours the cursor sets the text colour too.
            cursor = self.style("cursor" if self.has_focus else "cursor-blurred")
            strip = Strip(Segment.apply_style(strip, post_style=cursor), strip.cell_length)
        strip = strip.apply_style(base)
        if self.cacheable(line):
            self._line_cache[key] = strip
        return strip

    def notify_style_update(self) -> None:
        """The theme or CSS changed: drawn lines carry old colours."""
        super().notify_style_update()
        self._line_cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        """A new width means new fits."""
        self._line_cache.clear()

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        self._refresh_row(self.cursor)

    def _on_blur(self, event: events.Blur) -> None:
        super()._on_blur(event)
        self._refresh_row(self.cursor)

    # ---- input ------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the row; a double click also selects it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = self.row_of_line(int(self.scroll_offset.y) + offset.y)
        if row is None:
            return
        self.move_cursor(row)
        if event.chain >= 2:
            self.action_select()

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_up(self) -> None:
        """Up one row."""
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        """Down one row."""
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        """Up one screenful."""
        self.move_cursor(self.cursor - self._page_rows())

    def action_page_down(self) -> None:
        """Down one screenful."""
        self.move_cursor(self.cursor + self._page_rows())

    def action_first(self) -> None:
        """To the first row."""
        self.move_cursor(0)

    def action_last(self) -> None:
        """To the last row."""
        self.move_cursor(self.row_count - 1)
