"""Search (/): the vault's full-text search across every company, as you type.

Results come from ``vault.search.search`` in a worker, newest first; Enter on one closes the
screen with (company id, item id) so the app can show the item in its company's timeline.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from tui.format import channel_icon, clip, count, direction_arrow, fit, safe, short_date
from tui.messages import JumpTo
from tui.virtual_list import VirtualList
from vault.clock import LocalZone
from vault.errors import UsageError
from vault.search import search
from vault.store import Store

RESULT_LIMIT = 200
TYPING_DELAY = 0.25  # seconds of no typing before searching
PLACEHOLDER = 'words, "a phrase", prefix*, -without, company:KLM channel:chat after:2024-01'


class SearchResults(VirtualList):
    """Search hits, two lines each: when, where and what; then the matching words."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Show in timeline", id="search.open"),
    ]

    def __init__(self, zone: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.zone = zone
        self.results: list[dict[str, Any]] = []

    def set_results(self, results: list[dict[str, Any]]) -> None:
        """Show ``results`` with the cursor on the first."""
        self.results = results
        self.reset(0)
        self.scroll_to(y=0, animate=False, immediate=True)

    @property
    def row_count(self) -> int:
        """Hits shown."""
        return len(self.results)

    @property
    def line_count(self) -> int:
        """Two lines per hit."""
        return 2 * len(self.results)

    def line_of_row(self, row: int) -> int:
        """A hit starts on an even line."""
        return 2 * row

    def row_of_line(self, line: int) -> int | None:
        """Both lines of a hit belong to it."""
        row = line // 2
        return row if 0 <= row < len(self.results) else None

    def lines_of_row(self, row: int) -> tuple[int, int]:
        """Keep both lines on screen."""
        return 2 * row, 2 * row + 1

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height // 2 - 1)

    def render_list_line(self, line: int, row: int | None, width: int) -> list[Segment]:
        """Line 1: date, icon, arrow, company, title. Line 2: the snippet, hits highlighted."""
        if row is None:
            return []
        hit = self.results[row]
        if line % 2 == 0:
            company = fit(safe((hit.get("company") or {}).get("name")), 20)
            return [
                Segment(
                    " " + fit(short_date(hit.get("occurred_at"), self.zone), 11), self.style("dim")
                ),
                Segment(" " + channel_icon(str(hit.get("channel"))), self.style("accent")),
                Segment(" " + direction_arrow(str(hit.get("direction"))) + " ", self.style("dim")),
                Segment(company + "  ", self.style("accent")),
                Segment(
                    clip(safe(hit.get("title")) or "(no subject)", max(1, width - 38)),
                    self.style("strong"),
                ),
            ]
        return self._snippet(safe(hit.get("snippet"), 400), width)

    def _snippet(self, snippet: str, width: int) -> list[Segment]:
        # The search marks hits with « and »: show them highlighted, without the marks.
        text = clip(snippet, max(1, width - 6))
        segments = [Segment("      ")]
        dim, accent = self.style("dim"), self.style("accent") + self.style("strong")
        inside = False
        for part in text.replace("»", "«").split("«"):
            if part:
                segments.append(Segment(part, accent if inside else dim))
            inside = not inside
        return segments

    def empty_text(self) -> str:
        """Said by the status line instead."""
        return ""

    def action_cursor_up(self) -> None:
        """Up from the first hit goes back to the search box."""
        if self.cursor == 0:
            self.screen.focus_previous()
        else:
            super().action_cursor_up()

    def action_select(self) -> None:
        """Enter: go to the hit."""
        if 0 <= self.cursor < len(self.results):
            hit = self.results[self.cursor]
            self.post_message(JumpTo(int(hit["company"]["id"]), int(hit["id"])))


class SearchScreen(ModalScreen[JumpTo | None]):
    """A search box over the main screen; dismissed with the chosen hit, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="search.close"),
        Binding("down", "to_results", "Results", show=False, id="search.results"),
    ]

    class Found(Message):
        """The worker searched."""

        def __init__(
            self, token: int, results: list[dict[str, Any]] | None, error: str | None
        ) -> None:
            super().__init__()
            self.token = token
            self.results = results
            self.error = error

    def __init__(self, store: Store, zone: tzinfo | None, query: str = "") -> None:
        super().__init__()
        self.store = store
        self.zone = zone
        self.query_text = query
        self._token = 0
        self._timer: Timer | None = None
        self._pending = False
        self._scheduled = False
        self._focus_results_when_found = False

    def compose(self) -> ComposeResult:
        """The box: input, status, results."""
        with Vertical(id="search-box"):
            yield Input(self.query_text, placeholder=PLACEHOLDER, id="search-input")
            yield Static(Text("Type to search every company.", style="dim"), id="search-status")
            yield SearchResults(self.zone, id="search-results")
        yield Footer()  # its own keys, not those of the screen under it

    def on_mount(self) -> None:
        """Title the box; search again for a query kept from last time."""
        box = self.query_one("#search-box", Vertical)
        box.border_title = Text("Search")
        box.border_subtitle = Text("enter: search · ↓ results · esc close")
        self.query_one("#search-input", Input).focus()
        if self.query_text.strip():
            self._search_now(self.query_text)

    @property
    def results(self) -> SearchResults:
        """The results list."""
        return self.query_one("#search-results", SearchResults)

    @on(Input.Changed, "#search-input")
    def _typed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        if self._timer is not None:
            self._timer.stop()
        self._scheduled = True
        self._timer = self.set_timer(TYPING_DELAY, lambda: self._search_now(event.value))

    @property
    def busy(self) -> bool:
        """True while a search is waiting for the typing to stop or is running."""
        return self._scheduled or self._pending

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._scheduled = False
        if self.results.row_count and event.value == self.query_text and not self._pending:
            self.results.focus()
            return
        self._focus_results_when_found = True
        self._search_now(event.value)

    def _search_now(self, query: str) -> None:
        self._scheduled = False
        self._token += 1
        if not query.strip():
            self.results.set_results([])
            self._status(Text("Type to search every company.", style="dim"))
            return
        self._pending = True
        self._status(Text("Searching…", style="dim"))
        self._run(self._token, query)

    @work(thread=True, exclusive=True, group="search", description="Searching the vault")
    def _run(self, token: int, query: str) -> None:
        try:
            with self.store.reader() as conn:
                results = search(conn, query, limit=RESULT_LIMIT, zone=self.zone or LocalZone())
        except UsageError as exc:
            self.post_message(self.Found(token, None, str(exc)))
            return
        self.post_message(self.Found(token, results, None))

    def on_search_screen_found(self, message: Found) -> None:
        """Show the results of the newest search only."""
        message.stop()
        if message.token != self._token:
            return
        self._pending = False
        if message.results is None:
            self.results.set_results([])
            self._status(Text(safe(message.error, 300), style="red"))
            return
        self.results.set_results(message.results)
        n = len(message.results)
        if n == 0:
            self._status(Text("Nothing found.", style="dim"))
        elif n >= RESULT_LIMIT:
            self._status(
                Text(
                    f"The newest {count(n)} results; narrow with company:, channel:, "
                    "after: or more words."
                )
            )
        else:
            self._status(Text(f"{count(n)} result{'s' if n != 1 else ''}, newest first."))
        if self._focus_results_when_found and n:
            self.results.focus()
        self._focus_results_when_found = False

    def _status(self, text: Text) -> None:
        self.query_one("#search-status", Static).update(text)

    def on_jump_to(self, message: JumpTo) -> None:
        """A hit was chosen: close with it."""
        message.stop()
        self.dismiss(message)

    def action_close(self) -> None:
        """Esc: back to where you were."""
        self.dismiss(None)

    def action_to_results(self) -> None:
        """Down from the box: into the results."""
        if self.results.row_count and self.focused is not self.results:
            self.results.focus()
