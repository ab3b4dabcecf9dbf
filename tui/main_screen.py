"""The main screen: companies on the left; the chosen company's timeline and item on the right.

It wires the panes together: the company under the cursor drives the timeline, the timeline's
cursor drives the item pane. The panes only send messages up; this screen calls them.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from tui.company_list import CompanyList
from tui.detail import DetailPane
from tui.messages import CompanyChosen, CompanyHighlighted, ItemChosen, ItemHighlighted, JumpTo
from tui.timeline import Timeline
from vault.store import Store

EMPTY_VAULT_HINT = "Nothing here yet — press ctrl+o to import your mail, chats or bookings."


class EmptyVaultHint(Static):
    """What the main screen shows instead of empty panes when the vault holds nothing."""

    DEFAULT_CSS = """
    EmptyVaultHint {
        width: 1fr;
        height: 1fr;
        content-align: center middle;
        text-style: bold;
        color: $text-muted;
        display: none;
    }
    """

    def __init__(self) -> None:
        super().__init__(Text(EMPTY_VAULT_HINT), id="empty-hint")


class MainScreen(Screen[None], inherit_bindings=False):
    """Companies | timeline over item."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next pane", show=False, id="focus-next"),
        Binding(
            "shift+tab", "app.focus_previous", "Previous pane", show=False, id="focus-previous"
        ),
        Binding("ctrl+o", "import_sources", "Import", id="import"),
        Binding("ctrl+e", "edit_company", "Edit company", id="company-edit"),
        Binding("ctrl+t", "suggestions", "Suggestions", show=False, id="suggestions"),
    ]

    WATCH_SECONDS: ClassVar[float] = 2.0
    """How often the app looks whether the vault changed (another process imported, say)."""

    class VaultChanged(Message):
        """Something was committed to the vault since the last look."""

    def __init__(self, store: Store, zone: tzinfo | None) -> None:
        super().__init__(id="main")
        self.store = store
        self.zone = zone
        self._focus_on_resume: Widget | None = None
        self._reload_timeline = False
        self._seen_version: int | None = None

    def compose(self) -> ComposeResult:
        """The three panes and the footer."""
        with Horizontal(id="panes"):
            yield CompanyList(self.store, self.zone, id="companies")
            with Vertical(id="right"):
                yield Timeline(self.store, self.zone, id="timeline")
                yield DetailPane(self.store, self.zone, id="detail")
        yield EmptyVaultHint()
        yield Footer()

    def on_mount(self) -> None:
        """Start where a user starts: choosing a company; look for changes from now on."""
        self.companies.focus()
        self._look_for_changes()
        self.set_interval(self.WATCH_SECONDS, self._watch)

    def _watch(self) -> None:
        if self.is_current:  # a screen on top (the app's own import) reloads when it closes
            self._look_for_changes()

    @work(thread=True, exclusive=True, group="vault-watch", description="Looking for changes")
    def _look_for_changes(self) -> None:
        version = self.store.data_version()
        if self._seen_version is not None and version != self._seen_version:
            self.post_message(self.VaultChanged())
        self._seen_version = version

    def on_main_screen_vault_changed(self, message: VaultChanged) -> None:
        """Show what another process wrote: the counts, new companies, the open timeline."""
        self.reload()

    @property
    def companies(self) -> CompanyList:
        """The company list."""
        return self.query_one(CompanyList)

    @property
    def timeline(self) -> Timeline:
        """The timeline."""
        return self.query_one(Timeline)

    @property
    def detail(self) -> DetailPane:
        """The item pane."""
        return self.query_one(DetailPane)

    # ---- messages from the panes ------------------------------------------------------------

    def on_company_highlighted(self, message: CompanyHighlighted) -> None:
        """Show the company under the cursor (the hint to import when the vault is empty)."""
        company_id = message.company_id
        empty = company_id is None and self.companies.loaded and not self.companies.entries
        panes = self.query_one("#panes")
        if panes.display == empty:
            panes.display = not empty
            self.query_one(EmptyVaultHint).display = empty
            if not empty:
                self.companies.focus()
        reload, self._reload_timeline = self._reload_timeline, False
        if company_id is not None and (reload or company_id != self.timeline.company_id):
            same = reload and company_id == self.timeline.company_id
            item = self.timeline.current_item if same else None
            self.open_company(company_id, item.id if item is not None else None)

    def open_company(self, company_id: int, item_id: int | None = None) -> None:
        """Show ``company_id``'s timeline, the cursor on ``item_id`` if given."""
        entry = next((e for e in self.companies.entries if e.id == company_id), None)
        name = entry.name if entry is not None else f"Company {company_id}"
        total = entry.interactions if entry is not None else None
        self.timeline.show_company(company_id, name, item_id=item_id, total=total)
        self.detail.show_item(None)

    def on_company_chosen(self, message: CompanyChosen) -> None:
        """Enter on a company: into its timeline."""
        self.timeline.focus()

    def on_item_highlighted(self, message: ItemHighlighted) -> None:
        """Preview the item under the timeline's cursor."""
        self.detail.show_item(message.item_id)

    def on_item_chosen(self, message: ItemChosen) -> None:
        """Enter on an item: read it now and move into it."""
        self.detail.show_item(message.item_id, delay=0)
        self.detail.focus()

    def jump(self, target: JumpTo) -> None:
        """Show a search hit: its company, its place in the timeline, the item itself."""
        self.companies.select_company(target.company_id)
        self.open_company(target.company_id, target.item_id)
        self.detail.show_item(target.item_id, delay=0)
        # The search screen may still be closing; when this screen resumes, Textual gives
        # focus back to where it was, so the timeline takes it then (or now, if resumed).
        self._focus_on_resume = self.timeline
        self.timeline.focus()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Back from search or help: focus what a jump asked for."""
        if self._focus_on_resume is not None:
            self.set_focus(self._focus_on_resume)
            self._focus_on_resume = None
            # The jump may have landed while the search box was on top; the timeline shows the
            # hit's row once this screen is laid out again, even in the company already shown.
            self.call_after_refresh(self.timeline.scroll_to_cursor, center=True)

    # ---- actions ----------------------------------------------------------------------------

    def action_focus_companies(self) -> None:
        """Into the company list."""
        self.minimize()
        self.companies.focus()

    def action_focus_timeline(self) -> None:
        """Into the timeline."""
        self.minimize()
        self.timeline.focus()

    def action_focus_detail(self) -> None:
        """Into the item pane."""
        self.detail.focus()

    def action_edit_company(self) -> None:
        """ctrl+e: rename, merge, alias, split or undo (``tui.company_actions``)."""
        from tui import company_actions

        company_actions.open_menu(self)

    def action_suggestions(self) -> None:
        """ctrl+t: companies and people that may be one; accepting merges them."""
        from tui.suggestions_screen import SuggestionsScreen

        if isinstance(self.app.screen, SuggestionsScreen):
            return
        kind = "person" if self.companies.kind_filter == "person" else "company"

        def closed(changed: bool | None) -> None:
            if changed:
                self.reload()

        self.app.push_screen(SuggestionsScreen(self.store, kind), closed)

    def action_import_sources(self) -> None:
        """ctrl+o: the import screen; the lists reload when it has imported something."""
        from tui.import_screen import ImportScreen

        if not isinstance(self.app.screen, ImportScreen):
            self.app.push_screen(ImportScreen(self.store, after_import=self.reload))

    def reload(self) -> None:
        """Read the companies again, then the open timeline (after an import, here or in
        another process)."""
        self._reload_timeline = True
        self.companies.load()

    def action_toggle_zoom(self) -> None:
        """z: the item pane fills the screen, or back."""
        if self.maximized is not None:
            self.minimize()
            return
        self.maximize(self.detail, container=False)
        self.detail.focus()
