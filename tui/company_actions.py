"""Company edits in the app (ctrl+e): rename, merge into another, add an alias, split off, undo.

A small menu, then one modal per edit (``tui.company_dialogs``) with a prompt and a preview of
what will happen. On success the main screen shows the company list as read after the edit in
one step, the cursor on the edited (or merged-into) company, with the timeline read again. The
same edits are in the command palette and the help screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.company_dialogs import (
    AliasScreen,
    EditDone,
    EditScreen,
    MergeScreen,
    RenameScreen,
    SplitScreen,
    UndoScreen,
)
from tui.company_list import CompanyEntry
from tui.dialogs import Dialog
from tui.format import plural, safe
from tui.forms import sentence
from tui.help import HelpSection

if TYPE_CHECKING:
    from tui.main_screen import MainScreen

UNDO_HINT = "ctrl+e → Undo takes it back"


@dataclass(frozen=True, slots=True)
class CompanyAction:
    """One edit: its key, its letter and label in the menu, its command palette entry."""

    key: str
    letter: str
    label: str
    command: str
    help: str


ACTIONS = (
    CompanyAction("rename", "r", "Rename…", "Rename company", "Give the company your own name"),
    CompanyAction(
        "merge",
        "m",
        "Merge into…",
        "Merge company into another",
        "Move all its items to another company",
    ),
    CompanyAction(
        "alias",
        "l",
        "Add alias…",
        "Add an alias to company",
        "A domain, mail address, phone number or name that belongs to it",
    ),
    CompanyAction(
        "split",
        "s",
        "Split off…",
        "Split a domain off company",
        "Move one domain or address and its items into a new company",
    ),
    CompanyAction(
        "undo",
        "u",
        "Undo last edit",
        "Undo last company edit",
        "Take back the last rename, merge, alias or split",
    ),
)


# ---- the menu -------------------------------------------------------------------------------


class CompanyActionsMenu(Dialog[str | None]):
    """ctrl+e: what to do with the company; dismissed with an action key, or None."""

    DEFAULT_CSS = """
    #actions-box {
        width: 50;
        padding: 0;
    }
    #actions-list {
        height: auto;
        border: none;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            # The menu shows each letter already; the footer keeps to esc.
            Binding(a.letter, f"pick('{a.key}')", a.command, show=False, id=f"company-edit.{a.key}")
            for a in ACTIONS
        ),
        Binding("escape", "pick('')", "Close the menu", id="company-edit.close"),
    ]

    def __init__(self, company: CompanyEntry) -> None:
        super().__init__()
        self.company = company

    def compose(self) -> ComposeResult:
        """The actions, each with its key."""
        with Vertical(id="actions-box", classes="dialog-box"):
            yield OptionList(
                *[
                    Option(
                        Text.assemble((f"{a.letter}  ", "bold"), a.label),
                        id=a.key,
                    )
                    for a in ACTIONS
                ],
                id="actions-list",
            )

    def on_mount(self) -> None:
        """Title the menu with the company."""
        name = safe(self.company.name, 30)
        self.title_box(
            f"{name} · {plural(self.company.interactions, 'item')}", "enter or a letter · esc"
        )
        self.query_one("#actions-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#actions-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_id)

    def action_pick(self, key: str) -> None:
        """A letter (or esc): that action (or none)."""
        self.dismiss(key or None)


# ---- wiring into the main screen ------------------------------------------------------------


def edited_company(main: MainScreen) -> CompanyEntry | None:
    """The company under the list's cursor, or the open timeline's when focus is elsewhere."""
    companies = main.companies
    chosen = companies.current_id
    if main.focused is not companies and main.timeline.company_id is not None:
        chosen = main.timeline.company_id
    return companies.entry(chosen)


def open_menu(main: MainScreen) -> None:
    """ctrl+e: the menu for the edited company."""
    company = edited_company(main)
    if company is None:
        main.notify("Choose a company first", timeout=3)
        return

    def chosen(key: str | None) -> None:
        if key:
            open_edit(main, key)

    main.app.push_screen(CompanyActionsMenu(company), chosen)


def open_edit(main: MainScreen, key: str) -> None:
    """The modal of edit ``key`` for the edited company; its result updates the screen."""
    company = edited_company(main)
    if company is None and key != "undo":
        main.notify("Choose a company first", timeout=3)
        return
    screen: EditScreen
    if key == "rename":
        screen = RenameScreen(main.store, company)
    elif key == "merge":
        screen = MergeScreen(main.store, company, main.companies.entries)
    elif key == "alias":
        screen = AliasScreen(main.store, company)
    elif key == "split":
        screen = SplitScreen(main.store, company)
    else:
        screen = UndoScreen(main.store, company)

    def done(result: EditDone | None) -> None:
        if result is not None:
            show_result(main, result)

    main.app.push_screen(screen, done)


def show_result(main: MainScreen, result: EditDone) -> None:
    """The companies as read after the edit, the cursor on its company, its timeline again."""
    companies = main.companies
    companies.show_entries(result.entries, result.company_id)
    entry = companies.entry(companies.current_id)
    if entry is not None:
        main.detail.show_item(None)
        main.timeline.reload(entry.id, entry.name, entry.interactions)
    said = result.summary
    if not result.summary.startswith("undid"):
        said += f"; {UNDO_HINT}"
    main.notify(sentence(said), markup=False, timeout=6)


def palette_commands(main: MainScreen) -> Iterator[SystemCommand]:
    """Every edit in the command palette."""
    for action in ACTIONS:
        yield SystemCommand(
            action.command, f"{action.help} (ctrl+e)", partial(open_edit, main, action.key)
        )


def help_section() -> HelpSection:
    """The menu's keys for the help screen."""
    return HelpSection(
        "Company edits (ctrl+e)",
        CompanyActionsMenu.BINDINGS,
        extra=[
            ("ctrl+p", "Each edit is also in the command palette; undo goes back one at a time")
        ],
    )
