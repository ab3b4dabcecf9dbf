"""The modals of the company edits: rename, merge into another, add an alias, split off, undo.

Each has a prompt, its fields and a preview of what will happen. The edit itself is
``vault.company_edits`` run in a worker inside ``store.begin()``: an error from the vault rolls
it back and is shown in the modal, so nothing changes. On success the same worker reads the
company list again and the modal is dismissed with an ``EditDone`` (``tui.company_actions``
shows it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.company_list import CompanyEntry, read_entries
from tui.dialogs import Dialog
from tui.format import count, fit, kind_icon, plural, safe
from tui.forms import sentence
from vault import company_edits
from vault.errors import UsageError, VaultBusy
from vault.store import Conn, Store

MERGE_CHOICES = 50  # targets listed at once; typing narrows the rest
IDENTIFIER_WORDS = {
    "email_address": "Mail from {value}",
    "email_domain": "Mail from any address at {value}",
    "phone": "The phone number {value}",
    "chat_handle": "The chat handle {value}",
    "name": "Senders named {value!r}",
    "list_id": "Posts to the mailing list {value}",
}


@dataclass(frozen=True, slots=True)
class EditDone:
    """An edit went through: what it did, the company to show, and the companies read after."""

    summary: str
    company_id: int | None
    entries: list[CompanyEntry]


# ---- the edits ------------------------------------------------------------------------------


class EditScreen(Dialog[EditDone | None]):
    """A box with a prompt, the edit's fields, a preview line and an error line.

    Subclasses compose their fields, describe the effect, and build the edit to run.
    """

    DEFAULT_CSS = """
    #edit-box {
        width: 76;
    }
    #edit-box OptionList {
        height: auto;
        max-height: 12;
    }
    #edit-preview {
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="edit.cancel"),
    ]

    TITLE_TEXT = ""
    PROMPT = ""
    SUBTITLE = "enter: do it · esc: cancel"

    class Done(Message):
        """The edit went through."""

        def __init__(self, result: EditDone) -> None:
            super().__init__()
            self.result = result

    class Failed(Message):
        """The vault refused the edit; nothing changed."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, store: Store, company: CompanyEntry | None) -> None:
        super().__init__()
        self.store = store
        self.company = company
        self.busy = False

    @property
    def company_name(self) -> str:
        """The edited company's name, safe to show."""
        return safe(self.company.name, 60) if self.company is not None else ""

    def compose(self) -> ComposeResult:
        """Prompt, fields, preview, error."""
        with Vertical(id="edit-box", classes="dialog-box"):
            yield Static(Text(self.PROMPT), id="edit-prompt")
            yield from self.fields()
            yield Static("", id="edit-preview")
            yield Static("", id="edit-error", classes="dialog-error")

    def fields(self) -> ComposeResult:
        """The inputs of this edit (none by default)."""
        yield from ()

    def on_mount(self) -> None:
        """Title the box, show the first preview, focus the first field."""
        self.title_box(self.TITLE_TEXT, self.SUBTITLE)
        self.show_preview()
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()

    def preview(self) -> str:
        """What the edit will do, in one or two plain sentences ("" for nothing yet)."""
        return ""

    def show_preview(self) -> None:
        """Show ``preview()`` and clear an old error."""
        self.query_one("#edit-preview", Static).update(Text(self.preview()))
        self.query_one("#edit-error", Static).update("")

    def show_error(self, error: str) -> None:
        """One line, in the modal; the user can fix the input and try again."""
        self.query_one("#edit-error", Static).update(Text(sentence(error, 200)))

    def prepare(self) -> tuple[Callable[[Conn], str], int | None]:
        """The edit to run and the company to show afterwards.

        Raises:
            UsageError: a field is missing or wrong.
        """
        raise NotImplementedError

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self.show_preview()

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        """Run the edit, unless one is running or a field is wrong."""
        if self.busy:
            return
        try:
            edit, keep = self.prepare()
        except UsageError as exc:
            self.show_error(str(exc))
            return
        self.busy = True
        self.query_one("#edit-error", Static).update(Text("Working…", style="dim"))
        self._run(edit, keep)

    @work(thread=True, exclusive=True, group="company-edit", description="Editing a company")
    def _run(self, edit: Callable[[Conn], str], keep: int | None) -> None:
        try:
            with self.store.begin() as conn:
                summary = edit(conn)
        except (UsageError, VaultBusy) as exc:  # busy: an import kept the vault past the timeout
            self.post_message(self.Failed(str(exc)))
            return
        with self.store.read() as conn:
            entries = read_entries(conn)
        self.post_message(self.Done(EditDone(summary, keep, entries)))

    def on_edit_screen_done(self, message: Done) -> None:
        """Back to the main screen with the result."""
        message.stop()
        self.dismiss(message.result)

    def on_edit_screen_failed(self, message: Failed) -> None:
        """Say why, and stay."""
        message.stop()
        self.busy = False
        self.show_error(message.error)

    def action_cancel(self) -> None:
        """Esc: change nothing."""
        self.dismiss(None)


def _required(company: CompanyEntry | None) -> CompanyEntry:
    if company is None:
        raise UsageError("choose a company first")
    return company


class RenameScreen(EditScreen):
    """Rename…: the user's own name for the company."""

    TITLE_TEXT = "Rename company"
    PROMPT = "The name to show for this company from now on:"

    def fields(self) -> ComposeResult:
        """The name, filled in with the current one."""
        yield Input(self.company.name if self.company else "", id="edit-name")

    def preview(self) -> str:
        """Old name → new name."""
        new = self.query_one("#edit-name", Input).value.strip()
        if not new or self.company is None or new == self.company.name:
            return ""
        return (
            f"{self.company_name!r} will be called {safe(new, 60)!r}; later imports keep your name."
        )

    def prepare(self) -> tuple[Callable[[Conn], str], int | None]:
        """``company_edits.rename`` (which refuses an empty name)."""
        company = _required(self.company)
        new = self.query_one("#edit-name", Input).value
        return partial(company_edits.rename, company=str(company.id), new_name=new), company.id


class MergeScreen(EditScreen):
    """Merge into…: pick the company that takes everything over, filtered as you type."""

    TITLE_TEXT = "Merge company"
    PROMPT = "Merge into which company? Type to find it, ↓ to choose:"
    SUBTITLE = "enter: merge into the highlighted one · esc: cancel"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "to_targets", "Choices", show=False, id="edit.choices"),
    ]

    def __init__(self, store: Store, company: CompanyEntry | None, others: list[CompanyEntry]):
        super().__init__(store, company)
        keep = company.id if company is not None else None
        self.others = sorted(
            (e for e in others if e.id != keep), key=lambda e: (-e.interactions, e.name.casefold())
        )
        self.shown: list[CompanyEntry] = []

    def fields(self) -> ComposeResult:
        """The filter and the choices."""
        yield Input(placeholder="name or mail domain", id="edit-filter")
        yield OptionList(id="edit-targets")

    def on_mount(self) -> None:
        """List the first choices (before ``EditScreen.on_mount`` previews the first)."""
        self._fill("")

    def _fill(self, needle: str) -> None:
        folded = needle.casefold().strip()
        matches = [e for e in self.others if folded in e.folded] if folded else self.others
        self.shown = matches[:MERGE_CHOICES]
        targets = self.query_one("#edit-targets", OptionList)
        targets.clear_options()
        for entry in self.shown:
            line = Text.assemble(
                (kind_icon(entry.kind) + " ", "bold"),
                fit(safe(entry.name, 60), 32),
                (f" {count(entry.interactions):>7}  ", "dim"),
                (fit(safe(", ".join(entry.domains), 60), 24), "dim"),
            )
            targets.add_option(Option(line, id=str(entry.id)))
        if len(matches) > len(self.shown):
            more = f"… {count(len(matches) - len(self.shown))} more: type to narrow"
            targets.add_option(Option(Text(more, style="dim"), disabled=True))
        # Nothing is chosen until the user types or moves: Enter alone must not merge.
        targets.highlighted = 0 if self.shown and folded else None

    @property
    def target(self) -> CompanyEntry | None:
        """The highlighted choice."""
        highlighted = self.query_one("#edit-targets", OptionList).highlighted
        if highlighted is None or highlighted >= len(self.shown):
            return None
        return self.shown[highlighted]

    @on(Input.Changed, "#edit-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)
        self.show_preview()

    @on(OptionList.OptionHighlighted, "#edit-targets")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_preview()

    @on(OptionList.OptionSelected, "#edit-targets")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.submit()

    def action_to_targets(self) -> None:
        """Down from the filter goes to the choices."""
        if self.shown:
            targets = self.query_one("#edit-targets", OptionList)
            targets.focus()
            if targets.highlighted is None:
                targets.highlighted = 0

    def preview(self) -> str:
        """Which into which, with their sizes."""
        target = self.target
        if self.company is None:
            return ""
        if target is None and self.shown:
            return "Type part of its name or mail domain, or press ↓ to pick from the list."
        if target is None:
            return "No company matches. Try part of its name or mail domain."
        return (
            f"Merge {self.company_name!r} ({plural(self.company.interactions, 'item')}) into "
            f"{safe(target.name, 60)!r} ({plural(target.interactions, 'item')})?"
        )

    def prepare(self) -> tuple[Callable[[Conn], str], int | None]:
        """``company_edits.merge`` into the highlighted company."""
        company = _required(self.company)
        target = self.target
        if target is None:
            raise UsageError("pick the company to merge into")
        edit = partial(company_edits.merge, company=str(company.id), into=str(target.id))
        return edit, target.id


class AliasScreen(EditScreen):
    """Add alias…: a domain, mail address, phone number or name that means this company."""

    TITLE_TEXT = "Add an alias"
    PROMPT = "A mail domain, mail address, phone number or name that belongs to this company:"

    class Described(Message):
        """The worker worked out what the typed value is."""

        def __init__(self, value: str, description: str) -> None:
            super().__init__()
            self.value = value
            self.description = description

    def __init__(self, store: Store, company: CompanyEntry | None) -> None:
        super().__init__(store, company)
        self.description = ""

    def fields(self) -> ComposeResult:
        """The value."""
        yield Input(placeholder="klm.nl, info@klm.nl, +31 20 474 7747 or a name", id="edit-value")

    def show_preview(self) -> None:
        """The preview needs the domain list (a moment to load the first time): in a worker."""
        value = self.query_one("#edit-value", Input).value.strip()
        self.description = ""
        super().show_preview()
        if value:
            self._describe(value)

    @work(thread=True, exclusive=True, group="alias-preview", description="Reading the value")
    def _describe(self, value: str) -> None:
        kind, identifier = company_edits.identifier_for(value)
        words = IDENTIFIER_WORDS.get(kind, "{value}").format(value=safe(identifier, 60))
        self.post_message(self.Described(value, words))

    def on_alias_screen_described(self, message: Described) -> None:
        """Show the preview if the value is still the one typed."""
        message.stop()
        if message.value == self.query_one("#edit-value", Input).value.strip():
            self.description = message.description
            self.query_one("#edit-preview", Static).update(Text(self.preview()))

    def preview(self) -> str:
        """What will belong to the company."""
        if not self.description:
            return ""
        return f"{self.description} will belong to {self.company_name!r}, with its items."

    def prepare(self) -> tuple[Callable[[Conn], str], int | None]:
        """``company_edits.alias``."""
        company = _required(self.company)
        value = self.query_one("#edit-value", Input).value.strip()
        if not value:
            raise UsageError("type a domain, mail address, phone number or name")
        return partial(company_edits.alias, company=str(company.id), value=value), company.id


class SplitScreen(EditScreen):
    """Split off…: one domain or address (and its items) becomes a company of its own."""

    TITLE_TEXT = "Split off"
    PROMPT = "The domain or mail address to move into a new company:"

    def fields(self) -> ComposeResult:
        """The value, its hint, and the new company's name."""
        domains = self.company.domains if self.company is not None else ()
        example = domains[-1] if domains else "news.example.com"
        yield Input(placeholder=f"e.g. {example}", id="edit-value")
        if domains:
            yield Static(
                Text(f"Its domains: {safe(', '.join(domains), 150)}", style="dim"), id="edit-hint"
            )
        yield Input(placeholder="name of the new company (optional)", id="edit-new-name")

    def preview(self) -> str:
        """What moves where."""
        value = self.query_one("#edit-value", Input).value.strip()
        if not value:
            return ""
        name = self.query_one("#edit-new-name", Input).value.strip() or value
        return (
            f"{safe(value, 60)} and its items move out of {self.company_name!r} "
            f"into a new company {safe(name, 60)!r}."
        )

    def prepare(self) -> tuple[Callable[[Conn], str], int | None]:
        """``company_edits.split``; the cursor stays on the company split from."""
        company = _required(self.company)
        value = self.query_one("#edit-value", Input).value.strip()
        if not value:
            raise UsageError("type the domain or mail address to split off")
        name = self.query_one("#edit-new-name", Input).value.strip() or None
        edit = partial(company_edits.split, company=str(company.id), value=value, new_name=name)
        return edit, company.id


class UndoScreen(EditScreen):
    """Undo last edit: says which edit, then takes it back on Enter."""

    TITLE_TEXT = "Undo the last company edit"
    PROMPT = "Reading the last edit…"
    SUBTITLE = "enter: undo it · esc: keep it"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "undo", "Undo it", id="edit.undo"),
    ]

    class Found(Message):
        """The worker read the last edit (None: there is none)."""

        def __init__(self, summary: str | None) -> None:
            super().__init__()
            self.summary = summary

    def on_mount(self) -> None:
        """Read which edit would be undone."""
        self._find()

    @work(thread=True, exclusive=True, group="undo-preview", description="Reading the last edit")
    def _find(self) -> None:
        with self.store.read() as conn:
            self.post_message(self.Found(company_edits.last_edit(conn)))

    def on_undo_screen_found(self, message: Found) -> None:
        """Say what Enter will undo."""
        message.stop()
        prompt = self.query_one("#edit-prompt", Static)
        if message.summary is None:
            prompt.update(Text("There is no company edit to undo."))
        else:
            prompt.update(Text(f"Undo: {safe(message.summary, 200)}?"))

    def action_undo(self) -> None:
        """Enter: take it back."""
        self.submit()

    def prepare(self) -> tuple[Callable[[Conn], str], int | None]:
        """``company_edits.undo_last``; the cursor stays where it was."""
        return company_edits.undo_last, self.company.id if self.company is not None else None
