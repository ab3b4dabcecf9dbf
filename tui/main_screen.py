"""The main screen: companies on the left; the chosen company's timeline and item on the right.

It wires the panes together: the company under the cursor drives the timeline, the timeline's
cursor drives the item pane. The panes only send messages up; this screen calls them.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from tui.company_list import CompanyList
from tui.detail import DetailPane
from tui.messages import CompanyChosen, CompanyHighlighted, ItemChosen, ItemHighlighted, JumpTo
from tui.timeline import Timeline
from vault.store import Store


class MainScreen(Screen[None], inherit_bindings=False):
    """Companies | timeline over item."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "app.focus_next", "Next pane", show=False, id="focus-next"),
        Binding(
            "shift+tab", "app.focus_previous", "Previous pane", show=False, id="focus-previous"
        ),
        Binding("z", "toggle_zoom", "Zoom item", id="zoom"),
    ]

    def __init__(self, store: Store, zone: tzinfo | None) -> None:
        super().__init__(id="main")
        self.store = store
        self.zone = zone
        self._focus_on_resume: Widget | None = None

    def compose(self) -> ComposeResult:
        """The three panes and the footer."""
        with Horizontal(id="panes"):
            yield CompanyList(self.store, self.zone, id="companies")
            with Vertical(id="right"):
                yield Timeline(self.store, self.zone, id="timeline")
                yield DetailPane(self.store, self.zone, id="detail")
        yield Footer()

    def on_mount(self) -> None:
        """Start where a user starts: choosing a company."""
        self.companies.focus()

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
        """Show the company under the cursor."""
        company_id = message.company_id
        if company_id is not None and company_id != self.timeline.company_id:
            self.open_company(company_id)

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Zoom is for the timeline and the item; in the company list z is filter text."""
        return not (action == "toggle_zoom" and isinstance(self.focused, CompanyList))

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

    def action_toggle_zoom(self) -> None:
        """z: the item pane fills the screen, or back."""
        if self.maximized is not None:
            self.minimize()
            return
        self.maximize(self.detail, container=False)
        self.detail.focus()
