"""The welcome screen, when there is no vault yet: try the demo vault, or create one's own.

Creating asks for the passphrase twice, shows the recovery code once (the user confirms having
written it down), then opens the import screen. The demo is built by ``demo.builder`` in a
worker, beside (never in) the user's own vault.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Middle, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, ContentSwitcher, Input, ProgressBar, Static

from tui.forms import FORM_CSS, sentence, set_status
from tui.strength import INSIST, PassphraseStrength
from tui.unlock import VaultOpened
from vault.errors import InvalidValue, VaultExists
from vault.store import Store
from vault.unlock import (
    PassphraseSource,
    check_new_passphrase,
    create_vault,
    open_vault,
    vault_exists,
)

DEMO_SECONDS = "about half a minute"  # measured: 15–35 s on two busy cores
DEMO_NOTE_SECONDS = 3.0  # the welcome screen said it all already; the toast covers the item


@dataclass
class VaultCreated(Message):
    """The worker made the new vault; its recovery code is to be shown once."""

    store: Store
    recovery_code: str


@dataclass
class WelcomeFailed(Message):
    """Creating the vault or building the demo failed."""

    message: str


class WelcomeScreen(Screen[None]):
    """No vault yet: the demo, or a new vault of one's own."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to the choice", show=False, id="welcome.back"),
    ]

    DEFAULT_CSS = (
        FORM_CSS
        + """
    WelcomeScreen {
        align: center middle;
    }
    #welcome-choices Button {
        width: 26;
        margin-right: 2;
    }
    .welcome-choice {
        height: auto;
        margin-bottom: 1;
    }
    .welcome-choice Static {
        width: 1fr;
    }
    #welcome-code {
        text-style: bold;
        color: $accent;
        content-align: center middle;
        border: heavy $accent;
        padding: 1 2;
        margin: 1 0;
    }
    #welcome-demo-bar {
        margin: 1 0;
    }
    """
    )

    def __init__(self, folder: Path, demo_folder: Path) -> None:
        super().__init__(id="welcome")
        self.folder = folder
        self.demo_folder = demo_folder
        self.busy = False
        self.created: Store | None = None
        self.recovery_code = ""
        self._demo_started = 0.0
        self._demo_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """The choice, the new-vault form, the recovery code, and the demo's progress."""
        demo_there = vault_exists(self.demo_folder)
        with Middle(), Center(), Vertical(id="welcome-box", classes="form-box"):
            with ContentSwitcher(initial="welcome-choices", id="welcome-pages"):
                with Vertical(id="welcome-choices"):
                    yield Static(
                        "kluis keeps your history with every company — mail, chats and "
                        "bookings — in an encrypted vault on this computer.",
                        classes="form-note",
                    )
                    yield Static(Text(f"There is no vault at {self.folder} yet."))
                    yield Static("")
                    with Horizontal(classes="welcome-choice"):
                        yield Button(
                            "Open the demo vault" if demo_there else "Try the demo vault",
                            id="welcome-demo",
                        )
                        yield Static(
                            Text(
                                "Six years of a made-up person's mail and chats, kept apart "
                                f'from yours at {self.demo_folder}. Its passphrase is "demo".'
                            )
                        )
                    with Horizontal(classes="welcome-choice"):
                        yield Button("Create my vault", variant="primary", id="welcome-create")
                        yield Static(
                            "Choose a passphrase; you get a recovery code to write down, then "
                            "import your mail, chats or bookings."
                        )
                with Vertical(id="welcome-new"):
                    yield Static(
                        Text(
                            f"Your new vault goes in {self.folder}. Choose a passphrase you "
                            "will remember: it opens the vault, and nobody can reset it for you."
                        ),
                        classes="form-note",
                    )
                    yield Input(placeholder="Passphrase", password=True, id="welcome-passphrase")
                    yield PassphraseStrength(id="welcome-strength")
                    yield Input(
                        placeholder="Passphrase again", password=True, id="welcome-passphrase-again"
                    )
                    with Horizontal(classes="form-buttons"):
                        yield Button("Create the vault", variant="primary", id="welcome-make")
                        yield Button("Back", id="welcome-back")
                with Vertical(id="welcome-recovery"):
                    yield Static(
                        "Your vault is ready. This is your recovery code: if you forget your "
                        "passphrase, it is the only way back in. Write it down now and keep it "
                        "somewhere safe; it is shown only this once.",
                    )
                    yield Static("", id="welcome-code")
                    with Horizontal(classes="form-buttons"):
                        yield Button(
                            "I have written it down", variant="primary", id="welcome-written"
                        )
                with Vertical(id="welcome-demo-page"):
                    yield Static(
                        Text(
                            f"Building the demo vault at {self.demo_folder} from six years of "
                            f"made-up mail and chats ({DEMO_SECONDS}). Its passphrase is "
                            '"demo".'
                        )
                    )
                    yield ProgressBar(
                        total=None, show_eta=False, show_percentage=False, id="welcome-demo-bar"
                    )
            yield Static("", id="welcome-status", classes="form-status")

    def on_mount(self) -> None:
        """Title the box and focus the first choice."""
        box = self.query_one("#welcome-box")
        box.border_title = Text("Welcome to kluis")
        box.border_subtitle = Text("ctrl+q quits")
        self.query_one("#welcome-demo", Button).focus()

    def on_unmount(self) -> None:
        """A vault made but never handed to the app (quit at the recovery code) is closed."""
        if self.created is not None:
            self.created.close()

    def _page(self, page: str) -> None:
        self.query_one(ContentSwitcher).current = page
        keys = "esc back · ctrl+q quits" if page == "welcome-new" else "ctrl+q quits"
        self.query_one("#welcome-box").border_subtitle = Text(keys)
        self.show_status("")

    # ---- create my vault --------------------------------------------------------------------

    @on(Button.Pressed, "#welcome-create")
    def choose_create(self) -> None:
        """Create my vault: the passphrase form."""
        self._page("welcome-new")
        self.query_one("#welcome-passphrase", Input).focus()

    @on(Button.Pressed, "#welcome-back")
    def action_back(self) -> None:
        """Esc or Back: from the passphrase form to the choice (the recovery code stays until
        it is confirmed written down)."""
        if not self.busy and self.query_one(ContentSwitcher).current == "welcome-new":
            self._page("welcome-choices")
            self.query_one("#welcome-create", Button).focus()

    @on(Input.Changed, "#welcome-passphrase")
    def estimate(self, event: Input.Changed) -> None:
        """Show how hard the passphrase typed so far is to guess."""
        self.query_one(PassphraseStrength).show(event.value)

    @on(Input.Submitted, "#welcome-passphrase")
    def next_field(self) -> None:
        """Enter in the first field: on to the second."""
        self.query_one("#welcome-passphrase-again", Input).focus()

    @on(Input.Submitted, "#welcome-passphrase-again")
    @on(Button.Pressed, "#welcome-make")
    def make(self) -> None:
        """Check the passphrase, then create the vault in a worker."""
        if self.busy:
            return
        first = self.query_one("#welcome-passphrase", Input)
        again = self.query_one("#welcome-passphrase-again", Input)
        allow_weak = self.query_one(PassphraseStrength).allow_weak
        try:
            check_new_passphrase(first.value, allow_weak=allow_weak, insist_with=INSIST)
        except InvalidValue as exc:
            self.show_status(sentence(exc), error=True)
            first.focus()
            return
        if first.value != again.value:
            self.show_status("The two passphrases differ; type them again.", error=True)
            first.clear()
            again.clear()
            first.focus()
            return
        self._start("Creating your vault…", lock=True)
        self._create(first.value, allow_weak)

    @work(thread=True, exclusive=True, group="welcome", description="Creating the vault")
    def _create(self, passphrase: str, allow_weak: bool) -> None:
        try:
            store, code = create_vault(self.folder, passphrase, allow_weak=allow_weak)
        except Exception as exc:  # a folder kluis cannot write: say so, never a traceback
            self.post_message(WelcomeFailed(f"The vault could not be created: {sentence(exc)}"))
            return
        self.post_message(VaultCreated(store, code))

    def on_vault_created(self, message: VaultCreated) -> None:
        """Show the recovery code, once."""
        self.busy = False
        self.query_one("#welcome-pages").disabled = False
        self.created = message.store
        self.recovery_code = message.recovery_code
        self.query_one("#welcome-code", Static).update(Text(message.recovery_code))
        self._page("welcome-recovery")
        self.query_one("#welcome-written", Button).focus()

    @on(Button.Pressed, "#welcome-written")
    def written_down(self) -> None:
        """On to the (empty) vault and the import screen."""
        store, self.created = self.created, None
        if store is not None:
            self.post_message(VaultOpened(store, then_import=True))

    # ---- the demo ---------------------------------------------------------------------------

    @on(Button.Pressed, "#welcome-demo")
    def choose_demo(self) -> None:
        """Try the demo vault: build it (or reuse it) in a worker."""
        if self.busy:
            return
        self._page("welcome-demo-page")
        self._start("Building the demo vault… 0 s", lock=False)
        self._demo_started = time.monotonic()
        self._demo_timer = self.set_interval(1, self._tick)
        self._open_demo()

    def _tick(self) -> None:
        seconds = time.monotonic() - self._demo_started
        self.show_status(f"Building the demo vault… {seconds:.0f} s", busy=True)

    @work(thread=True, exclusive=True, group="welcome", description="Building the demo vault")
    def _open_demo(self) -> None:
        from demo.builder import DEMO_PASSPHRASE, build_demo, is_demo

        source = PassphraseSource(
            prompt=lambda _: DEMO_PASSPHRASE, allow_env=False, allow_device=False
        )
        try:
            if not vault_exists(self.demo_folder):
                build_demo(self.demo_folder)
            store = open_vault(self.demo_folder, source)
            if not is_demo(store):
                store.close()
                raise VaultExists(
                    f"{self.demo_folder} holds a vault that is not the demo; kluis leaves it alone"
                )
        except Exception as exc:
            self.post_message(WelcomeFailed(f"The demo vault could not be opened: {sentence(exc)}"))
            return
        note = 'The demo vault of a made-up person (passphrase "demo").'
        self.post_message(VaultOpened(store, note, note_seconds=DEMO_NOTE_SECONDS))

    # ---- status -----------------------------------------------------------------------------

    def on_welcome_failed(self, message: WelcomeFailed) -> None:
        """Say what went wrong; the choice is open again."""
        self.busy = False
        if self._demo_timer is not None:
            self._demo_timer.stop()
        self.query_one("#welcome-pages").disabled = False
        if self.query_one(ContentSwitcher).current == "welcome-demo-page":
            self._page("welcome-choices")
        self.show_status(message.message, error=True)

    def _start(self, what: str, *, lock: bool) -> None:
        self.busy = True
        self.query_one("#welcome-pages").disabled = lock
        self.show_status(what, busy=True)

    def show_status(self, text: str, *, error: bool = False, busy: bool = False) -> None:
        """One line under the box: what is happening, or what went wrong."""
        set_status(self.query_one("#welcome-status", Static), text, error=error, busy=busy)
