"""Your profile (ctrl+u): every field you may share, added, edited and removed here.

Values are validated and stored by ``vault.profile.set_value`` in a worker; a value it refuses
(a phone number that is not one, an IBAN with a bad check digit, a half date) is shown in one
line under the form and nothing is stored. Sensitive values are masked until ``r``.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from tui.dialogs import Dialog, ask
from tui.format import safe
from tui.forms import sentence
from vault.errors import VaultError
from vault.profile import SPECS, ProfileValue, load_profile, mask, set_value, spec_for, unset_value
from vault.store import Store

PREFIXED_KEYS = {"loyalty.": "programme (e.g. klm)", "free.": "label (e.g. shoe_size)"}
"""Keys with a name the user picks, and what to call that name in the form."""
SENSITIVITY_STYLES = {"sensitive": "bold red", "special": "bold magenta", "personal": "yellow"}


def shown_value(value: ProfileValue, reveal: bool) -> Text:
    """A profile value for the screen: masked when sensitive (unless revealed), made safe."""
    return Text(safe(value.value if reveal else mask(value), 300))


def spec_multiple(key: str) -> bool:
    """Whether ``key`` holds several values (email, phone, iban); False for unknown keys."""
    try:
        return spec_for(key).multiple
    except VaultError:
        return False


def label_of(key: str) -> str:
    """The human label of a profile key (its key itself when unknown)."""
    try:
        return spec_for(key).label
    except VaultError:
        return key


class ProfileFieldForm(Dialog[str | None]):
    """Add a field (choose its key, type the value) or edit one value; dismissed with the
    stored value, or None when cancelled."""

    DEFAULT_CSS = """
    #field-box {
        width: 76;
    }
    #field-box Label {
        margin-top: 1;
    }
    #field-name-row {
        height: auto;
    }
    #field-name-row.-hidden {
        display: none;
    }
    #field-note {
        height: auto;
        color: $warning;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="field.cancel"),
    ]

    class Saved(Message):
        """The worker stored the value (``stored``) or refused it (``error``)."""

        def __init__(self, stored: str | None, error: str | None) -> None:
            super().__init__()
            self.stored = stored
            self.error = error

    def __init__(
        self, store: Store, editing: ProfileValue | None = None, have: frozenset[str] = frozenset()
    ) -> None:
        """Args:
        store: the open vault.
        editing: the value to edit (None: add a new one).
        have: the keys the profile has values for (adding to a one-value key replaces it).
        """
        super().__init__()
        self.store = store
        self.editing = editing
        self.have = have
        self.busy = False

    def compose(self) -> ComposeResult:
        """Key, its name for loyalty./free. keys, value, error line, buttons."""
        choices = [(Text(f"{spec.label}  ({key})"), key) for key, spec in SPECS.items()]
        choices += [
            (Text("Loyalty number  (loyalty.…)"), "loyalty."),
            (Text("Note  (free.…)"), "free."),
        ]
        editing = self.editing
        with Vertical(id="field-box", classes="dialog-box"):
            yield Label("Field")
            if editing is not None:
                yield Static(Text(f"{label_of(editing.key)}  ({safe(editing.key)})"))
            else:
                yield Select(choices, value=self.first_missing, allow_blank=False, id="field-key")
            with Vertical(id="field-name-row", classes="-hidden"):
                yield Label("Name", id="field-name-label")
                yield Input(id="field-name")
            yield Label("Value")
            yield Input(editing.value if editing else "", id="field-value")
            yield Static("", id="field-note")
            yield Static("", id="field-error", classes="dialog-error")
            with Horizontal(id="field-buttons", classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="field-save")
                yield Button("Cancel", id="field-cancel")

    @property
    def first_missing(self) -> str:
        """The key the form offers first: your name, else the first field you do not have."""
        missing = [key for key in SPECS if key not in self.have]
        return "name" if "name" in missing or not missing else missing[0]

    def on_mount(self) -> None:
        """Title the box; start in the field a user fills first."""
        if self.editing is not None:
            self.title_box(f"Edit {label_of(self.editing.key)}", "enter: save · esc: cancel")
            self.query_one("#field-value", Input).focus()
        else:
            self.title_box("Add to your profile", "enter: save · esc: cancel")
            self.query_one("#field-key", Select).focus()
            self._note_replacing()

    @on(Select.Changed, "#field-key")
    def _key_changed(self, event: Select.Changed) -> None:
        prefix = str(event.value)
        named = prefix in PREFIXED_KEYS
        self.query_one("#field-name-row").set_class(not named, "-hidden")
        if named:
            self.query_one("#field-name-label", Label).update(
                Text(f"Name of the {PREFIXED_KEYS[prefix]}")
            )
        self._note_replacing()

    @on(Input.Changed, "#field-name")
    def _note_replacing(self) -> None:
        key = self.chosen_key()
        replaces = self.editing is None and key in self.have and not spec_multiple(key)
        note = f"You have a {label_of(key)} already: saving replaces it." if replaces else ""
        self.query_one("#field-note", Static).update(Text(note))

    def chosen_key(self) -> str:
        """The key the form stores under (``loyalty.klm`` from ``loyalty.`` and ``klm``)."""
        if self.editing is not None:
            return self.editing.key
        key = str(self.query_one("#field-key", Select).value)
        if key in PREFIXED_KEYS:
            key += self.query_one("#field-name", Input).value.strip().lower().replace(" ", "_")
        return key

    @on(Input.Submitted)
    @on(Button.Pressed, "#field-save")
    def action_save(self) -> None:
        """Validate and store, in a worker."""
        if self.busy:
            return
        self.busy = True
        self._error("")
        self._save(self.chosen_key(), self.query_one("#field-value", Input).value, self.editing)

    @on(Button.Pressed, "#field-cancel")
    def action_cancel(self) -> None:
        """Esc: close without storing."""
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="profile-save", description="Saving a profile field")
    def _save(self, key: str, value: str, old: ProfileValue | None) -> None:
        try:
            with self.store.begin() as conn:
                if old is not None and spec_multiple(old.key):
                    unset_value(conn, old.key, old.value)  # an edit replaces that one value
                stored = set_value(conn, key, value)
        except VaultError as exc:
            self.post_message(self.Saved(None, str(exc)))
            return
        self.post_message(self.Saved(stored, None))

    def on_profile_field_form_saved(self, message: Saved) -> None:
        """Close on success; otherwise say why, in one line, and keep what was typed."""
        message.stop()
        self.busy = False
        if message.error is not None:
            self._error(message.error)
            return
        self.dismiss(message.stored)

    def _error(self, error: str) -> None:
        self.query_one("#field-error", Static).update(Text(sentence(error)))


class ProfileScreen(Screen[None]):
    """Every profile value: label, key, category, sensitivity, value (masked if sensitive)."""

    DEFAULT_CSS = """
    ProfileScreen #profile-title {
        padding: 0 1;
        text-style: bold;
    }
    ProfileScreen #profile-table {
        height: 1fr;
    }
    ProfileScreen #profile-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "add", "Add", id="profile.add"),
        Binding("e,enter", "edit", "Edit", id="profile.edit"),
        Binding("x,delete", "remove", "Remove", id="profile.remove"),
        Binding("r", "reveal", "Reveal/mask", id="profile.reveal"),
        Binding("escape", "close", "Back", id="profile.close"),
    ]

    class Loaded(Message):
        """The worker read the profile."""

        def __init__(self, values: list[ProfileValue]) -> None:
            super().__init__()
            self.values = values

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.values: list[ProfileValue] = []
        self.revealed = False
        self.loaded = False

    def compose(self) -> ComposeResult:
        """Title, the table, a status line, the footer."""
        yield Static(Text("Your profile: what you may share with companies"), id="profile-title")
        table: DataTable[Text] = DataTable(
            cursor_type="row", zebra_stripes=True, id="profile-table"
        )
        table.add_columns("Field", "Key", "Category", "Sensitivity", "Value")
        yield table
        yield Static("", id="profile-status")
        yield Footer()

    def on_mount(self) -> None:
        """Read the profile."""
        self.table.focus()
        self.reload()

    @property
    def table(self) -> DataTable[Text]:
        """The profile table."""
        return self.query_one("#profile-table", DataTable)

    def reload(self) -> None:
        """Read the profile again (after a change)."""
        self.loaded = False
        self._load()

    @work(thread=True, exclusive=True, group="profile", description="Reading your profile")
    def _load(self) -> None:
        with self.store.reader() as conn:
            values = load_profile(conn)
        self.post_message(self.Loaded(values))

    def on_profile_screen_loaded(self, message: Loaded) -> None:
        """Fill the table, keeping the cursor's row."""
        message.stop()
        self.values = message.values
        self.loaded = True
        self._fill()

    def _fill(self) -> None:
        table = self.table
        row = table.cursor_row
        table.clear()
        for value in self.values:
            style = SENSITIVITY_STYLES.get(value.sensitivity, "")
            table.add_row(
                Text(label_of(value.key)),
                Text(safe(value.key)),
                Text(value.category),
                Text(value.sensitivity, style=style),
                shown_value(value, self.revealed),
                key=str(value.id),
            )
        if self.values:
            table.move_cursor(row=min(row, len(self.values) - 1))
        sensitive = any(v.sensitivity == "sensitive" for v in self.values)
        status = (
            "Your profile is empty: n adds a field (name, email, phone, address, …)."
            if not self.values
            else "Sensitive values are shown in full: r masks them again."
            if self.revealed
            else "Sensitive values are masked: r shows them."
            if sensitive
            else ""
        )
        self.query_one("#profile-status", Static).update(Text(status))

    @property
    def current(self) -> ProfileValue | None:
        """The value under the cursor."""
        if not self.values or not 0 <= self.table.cursor_row < len(self.values):
            return None
        return self.values[self.table.cursor_row]

    def action_add(self) -> None:
        """n: add a field."""
        have = frozenset(value.key for value in self.values)
        self.app.push_screen(ProfileFieldForm(self.store, have=have), self._changed)

    def action_edit(self) -> None:
        """e / Enter: edit the value under the cursor."""
        if self.current is not None:
            self.app.push_screen(ProfileFieldForm(self.store, self.current), self._changed)

    def _changed(self, stored: str | None) -> None:
        if stored is not None:
            self.notify("Saved to your profile.", markup=False)
            self.reload()

    def action_remove(self) -> None:
        """x: remove the value under the cursor, after asking."""
        value = self.current
        if value is None:
            return
        question = (
            f"Remove {label_of(value.key)} {safe(mask(value), 80)} from your profile?\n"
            "Packages you already shared keep it; kluis still lists it under what a company knows."
        )

        ask(self, question, "Remove", lambda: self._remove(value))

    @work(thread=True, exclusive=True, group="profile-save", description="Removing a field")
    def _remove(self, value: ProfileValue) -> None:
        try:
            with self.store.begin() as conn:
                unset_value(conn, value.key, value.value)
        except VaultError as exc:
            self.app.call_from_thread(
                self.notify, safe(str(exc), 300), severity="error", markup=False
            )
        self.app.call_from_thread(self.reload)

    def action_reveal(self) -> None:
        """r: show sensitive values in full, or mask them again."""
        self.revealed = not self.revealed
        self._fill()

    def action_close(self) -> None:
        """Esc: back to the companies."""
        self.dismiss(None)
