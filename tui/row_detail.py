"""The row under a table's cursor, whole and wrapped: a ``DataTable`` cuts a long cell at the
screen's edge, so at 80 columns the evidence, the reason or the advice would be out of reach."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class RowDetail(Static):
    """A few wrapped lines under a table; hidden when the row says nothing more."""

    DEFAULT_CSS = """
    RowDetail {
        height: auto;
        max-height: 6;
        padding: 0 1;
        margin: 0 1;
        border-left: thick $accent 40%;
    }
    """

    def show(self, text: Text | None) -> None:
        """Show ``text`` (None or empty: hide)."""
        self.display = bool(text and text.plain.strip())
        if text is not None:
            self.update(text)
