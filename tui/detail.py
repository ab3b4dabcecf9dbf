"""The detail pane: one item in full — headers, files, booking cards, body, thread around it.

Everything shown comes from the vault and is untrusted: it is built only from ``rich.text.Text``
(never markup strings, which Rich tables and panels would parse) after ``vault.text`` stripped
control sequences. Reading happens in a worker, a moment after the cursor stops, so holding
Down in the timeline does not read every item it passes.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from tui.format import (
    CHANNEL_NAMES,
    booking_time,
    channel_icon,
    direction_arrow,
    display,
    long_time,
    safe,
    short_time,
)
from vault.browse import ContextMessage, thread_context
from vault.channels import DAY_ONLY
from vault.errors import UsageError
from vault.queries import show
from vault.store import Store

PREVIEW_DELAY = 0.12  # seconds the cursor must rest before the item is read
BODY_CHARS = 100_000  # more is cut: Rich wraps the whole text on every resize
RELATED_LIMIT = 200
DIRECTIONS = {"in": "incoming", "out": "outgoing", "system": "notice"}


def _kv(table: Table, label: str, value: str | Text, style: str = "") -> None:
    table.add_row(
        Text(label, style="dim"), value if isinstance(value, Text) else Text(value, style)
    )


def _size(size: object) -> str:
    n = int(size) if isinstance(size, int | float | str) and str(size).isdigit() else 0
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:.0f} {unit}"
        n //= 1024
    return f"{n} GB"


def headers(item: dict[str, Any], zone: tzinfo | None) -> RenderableType:
    """Title and the header fields of an item."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    channel = str(item.get("channel", ""))
    direction = str(item.get("direction", ""))
    if item.get("sender"):
        _kv(table, "From", safe(item["sender"]))
    recipients = [safe(r) for r in item.get("recipients") or []]
    if recipients:
        _kv(table, "To", ", ".join(recipients))
    _kv(table, "When", long_time(item.get("occurred_at"), zone, day_only=channel in DAY_ONLY))
    via = (
        f"{channel_icon(channel)} {CHANNEL_NAMES.get(channel, safe(channel))} "
        f"{direction_arrow(direction)} {DIRECTIONS.get(direction, safe(direction))}"
    )
    _kv(table, "Via", via)
    company = item.get("company") or {}
    _kv(table, "Company", safe(company.get("name")))
    case = item.get("case") or []
    if case:
        # vault.queries.related_items stops at 200: a long chat thread has more.
        more = "+" if len(case) >= RELATED_LIMIT else ""
        _kv(table, "Related", f"{len(case):,}{more} other item{'s' if len(case) != 1 else ''}")
    for n, attachment in enumerate(item.get("attachments") or []):
        name = safe(attachment.get("filename"))
        detail = f"  {safe(attachment.get('mime'))}, {_size(attachment.get('size'))}"
        _kv(table, "Files" if n == 0 else "", Text.assemble(("▪ " + name, "bold"), (detail, "dim")))
    _kv(table, "Source", safe(item.get("source_ref")), "dim")
    title = Text(safe(item.get("title"), 500) or "(no subject)", style="bold")
    return Group(title, Text(""), table)


def booking_card(booking: dict[str, Any], zone: tzinfo | None) -> RenderableType:
    """A booking as a card: route, times in the user's zone (the place's own beside them where
    it differs), reference, status."""
    kind = safe(booking.get("kind")).replace("_", " ").capitalize()
    number = safe(booking.get("number"))
    status = safe(booking.get("status"))
    status_style = {"cancelled": "bold red", "changed": "bold yellow"}.get(status, "bold green")
    title = Text.assemble(
        (f"{kind} {number}".rstrip() + " · ", "bold"), (status, status_style), " "
    )
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    origin, destination = safe(booking.get("origin")), safe(booking.get("destination"))
    if origin or destination:
        _kv(table, "Route", f"{origin or '?'} → {destination or '?'}", "bold")
    if booking.get("start"):
        _kv(table, "Starts", booking_time(booking["start"], zone))
    if booking.get("boarding"):
        _kv(table, "Boarding", booking_time(booking["boarding"], zone))
    if booking.get("end"):
        _kv(table, "Ends", booking_time(booking["end"], zone))
    if booking.get("reference"):
        _kv(table, "Reference", safe(booking["reference"]), "bold")
    if booking.get("seat"):
        _kv(table, "Seat", safe(booking["seat"]))
    travellers = [safe(t) for t in booking.get("travellers") or []]
    if travellers:
        _kv(table, "Travellers", ", ".join(travellers))
    if booking.get("price") is not None:
        _kv(table, "Price", f"{safe(booking.get('currency'))} {safe(booking['price'])}".strip())
    return Panel(table, title=title, title_align="left", border_style="cyan", expand=False)


def thread_view(
    context: list[ContextMessage], current: int, zone: tzinfo | None, *, chat: bool
) -> RenderableType:
    """The messages around the item in its thread, the item itself marked."""
    lines: list[RenderableType] = [Rule(Text("Thread", style="bold"), align="left", style="dim")]
    for message in context:
        mark = "▶ " if message.id == current else "  "
        style = "bold" if message.id == current else ""
        who = safe(message.sender, 40).split(" <")[0] if message.sender else ""
        head = Text.assemble(
            (mark, "bold"),
            (short_time(message.occurred_at, zone), "dim"),
            " ",
            (
                direction_arrow(message.direction) + " ",
                "green" if message.direction == "in" else "yellow",
            ),
            (who + (": " if who else ""), "dim"),
        )
        if chat:
            head.append(display(message.body.strip() or message.title), style)
        else:
            head.append(display(message.title) or "(no subject)", style)
        lines.append(head)
    return Group(*lines)


def render_item(
    item: dict[str, Any], context: list[ContextMessage], zone: tzinfo | None
) -> RenderableType:
    """An item in full, as the pane shows it."""
    parts: list[RenderableType] = [headers(item, zone)]
    for booking in item.get("bookings") or []:
        parts.append(Text(""))
        parts.append(booking_card(booking, zone))
    chat = item.get("channel") in ("chat", "sms")
    if not (chat and context):
        body = str(item.get("body") or "")
        cut = len(body) - BODY_CHARS
        parts.append(Rule(style="dim"))
        parts.append(Text(display(body[:BODY_CHARS]).strip() or "(no text)"))
        if cut > 0:
            parts.append(Text(f"… {cut:,} more characters (kluis show {item['id']})", style="dim"))
    if len(context) > 1:
        parts.append(Text(""))
        parts.append(thread_view(context, int(item["id"]), zone, chat=chat))
    return Group(*parts)


class DetailPane(VerticalScroll, can_focus=True, inherit_bindings=False):
    """The item under the timeline's cursor, in full."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Scroll up", show=False, id="item.up"),
        Binding("down,j", "scroll_down", "Scroll down", show=False, id="item.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="item.page-up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="item.page-down"),
        Binding("home", "scroll_home", "Top", show=False, id="item.top"),
        Binding("end", "scroll_end", "Bottom", show=False, id="item.bottom"),
        Binding("escape,left", "screen.focus_timeline", "Back", id="item.back"),
        Binding("s", "save_attachments", "Save files", id="item.save"),
        Binding("z", "screen.toggle_zoom", "Zoom in or out", id="item.zoom"),
        Binding("q", "app.quit", "Quit", show=False, id="item.quit"),
    ]

    ALLOW_MAXIMIZE = True

    class Loaded(Message):
        """The worker read an item."""

        def __init__(
            self, token: int, item: dict[str, Any] | None, context: list[ContextMessage]
        ) -> None:
            super().__init__()
            self.token = token
            self.item = item
            self.context = context

    def __init__(self, store: Store, zone: tzinfo | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.zone = zone
        self.item_id: int | None = None
        self.item: dict[str, Any] | None = None
        self._token = 0
        self._timer: Timer | None = None

    def compose(self) -> Any:
        """One Static holds the rendered item."""
        yield Static(Text("Nothing selected.", style="dim"), id="detail-body")

    def on_mount(self) -> None:
        """A title on the border, like the other panes."""
        self.border_title = Text("Item")

    def show_item(self, item_id: int | None, *, delay: float = PREVIEW_DELAY) -> None:
        """Show ``item_id`` after ``delay`` seconds (0: now); a newer call replaces it."""
        if item_id == self.item_id:
            return  # already shown, or on its way
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._token += 1
        self.item_id = item_id
        token = self._token
        if item_id is None:
            self._show(None, [])
        elif delay <= 0:
            self._load(token, item_id)
        else:
            self._timer = self.set_timer(delay, lambda: self._load(token, item_id))

    @work(thread=True, exclusive=True, group="detail", description="Reading an item")
    def _load(self, token: int, item_id: int) -> None:
        try:
            with self.store.reader() as conn:
                item: dict[str, Any] | None = show(conn, item_id)
                context = thread_context(conn, item_id)
        except UsageError:
            item, context = None, []  # deleted or merged away since the list was read
        self.post_message(self.Loaded(token, item, context))

    def on_detail_pane_loaded(self, message: Loaded) -> None:
        """Draw the item if it is still the one wanted."""
        message.stop()
        if message.token == self._token:
            self._show(message.item, message.context)

    def _show(self, item: dict[str, Any] | None, context: list[ContextMessage]) -> None:
        had_files = self._has_files()
        self.item = item
        body = self.query_one("#detail-body", Static)
        if item is None:
            body.update(Text("Nothing selected.", style="dim"))
            self.border_title = Text("Item")
        else:
            body.update(render_item(item, context, self.zone))
            self.border_title = Text(f"Item {item['id']}")
        self.scroll_home(animate=False)
        if self._has_files() != had_files:
            # Only then: redrawing the footer on every item cost a third of a key's time.
            self.refresh_bindings()

    def _has_files(self) -> bool:
        return bool(self.item and self.item.get("attachments"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Save files only shows for an item that has files."""
        if action == "save_attachments":
            return self._has_files()
        return True

    def action_save_attachments(self) -> None:
        """s: write one or all of the item's files to a folder."""
        if self.item is not None and self._has_files():
            from tui.save_attachment import SaveAttachmentScreen  # opened rarely: not at start

            self.app.push_screen(SaveAttachmentScreen(self.store, int(self.item["id"])))
        else:
            self.notify("This item has no files to save", timeout=3)
