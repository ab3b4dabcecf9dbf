"""The import screen (ctrl+o): paths with completion, detected formats, progress, stop, summary.

Real vaults in tmp folders, real fixture files through the real importers and ingest, the real
app driven headless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from textual.pilot import Pilot
from textual.widgets import Input

import importers
from tests.support import PASSPHRASE
from tests.tui_support import text_of, until
from tui.app import KluisApp, help_sections
from tui.import_screen import ImportScreen
from tui.main_screen import EmptyVaultHint
from vault.doctor import run_checks
from vault.imports import detect_format, import_options, import_source
from vault.store import Store
from vault.unlock import PassphraseSource

FIXTURES = Path(__file__).parent / "fixtures"
MBOX = FIXTURES / "mbox" / "inbox.mbox"
WHATSAPP = FIXTURES / "whatsapp" / "WhatsApp Chat with Fietsenwinkel Jansen.txt"
SIZE = (140, 40)


def run(store: Store, story: Callable[[KluisApp, Pilot[Any]], Awaitable[None]]) -> None:
    """Play ``story`` against the app on ``store``, its company list read first."""
    app = KluisApp(store, tz=UTC)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.main.companies.loaded, "the company list")
            await story(app, pilot)

    asyncio.run(main())


async def open_import(app: KluisApp, pilot: Pilot[Any]) -> ImportScreen:
    """ctrl+o, as a user opens it."""
    await pilot.press("ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, ImportScreen), "the import screen")
    screen = app.screen
    assert isinstance(screen, ImportScreen)
    return screen


async def add(pilot: Pilot[Any], screen: ImportScreen, path: Path | str) -> None:
    """Type a path and Enter; wait until kluis has looked at it."""
    field = screen.query_one("#import-path", Input)
    field.focus()
    field.value = str(path)
    await pilot.press("enter")
    await until(pilot, lambda: screen.detecting == 0, "the detected format")


async def start_and_finish(pilot: Pilot[Any], screen: ImportScreen) -> None:
    """Start the import and wait for its summary."""
    await pilot.click("#import-start")
    await until(pilot, lambda: screen.finished, "the import's summary", seconds=120)


def interactions(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(text("SELECT count(*) FROM interaction")).scalar_one())


def test_an_empty_vault_says_to_press_ctrl_o_instead_of_blank_panes(store: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        hint = app.main.query_one(EmptyVaultHint)
        assert hint.display and not app.main.query_one("#panes").display
        assert "press ctrl+o to import your mail, chats or bookings" in text_of(
            app.main, "#empty-hint"
        )

    run(store, story)


def test_importing_mail_and_a_chat_shows_counts_quarantine_and_reloads_the_companies(
    store: Store,
) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        screen = await open_import(app, pilot)
        await add(pilot, screen, MBOX)
        await add(pilot, screen, WHATSAPP)
        rows = screen.rows
        assert [row.format_name for row in rows] == ["mbox", "whatsapp"]
        assert "mail (mbox)" in text_of(rows[0], ".source-format")
        assert "WhatsApp chat" in text_of(rows[1], ".source-format")
        await start_and_finish(pilot, screen)
        mbox, chat = (row.summary for row in rows)
        assert mbox is not None and chat is not None
        assert (mbox.new, mbox.duplicate, mbox.quarantined) == (20, 0, 1)
        assert (chat.new, chat.quarantined) == (8, 0)
        assert "20 new · 0 already there · 0 updated · 1 quarantined" in text_of(
            rows[0], ".source-counts"
        )
        summary = text_of(screen, "#import-summary")
        assert "In total: 28 new, 0 already in the vault, 0 updated, 1 quarantined" in summary
        quarantine = text_of(screen, "#import-quarantine")
        assert f"{MBOX.resolve()}#" in quarantine and "not an RFC 822 mail" in quarantine
        await pilot.press("escape")
        main = app.main
        await until(pilot, lambda: len(main.companies.entries) > 3, "the reloaded company list")
        assert not main.query_one(EmptyVaultHint).display
        names = {entry.name for entry in main.companies.entries}
        assert "Fietsenwinkel Jansen" in names
        await until(pilot, lambda: main.timeline.company_id is not None, "an open timeline")

    run(store, story)
    assert interactions(store) == 28


def test_an_unknown_or_missing_path_is_a_clear_message_and_not_added(
    store: Store, tmp_path: Path
) -> None:
    unknown = tmp_path / "notes.bin"
    unknown.write_bytes(b"\x00\x01 not anything kluis reads")

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        screen = await open_import(app, pilot)
        await add(pilot, screen, unknown)
        status = text_of(screen, "#import-status")
        assert "does not recognise this file's format" in status and "WhatsApp" in status
        await add(pilot, screen, tmp_path / "nowhere.mbox")
        assert "No such file or folder" in text_of(screen, "#import-status")
        assert screen.rows == []
        assert screen.query_one("#import-start").disabled

    run(store, story)


def test_tab_completes_folders_and_files_from_the_home_folder(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "Exports").mkdir()
    (tmp_path / "Exports" / "whatsapp-fiets.txt").write_bytes(WHATSAPP.read_bytes())

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        screen = await open_import(app, pilot)
        field = screen.query_one("#import-path", Input)
        await pilot.press("~", "/", "E", "x", "tab")
        assert field.value == "~/Exports/"
        await pilot.press("w", "tab")
        assert field.value == "~/Exports/whatsapp-fiets.txt"
        await pilot.press("enter")
        await until(pilot, lambda: screen.detecting == 0, "the detected format")
        assert [row.format_name for row in screen.rows] == ["whatsapp"]

    run(store, story)


def test_a_bad_time_zone_is_refused_before_anything_is_imported(store: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        screen = await open_import(app, pilot)
        await add(pilot, screen, WHATSAPP)
        screen.query_one("#import-zone", Input).value = "Mars/Olympus"
        await pilot.click("#import-start")
        await until(pilot, lambda: not screen.running, "the refusal")
        assert "Unknown time zone 'Mars/Olympus'" in text_of(screen, "#import-status")
        assert not screen.finished and not screen.query_one("#import-start").disabled

    run(store, story)
    assert interactions(store) == 0


def write_mbox(path: Path, count: int) -> Path:
    """An mbox of ``count`` small mails from a few shops."""
    shops = ["bol.com", "coolblue.nl", "ns.nl", "klm.com"]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            shop = shops[n % len(shops)]
            out.write(
                f"From news@{shop} Mon Jan  1 10:00:00 2024\n"
                f"From: {shop} <news@{shop}>\nTo: me@example.org\n"
                f"Message-ID: <{n}@{shop}>\nDate: Mon, 1 Jan 2024 10:{n % 60:02d}:00 +0000\n"
                f"Subject: Nieuws {n}\n\nNieuwsbrief nummer {n}.\n\n"
            )
    return path


def test_stopping_mid_import_keeps_a_consistent_vault_and_a_reimport_adds_the_rest(
    store: Store, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = 12_000
    box = write_mbox(tmp_path / "big.mbox", total)

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        screen = await open_import(app, pilot)
        await add(pilot, screen, box)
        await pilot.click("#import-start")
        row = screen.rows[0]
        # Press Esc as soon as the first batch shows: waiting for the app to be idle first
        # (as `until` does) can take as long as the whole import on a fast machine.
        for _ in range(2400):
            if row.summary is not None:
                break
            await pilot.pause(0.05)
        assert row.summary is not None, "the first batch never showed"
        await pilot.press("escape")
        await until(pilot, lambda: screen.finished, "the stopped import", seconds=120)
        assert row.state == "stopped"
        assert "Stopped." in text_of(screen, "#import-summary")
        assert "carry on where it stopped" in text_of(screen, "#import-summary")

    run(store, story)
    kept = interactions(store)
    assert 0 < kept < total
    monkeypatch.setenv("KLUIS_PASSPHRASE", PASSPHRASE)
    assert run_checks(vault_dir, PassphraseSource()).ok
    options = import_options(store, timezone="UTC")
    again, _ = import_source(store, importers, box, detect_format(importers, box), options)
    assert again.new == total - kept
    assert interactions(store) == total


def test_ctrl_o_is_in_the_help_and_the_command_palette(store: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Import" in titles
        keys = [
            (b.key, b.description)
            for section in help_sections()
            for b in section.bindings
            if hasattr(b, "key")
        ]
        assert ("ctrl+o", "Import") in keys

    run(store, story)
