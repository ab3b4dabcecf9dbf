"""The share wizard (s on a company's data): choose fields, history, purpose, expiry, format
and file; see exactly what will be written; confirm.

The preview is not a second rendering: ``exports.sharing.preview_share`` builds the package with
the same code that writes it (in a transaction that is rolled back) and the screen shows the
files it holds, read back from those bytes. Confirming builds it again with the same time,
receipt id and password and writes it only if it holds the same files.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import partial
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
)

from exports.sharing import (
    PreviewOutdated,
    SharePreview,
    confirm_share,
    preview_share,
    share_request,
)
from tui.dialogs import Dialog, asked_to_replace
from tui.format import plural, safe
from tui.forms import sentence
from tui.path_input import PathInput, default_folder, free_path, shown_path, slug
from tui.profile_choices import ProfileChoices
from tui.profile_screen import label_of
from vault.errors import VaultError
from vault.store import Store
from vault.text import visible
from vault.timefmt import parse_user_date

if TYPE_CHECKING:
    from exports.share import ShareRequest, ShareResult

HISTORY_CHOICES = {
    "none": "None: only the fields",
    "bookings": "Bookings",
    "payments": "Payments (what you paid, with amounts)",
    "all": "Everything (titles of every item, and the bookings)",
    "since": "Since a date",
}
FORMAT_CHOICES = {
    "zip": "Zip: vCard, JSON-LD, web page and the consent receipt",
    "vcard": "vCard (contact card; holds no history)",
    "jsonld": "JSON-LD (schema.org, for programs)",
    "html": "Web page (HTML)",
}
EXTENSIONS = {"zip": "zip", "vcard": "vcf", "jsonld": "jsonld", "html": "html"}
PREVIEW_LINES = 400  # per file; the rest is counted, the file holds it all


class _VisibleText(HTMLParser):
    """The text a browser shows of a page, one block per line."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._hidden += 1
        elif tag in ("p", "div", "tr", "li", "h1", "h2", "h3", "br", "dt", "section"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in ("td", "th", "dd"):
            self.parts.append("  ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


JSON_FILES = (".json", ".jsonld")


def json_fields(value: Any, depth: int = 0) -> list[str]:
    """JSON as a person reads it: one ``field: value`` per line, nested fields indented, list
    entries as ``-`` (a list of plain values on one line), JSON held in a string unpacked; the
    ``@`` of JSON-LD's keywords dropped (``@type`` reads ``type``)."""
    pad = "  " * depth
    lines: list[str] = []
    entries = value.items() if isinstance(value, dict) else (("-", v) for v in value)
    for key, raw in entries:
        label = key if key == "-" else f"{str(key).removeprefix('@')}:"
        item = _embedded_json(raw)
        if isinstance(item, list) and item and not any(isinstance(v, dict | list) for v in item):
            lines.append(f"{pad}{label} {', '.join(_json_scalar(v) for v in item)}")
        elif isinstance(item, dict | list):
            lines.append(f"{pad}{label}" if item else f"{pad}{label} (none)")
            lines += json_fields(item, depth + 1)
        else:
            lines.append(f"{pad}{label} {_json_scalar(item)}")
    return lines


def _embedded_json(value: Any) -> Any:
    """A string that holds a JSON object or list (the consent receipt inside the JSON-LD) as
    what it holds, so it reads as fields too rather than as one escaped line."""
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict | list) else value
    return value


def _json_scalar(value: Any) -> str:
    return "—" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def readable(name: str, data: bytes, raw_json: bool = False) -> str:
    """A file of the package as a person reads it: a page's visible text, JSON's fields and
    values (or, with ``raw_json``, the JSON itself, indented and unescaped), else its text."""
    text = data.decode("utf-8", errors="replace")
    if name.endswith(JSON_FILES):
        try:
            parsed = json.loads(text)
        except ValueError:
            pass  # not JSON after all: shown as the text it is
        else:
            if raw_json:
                text = json.dumps(parsed, indent=2, ensure_ascii=False)
            elif isinstance(parsed, dict | list):
                text = "\n".join(json_fields(parsed))
    elif name.endswith(".html"):
        parser = _VisibleText()
        parser.feed(text)
        lines = ("".join(parser.parts)).splitlines()
        text = "\n".join(" ".join(line.split()) for line in lines if line.strip())
    return visible(text.replace("\r\n", "\n"))


def size_text(size: int) -> str:
    """``812 bytes``, ``14.2 kB``."""
    return f"{size:,} bytes" if size < 1000 else f"{size / 1000:.1f} kB"


def preview_text(preview: SharePreview, raw_json: bool = False) -> Text:
    """Every file the package holds, the ones people read (page, card) before the ones
    programs read (JSON: its fields and values, or the JSON itself with ``raw_json``)."""
    out = Text()
    files = sorted(preview.files.items(), key=lambda file: file[0].endswith(JSON_FILES))
    for name, data in files:
        out.append(f"── {name} · {size_text(len(data))} ──\n", style="bold")
        lines = readable(name, data, raw_json).splitlines()
        for line in lines[:PREVIEW_LINES]:
            out.append(line + "\n")
        if len(lines) > PREVIEW_LINES:
            more = len(lines) - PREVIEW_LINES
            out.append(f"… {plural(more, 'more line')}, all of them in the file\n", style="dim")
        out.append("\n")
    return out


def summary_text(preview: SharePreview) -> Text:
    """Who gets what, in which form, where."""
    request = preview.request
    fields = ", ".join(label_of(key) for key in preview.fields)
    history: list[str] = []
    if preview.items:
        payments = request.history == "payments"
        history.append(plural(preview.items, "payment" if payments else "item"))
    if preview.bookings:
        history.append(plural(preview.bookings, "booking"))
    out = Text()
    out.append(f"To {safe(preview.company)}: ", style="bold")
    out.append(fields)
    out.append(f"; history: {', '.join(history) if history else 'none'}.\n")
    out.append(f"Purpose: {safe(request.purpose, 300)}")
    if request.expires:
        out.append(f" · consent ends after {safe(request.expires)}")
    out.append("\n")
    kind = FORMAT_CHOICES[request.format].split(":")[0].split(" (")[0]
    out.append(f"{kind}{', encrypted (AES-256)' if request.encrypt else ''}")
    out.append(f" · {size_text(preview.size)} → {safe(str(request.out), 400)}\n")
    out.append("Nothing is written until you choose Write it.", style="dim")
    return out


def done_text(result: ShareResult) -> Text:
    """What was written, how to take it back, and the zip's password (only this once)."""
    out = Text()
    out.append("Written: ", style="bold")
    out.append(f"{safe(str(result.path), 400)}\n")
    out.append(
        f"Disclosure {result.disclosure_id} records that {safe(result.company)} got "
        f"{', '.join(label_of(key) for key in result.fields)}. "
        "x on it (ctrl+k, the company's data) revokes it and writes an erasure letter.\n"
    )
    if result.password:
        out.append("\nPassword of the zip — shown only this once:\n", style="bold yellow")
        out.append(f"\n    {result.password}\n\n", style="bold")
        out.append(
            "Write it down or send it another way than the file (a text message, a call). "
            "kluis does not keep it."
        )
    return out


class ShareWizard(Dialog["ShareResult | None"]):
    """Share with one company; dismissed with what was written, or None."""

    DEFAULT_CSS = """
    #share-box {
        width: 100;
        height: 92%;
    }
    #share-steps, #share-form, #share-preview, #share-done {
        height: 1fr;
    }
    #share-form Label {
        margin-top: 1;
        text-style: bold;
    }
    #share-fields {
        height: auto;
        max-height: 14;
    }
    #share-history, #share-format {
        width: 1fr;
    }
    #preview-scroll {
        height: 1fr;
        border: round $foreground 30%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / cancel", id="share.back"),
        Binding("j", "toggle_json", "JSON as written / readable", id="share.json"),
    ]

    class Previewed(Message):
        """The worker built the preview, or could not."""

        def __init__(self, preview: SharePreview | None, error: str | None) -> None:
            super().__init__()
            self.preview = preview
            self.error = error

    class Written(Message):
        """The worker wrote the package, or could not (``outdated``: preview again)."""

        def __init__(
            self, result: ShareResult | None, error: str | None, outdated: bool = False
        ) -> None:
            super().__init__()
            self.result = result
            self.error = error
            self.outdated = outdated

    def __init__(self, store: Store, company_id: int, company: str) -> None:
        super().__init__()
        self.store = store
        self.company_id = company_id
        self.company = company
        self.preview: SharePreview | None = None
        self.result: ShareResult | None = None
        self.busy = False
        self.raw_json = False

    def compose(self) -> ComposeResult:
        """Three steps: the form, the preview, what was written."""
        with (
            Vertical(id="share-box", classes="dialog-box"),
            ContentSwitcher(initial="share-form", id="share-steps"),
        ):
            with VerticalScroll(id="share-form"):
                yield Label("Fields to share")
                yield ProfileChoices(self.store, id="share-fields")
                yield Label("History")
                with RadioSet(id="share-history"):
                    for value, text in HISTORY_CHOICES.items():
                        yield RadioButton(text, value=value == "none", id=f"history-{value}")
                yield Input(placeholder="since YYYY-MM-DD", id="share-since")
                yield Label("Purpose (required: why does the company need this?)")
                yield Input(placeholder="e.g. Rebooking my cancelled flight", id="share-purpose")
                yield Label("Consent ends after (optional)")
                yield Input(placeholder="YYYY-MM-DD", id="share-expires")
                yield Label("Format")
                with RadioSet(id="share-format"):
                    for value, text in FORMAT_CHOICES.items():
                        yield RadioButton(text, value=value == "zip", id=f"format-{value}")
                yield Checkbox("Encrypt the zip (a password is shown once)", id="share-encrypt")
                yield Label("Save to")
                yield PathInput(id="share-out")
                yield Static("", id="share-error", classes="dialog-error")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Preview", variant="primary", id="share-preview-button")
                    yield Button("Cancel", id="share-cancel")
            with Vertical(id="share-preview"):
                yield Static("", id="preview-summary")
                with VerticalScroll(id="preview-scroll"):
                    yield Static("", id="preview-text")
                yield Static("", id="preview-error", classes="dialog-error")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Write it", variant="warning", id="share-confirm")
                    yield Button("Back", id="share-back")
            with Vertical(id="share-done"):
                yield Static("", id="done-text")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Close", variant="primary", id="share-close")

    def on_mount(self) -> None:
        """Title the box, propose a file, read the profile."""
        self.title_box(f"Share with {safe(self.company, 60)}", "space ticks · tab next · esc back")
        self.query_one("#share-since", Input).display = False
        self._propose_out()

    # ---- the form ---------------------------------------------------------------------------

    def on_profile_choices_loaded(self, message: ProfileChoices.Loaded) -> None:
        """Start in the fields; an empty profile is said at once."""
        message.stop()
        if not message.values:
            self._error("Your profile is empty: add fields first (ctrl+u), then share them.")
        self.query_one("#share-fields", ProfileChoices).focus()

    @property
    def format(self) -> str:
        """The chosen format."""
        pressed = self.query_one("#share-format", RadioSet).pressed_button
        return (pressed.id or "format-zip").removeprefix("format-") if pressed else "zip"

    @property
    def history_choice(self) -> str:
        """none, bookings, all or since."""
        pressed = self.query_one("#share-history", RadioSet).pressed_button
        return (pressed.id or "history-none").removeprefix("history-") if pressed else "none"

    @on(RadioSet.Changed, "#share-format")
    def _format_changed(self) -> None:
        fmt = self.format
        encrypt = self.query_one("#share-encrypt", Checkbox)
        encrypt.disabled = fmt != "zip"
        if fmt != "zip":
            encrypt.value = False
        history = self.query_one("#share-history", RadioSet)
        if fmt == "vcard":
            self.query_one("#history-none", RadioButton).value = True
        history.disabled = fmt == "vcard"
        self._propose_out()

    @on(RadioSet.Changed, "#share-history")
    def _history_changed(self) -> None:
        self.query_one("#share-since", Input).display = self.history_choice == "since"

    def _propose_out(self) -> None:
        stem = f"{slug(self.company)}-{date.today().isoformat()}"
        out = free_path(default_folder(), stem, EXTENSIONS[self.format])
        self.query_one("#share-out", PathInput).propose(shown_path(out))

    def _request(self, force: bool) -> ShareRequest:
        keys = list(self.query_one("#share-fields", ProfileChoices).selected)
        if not keys:
            raise VaultError("tick at least one field to share")
        purpose = self.query_one("#share-purpose", Input).value.strip()
        if not purpose:
            raise VaultError("say why you share: the purpose is required")
        history = self.history_choice
        if history == "since":
            since = self.query_one("#share-since", Input).value
            day = datetime.fromtimestamp(parse_user_date(since), UTC).date()
            history = f"since:{day.isoformat()}"
        out = self.query_one("#share-out", PathInput).path
        if out is None:
            raise VaultError("say where to save the file")
        return share_request(
            company=str(self.company_id),
            keys=keys,
            history=history,
            purpose=purpose,
            expires=self.query_one("#share-expires", Input).value.strip() or None,
            fmt=self.format,
            out=out,
            encrypt=self.query_one("#share-encrypt", Checkbox).value,
            force=force,
        )

    @on(Button.Pressed, "#share-preview-button")
    @on(Input.Submitted, "#share-out")
    def _preview_pressed(self) -> None:
        self.action_preview()

    def action_preview(self, force: bool = False) -> None:
        """Check the form (asking before replacing a file), then build the preview."""
        if self.busy:
            return
        self._error("")
        out = self.query_one("#share-out", PathInput).path
        again = partial(self.action_preview, force=True)
        if not force and out is not None and asked_to_replace(self, out, "the package", again):
            return
        try:
            request = self._request(force)
        except VaultError as exc:
            self._error(str(exc))
            return
        self.busy = True
        self._error("Building the preview…", style="dim")
        self._build_preview(request)

    @work(thread=True, exclusive=True, group="share-build", description="Building the package")
    def _build_preview(self, request: ShareRequest) -> None:
        try:
            preview = preview_share(self.store, request)
        except VaultError as exc:
            self.post_message(self.Previewed(None, str(exc)))
            return
        self.post_message(self.Previewed(preview, None))

    def on_share_wizard_previewed(self, message: Previewed) -> None:
        """Show the preview step (or the form's error)."""
        message.stop()
        self.busy = False
        if message.preview is None:
            self._error(message.error or "")
            return
        self._error("")
        self.preview = message.preview
        self.query_one("#preview-summary", Static).update(summary_text(message.preview))
        self.query_one("#preview-text", Static).update(preview_text(message.preview))
        self.query_one("#preview-error", Static).update("")
        self.query_one("#share-steps", ContentSwitcher).current = "share-preview"
        self.query_one("#share-confirm", Button).focus()
        self.raw_json = False
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """j only on the preview (in the form it is a letter of the purpose)."""
        return action != "toggle_json" or self.preview is not None

    def action_toggle_json(self) -> None:
        """j: the JSON files as written, or their fields and values."""
        if self.preview is None:
            return
        self.raw_json = not self.raw_json
        text = preview_text(self.preview, self.raw_json)
        self.query_one("#preview-text", Static).update(text)

    # ---- confirm ----------------------------------------------------------------------------

    @on(Button.Pressed, "#share-confirm")
    def action_confirm(self) -> None:
        """Write the package and record the disclosure, in a worker."""
        if self.busy or self.preview is None:
            return
        self.busy = True
        self.query_one("#preview-error", Static).update(Text("Writing…", style="dim"))
        self._write(self.preview)

    @work(thread=True, exclusive=True, group="share-build", description="Writing the package")
    def _write(self, preview: SharePreview) -> None:
        try:
            result = confirm_share(self.store, preview)
        except PreviewOutdated as exc:
            self.post_message(self.Written(None, str(exc), outdated=True))
            return
        except (VaultError, OSError) as exc:
            self.post_message(self.Written(None, str(exc)))
            return
        self.post_message(self.Written(result, None))

    def on_share_wizard_written(self, message: Written) -> None:
        """Show what was written (and the password, once); or why not."""
        message.stop()
        self.busy = False
        if message.result is None:
            self.query_one("#preview-error", Static).update(Text(sentence(message.error or "")))
            if message.outdated and self.preview is not None:
                self.busy = True
                self._build_preview(self.preview.request)
            return
        self.result = message.result
        self.preview = None
        self.query_one("#done-text", Static).update(done_text(message.result))
        self.query_one("#share-steps", ContentSwitcher).current = "share-done"
        self.query_one("#share-close", Button).focus()

    # ---- leaving ----------------------------------------------------------------------------

    @on(Button.Pressed, "#share-back")
    def _back_to_form(self) -> None:
        self.preview = None
        self.refresh_bindings()
        self.query_one("#share-steps", ContentSwitcher).current = "share-form"
        self.query_one("#share-preview-button", Button).focus()

    @on(Button.Pressed, "#share-cancel")
    @on(Button.Pressed, "#share-close")
    def _close(self) -> None:
        self.dismiss(self.result)

    def action_back(self) -> None:
        """Esc: from the preview back to the form; else close."""
        if self.query_one("#share-steps", ContentSwitcher).current == "share-preview":
            self._back_to_form()
        else:
            self._close()

    def _error(self, error: str, style: str = "") -> None:
        self.query_one("#share-error", Static).update(Text(sentence(error), style=style))
