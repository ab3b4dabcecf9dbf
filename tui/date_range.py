"""The timeline's date dialog (``d``): "From … to …", dismissed with a ``DateFilter`` or None."""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from tui.dialogs import Dialog
from tui.format import safe
from tui.timeline_model import DateFilter
from vault.errors import UsageError


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

    def __init__(self, current: DateFilter, zone: tzinfo | None) -> None:
        super().__init__()
        self.current = current
        self.zone = zone

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
            chosen = DateFilter.parse(start, end, self.zone)
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
