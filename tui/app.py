"""The kluis terminal app: ``KluisApp`` on an unlocked store, and ``run_app`` for the CLI.

Unlocking happens before (``vault.launch`` tries the environment, the keyring, then a prompt);
the app only reads the store it is given, always from workers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.company_list import CompanyEntry, CompanyList
from tui.detail import DetailPane
from tui.help import HelpScreen, HelpSection
from tui.main_screen import MainScreen
from tui.messages import JumpTo
from tui.search import SearchResults, SearchScreen
from tui.timeline import Timeline
from tui.virtual_list import VirtualList
from vault.store import Store


class KluisApp(App[int]):
    """Browse every company's history, read any item, search everything."""

    CSS_PATH = "kluis.tcss"
    TITLE = "kluis"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="search"),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True, id="commands"),
        Binding("q", "quit", "Quit", show=False, id="quit-q"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
    ]

    def __init__(self, store: Store, *, tz: tzinfo | None = None) -> None:
        """Args:
        store: an open vault store; the app reads it and never closes it.
        tz: the zone to show times in; None for the system's (tests pass UTC).
        """
        super().__init__()
        self.store = store
        self.zone = tz
        self.last_query = ""

    def get_default_screen(self) -> Screen[None]:
        """The main screen is the app's first screen."""
        return MainScreen(self.store, self.zone)

    def on_mount(self) -> None:
        """A terminal with 16 colours gets the ANSI theme, which stays legible there."""
        if not self.is_headless and self.console.color_system in ("standard", "windows"):
            self.theme = "ansi-dark"

    # ---- what the bench and tests reach -----------------------------------------------------

    @property
    def main(self) -> MainScreen:
        """The main screen (also when another screen is on top of it)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    @property
    def timeline(self) -> Timeline:
        """The timeline pane."""
        return self.main.timeline

    def company_rows(self) -> list[CompanyEntry]:
        """Every company the list read, in the order read."""
        return list(self.main.companies.entries)

    def open_company(self, company_id: int) -> None:
        """Show ``company_id``'s timeline."""
        self.main.open_company(company_id)

    # ---- actions ----------------------------------------------------------------------------

    def action_search(self) -> None:
        """/: search every company."""
        if isinstance(self.screen, SearchScreen):
            return
        screen = SearchScreen(self.store, self.zone, self.last_query)

        def searched(target: JumpTo | None) -> None:
            self.last_query = screen.query_text
            if target is not None:
                self.main.jump(target)

        self.push_screen(screen, searched)

    def action_help(self) -> None:
        """?: every key."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_sections()))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette: the app's own actions, then Textual's."""
        main = self.main
        yield SystemCommand("Search", "Search every company (/)", self.action_search)
        yield SystemCommand("Help", "Every key and what the icons mean (?)", self.action_help)
        yield SystemCommand(
            "Sort companies",
            "Last contact, most items, or name (ctrl+s)",
            main.companies.action_cycle_sort,
        )
        yield SystemCommand(
            "Filter timeline by channel",
            "Cycle mail, chat, … (c)",
            main.timeline.action_next_channel,
        )
        yield SystemCommand(
            "Show all channels", "Drop the channel filter (a)", main.timeline.action_all_channels
        )
        yield SystemCommand(
            "Go to companies", "Focus the company list", main.action_focus_companies
        )
        yield SystemCommand("Go to timeline", "Focus the timeline", main.action_focus_timeline)
        yield SystemCommand("Go to item", "Focus the item pane", main.action_focus_detail)
        yield SystemCommand(
            "Zoom item", "The item fills the screen, or back (z)", main.action_toggle_zoom
        )
        yield from super().get_system_commands(screen)


def help_sections() -> list[HelpSection]:
    """The help screen's sections, from each place's bindings."""
    return [
        HelpSection("Everywhere", [*KluisApp.BINDINGS, *MainScreen.BINDINGS]),
        HelpSection(
            "Companies",
            CompanyList.BINDINGS,
            extra=[("letters", "Filter by name or mail domain, as you type")],
        ),
        HelpSection("Timeline", Timeline.BINDINGS),
        HelpSection("Item", DetailPane.BINDINGS),
        HelpSection(
            "Search",
            [*SearchScreen.BINDINGS, *SearchResults.BINDINGS],
            extra=[
                ("syntax", 'words  "a phrase"  prefix*  -without  a OR b'),
                ("filters", "company:KLM  channel:chat  after:2024-01  before:2025"),
            ],
        ),
        HelpSection(
            "Lists (companies, timeline, search results)",
            VirtualList.BINDINGS,
            extra=[("mouse", "Click selects a row, double-click opens it; the wheel scrolls")],
        ),
    ]


def run_app(store: Store) -> int:
    """Run the app on an unlocked ``store`` until the user quits; closes the store."""
    app = KluisApp(store)
    try:
        app.run()
    finally:
        store.close()
    return app.return_code or 0
