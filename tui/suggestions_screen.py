"""Suggestions (ctrl+t): companies and people that may be one, with the evidence; accept or reject.

The list is ``vault.suggestions.suggestions``, read in a worker. Accepting merges the pair
(``company_edits.merge``, so ctrl+e → Undo takes it back), rejecting remembers that the two
stay apart; either way the suggestion leaves the list and never comes back. The main screen
reads its companies again when this screen closes after a change.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.format import safe
from tui.forms import sentence
from tui.row_detail import RowDetail
from vault import suggestions
from vault.errors import UsageError, VaultBusy
from vault.store import Store

BUSY = "the vault is busy (an import may be running); nothing changed, try again in a moment"


class SuggestionsScreen(Screen[bool]):
    """Open suggestions; dismissed with True when something was merged or rejected."""

    DEFAULT_CSS = """
    SuggestionsScreen .suggest-title {
        padding: 0 1;
        text-style: bold;
        margin-top: 1;
    }
    SuggestionsScreen #suggest-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "decide('accept')", "Accept: merge", id="suggest.accept"),
        Binding("x", "decide('reject')", "Reject", id="suggest.reject"),
        Binding("p", "toggle_people", "People / companies", id="suggest.people"),
        Binding("escape", "close", "Back", id="suggest.close"),
    ]

    class Loaded(Message):
        """The worker read the suggestions."""

        def __init__(self, rows: list[suggestions.Suggestion]) -> None:
            super().__init__()
            self.rows = rows

    class Decided(Message):
        """An accept or reject went through (or failed with ``error``)."""

        def __init__(self, summary: str, error: str | None = None) -> None:
            super().__init__()
            self.summary = summary
            self.error = error

    def __init__(self, store: Store, kind: str = "company") -> None:
        super().__init__()
        self.store = store
        self.kind = kind
        self.rows: list[suggestions.Suggestion] = []
        self.changed = False
        self.busy = False

    def compose(self) -> ComposeResult:
        """Title, the table, a status line, the footer."""
        with Vertical():
            yield Static("", classes="suggest-title", id="suggest-title")
            table: DataTable[Text] = DataTable(cursor_type="row", id="suggest-table")
            table.add_columns("Merge", "Into", "Why")
            yield table
            yield RowDetail(id="suggest-why")
            yield Static("", id="suggest-status")
        yield Footer()

    def on_mount(self) -> None:
        """Read the suggestions."""
        self.query_one("#suggest-table", DataTable).focus()
        self._show_title()
        self._load()

    def _show_title(self, count: int | None = None) -> None:
        what = "Companies" if self.kind == "company" else "People"
        if count == 0:
            title = f"{what} that may be one: none, kluis found nothing that looks like one"
        else:
            shown = "…" if count is None else str(count)
            title = f"{what} that may be one ({shown}): a merges, x keeps them apart"
        self.query_one("#suggest-title", Static).update(Text(title))

    @work(thread=True, exclusive=True, group="suggestions", description="Reading suggestions")
    def _load(self) -> None:
        with self.store.read() as conn:
            rows = suggestions.suggestions(conn, self.kind)
        self.post_message(self.Loaded(rows))

    def on_suggestions_screen_loaded(self, message: Loaded) -> None:
        """Fill the table."""
        message.stop()
        self.rows = message.rows
        table = self.query_one("#suggest-table", DataTable)
        row = table.cursor_row
        table.clear()
        for suggestion in self.rows:
            table.add_row(
                Text(safe(suggestion.source, 40)),
                Text(safe(suggestion.target, 40)),
                Text(safe("; ".join(suggestion.evidence), 160), style="italic"),
                key=suggestion.id,
            )
        if self.rows:
            table.move_cursor(row=min(row, len(self.rows) - 1))
        self._show_title(len(self.rows))
        self._show_why()

    @on(DataTable.RowHighlighted, "#suggest-table")
    def _show_why(self) -> None:
        """Why the suggestion under the cursor, whole: the table's Why column is cut."""
        suggestion = self.current
        why = None
        if suggestion is not None:
            why = Text(f"{safe(suggestion.source, 80)} → {safe(suggestion.target, 80)}: ")
            why.append(safe("; ".join(suggestion.evidence), 600), style="italic")
        self.query_one("#suggest-why", RowDetail).show(why)

    def _status(self, text: str) -> None:
        self.query_one("#suggest-status", Static).update(Text(text))

    @property
    def current(self) -> suggestions.Suggestion | None:
        """The suggestion under the cursor."""
        row = self.query_one("#suggest-table", DataTable).cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def action_decide(self, decision: str) -> None:
        """a: merge the two; x: keep them apart. Both are remembered."""
        suggestion = self.current
        if suggestion is None or self.busy:
            return
        self.busy = True
        self._status("Working…")
        self._decide(suggestion.id, decision)

    @work(thread=True, exclusive=True, group="suggestion-decide", description="Deciding")
    def _decide(self, suggestion_id: str, decision: str) -> None:
        decide = suggestions.accept if decision == "accept" else suggestions.reject
        try:
            with self.store.begin() as conn:
                summary = decide(conn, suggestion_id)
        except UsageError as exc:
            self.post_message(self.Decided("", str(exc)))
            return
        except VaultBusy:
            self.post_message(self.Decided("", BUSY))
            return
        self.post_message(self.Decided(summary))

    def on_suggestions_screen_decided(self, message: Decided) -> None:
        """Say what happened and read the rest again."""
        message.stop()
        self.busy = False
        if message.error:
            self._status(sentence(message.error, 200))
            return
        self.changed = True
        self._status(sentence(message.summary, 200))
        self._load()

    def action_toggle_people(self) -> None:
        """p: people's suggestions, or companies' again."""
        self.kind = "person" if self.kind == "company" else "company"
        self._show_title()
        self._load()

    def action_close(self) -> None:
        """Esc: back; the main screen reloads if something changed."""
        self.dismiss(self.changed)
