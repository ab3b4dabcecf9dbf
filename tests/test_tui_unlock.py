"""Opening the app on a locked vault or on none: unlock, remember, recover, welcome, demo.

Real vaults in tmp folders (real Argon2id), the real app driven headless. The keyring is an
in-memory backend installed for each test, so the user's own keyring is never touched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Input

from tests.support import PASSPHRASE, mail, options, vault_at_schema
from tests.tui_support import SIZE, text_of, until
from tui.app import KluisApp
from tui.import_screen import ImportScreen
from tui.main_screen import EmptyVaultHint
from tui.unlock import UnlockScreen
from tui.welcome import WelcomeScreen
from vault import keys as keymod
from vault import migrations
from vault.errors import WrongPassphrase
from vault.ingest import Ingestor
from vault.unlock import (
    PassphraseSource,
    create_vault,
    open_vault_without_prompt,
    vault_exists,
)


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this process only."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every test here gets an empty keyring of its own."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def locked(vault_dir: Path) -> Path:
    """A vault with one KLM mail, closed: it has to be unlocked."""
    store, _ = create_vault(vault_dir, PASSPHRASE)
    Ingestor(store, options("me@example.org"), "test", "fixture").run([mail(1)])
    store.close()
    return vault_dir


def run(app: KluisApp, story: Callable[[Pilot[Any]], Awaitable[None]]) -> None:
    """Play ``story`` against ``app`` headless."""

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await story(pilot)

    asyncio.run(main())


def on_screen(app: KluisApp, words: str) -> bool:
    """True if ``words`` are drawn on the terminal now (not merely held by a widget)."""
    return words in app.export_screenshot().replace("&#160;", " ")


async def type_into(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Click a field and type ``text`` into it."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    await pilot.pause()
    await pilot.press(*text)


def watch_status(screen: Any) -> list[tuple[str, bool]]:
    """Every (status text, form disabled) the screen shows from now on, in order."""
    said: list[tuple[str, bool]] = []
    show = screen.show_status

    def recorded(text: str, **kwargs: bool) -> None:
        show(text, **kwargs)
        said.append((text, screen.busy))

    screen.show_status = recorded
    return said


def unlocked_with_klm(app: KluisApp) -> bool:
    return app.unlocked and any(e.name == "KLM" for e in app.company_rows())


async def unlock_remembering(app: KluisApp, pilot: Pilot[Any]) -> None:
    """Type the passphrase, tick "Remember on this device", Enter; wait for the companies."""
    await type_into(pilot, "#unlock-passphrase", PASSPHRASE)
    app.screen.query_one("#unlock-remember", Checkbox).value = True
    await pilot.press("enter")
    await until(pilot, lambda: unlocked_with_klm(app), "the main screen")


# ---- unlock -----------------------------------------------------------------------------------


def test_a_wrong_passphrase_is_said_plainly_and_the_right_one_then_opens_the_vault(
    locked: Path,
) -> None:
    keys_before = (locked / "keys.json").read_bytes()
    app = KluisApp(folder=locked, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        said = watch_status(screen)
        await type_into(pilot, "#unlock-passphrase", "not my passphrase")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.busy, "the end of the first try")
        assert said[0] == ("Unlocking…", True)  # shown while Argon2 runs; no second try then
        assert "does not open this vault" in text_of(screen, "#unlock-status")
        assert on_screen(app, "does not open this vault")
        field = screen.query_one("#unlock-passphrase", Input)
        assert field.value == "" and field.has_focus  # cleared, ready for another try
        assert isinstance(app.screen, UnlockScreen)
        await pilot.press(*PASSPHRASE, "enter")
        await until(pilot, lambda: unlocked_with_klm(app), "the main screen with KLM")

    run(app, story)
    assert (locked / "keys.json").read_bytes() == keys_before  # nothing remembered, nothing changed
    assert app.opened is not None
    app.opened.close()


def test_an_older_vault_says_it_is_upgrading_while_it_does(
    vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A vault as the kluis before the period index (schema 4) wrote it.
    vault_at_schema(vault_dir, monkeypatch, 3, [mail(1)], options("me@example.org"))
    app = KluisApp(folder=vault_dir, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        said = watch_status(app.screen)
        await type_into(pilot, "#unlock-passphrase", PASSPHRASE)
        await pilot.press("enter")
        await until(pilot, lambda: unlocked_with_klm(app), "the main screen with KLM")
        assert [text.split(".")[0] for text, _ in said] == [
            "Unlocking…",
            "Upgrading this vault for the new kluis, once",
        ]
        assert all(busy for _, busy in said)

    run(app, story)
    assert app.opened is not None
    with app.opened.reader() as conn:
        assert migrations.current_version(conn) == migrations.SCHEMA_VERSION
    app.opened.close()


def test_remember_on_this_device_lets_the_next_start_skip_the_unlock_screen(
    locked: Path, memory_keyring: MemoryKeyring
) -> None:
    app = KluisApp(folder=locked, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        await unlock_remembering(app, pilot)

    run(app, story)
    assert app.opened is not None
    app.opened.close()
    assert "device" in json.loads((locked / "keys.json").read_text())["wraps"]
    assert len(memory_keyring.passwords) == 1
    # What `kluis` does next time: the remembered key opens it before any screen.
    store = open_vault_without_prompt(locked, PassphraseSource(allow_env=False))
    assert store is not None
    store.close()


def test_remember_without_a_keyring_still_unlocks_and_says_why_it_cannot(locked: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    app = KluisApp(folder=locked, tz=UTC)
    said: list[str] = []

    async def story(pilot: Pilot[Any]) -> None:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await unlock_remembering(app, pilot)

    run(app, story)
    assert app.opened is not None
    app.opened.close()
    assert any("cannot remember" in s and "keyring" in s for s in said)
    assert "device" not in json.loads((locked / "keys.json").read_text())["wraps"]


def test_the_recovery_code_unlocks_and_sets_a_new_passphrase(vault_dir: Path) -> None:
    store, code = create_vault(vault_dir, PASSPHRASE)
    Ingestor(store, options("me@example.org"), "test", "fixture").run([mail(1)])
    store.close()
    app = KluisApp(folder=vault_dir, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        screen = app.screen
        assert isinstance(screen, UnlockScreen)
        await pilot.click("#unlock-forgot")
        await type_into(pilot, "#unlock-code", "0000-0000-0000-0000-0000-0000-0000")
        await type_into(pilot, "#unlock-new", "a brand new one")
        await type_into(pilot, "#unlock-new-again", "a brand new one")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.busy, "the end of the first try")
        assert "recovery code" in text_of(screen, "#unlock-status")
        assert screen.query_one("#unlock-code", Input).value == ""
        await type_into(pilot, "#unlock-code", code.lower())
        await pilot.click("#unlock-recover")
        await until(pilot, lambda: unlocked_with_klm(app), "the main screen")

    run(app, story)
    assert app.opened is not None
    app.opened.close()
    keyfile = keymod.load_keys(vault_dir)
    assert keymod.unwrap_with_passphrase(keyfile, "a brand new one")
    with pytest.raises(WrongPassphrase):
        keymod.unwrap_with_passphrase(keyfile, PASSPHRASE)
    assert keymod.unwrap_with_recovery_code(keyfile, code)  # the code stays the same


def test_new_passphrases_that_differ_are_refused_before_anything_changes(locked: Path) -> None:
    keys_before = (locked / "keys.json").read_bytes()
    app = KluisApp(folder=locked, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        await pilot.click("#unlock-forgot")
        await type_into(pilot, "#unlock-code", "ABCD")
        await type_into(pilot, "#unlock-new", "one passphrase")
        await type_into(pilot, "#unlock-new-again", "another one")
        await pilot.press("enter")
        assert "differ" in text_of(app.screen, "#unlock-status")
        await pilot.press("escape")  # back to the passphrase form
        assert app.screen.query_one("#unlock-passphrase", Input).has_focus

    run(app, story)
    assert (locked / "keys.json").read_bytes() == keys_before


@pytest.mark.parametrize("damage", ["keys.json", "vault.db"])
def test_a_damaged_vault_is_one_clear_message_on_the_screen(locked: Path, damage: str) -> None:
    if damage == "keys.json":
        document = json.loads((locked / "keys.json").read_text())
        document["kdf"]["iterations"] = 99
        (locked / "keys.json").write_text(json.dumps(document))
    else:
        (locked / "vault.db").write_bytes(b"")
    app = KluisApp(folder=locked, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        screen = app.screen
        await type_into(pilot, "#unlock-passphrase", PASSPHRASE)
        await pilot.press("enter")
        await until(pilot, lambda: not screen.busy, "the end of the try")
        status = text_of(screen, "#unlock-status")
        assert status.startswith("The vault cannot be opened:")
        assert ("unsafe key-derivation" if damage == "keys.json" else "vault.db") in status
        assert "\n" not in status and "Traceback" not in status
        assert isinstance(app.screen, UnlockScreen) and app.is_running

    run(app, story)


def test_the_passphrase_from_the_environment_skips_the_unlock_screen(
    locked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert open_vault_without_prompt(locked, PassphraseSource()) is None  # it would have to ask
    monkeypatch.setenv("KLUIS_PASSPHRASE", PASSPHRASE)
    store = open_vault_without_prompt(locked, PassphraseSource())
    assert store is not None
    store.close()


def test_only_quit_help_and_the_palette_work_before_the_vault_is_open(locked: Path) -> None:
    app = KluisApp(folder=locked, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        app.screen.query_one("#unlock-go", Button).focus()
        await pilot.press("slash")  # search needs the vault
        assert isinstance(app.screen, UnlockScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Search" not in titles and "Import" not in titles

    run(app, story)


# ---- welcome ----------------------------------------------------------------------------------


def test_welcome_creates_a_vault_shows_the_recovery_code_once_then_the_import(
    tmp_path: Path,
) -> None:
    folder, demo = tmp_path / "vault", tmp_path / "demo"
    app = KluisApp(folder=folder, demo_folder=demo, tz=UTC)
    shown: list[str] = []

    async def story(pilot: Pilot[Any]) -> None:
        screen = app.screen
        assert isinstance(screen, WelcomeScreen)
        await pilot.click("#welcome-create")
        await type_into(pilot, "#welcome-passphrase", "abc")
        await pilot.press("enter")
        await type_into(pilot, "#welcome-passphrase-again", "abc")
        await pilot.press("enter")
        assert "at least 4 characters" in text_of(screen, "#welcome-status")
        await type_into(pilot, "#welcome-passphrase", "my own vault")
        await type_into(pilot, "#welcome-passphrase-again", "my own vault!")
        await pilot.press("enter")
        assert "differ" in text_of(screen, "#welcome-status")
        assert not vault_exists(folder)
        await type_into(pilot, "#welcome-passphrase", "my own vault")
        await type_into(pilot, "#welcome-passphrase-again", "my own vault")
        await pilot.press("enter")
        await until(pilot, lambda: bool(screen.recovery_code), "the recovery code")
        shown.append(text_of(screen, "#welcome-code"))
        assert isinstance(app.screen, WelcomeScreen)  # not on before "written down"
        await pilot.click("#welcome-written")
        await until(pilot, lambda: isinstance(app.screen, ImportScreen), "the import screen")
        assert app.unlocked
        await pilot.press("escape")
        main = app.main
        await until(pilot, lambda: main.companies.loaded, "the company list")
        assert main.query_one(EmptyVaultHint).display
        assert "ctrl+o" in text_of(main, "#empty-hint")

    run(app, story)
    assert app.opened is not None
    app.opened.close()
    keyfile = keymod.load_keys(folder)
    assert keymod.unwrap_with_recovery_code(keyfile, shown[0])
    assert keymod.unwrap_with_passphrase(keyfile, "my own vault")
    assert not demo.exists()


@pytest.mark.slow
def test_welcome_builds_the_demo_beside_the_real_vault_and_opens_it(tmp_path: Path) -> None:
    folder, demo = tmp_path / "vault", tmp_path / "demo"
    app = KluisApp(folder=folder, demo_folder=demo, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        screen = app.screen
        assert isinstance(screen, WelcomeScreen)
        assert '"demo"' in text_of(screen, "#welcome-choices Horizontal Static")
        await pilot.click("#welcome-demo")
        assert "Building the demo vault" in text_of(screen, "#welcome-status")
        await until(pilot, lambda: app.unlocked, "the demo's main screen", seconds=240)
        await until(pilot, lambda: len(app.company_rows()) > 20, "the demo's companies")
        # The notice sits over the item pane: a reminder of what the welcome said, briefly.
        [notice] = [n for n in app._notifications if "demo" in str(n.message)]
        assert notice.timeout <= 3

    run(app, story)
    assert app.opened is not None
    app.opened.close()
    assert vault_exists(demo) and not folder.exists()
