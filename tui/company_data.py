"""What a company knows about me (ctrl+k): each profile value it has, with the evidence, and
what I shared with it — then share more, revoke a share, or write a GDPR request.

The evidence comes from ``vault.ledger.knows`` (shares, my own outbound messages, bookings);
Enter on evidence that points at an item closes the screen with a ``JumpTo`` so the app shows
that item in the timeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from exports.sharing import LetterResult
from tui.format import safe, short_date
from tui.gdpr_screen import LetterForm, letter_written
from tui.messages import JumpTo
from tui.profile_screen import label_of
from tui.row_detail import RowDetail
from tui.share_wizard import ShareWizard
from vault.ledger import knows, list_disclosures
from vault.profile import ProfileValue, mask
from vault.store import Store

if TYPE_CHECKING:
    from exports.share import ShareResult

STATUS_STYLES = {"active": "green", "expired": "yellow", "revoked": "dim"}


def evidence_text(evidence: dict[str, Any]) -> Text:
    """Where the evidence is, in words: a share, their mail to me, a booking, a message I sent."""
    when = short_date(evidence.get("at"), None)
    if evidence.get("disclosure_id"):
        return Text(f"Shared on {when} in disclosure {evidence['disclosure_id']}")
    if evidence.get("source") == "addressed":
        how = safe(evidence.get("how"), 100)
        return Text(f"{how[:1].upper()}{how[1:]}, the latest on {when}")
    if evidence.get("source") == "booking":
        return Text(f"Booking: {safe(evidence.get('how'), 80)} ({when})")
    return Text(f"Found in the mail you sent on {when} ({safe(evidence.get('how'), 80)})")


def shown_known_value(row: dict[str, Any], reveal: bool) -> Text:
    """A known value: masked when sensitive (unless revealed)."""
    value = ProfileValue(0, row["key"], row["value"], row["category"], row["sensitivity"], "")
    return Text(safe(row["value"] if reveal else mask(value), 120))


class CompanyDataScreen(Screen[JumpTo | None]):
    """What one company knows about me, and my disclosures to it."""

    DEFAULT_CSS = """
    CompanyDataScreen .data-title {
        padding: 0 1;
        text-style: bold;
        margin-top: 1;
    }
    CompanyDataScreen #data-knows {
        height: auto;
        max-height: 70%;
    }
    CompanyDataScreen #data-disclosures {
        height: auto;
        max-height: 12;
    }
    CompanyDataScreen #data-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "share", "Share…", id="data.share"),
        Binding("x", "revoke", "Revoke", id="data.revoke"),
        Binding("g", "gdpr", "GDPR request…", id="data.gdpr"),
        Binding("r", "reveal", "Reveal/mask", id="data.reveal"),
        Binding("tab", "app.focus_next", "Next table", show=False, id="data.next"),
        Binding("escape", "close", "Back", id="data.close"),
    ]

    class Loaded(Message):
        """The worker read the evidence and the disclosures."""

        def __init__(self, known: list[dict[str, Any]], disclosures: list[dict[str, Any]]) -> None:
            super().__init__()
            self.known = known
            self.disclosures = disclosures

    def __init__(self, store: Store, company_id: int, company: str) -> None:
        super().__init__()
        self.store = store
        self.company_id = company_id
        self.company = company
        self.known: list[dict[str, Any]] = []
        self.evidence: list[dict[str, Any]] = []  # one per row of the knows table
        self.disclosures: list[dict[str, Any]] = []
        self.revealed = False
        self.loaded = False

    def compose(self) -> ComposeResult:
        """Title, what it knows, what I shared, status line, footer."""
        name = safe(self.company, 80)
        with Vertical():
            yield Static(
                Text(f"What {name} knows about me"), classes="data-title", id="data-knows-title"
            )
            knows_table: DataTable[Text] = DataTable(cursor_type="row", id="data-knows")
            knows_table.add_columns("Field", "Value", "Evidence")
            yield knows_table
            yield RowDetail(id="data-evidence")
            yield Static(
                Text(f"What you shared with {name}"), classes="data-title", id="data-shared-title"
            )
            shared: DataTable[Text] = DataTable(cursor_type="row", id="data-disclosures")
            shared.add_columns("ID", "Shared", "Status", "Expires", "Fields", "Purpose")
            yield shared
            yield Static("", id="data-status")
        yield Footer()

    def on_mount(self) -> None:
        """Read what the company has."""
        self.query_one("#data-knows", DataTable).focus()
        self.reload()

    def reload(self) -> None:
        """Read again (after a share, a revocation, a letter)."""
        self.loaded = False
        self._load()

    @work(thread=True, exclusive=True, group="company-data", description="Reading what it knows")
    def _load(self) -> None:
        with self.store.reader() as conn:
            known = knows(conn, self.company_id)
            disclosures = list_disclosures(conn, self.company_id)
        self.post_message(self.Loaded(known, disclosures))

    def on_company_data_screen_loaded(self, message: Loaded) -> None:
        """Fill both tables."""
        message.stop()
        self.known, self.disclosures = message.known, message.disclosures
        self.loaded = True
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#data-knows", DataTable)
        row = table.cursor_row
        table.clear()
        self.evidence = []
        for known in self.known:
            said: set[str] = set()
            for evidence in known["evidence"]:
                words = evidence_text(evidence)
                if words.plain in said:
                    continue  # a return trip: the same booking, said once
                said.add(words.plain)
                first = len(said) == 1
                table.add_row(
                    Text(label_of(known["key"]) if first else ""),
                    shown_known_value(known, self.revealed) if first else Text(""),
                    words,
                    key=str(len(self.evidence)),
                )
                self.evidence.append(evidence)
            hidden = known["evidence_count"] - len(known["evidence"])
            if hidden > 0:
                table.add_row(Text(""), Text(""), Text(f"… and {hidden} more", style="dim"))
                self.evidence.append({})
        if self.evidence:
            table.move_cursor(row=min(row, len(self.evidence) - 1))
        self._show_evidence(table.cursor_row)
        self._fill_disclosures()
        table.display = bool(self.known)
        if not self.known and table.has_focus:
            self.query_one("#data-disclosures", DataTable).focus()  # never a hidden table
        title = f"What {safe(self.company, 80)} knows about me"
        if not self.known:
            title += ": none of your profile fields, as far as your messages show"
        self.query_one("#data-knows-title", Static).update(Text(title))
        hints = []
        if self.known:
            hints.append("Enter on evidence shows the message it was found in.")
        if self.disclosures:
            hints.append("x revokes the share under the cursor.")
        self.query_one("#data-status", Static).update(Text(" ".join(hints)))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """x only when something was shared (there is something to revoke)."""
        return action != "revoke" or bool(self.disclosures)

    def _fill_disclosures(self) -> None:
        table = self.query_one("#data-disclosures", DataTable)
        row = table.cursor_row
        table.clear()
        for disclosure in self.disclosures:
            status = disclosure["status"]
            table.add_row(
                Text(str(disclosure["id"])),
                Text(short_date(disclosure["shared_at"], None)),
                Text(status, style=STATUS_STYLES.get(status, "")),
                Text(
                    short_date(disclosure["expires_at"], None) if disclosure["expires_at"] else "—"
                ),
                Text(", ".join(label_of(str(k)) for k in sorted(disclosure["fields"]))),
                Text(safe(disclosure["purpose"], 120)),
                key=str(disclosure["id"]),
            )
        title = f"What you shared with {safe(self.company, 80)}"
        if not self.disclosures:
            title += ": nothing yet (s shares)"
        else:
            table.move_cursor(row=min(row, len(self.disclosures) - 1))
        self.query_one("#data-shared-title", Static).update(Text(title))

    @on(DataTable.RowHighlighted, "#data-knows")
    def _evidence_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_evidence(event.cursor_row)

    def _show_evidence(self, row: int) -> None:
        """The evidence under the cursor, whole: what it is and the excerpt it was found in."""
        evidence = self.evidence[row] if 0 <= row < len(self.evidence) else {}
        words = evidence_text(evidence) if evidence else None
        excerpt = safe(evidence.get("excerpt"), 400)
        if words is not None and excerpt:
            words.append("\n")
            words.append(excerpt, style="italic")
        self.query_one("#data-evidence", RowDetail).show(words)

    @on(DataTable.RowSelected, "#data-knows")
    def _evidence_chosen(self, event: DataTable.RowSelected) -> None:
        if not 0 <= event.cursor_row < len(self.evidence):
            return
        item_id = self.evidence[event.cursor_row].get("interaction_id")
        if item_id:
            self.dismiss(JumpTo(self.company_id, int(item_id)))
        elif self.evidence[event.cursor_row].get("disclosure_id"):
            self.notify("This was a share: it is listed below under what you shared.")

    # ---- actions ----------------------------------------------------------------------------

    def action_share(self) -> None:
        """s: the share wizard."""

        def shared(result: ShareResult | None) -> None:
            if result is not None:
                self.reload()

        self.app.push_screen(ShareWizard(self.store, self.company_id, self.company), shared)

    @property
    def current_disclosure(self) -> dict[str, Any] | None:
        """The disclosure under the cursor of its table."""
        row = self.query_one("#data-disclosures", DataTable).cursor_row
        return self.disclosures[row] if 0 <= row < len(self.disclosures) else None

    def action_revoke(self) -> None:
        """x: revoke the disclosure under the cursor and write its erasure letter."""
        disclosure = self.current_disclosure
        if disclosure is None:
            self.notify("Nothing shared with this company to revoke.", markup=False)
            return
        if disclosure["status"] == "revoked":
            self.notify(
                f"Disclosure {disclosure['id']} was revoked on {disclosure['revoked_at'][:10]}.",
                markup=False,
            )
            return
        self.app.push_screen(
            LetterForm(self.store, self.company_id, self.company, disclosure=disclosure),
            self._written,
        )

    def action_gdpr(self) -> None:
        """g: write a GDPR request letter to this company."""
        self.app.push_screen(LetterForm(self.store, self.company_id, self.company), self._written)

    def _written(self, result: LetterResult | None) -> None:
        if result is not None:
            self.notify(letter_written(result), markup=False)
            self.reload()

    def action_reveal(self) -> None:
        """r: show sensitive values in full, or mask them again."""
        self.revealed = not self.revealed
        self._fill()

    def action_close(self) -> None:
        """Esc: back to the timeline."""
        self.dismiss(None)
