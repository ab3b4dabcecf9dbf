"""The kluis terminal app: ``KluisApp`` on an unlocked store, and ``run_app`` for the CLI.

``cli.launch`` opens the vault first when it can without asking (the environment, the
keyring); otherwise the app starts on its unlock screen, or on the welcome screen when there is
no vault yet. The app reads the store from workers only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.main_screen import MainScreen
from tui.messages import JumpTo
from vault.clock import user_zone
from vault.store import Store
from vault.unlock import vault_exists

# Every other screen is imported when it is first opened: the main screen comes up sooner.
if TYPE_CHECKING:
    from tui.company_list import CompanyEntry
    from tui.help import HelpSection
    from tui.timeline import Timeline
    from tui.unlock import VaultOpened


class KluisApp(App[int]):
    """Browse every company's history, read any item, search everything."""

    CSS_PATH = "kluis.tcss"
    TITLE = "kluis"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="search"),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("ctrl+k", "company_data", "What it knows", id="company-data"),
        Binding("ctrl+u", "profile", "Your profile", show=False, id="profile"),
        Binding("ctrl+g", "gdpr", "GDPR requests", show=False, id="gdpr"),
        Binding("dollar_sign", "spending", "What you paid", show=False, id="spending"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True, id="commands"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
    ]

    store: Store
    """The open vault (set once unlocked, when the app starts locked)."""

    # Of the app's own keys, only these work before the vault is open (the rest need it).
    LOCKED_ACTIONS = frozenset({"quit", "help", "command_palette"})
    MAIN_SCREEN_ACTIONS = frozenset({"search", "company_data", "spending"})

    def __init__(
        self,
        store: Store | None = None,
        *,
        tz: tzinfo | None = None,
        folder: Path | None = None,
        demo_folder: Path | None = None,
    ) -> None:
        """Args:
        store: an open vault store; the app reads it and never closes it.
        tz: the zone to show times in; None for the user's (``kluis config timezone``, else
            this machine's; tests pass UTC).
        folder: without ``store``: the vault to unlock, or where to create one (welcome).
        demo_folder: where the welcome screen builds the demo vault.
        """
        super().__init__()
        if store is not None:
            self.store = store
        elif folder is None:
            raise ValueError("KluisApp needs an open store or a vault folder")
        self.folder = folder
        self.demo_folder = demo_folder or (folder.parent / "kluis-demo" if folder else None)
        self.opened: Store | None = None  # a store the app opened itself; run_app closes it
        self.zone: tzinfo | None = tz
        self.last_query = ""

    def get_default_screen(self) -> Screen[None]:
        """The main screen; a blank one under the unlock or welcome screen when locked."""
        if hasattr(self, "store"):
            return MainScreen(self.store, self._zone())
        return Screen(id="locked")

    def _locked_screen(self) -> Screen[None]:
        """The unlock screen, or the welcome screen when there is no vault yet."""
        assert self.folder is not None
        if vault_exists(self.folder):
            from tui.unlock import UnlockScreen

            return UnlockScreen(self.folder)
        from tui.welcome import WelcomeScreen

        assert self.demo_folder is not None
        return WelcomeScreen(self.folder, self.demo_folder)

    def _zone(self) -> tzinfo:
        """The zone every screen shows times in: the one the app was given, else the user's
        (``kluis config timezone``, else this machine's): the same rule as the CLI's."""
        if self.zone is None:
            with self.store.reader() as conn:
                self.zone = user_zone(conn)
        return self.zone

    @property
    def unlocked(self) -> bool:
        """True once the main screen is there."""
        return any(isinstance(screen, MainScreen) for screen in self.screen_stack)

    def on_vault_opened(self, message: VaultOpened) -> None:
        """The unlock or welcome screen opened the vault: on to the main screen."""
        self.store = self.opened = message.store
        main = MainScreen(self.store, self._zone())
        self.switch_screen(main)
        if message.note:
            self.notify(message.note, timeout=message.note_seconds, markup=False)
        if message.then_import:
            main.action_import_sources()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Until the vault is open, of the app's own keys only quit, help and the palette work;
        search and "what it knows" jump into the timeline, so they work from the main screen.
        """
        if action in self.MAIN_SCREEN_ACTIONS and not isinstance(self.screen, MainScreen):
            return False
        own = {b.action for b in self.BINDINGS if isinstance(b, Binding)}
        return self.unlocked or action not in own or action in self.LOCKED_ACTIONS

    def on_mount(self) -> None:
        """A terminal with 16 colours gets the ANSI theme, which stays legible there."""
        if not self.is_headless and self.console.color_system in ("standard", "windows"):
            self.theme = "ansi-dark"
        if not hasattr(self, "store"):
            self.push_screen(self._locked_screen())

    # ---- what the bench and tests reach -----------------------------------------------------

    @property
    def main(self) -> MainScreen:
        """The main screen (also when another screen is on top of it)."""
        return next(screen for screen in self.screen_stack if isinstance(screen, MainScreen))

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
        from tui.search import SearchScreen

        if isinstance(self.screen, SearchScreen):
            return
        screen = SearchScreen(self.store, self._zone(), self.last_query)

        def searched(target: JumpTo | None) -> None:
            self.last_query = screen.query_text
            if target is not None:
                self.main.jump(target)

        self.push_screen(screen, searched)

    def action_help(self) -> None:
        """?: every key."""
        from tui.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_sections()))

    def action_profile(self) -> None:
        """ctrl+u: your profile, what you may share."""
        from tui.profile_screen import ProfileScreen

        if not isinstance(self.screen, ProfileScreen):
            self.push_screen(ProfileScreen(self.store))

    def action_company_data(self) -> None:
        """ctrl+k: what the company of the open timeline knows about you."""
        from tui.company_data import CompanyDataScreen

        timeline = self.main.timeline
        if isinstance(self.screen, CompanyDataScreen):
            return
        if timeline.company_id is None:
            self.notify("Choose a company first.", markup=False)
            return

        def closed(target: JumpTo | None) -> None:
            if target is not None:
                self.main.jump(target)

        screen = CompanyDataScreen(self.store, timeline.company_id, timeline.company_name)
        self.push_screen(screen, closed)

    def action_gdpr(self) -> None:
        """ctrl+g: GDPR requests and their deadlines; marketing and dormant accounts."""
        from tui.gdpr_screen import GdprScreen

        if not isinstance(self.screen, GdprScreen):
            self.push_screen(GdprScreen(self.store))

    def action_spending(self) -> None:
        """$: what you paid each company, the open timeline's company in detail; Enter on a
        company opens its timeline."""
        from tui.spending_screen import SpendingScreen

        if isinstance(self.screen, SpendingScreen):
            return

        def chosen(company_id: int | None) -> None:
            if company_id is not None:
                self.main.companies.select_company(company_id)
                self.main.open_company(company_id)

        company_id = self.main.timeline.company_id
        self.push_screen(SpendingScreen(self.store, self._zone(), company_id), chosen)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette: the app's own actions, then Textual's."""
        if not self.unlocked:
            yield from self._textual_commands(screen)
            return
        main = self.main
        yield SystemCommand(
            "Import",
            "Mail, chats or bookings from files and folders (ctrl+o)",
            main.action_import_sources,
        )
        yield SystemCommand("Search", "Search every company (/)", self.action_search)
        yield SystemCommand("Help", "Every key and what the icons mean (?)", self.action_help)
        yield SystemCommand(
            "What this company knows about me",
            "Evidence, what you shared; share, revoke, GDPR request (ctrl+k)",
            self.action_company_data,
        )
        yield SystemCommand(
            "Your profile",
            "The fields you may share: add, edit, remove (ctrl+u)",
            self.action_profile,
        )
        yield SystemCommand(
            "GDPR requests",
            "Deadlines, overdue requests, marketing mail (ctrl+g)",
            self.action_gdpr,
        )
        yield SystemCommand(
            "What you paid",
            "Totals per company, year or month; a company's years and contracts ($)",
            self.action_spending,
        )
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
            "Filter timeline by date", "From … to … (d)", main.timeline.action_dates
        )
        yield SystemCommand(
            "Clear timeline filters",
            "Every channel, every date (a)",
            main.timeline.action_clear_filters,
        )
        from tui import company_actions

        yield from company_actions.palette_commands(main)
        yield SystemCommand(
            "Suggestions",
            "Companies and people that may be one: accept merges, reject keeps apart (ctrl+t)",
            main.action_suggestions,
        )
        yield SystemCommand(
            "Show people / companies",
            "The list shows everyone, companies, people or mailing lists (ctrl+n)",
            main.companies.action_cycle_kind,
        )
        yield SystemCommand(
            "Save the item's files",
            "Write its attachments to a folder (s in the item)",
            main.detail.action_save_attachments,
        )
        yield SystemCommand(
            "Go to companies", "Focus the company list", main.action_focus_companies
        )
        yield SystemCommand("Go to timeline", "Focus the timeline", main.action_focus_timeline)
        yield SystemCommand("Go to item", "Focus the item pane", main.action_focus_detail)
        yield SystemCommand(
            "Zoom item", "The item fills the screen, or back (z)", main.action_toggle_zoom
        )
        yield from self._textual_commands(screen)

    def _textual_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own commands, less its "Keys" panel: "Help" (?) lists every key, and one
        name for one thing keeps the palette plain."""
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command


def help_sections() -> list[HelpSection]:
    """The help screen's sections, from each place's bindings."""
    from tui import company_actions, save_attachment
    from tui.company_data import CompanyDataScreen
    from tui.company_list import CompanyList
    from tui.detail import DetailPane
    from tui.gdpr_screen import GdprScreen
    from tui.help import HelpSection
    from tui.profile_screen import ProfileScreen
    from tui.search import SearchResults, SearchScreen
    from tui.spending_screen import SpendingScreen
    from tui.suggestions_screen import SuggestionsScreen
    from tui.timeline import Timeline
    from tui.virtual_list import VirtualList

    return [
        HelpSection("Everywhere", [*KluisApp.BINDINGS, *MainScreen.BINDINGS]),
        HelpSection(
            "Companies",
            CompanyList.BINDINGS,
            extra=[("letters", "Filter by name or mail domain, as you type")],
        ),
        HelpSection("Timeline", Timeline.BINDINGS),
        HelpSection("Item", DetailPane.BINDINGS),
        HelpSection("What a company knows (ctrl+k)", CompanyDataScreen.BINDINGS),
        HelpSection("Your profile (ctrl+u)", ProfileScreen.BINDINGS),
        HelpSection(
            "GDPR (ctrl+g)",
            GdprScreen.BINDINGS,
            extra=[("tabs", "Requests; marketing and dormant accounts (g works there)")],
        ),
        HelpSection("Suggestions (ctrl+t)", SuggestionsScreen.BINDINGS),
        HelpSection(
            "What you paid ($)",
            SpendingScreen.BINDINGS,
            extra=[("enter", "Open the company's timeline")],
        ),
        save_attachment.help_section(),
        company_actions.help_section(),
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


def run_app(
    store: Store | None = None, *, folder: Path | None = None, demo_folder: Path | None = None
) -> int:
    """Run the app until the user quits, on an unlocked ``store`` or locked on ``folder``
    (unlock or welcome screen); closes whichever store it ran on."""
    app = KluisApp(store, folder=folder, demo_folder=demo_folder)
    try:
        app.run()
    finally:
        for opened in (store, app.opened):
            if opened is not None:
                opened.close()
    return app.return_code or 0
