"""GDPR (ctrl+g): every request with its Art. 12(3) deadline, and who mails you marketing.

The requests tab lists what ``vault.ledger.gdpr_status`` tracks (overdue ones in red; ``a``
marks the one under the cursor answered). The marketing tab is ``vault.ledger.consent_view``:
how often each company mails you, when you last dealt with it, and dormant accounts, where
``g`` writes an erasure request. ``LetterForm`` writes any request letter (also for ``x``, a
revocation, on a company's data screen) through ``exports.sharing``.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    TabbedContent,
    TabPane,
)

from exports.sharing import LETTER_KINDS, LetterResult, request_letter, revoke
from tui.dialogs import Dialog, ask, asked_to_replace
from tui.format import safe, short_date
from tui.forms import sentence
from tui.path_input import PathInput, default_folder, free_path, shown_path, slug
from tui.profile_choices import ProfileChoices
from tui.profile_screen import label_of
from tui.row_detail import RowDetail
from vault.errors import VaultError
from vault.ledger import consent_view, gdpr_status, mark_answered
from vault.store import Store
from vault.timefmt import now_utc

KIND_TEXT = {
    "access": "Access: a copy of everything they hold on you (Art. 15)",
    "erasure": "Erasure: delete everything they hold on you (Art. 17)",
    "rectification": "Rectification: correct what they hold (Art. 16)",
    "portability": "Portability: your data in a machine-readable form (Art. 20)",
}
IDENTIFYING = ("name", "email")
"""Ticked by default in a letter: what a company needs to find you, and no more."""


class LetterForm(Dialog[LetterResult | None]):
    """Write a GDPR request letter to one company (or, with ``disclosure``, revoke that share
    and write its erasure letter); dismissed with what was written, or None."""

    DEFAULT_CSS = """
    #letter-box {
        width: 90;
    }
    #letter-box Label {
        margin-top: 1;
        text-style: bold;
    }
    #letter-fields {
        height: auto;
        max-height: 10;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="letter.cancel"),
    ]

    class Done(Message):
        """The worker wrote the letter, or could not."""

        def __init__(self, result: LetterResult | None, error: str | None) -> None:
            super().__init__()
            self.result = result
            self.error = error

    def __init__(
        self,
        store: Store,
        company_id: int,
        company: str,
        *,
        kind: str | None = None,
        disclosure: dict[str, Any] | None = None,
    ) -> None:
        """Args:
        store: the open vault.
        company_id, company: who the letter goes to.
        kind: a fixed request type (None: the user picks one).
        disclosure: a disclosure to revoke; the letter is then its erasure request.
        """
        super().__init__()
        self.store = store
        self.company_id = company_id
        self.company = company
        self.kind = "erasure" if disclosure is not None else kind
        self.disclosure = disclosure
        self.busy = False

    def compose(self) -> ComposeResult:
        """Type, language, identifying details, file, buttons."""
        with VerticalScroll(id="letter-box", classes="dialog-box"):
            if self.disclosure is not None:
                yield Static(self._revocation_text(self.disclosure), id="letter-intro")
            if self.kind is None:
                yield Label("Request")
                with RadioSet(id="letter-kind"):
                    for kind in LETTER_KINDS:
                        yield RadioButton(
                            KIND_TEXT[kind], value=kind == "access", id=f"kind-{kind}"
                        )
            yield Label("Language")
            with RadioSet(id="letter-language"):
                yield RadioButton("English", value=True, id="language-en")
                yield RadioButton("Nederlands", id="language-nl")
            yield Label("Details that help them find you (only these go in the letter)")
            yield ProfileChoices(self.store, ticked=IDENTIFYING, id="letter-fields")
            yield Label("Save the letter to")
            yield PathInput(id="letter-out")
            yield Static("", id="letter-error", classes="dialog-error")
            with Horizontal(id="letter-buttons", classes="dialog-buttons"):
                yield Button(
                    "Revoke and write" if self.disclosure else "Write letter",
                    variant="warning" if self.disclosure else "primary",
                    id="letter-write",
                )
                yield Button("Cancel", id="letter-cancel")

    def _revocation_text(self, disclosure: dict[str, Any]) -> Text:
        fields = ", ".join(label_of(str(key)) for key in sorted(disclosure["fields"]))
        out = Text()
        out.append(f"Revoke disclosure {disclosure['id']}", style="bold")
        out.append(
            f" — shared with {safe(self.company)} on {short_date(disclosure['shared_at'], None)}: "
            f"{fields}.\nkluis marks it revoked and writes an erasure letter (Art. 17) that "
            "withdraws your consent; send it to the company."
        )
        return out

    def on_mount(self) -> None:
        """Title the box, propose a file, start in the first choice."""
        what = "Revoke and ask for erasure" if self.disclosure else "GDPR request"
        self.title_box(f"{what}: {safe(self.company, 60)}", "space ticks · tab next · esc cancel")
        self.query(RadioSet).first().focus()
        self._propose_out()

    @property
    def chosen_kind(self) -> str:
        """The request type."""
        if self.kind is not None:
            return self.kind
        pressed = self.query_one("#letter-kind", RadioSet).pressed_button
        return (pressed.id or "kind-access").removeprefix("kind-") if pressed else "access"

    @property
    def language(self) -> str:
        """en or nl."""
        pressed = self.query_one("#letter-language", RadioSet).pressed_button
        return (pressed.id or "language-en").removeprefix("language-") if pressed else "en"

    @on(RadioSet.Changed, "#letter-kind")
    def _propose_out(self) -> None:
        stem = f"{self.chosen_kind}-{slug(self.company)}-{date.today().isoformat()}"
        out = free_path(default_folder(), stem, "txt")
        self.query_one("#letter-out", PathInput).propose(shown_path(out))

    @on(Button.Pressed, "#letter-write")
    @on(Input.Submitted, "#letter-out")
    def _write_pressed(self) -> None:
        self.action_write()

    def action_write(self, force: bool = False) -> None:
        """Write the letter (asking before replacing a file) and record the request."""
        if self.busy:
            return
        out = self.query_one("#letter-out", PathInput).path
        if out is None:
            self._error("say where to save the letter")
            return
        again = partial(self.action_write, force=True)
        if not force and asked_to_replace(self, out, "the letter", again):
            return
        self.busy = True
        self._error("Writing…")
        keys = list(self.query_one("#letter-fields", ProfileChoices).selected)
        self._write(self.chosen_kind, self.language, keys, out, force)

    @work(thread=True, exclusive=True, group="letter-write", description="Writing the letter")
    def _write(self, kind: str, language: str, keys: list[str], out: Path, force: bool) -> None:
        try:
            if self.disclosure is not None:
                result = revoke(
                    self.store,
                    int(self.disclosure["id"]),
                    language=language,
                    keys=keys,
                    out=out,
                    force=force,
                )
            else:
                result = request_letter(
                    self.store,
                    str(self.company_id),
                    kind,
                    language=language,
                    keys=keys,
                    out=out,
                    force=force,
                )
        except (VaultError, OSError) as exc:
            self.post_message(self.Done(None, str(exc)))
            return
        self.post_message(self.Done(result, None))

    def on_letter_form_done(self, message: Done) -> None:
        """Close with the result; or say why not, keeping the form."""
        message.stop()
        self.busy = False
        if message.result is None:
            self._error(message.error or "")
            return
        self.dismiss(message.result)

    @on(Button.Pressed, "#letter-cancel")
    def action_cancel(self) -> None:
        """Esc: close, nothing written."""
        self.dismiss(None)

    def _error(self, error: str) -> None:
        self.query_one("#letter-error", Static).update(Text(sentence(error)))


def letter_written(result: LetterResult) -> str:
    """What to tell the user after a letter was written."""
    where = f" Letter: {result.path}." if result.path else ""
    return (
        f"{result.kind.capitalize()} request {result.request_id} to {safe(result.company)}: "
        f"they must answer by {result.due.isoformat()}.{where}"
    )


class GdprScreen(Screen[None]):
    """Requests and their deadlines; marketing mail and dormant accounts."""

    DEFAULT_CSS = """
    GdprScreen DataTable {
        height: 1fr;
    }
    GdprScreen .gdpr-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answered", "Mark answered", id="gdpr.answered"),
        Binding("g", "erasure", "Request erasure", id="gdpr.erasure"),
        Binding("escape", "close", "Back", id="gdpr.close"),
    ]

    class Loaded(Message):
        """The worker read the requests and the consent view."""

        def __init__(self, requests: list[dict[str, Any]], consent: list[dict[str, Any]]) -> None:
            super().__init__()
            self.requests = requests
            self.consent = consent

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.requests: list[dict[str, Any]] = []
        self.consent: list[dict[str, Any]] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        """Two tabs, each a table and a status line."""
        with TabbedContent(id="gdpr-tabs"):
            with TabPane("Requests", id="gdpr-requests-tab"):
                requests: DataTable[Text] = DataTable(cursor_type="row", id="gdpr-requests")
                requests.add_columns("ID", "Company", "Request", "Sent", "Due", "Days left", "")
                yield requests
                yield Static("", id="gdpr-requests-status", classes="gdpr-status")
            with TabPane("Marketing and dormant accounts", id="gdpr-consent-tab"):
                consent: DataTable[Text] = DataTable(cursor_type="row", id="gdpr-consent")
                consent.add_columns(
                    "Company", "Marketing", "Per month", "Last marketing", "Your last contact", ""
                )
                yield consent
                yield RowDetail(id="gdpr-consent-advice")
                yield Static("", id="gdpr-consent-status", classes="gdpr-status")
        yield Footer()

    def on_mount(self) -> None:
        """Read the ledger."""
        self.reload()

    def reload(self) -> None:
        """Read the ledger again (after a change)."""
        self.loaded = False
        self._load()

    @work(thread=True, exclusive=True, group="gdpr", description="Reading your GDPR requests")
    def _load(self) -> None:
        with self.store.reader() as conn:
            requests = gdpr_status(conn)
            consent = consent_view(conn)
        self.post_message(self.Loaded(requests, consent))

    def on_gdpr_screen_loaded(self, message: Loaded) -> None:
        """Fill both tables."""
        message.stop()
        self.requests, self.consent = message.requests, message.consent
        self.loaded = True
        self._fill_requests()
        self._fill_consent()
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#gdpr-consent")
    def _advice_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_advice(event.cursor_row)

    def _show_advice(self, row: int) -> None:
        """The advice for the company under the cursor, whole: the table's last column is cut."""
        entry = self.consent[row] if 0 <= row < len(self.consent) else {}
        advice = entry.get("suggestion")
        text = Text(f"{safe(entry['company'], 80)}: {safe(advice, 600)}") if advice else None
        self.query_one("#gdpr-consent-advice", RowDetail).show(text)

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """a on the requests tab when there are requests; g on the marketing tab."""
        if action not in ("answered", "erasure") or not self.loaded:
            return True
        if action == "answered":
            return self.on_requests_tab and bool(self.requests)
        return not self.on_requests_tab and bool(self.consent)

    def _fill_requests(self) -> None:
        table = self.query_one("#gdpr-requests", DataTable)
        row = table.cursor_row
        table.clear()
        for request in self.requests:
            status = request["status"]
            style = "bold red" if status == "overdue" else "dim" if status == "answered" else ""
            days = request["days_left"]
            table.add_row(
                Text(str(request["id"])),
                Text(safe(request["company"], 40)),
                Text(f"{request['type']} ({request['article']})"),
                Text(short_date(request["sent_at"], None)),
                Text(date.fromisoformat(request["due_at"]).strftime("%d %b %Y"), style=style),
                Text("—" if days is None else str(days), style=style),
                Text(status.upper() if status == "overdue" else status, style=style),
                key=str(request["id"]),
            )
        if self.requests:
            table.move_cursor(row=min(row, len(self.requests) - 1))
        overdue = sum(1 for r in self.requests if r["status"] == "overdue")
        status_line = (
            "No GDPR requests yet: g on a company's data (ctrl+k) writes one."
            if not self.requests
            else "Companies must answer within one month (Art. 12(3) GDPR). a marks an answer."
            + (
                f" {overdue} overdue: you may complain to the Autoriteit Persoonsgegevens."
                if overdue
                else ""
            )
        )
        self.query_one("#gdpr-requests-status", Static).update(Text(status_line))

    def _fill_consent(self) -> None:
        table = self.query_one("#gdpr-consent", DataTable)
        row = table.cursor_row
        table.clear()
        for entry in self.consent:
            style = "yellow" if entry["dormant"] else ""
            table.add_row(
                Text(safe(entry["company"], 40), style=style),
                Text("yes" if entry["marketing"] else "no"),
                Text(f"{entry['per_month']:.1f}"),
                Text(short_date(entry["last_marketing_at"], None)),
                Text(
                    short_date(entry["last_contact_at"], None)
                    if entry["last_contact_at"]
                    else "never"
                ),
                Text(safe(entry["suggestion"] or ""), style=style),
                key=str(entry["company_id"]),
            )
        if self.consent:
            table.move_cursor(row=min(row, len(self.consent) - 1))
        self._show_advice(table.cursor_row)
        dormant = sum(1 for c in self.consent if c["dormant"])
        line = "Who mails you marketing (mail with an unsubscribe header), most often first."
        if dormant:
            line += f" {dormant} dormant: g writes an erasure request."
        self.query_one("#gdpr-consent-status", Static).update(Text(line))

    @property
    def on_requests_tab(self) -> bool:
        """Whether the requests tab is showing."""
        return self.query_one("#gdpr-tabs", TabbedContent).active == "gdpr-requests-tab"

    def action_answered(self) -> None:
        """a: mark the request under the cursor answered, after asking."""
        table = self.query_one("#gdpr-requests", DataTable)
        if not self.on_requests_tab or not 0 <= table.cursor_row < len(self.requests):
            return
        request = self.requests[table.cursor_row]
        if request["status"] == "answered":
            self.notify("That request is marked answered already.", markup=False)
            return

        question = (
            f"Did {safe(request['company'])} answer your {request['type']} request "
            f"{request['id']}? It is then marked answered today."
        )
        ask(self, question, "Answered", partial(self._mark, int(request["id"])))

    @work(thread=True, exclusive=True, group="gdpr-write", description="Marking answered")
    def _mark(self, request_id: int) -> None:
        try:
            with self.store.begin() as conn:
                mark_answered(conn, request_id, now_utc())
        except VaultError as exc:
            self.app.call_from_thread(self.notify, safe(str(exc)), severity="error", markup=False)
        self.app.call_from_thread(self.reload)

    def action_erasure(self) -> None:
        """g on the marketing tab: write an erasure request to the company under the cursor."""
        table = self.query_one("#gdpr-consent", DataTable)
        if self.on_requests_tab or not 0 <= table.cursor_row < len(self.consent):
            return
        entry = self.consent[table.cursor_row]

        def written(result: LetterResult | None) -> None:
            if result is not None:
                self.notify(letter_written(result), markup=False)
                self.reload()

        self.app.push_screen(
            LetterForm(self.store, int(entry["company_id"]), entry["company"], kind="erasure"),
            written,
        )

    def action_close(self) -> None:
        """Esc: back."""
        self.dismiss(None)
