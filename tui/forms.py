"""What the app's forms share: messages as plain sentences, and the look of a centred form."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.format import safe
from vault.text import capitalised

FORM_CSS = """
.form-box {
    width: 84;
    max-width: 96%;
    height: auto;
    max-height: 96vh;
    border: round $accent;
    border-title-style: bold;
    border-subtitle-color: $text-muted;
    background: $surface;
    padding: 1 2;
}
.form-box Vertical, .form-box ContentSwitcher {
    height: auto;
}
.form-box Input {
    margin-bottom: 1;
}
.form-box Button {
    margin-right: 2;
}
.form-buttons {
    height: auto;
    padding-top: 1;
}
.form-note {
    color: $text-muted;
    padding-bottom: 1;
}
.form-status {
    height: auto;
    padding-top: 1;
}
.form-status.-error {
    color: $error;
    text-style: bold;
}
.form-status.-busy {
    color: $accent;
}
"""
"""CSS for a centred box (``.form-box``) with inputs, a row of buttons and a status line."""


def set_status(status: Static, text: str, *, error: bool = False, busy: bool = False) -> None:
    """Show ``text`` on a form's status line (``.form-status``), red for an error."""
    status.update(Text(text))
    status.set_class(error, "-error")
    status.set_class(busy, "-busy")


def sentence(message: BaseException | str, limit: int = 300) -> str:
    """A message as one plain sentence: one safe line ending in a full stop, its first word
    capitalised when it is a plain word (``not a valid phone number`` → ``Not a valid …``, but
    ``klm.nl now belongs …`` stays); "" for an empty message.
    """
    text = safe(message, limit)
    if not text:
        return message.__class__.__name__ if isinstance(message, BaseException) else ""
    text = capitalised(text)
    return text if text.endswith((".", "!", "?", ")", "…")) else text + "."
