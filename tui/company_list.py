"""The company list: every company with its kind, item count, monthly sparkline and last contact.

Typing filters it (name or mail domain, any case); Ctrl+S cycles the order. The list is loaded
once in a worker and drawn virtually, so thousands of companies cost nothing per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events, work
from textual.binding import Binding, BindingType
from textual.message import Message

from tui.format import count, fit, kind_icon, parse_time, sparkline
from tui.messages import CompanyChosen, CompanyHighlighted
from tui.virtual_list import VirtualList
from vault.browse import monthly_activity
from vault.queries import list_companies
from vault.store import Conn, Store

SORTS = ("recent", "count", "name")
# ctrl+n: everyone, then companies, people (the contacts view), mailing lists.
KINDS: tuple[str | None, ...] = (None, "company", "person", "list")
KIND_TITLES = {None: "Companies", "company": "Companies only", "person": "People", "list": "Lists"}
SORT_LABELS = {"recent": "last contact", "count": "most items", "name": "name"}
SPARK_MONTHS = 12
# Keys that keep their global meaning even while typing a filter.
RESERVED_KEYS = frozenset("/?$")


@dataclass(frozen=True, slots=True)
class CompanyEntry:
    """One company as the list shows it."""

    id: int
    name: str
    kind: str
    domains: tuple[str, ...]
    interactions: int
    last_at: str | None
    last_epoch: float
    spark: str
    folded: str  # name and domains, casefolded, for the filter


def _entry(
    row_id: int,
    name: str,
    kind: str,
    domains: list[str],
    interactions: int,
    last_at: str | None,
    counts: list[int],
) -> CompanyEntry:
    last = parse_time(last_at or "", None)
    return CompanyEntry(
        id=row_id,
        name=name,
        kind=kind,
        domains=tuple(domains),
        interactions=interactions,
        last_at=last_at,
        last_epoch=last.timestamp() if last else 0.0,
        spark=sparkline(counts),
        folded=" ".join([name, *domains]).casefold(),
    )


def read_entries(conn: Conn) -> list[CompanyEntry]:
    """Every company with its monthly activity, as the list shows them."""
    rows = list_companies(conn, source_offsets=False)  # the list shows the user's zone
    activity = monthly_activity(conn, SPARK_MONTHS)
    blank = [0] * SPARK_MONTHS
    return [
        _entry(
            r.id,
            r.name,
            r.kind,
            r.domains,
            r.interactions,
            r.last_at,
            activity.counts.get(r.id, blank),
        )
        for r in rows
    ]


class CompanyList(VirtualList):
    """Companies, filtered as you type, in one of three orders."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,right", "select", "Open", id="companies.open"),
        Binding("ctrl+s", "cycle_sort", "Sort", id="companies.sort"),
        Binding("ctrl+n", "cycle_kind", "People", show=False, id="companies.kind"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="companies.clear"),
        Binding("backspace", "erase", "Erase filter", show=False, id="companies.erase"),
    ]

    class Loaded(Message):
        """The worker read the companies."""

        def __init__(self, entries: list[CompanyEntry]) -> None:
            super().__init__()
            self.entries = entries

    def __init__(self, store: Store, zone: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.zone = zone
        self.entries: list[CompanyEntry] = []
        self.shown: list[CompanyEntry] = []
        self.filter = ""
        self.sort = SORTS[0]
        self.kind_filter: str | None = None
        self.loaded = False

    def on_mount(self) -> None:
        """Start reading the companies as soon as the list exists."""
        self._update_titles()
        self.load()

    @work(thread=True, exclusive=True, group="companies", description="Reading the companies")
    def load(self) -> None:
        """Read every company and its monthly activity (in a thread)."""
        with self.store.reader() as conn:
            entries = read_entries(conn)
        self.post_message(self.Loaded(entries))

    def on_company_list_loaded(self, message: Loaded) -> None:
        """Show what the worker read, keeping the cursor's company if it is still there."""
        message.stop()
        self.entries = message.entries
        self.loaded = True
        self._rebuild(self.current_id)

    # ---- the view ---------------------------------------------------------------------------

    @property
    def current_id(self) -> int | None:
        """The company under the cursor."""
        if 0 <= self.cursor < len(self.shown):
            return self.shown[self.cursor].id
        return None

    def show_entries(self, entries: list[CompanyEntry], keep_id: int | None) -> None:
        """Show companies read again after an edit, the cursor on ``keep_id``.

        The filter is cleared if it would hide ``keep_id``; unlike a cursor move, this does
        not announce the company (the caller refreshes the timeline itself).
        """
        self.entries = entries
        self.loaded = True
        kept = next((e for e in entries if e.id == keep_id), None)
        if kept is not None and self.filter.casefold().strip() not in kept.folded:
            self.filter = ""
        if kept is not None and self.kind_filter not in (None, kept.kind):
            self.kind_filter = None
        self._rebuild(keep_id, announce=False)

    def entry(self, company_id: int | None) -> CompanyEntry | None:
        """The company with ``company_id`` as last read, if listed."""
        return next((e for e in self.entries if e.id == company_id), None)

    def _rebuild(self, keep_id: int | None, *, announce: bool = True) -> None:
        needle = self.filter.casefold().strip()
        chosen = [
            e
            for e in self.entries
            if (not needle or needle in e.folded)
            and (self.kind_filter is None or e.kind == self.kind_filter)
        ]
        if self.sort == "recent":
            chosen.sort(key=lambda e: (-e.last_epoch, e.name.casefold()))
        elif self.sort == "count":
            chosen.sort(key=lambda e: (-e.interactions, e.name.casefold()))
        else:
            chosen.sort(key=lambda e: (e.name.casefold(), e.id))
        self.shown = chosen
        position = next((n for n, e in enumerate(chosen) if e.id == keep_id), 0)
        self.reset(position)
        self.scroll_to_cursor(center=True)
        self._update_titles()
        if announce:
            self.post_message(CompanyHighlighted(self.current_id))

    def _update_titles(self) -> None:
        total = len(self.entries)
        if self.kind_filter is not None:
            total = sum(1 for e in self.entries if e.kind == self.kind_filter)
        title = KIND_TITLES[self.kind_filter]
        self.border_title = Text(
            f"{title} {count(total)}" if self.loaded else f"{title} …", no_wrap=True
        )
        if self.filter:
            shown = f"{count(len(self.shown))} of {count(total)}"
            subtitle = Text.assemble(("⌕ ", "bold"), (self.filter, "bold"), f"▏ {shown} · esc")
        else:
            subtitle = Text(f"type to filter · ^S {SORT_LABELS[self.sort]}")
        self.border_subtitle = subtitle

    def select_company(self, company_id: int) -> bool:
        """Put the cursor on ``company_id``, clearing the filters if they hide it."""
        if not any(e.id == company_id for e in self.shown):
            if not any(e.id == company_id for e in self.entries):
                return False
            self.filter = ""
            self.kind_filter = None
        self._rebuild(company_id)
        return True

    # ---- VirtualList ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Companies shown (after the filter)."""
        return len(self.shown)

    def empty_text(self) -> str:
        """Loading, an empty vault, or a filter that matches nothing."""
        if not self.loaded:
            return "Reading companies…"
        if self.filter:
            return "No company matches. Esc clears the filter."
        if self.kind_filter is not None:
            return f"No {KIND_TITLES[self.kind_filter].lower()} here. Ctrl+N shows everyone."
        return "No companies yet: import mail or chats first."

    def render_list_line(self, line: int, row: int | None, width: int) -> list[Segment]:
        """``■ Name…  1,234 ▁▃▅█  14 Nov 26``, dropping the right columns when narrow."""
        entry = self.shown[line]
        date = parse_time(entry.last_at or "", self.zone)
        columns: list[tuple[str, str]] = []
        rest = width - 2
        show_spark = rest >= 12 + 1 + 6 + 1 + 12
        show_date = show_spark and rest >= 12 + 1 + 6 + 1 + 12 + 1 + 9
        right = 7 + (13 if show_spark else 0) + (10 if show_date else 0)
        columns.append((fit(entry.name, rest - right), "strong"))
        columns.append((f" {count(entry.interactions):>6}", "dim"))
        if show_spark:
            columns.append((" " + entry.spark, "accent"))
        if show_date:
            columns.append((" " + (date.strftime("%d %b %y") if date else "—").rjust(9), "dim"))
        segments = [Segment(kind_icon(entry.kind) + " ", self.style("accent"))]
        segments += [Segment(text, self.style(style)) for text, style in columns]
        return segments

    def on_cursor_moved(self, row: int) -> None:
        """Tell the app which company to show."""
        self.post_message(CompanyHighlighted(self.current_id))

    def action_select(self) -> None:
        """Enter: go to this company's timeline."""
        if self.current_id is not None:
            self.post_message(CompanyChosen(self.current_id))

    # ---- filtering and order ----------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """Printable keys (but / and ?) go to the filter, before any binding sees them."""
        character = event.character
        if event.is_printable and character and character not in RESERVED_KEYS:
            if character == " " and not self.filter:
                return
            event.stop()
            event.prevent_default()
            self.filter += character
            self._rebuild(self.current_id)

    def action_erase(self) -> None:
        """Backspace: remove the filter's last character."""
        if self.filter:
            self.filter = self.filter[:-1]
            self._rebuild(self.current_id)

    def action_clear_filter(self) -> None:
        """Esc: show every company again."""
        if self.filter:
            self.filter = ""
            self._rebuild(self.current_id)

    def action_cycle_kind(self) -> None:
        """Ctrl+N: everyone → companies → people → mailing lists."""
        self.kind_filter = KINDS[(KINDS.index(self.kind_filter) + 1) % len(KINDS)]
        self._rebuild(self.current_id)
        shown = KIND_TITLES[self.kind_filter] if self.kind_filter else "Everyone"
        self.notify(f"{shown}; ctrl+t suggests who may be one", timeout=2)

    def action_cycle_sort(self) -> None:
        """Ctrl+S: last contact → most items → name."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._rebuild(self.current_id)
        self.notify(f"Companies by {SORT_LABELS[self.sort]}", timeout=2)
