"""The unlock screen: the passphrase (optionally remembered on this device), or the recovery
code and a new passphrase.

Argon2id takes a good part of a second, so unlocking runs in a worker while the screen says
"Unlocking…". A wrong passphrase clears the field for another try; a damaged vault is one
plain message. Nothing here ever changes a file unless the unlock succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Middle, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, ContentSwitcher, Input, Static

from tui.forms import FORM_CSS, sentence, set_status
from tui.strength import INSIST, PassphraseStrength
from vault import keys as keymod
from vault.errors import InvalidValue, VaultError, WrongPassphrase
from vault.store import Store
from vault.unlock import check_new_passphrase, open_with, remember_on_device, set_new_passphrase

WRONG_PASSPHRASE = "That passphrase does not open this vault. Check it and try again."


@dataclass
class VaultOpened(Message):
    """A screen opened the vault: the app shows it (and, after a new vault, the import)."""

    store: Store
    note: str | None = None
    then_import: bool = False
    note_seconds: float = 8
    """How long the note stays: a toast sits over the item pane, so a mere reminder is brief."""


@dataclass
class UnlockFailed(Message):
    """The worker could not unlock; ``retry`` clears the field that was wrong."""

    message: str
    retry: str | None = None


class UnlockScreen(Screen[None]):
    """Passphrase, "Remember on this device", and the recovery-code way in."""

    DEFAULT_CSS = (
        FORM_CSS
        + """
    UnlockScreen {
        align: center middle;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to the passphrase", show=False, id="unlock.back"),
    ]

    def __init__(self, folder: Path) -> None:
        super().__init__(id="unlock")
        self.folder = folder
        self.busy = False

    def compose(self) -> ComposeResult:
        """The passphrase form, and the recovery form behind it."""
        with Middle(), Center(), Vertical(id="unlock-box", classes="form-box"):
            yield Static(Text(f"Your vault at {self.folder}"), classes="form-note")
            with ContentSwitcher(initial="unlock-passphrase-form", id="unlock-forms"):
                with Vertical(id="unlock-passphrase-form"):
                    yield Input(placeholder="Passphrase", password=True, id="unlock-passphrase")
                    yield Checkbox("Remember on this device", id="unlock-remember")
                    with Horizontal(classes="form-buttons"):
                        yield Button("Unlock", variant="primary", id="unlock-go")
                        yield Button(
                            "Forgot it? Use your recovery code",
                            variant="default",
                            id="unlock-forgot",
                        )
                with Vertical(id="unlock-recovery-form"):
                    yield Static(
                        "Type the recovery code you wrote down when you made the vault, then "
                        "choose a new passphrase.",
                        classes="form-note",
                    )
                    yield Input(placeholder="Recovery code (XXXX-XXXX-…)", id="unlock-code")
                    yield Input(placeholder="New passphrase", password=True, id="unlock-new")
                    yield PassphraseStrength(id="unlock-strength")
                    yield Input(
                        placeholder="New passphrase again", password=True, id="unlock-new-again"
                    )
                    with Horizontal(classes="form-buttons"):
                        yield Button(
                            "Set passphrase and unlock", variant="primary", id="unlock-recover"
                        )
                        yield Button("Back", id="unlock-back")
            yield Static("", id="unlock-status", classes="form-status")

    def on_mount(self) -> None:
        """Title the box and put the cursor in the passphrase field."""
        box = self.query_one("#unlock-box")
        box.border_title = Text("Unlock kluis")
        box.border_subtitle = Text("ctrl+q quits")
        self.query_one("#unlock-passphrase", Input).focus()

    # ---- the two forms ----------------------------------------------------------------------

    @on(Input.Submitted, "#unlock-passphrase")
    @on(Button.Pressed, "#unlock-go")
    def unlock(self) -> None:
        """Enter or Unlock: try the passphrase."""
        passphrase = self.query_one("#unlock-passphrase", Input).value
        if self.busy:
            return
        if not passphrase:
            self.show_status("Type your passphrase first.", error=True)
            return
        remember = self.query_one("#unlock-remember", Checkbox).value
        self._start("Unlocking…")
        self._unlock(passphrase, remember)

    @on(Button.Pressed, "#unlock-forgot")
    def forgot(self) -> None:
        """Show the recovery form."""
        self.query_one(ContentSwitcher).current = "unlock-recovery-form"
        self.show_status("")
        self.query_one("#unlock-code", Input).focus()

    @on(Button.Pressed, "#unlock-back")
    def action_back(self) -> None:
        """Esc or Back: the passphrase form again."""
        if self.busy:
            return
        self.query_one(ContentSwitcher).current = "unlock-passphrase-form"
        self.show_status("")
        self.query_one("#unlock-passphrase", Input).focus()

    @on(Input.Changed, "#unlock-new")
    def estimate(self, event: Input.Changed) -> None:
        """Show how hard the new passphrase typed so far is to guess."""
        self.query_one(PassphraseStrength).show(event.value)

    @on(Input.Submitted, "#unlock-code")
    @on(Input.Submitted, "#unlock-new")
    def next_field(self) -> None:
        """Enter in a recovery field: on to the next one."""
        self.focus_next()

    @on(Input.Submitted, "#unlock-new-again")
    @on(Button.Pressed, "#unlock-recover")
    def recover(self) -> None:
        """Check the new passphrase here, then the code in a worker."""
        if self.busy:
            return
        code = self.query_one("#unlock-code", Input).value
        new = self.query_one("#unlock-new", Input).value
        again = self.query_one("#unlock-new-again", Input).value
        if not code.strip():
            self.show_status("Type your recovery code first.", error=True)
            return
        allow_weak = self.query_one(PassphraseStrength).allow_weak
        try:
            check_new_passphrase(new, allow_weak=allow_weak, insist_with=INSIST)
        except InvalidValue as exc:
            self.show_status(sentence(exc), error=True)
            self.query_one("#unlock-new", Input).focus()
            return
        if new != again:
            self.show_status("The two new passphrases differ; type them again.", error=True)
            self.query_one("#unlock-new-again", Input).clear()
            self.query_one("#unlock-new", Input).clear()
            self.query_one("#unlock-new", Input).focus()
            return
        self._start("Checking the recovery code…")
        self._recover(code, new, allow_weak)

    # ---- the workers ------------------------------------------------------------------------

    def _open(
        self,
        unwrap: Callable[[keymod.KeyFile], bytes],
        wrong: Callable[[WrongPassphrase], UnlockFailed],
    ) -> tuple[keymod.KeyFile, bytes, Store] | None:
        """The vault opened with the key ``unwrap`` finds; None when it cannot be, after
        posting what ``wrong`` says of a wrong key, or the problem.
        """
        try:
            return open_with(self.folder, unwrap, self._upgrading)
        except WrongPassphrase as exc:
            self.post_message(wrong(exc))
        except Exception as exc:  # a damaged vault: say so on the screen, never a traceback
            self.post_message(UnlockFailed(_problem(exc)))
        return None

    def _upgrading(self) -> None:
        # Called in the worker: a big vault's upgrade takes minutes, and someone who thinks
        # the app hangs and quits it makes the upgrade start over next time.
        self.app.call_from_thread(
            self.show_status,
            "Upgrading this vault for the new kluis, once. A large vault takes a few minutes: "
            "please keep kluis open.",
            busy=True,
        )

    @work(thread=True, exclusive=True, group="unlock", description="Unlocking the vault")
    def _unlock(self, passphrase: str, remember: bool) -> None:
        opened = self._open(
            partial(keymod.unwrap_with_passphrase, passphrase=passphrase),
            lambda _: UnlockFailed(WRONG_PASSPHRASE, retry="#unlock-passphrase"),
        )
        if opened is None:
            return
        keyfile, dek, store = opened
        note = None
        if remember:
            try:
                remember_on_device(self.folder, keyfile, dek)
                note = (
                    "This device now opens the vault without asking. "
                    "To stop that, run: kluis forget"
                )
            except VaultError as exc:
                note = f"Unlocked, but this device cannot remember it: {sentence(exc)}"
        self.post_message(VaultOpened(store, note))

    @work(thread=True, exclusive=True, group="unlock", description="Recovering the vault")
    def _recover(self, code: str, new_passphrase: str, allow_weak: bool) -> None:
        opened = self._open(
            partial(keymod.unwrap_with_recovery_code, code=code),
            lambda exc: UnlockFailed(sentence(exc) + " Check it and try again.", "#unlock-code"),
        )
        if opened is None:
            return
        keyfile, dek, store = opened
        try:
            set_new_passphrase(self.folder, keyfile, dek, new_passphrase, allow_weak=allow_weak)
        except Exception as exc:
            store.close()
            self.post_message(
                UnlockFailed(f"The new passphrase could not be saved: {sentence(exc)}")
            )
            return
        note = (
            "New passphrase set; the old one no longer opens the vault. Your recovery code "
            "stays the same."
        )
        self.post_message(VaultOpened(store, note))

    def on_unlock_failed(self, message: UnlockFailed) -> None:
        """Say what went wrong and make the form ready for another try."""
        self.busy = False
        self.query_one("#unlock-forms").disabled = False
        self.show_status(message.message, error=True)
        if message.retry is not None:
            field = self.query_one(message.retry, Input)
            field.clear()
            field.focus()

    # ---- the status line --------------------------------------------------------------------

    def _start(self, what: str) -> None:
        self.busy = True
        self.query_one("#unlock-forms").disabled = True
        self.show_status(what, busy=True)

    def show_status(self, text: str, *, error: bool = False, busy: bool = False) -> None:
        """One line under the form: what is happening, or what went wrong."""
        set_status(self.query_one("#unlock-status", Static), text, error=error, busy=busy)


def _problem(error: Exception) -> str:
    if isinstance(error, VaultError):
        return f"The vault cannot be opened: {sentence(error)}"
    return f"The vault cannot be opened (unexpected error: {sentence(error)})"
