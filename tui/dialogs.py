"""The app's modal dialogs: one look for every box over a screen, and the yes/no question.

Every modal (company edits, the date range, saving files, the profile form, the share wizard,
GDPR letters) is a ``Dialog``: centred over the dimmed screen, its box (``.dialog-box``) titled
in the border, an error line (``.dialog-error``), a row of buttons (``.dialog-buttons``), and a
footer with its own keys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Static

from tui.format import safe

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal box over the dimmed screen; subclasses set the box's width and their fields."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        background: $background 60%;
    }
    Dialog .dialog-box {
        max-width: 96%;
        height: auto;
        max-height: 92%;
        border: round $accent;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    Dialog .dialog-error {
        height: auto;
        color: $error;
    }
    Dialog .dialog-buttons {
        height: auto;
        margin-top: 1;
    }
    Dialog .dialog-buttons Button {
        margin-right: 2;
    }
    """

    def on_mount(self) -> None:
        """Show the dialog's own keys at the bottom, not those of the screen under it."""
        self.mount(Footer())

    def title_box(self, title: str, subtitle: str = "") -> None:
        """Put ``title`` (and the keys, as ``subtitle``) in the box's border."""
        box = self.query_one(".dialog-box")
        box.border_title = Text(title)
        box.border_subtitle = Text(subtitle)


class ConfirmScreen(Dialog[bool]):
    """A yes/no question; y or Enter on Yes answers yes, n or Esc no."""

    DEFAULT_CSS = """
    ConfirmScreen .dialog-box {
        width: 70;
        border: round $warning;
        padding: 1 2;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        """The question and two buttons."""
        with Vertical(id="confirm-box", classes="dialog-box"):
            yield Static(Text(self.question), id="confirm-question")
            with Horizontal(id="confirm-buttons", classes="dialog-buttons"):
                yield Button(self.yes, variant="warning", id="confirm-yes")
                yield Button("No", id="confirm-no")

    def on_mount(self) -> None:
        """No is the safe default under the cursor."""
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        """y / n."""
        self.dismiss(yes)


def ask(screen: Screen[Any], question: str, yes: str, then: Callable[[], object]) -> None:
    """Ask ``question`` over ``screen``; ``then()`` runs only when the answer is yes."""

    def answered(answer: bool | None) -> None:
        if answer:
            then()

    screen.app.push_screen(ConfirmScreen(question, yes), answered)


def asked_to_replace(
    screen: Screen[Any], path: Path, what: str, then: Callable[[], object]
) -> bool:
    """When ``path`` is an existing file, ask whether ``what`` may replace it and return True
    (``then()`` runs on yes); False when there is nothing to ask.
    """
    if not path.is_file():
        return False
    ask(screen, f"{safe(str(path), 300)} exists. Replace it with {what}?", "Replace", then)
    return True
