"""The app's small betrayals (issue 18): a jump that leaves the list where it was, a focus that
skips what is offered first, an Esc that does nothing, help that lists a key that types, a
palette with two names for one thing, a preview of escaped JSON.

Each test drives the real app headless (pilot) on a real vault, as a person would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Button, ContentSwitcher, Input

from tests.support import PASSPHRASE, options
from tests.test_tui import fixture_items, searched
from tests.tui_support import SIZE, drive, settle
from tui.app import KluisApp, help_sections
from tui.main_screen import MainScreen
from tui.share_wizard import readable
from tui.welcome import WelcomeScreen
from vault.ingest import Ingestor
from vault.store import Store
from vault.unlock import create_vault


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """KLM with forty mails, bol.com, a chat: the fixed vault of the app's tests."""
    store, _ = create_vault(Path(tmp_path_factory.mktemp("glitches")) / "vault", PASSPHRASE)
    Ingestor(store, options("me@example.org", "me"), "test", "fixture").run(fixture_items())
    yield store
    store.close()


def cursor_on_screen(app: KluisApp) -> bool:
    """The timeline's cursor row is among the lines it shows."""
    timeline = app.timeline
    first, last = timeline.lines_of_row(timeline.cursor)
    top = int(timeline.scroll_offset.y)
    return top <= first and last < top + timeline.scrollable_content_region.height


def test_a_search_hit_in_the_company_shown_moves_the_timeline_to_it(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        for downs in (0, 25, 5, 36):
            await pilot.press("slash", *([] if downs else list("nieuwsbrief")))
            await searched(pilot)
            await pilot.press("enter", *["down"] * downs, "enter")
            await settle(pilot)
            assert isinstance(app.screen, MainScreen)
            hit = app.main.detail.item
            assert hit is not None and app.timeline.company_name == "KLM"
            item = app.timeline.current_item
            assert item is not None and item.id == hit["id"]
            assert cursor_on_screen(app), f"the hit {item.title!r} is off the timeline's screen"

    drive(vault, story)


def welcome(tmp_path: Path) -> KluisApp:
    """The app on a machine with no vault yet."""
    return KluisApp(folder=tmp_path / "vault", demo_folder=tmp_path / "demo", tz=UTC)


def test_the_welcome_focuses_the_demo_it_offers_first_and_esc_leaves_the_passphrase_form(
    tmp_path: Path,
) -> None:
    app = welcome(tmp_path)

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, WelcomeScreen)
            buttons = list(screen.query("#welcome-choices Button").results(Button))
            assert [b.id for b in buttons] == ["welcome-demo", "welcome-create"]
            assert app.focused is buttons[0]  # Enter takes what is offered first
            await pilot.press("tab", "enter")  # Create my vault: the passphrase form
            assert screen.query_one(ContentSwitcher).current == "welcome-new"
            assert isinstance(app.focused, Input)
            await pilot.press(*"half typed", "escape")
            assert screen.query_one(ContentSwitcher).current == "welcome-choices"
            assert app.focused is screen.query_one("#welcome-create")
            assert not (tmp_path / "vault").exists()

    asyncio.run(run())


def test_help_lists_no_letter_as_a_key_that_works_everywhere() -> None:
    # In the company list every letter is filter text: a letter "everywhere" is a lie.
    [everywhere] = [s for s in help_sections() if s.title == "Everywhere"]
    for binding in everywhere.bindings:
        assert isinstance(binding, Binding)
        for key in binding.key.split(","):
            assert len(key.strip()) > 1, f"{key!r} ({binding.description}) types in the filter"
    quits = {
        section.title
        for section in help_sections()
        for binding in section.bindings
        if isinstance(binding, Binding) and binding.action.endswith("quit")
    }
    assert {"Everywhere", "Timeline", "Item"} <= quits


def test_the_palette_has_one_command_for_the_keys(vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Help") == 1
        assert "Keys" not in titles

    drive(vault, story)


def test_the_palette_before_unlocking_has_no_second_keys_command(tmp_path: Path) -> None:
    app = welcome(tmp_path)

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "Keys" not in [c.title for c in app.get_system_commands(app.screen)]

    asyncio.run(run())


def test_json_in_a_share_preview_reads_as_fields_and_values() -> None:
    receipt = '{"consentReceiptID": "r-1", "services": [{"purpose": "Fietsverhuur \\u00e9"}]}'
    data = (
        '{"@type": "Person", "email": ["jan@example.org"], "receipt": %s}'
        % ('"' + receipt.replace('"', '\\"') + '"')
    ).encode()
    shown = readable("person.jsonld", data)
    assert shown.splitlines() == [
        "type: Person",
        "email: jan@example.org",
        "receipt:",
        "  consentReceiptID: r-1",
        "  services:",
        "    -",
        "      purpose: Fietsverhuur é",
    ]
    raw = readable("person.jsonld", data, raw_json=True)
    assert raw.startswith('{\n  "@type": "Person",') and "\\u00e9" not in raw
    assert readable("broken.json", b'{"half') == '{"half'  # not JSON: shown as it is
