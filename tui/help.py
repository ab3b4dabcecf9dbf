"""Help (?): every key binding, where it works, and what the icons mean.

The tables are built from the ``BINDINGS`` of each class, so a new binding shows up here
without anyone remembering to document it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui.format import CHANNEL_ICONS, CHANNEL_NAMES, DIRECTION_ARROWS, KIND_ICONS, SPARK_BARS


@dataclass(frozen=True, slots=True)
class HelpSection:
    """A heading and the bindings (plus any extra key → meaning lines) it lists."""

    title: str
    bindings: Sequence[BindingType]
    extra: Sequence[tuple[str, str]] = ()


def _as_binding(binding: BindingType) -> Binding:
    if isinstance(binding, Binding):
        return binding
    key, action, *rest = binding
    return Binding(key, action, rest[0] if rest else "")


def binding_rows(
    bindings: Iterable[BindingType], key_display: Callable[[Binding], str]
) -> list[tuple[str, str]]:
    """(keys, description) for each binding; a binding with several keys is one row."""
    rows = []
    for raw in bindings:
        binding = _as_binding(raw)
        keys = [key_display(replace(binding, key=k.strip())) for k in binding.key.split(",")]
        rows.append((" ".join(keys), binding.description or binding.action))
    return rows


def legend() -> RenderableType:
    """What the icons, arrows and sparklines mean."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    channels = "  ".join(f"{icon} {CHANNEL_NAMES[name]}" for name, icon in CHANNEL_ICONS.items())
    table.add_row(Text("Channels"), Text(channels))
    arrows = {"in": "incoming", "out": "outgoing", "system": "notice"}
    table.add_row(
        Text("Direction"),
        Text("  ".join(f"{DIRECTION_ARROWS[d]} {label}" for d, label in arrows.items())),
    )
    table.add_row(
        Text("Kinds"), Text("  ".join(f"{icon} {kind}" for kind, icon in KIND_ICONS.items()))
    )
    table.add_row(
        Text("Sparkline"),
        Text(f"{SPARK_BARS} contacts per month, the vault's last 12 months (oldest left)"),
    )
    return table


def help_text(sections: Sequence[HelpSection], key_display: Callable[[Binding], str]) -> Group:
    """All sections as one renderable of plain ``Text`` cells."""
    parts: list[RenderableType] = []
    for section in sections:
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, min_width=14, style="bold")
        table.add_column()
        for keys, description in [*binding_rows(section.bindings, key_display), *section.extra]:
            table.add_row(Text(keys), Text(description))
        parts += [Text(section.title, style="bold underline"), table, Text("")]
    parts += [Text("Legend", style="bold underline"), legend()]
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """Every binding, grouped by where it works."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close help", id="help.close"),
    ]

    def __init__(self, sections: Sequence[HelpSection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        """A scrolling box with the tables."""
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self.sections, self.app.get_key_display), id="help-text")
        yield Footer()  # its own keys, not those of the screen under it

    def on_mount(self) -> None:
        """Title the box."""
        box = self.query_one("#help-box", VerticalScroll)
        box.border_title = Text("Keys")
        box.border_subtitle = Text("esc closes")
        box.focus()

    def action_close(self) -> None:
        """Back to the app."""
        self.dismiss(None)
