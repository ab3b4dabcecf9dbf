"""The app estimates a new passphrase as it is typed and refuses a weak one unless the user
ticks "Use it anyway": on the welcome screen's new vault and the unlock screen's recovery."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from tests.support import PASSPHRASE
from tests.test_tui_unlock import run, type_into
from tests.tui_support import text_of, until
from tui.app import KluisApp
from tui.strength import PassphraseStrength
from vault import keys as keymod
from vault.unlock import create_vault, vault_exists

WEAK = "hunter22"
STRONG = "plum orbit kettle lantern"


def insist_box(screen: Any) -> Checkbox:
    return screen.query_one(PassphraseStrength).query_one(Checkbox)


def test_a_weak_passphrase_for_a_new_vault_is_shown_refused_and_taken_when_insisted(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "vault"
    app = KluisApp(folder=folder, demo_folder=tmp_path / "demo", tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        screen = app.screen
        await pilot.click("#welcome-create")
        await type_into(pilot, "#welcome-passphrase", STRONG)
        assert text_of(screen, ".strength-line").startswith("Strength: good")
        assert not insist_box(screen).display
        screen.query_one("#welcome-passphrase", Input).clear()
        await type_into(pilot, "#welcome-passphrase", WEAK)
        line = text_of(screen, ".strength-line")
        assert line.startswith("Strength: weak") and "zxcvbn score" in line, line
        assert insist_box(screen).display
        await type_into(pilot, "#welcome-passphrase-again", WEAK)
        await pilot.press("enter")
        status = text_of(screen, "#welcome-status")
        assert "too weak" in status and "Use it anyway" in status, status
        assert not vault_exists(folder)
        insist_box(screen).value = True
        await pilot.click("#welcome-make")
        await until(pilot, lambda: bool(screen.recovery_code), "the recovery code")

    run(app, story)
    if app.opened is not None:
        app.opened.close()
    keymod.unwrap_with_passphrase(keymod.load_keys(folder), WEAK)


def test_a_weak_new_passphrase_after_the_recovery_code_is_refused(vault_dir: Path) -> None:
    store, code = create_vault(vault_dir, PASSPHRASE)
    store.close()
    keys_before = (vault_dir / "keys.json").read_bytes()
    app = KluisApp(folder=vault_dir, tz=UTC)

    async def story(pilot: Pilot[Any]) -> None:
        screen = app.screen
        await pilot.click("#unlock-forgot")
        await type_into(pilot, "#unlock-code", code)
        await type_into(pilot, "#unlock-new", WEAK)
        assert "zxcvbn score" in text_of(screen, ".strength-line")
        await type_into(pilot, "#unlock-new-again", WEAK)
        await pilot.press("enter")
        assert "too weak" in text_of(screen, "#unlock-status")
        assert not screen.busy

    run(app, story)
    assert (vault_dir / "keys.json").read_bytes() == keys_before
