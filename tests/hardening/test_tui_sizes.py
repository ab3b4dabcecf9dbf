"""Every screen of the app at 80×24 and at 120×36 (issue 18): snapshots of each, and pilot
checks that the widgets a person needs are on the screen, drawn on top, at the small size.

"On the screen" means the middle of the widget's region is inside the terminal and the widget
(or one of its children) is what the terminal shows there: a field scrolled under the buttons
or a column past the edge fails. The vault is the app tests' fixed one plus Jan's profile and
his mail with Fietsverhuur Centrum, so "what a company knows" has evidence to show.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from tests.fixtures.share.vaults import HERE as SHARE_FIXTURES
from tests.fixtures.share.vaults import fill_profile, import_share_mail
from tests.support import PASSPHRASE, options
from tests.test_tui import fixture_items, searched
from tests.test_tui_money import choose, import_bank_year
from tests.test_tui_sharing import company_data, share_vcard_or_jsonld
from tests.tui_support import make_app, settle, until
from tui.app import KluisApp
from tui.company_data import CompanyDataScreen, evidence_text
from tui.gdpr_screen import GdprScreen
from tui.import_screen import ImportScreen
from tui.profile_screen import ProfileScreen
from tui.spending_screen import SpendingScreen
from tui.suggestions_screen import SuggestionsScreen
from vault.ingest import Ingestor
from vault.store import Store
from vault.unlock import create_vault

SMALL, LARGE = (80, 24), (120, 36)
SIZES = {"80x24": SMALL, "120x36": LARGE}
# Fixed folders: the welcome and unlock screens name their vault's folder.
NO_VAULT = Path("/nonexistent/kluis-snapshot/vault")
Prepare = Callable[[Pilot[Any]], Awaitable[None]]


SNAPSHOT_SOURCES = Path("/tmp/kluis-snapshot-sources")
"""Where the mails the snapshots show are imported from: the item pane shows a mail's source
path, so it must be the same on every machine and checkout."""


def stable_copy(folder: Path) -> Path:
    """``folder``'s files copied to the same path on every machine."""
    target = SNAPSHOT_SOURCES / folder.name
    target.mkdir(parents=True, exist_ok=True)
    for file in folder.glob("*.eml"):
        (target / file.name).write_bytes(file.read_bytes())
    return target


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The app tests' vault, with Jan's profile and his Fietsverhuur mail."""
    store, _ = create_vault(Path(tmp_path_factory.mktemp("sizes")) / "vault", PASSPHRASE)
    Ingestor(store, options("me@example.org", "me"), "test", "fixture").run(fixture_items())
    import_share_mail(store, stable_copy(SHARE_FIXTURES))
    fill_profile(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def bank_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A year of bank payments (the spending screen's figures)."""
    store, _ = create_vault(Path(tmp_path_factory.mktemp("sizes-bank")) / "vault", PASSPHRASE)
    import_bank_year(store)
    yield store
    store.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of the test's own (the share wizard proposes a file there)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def still(pilot: Pilot[Any]) -> None:
    """No blinking cursor: a snapshot must not depend on when it was taken."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


async def on_screen_of(pilot: Pilot[Any], kind: type, what: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), what)
    await until(pilot, lambda: getattr(pilot.app.screen, "loaded", True), what)
    await settle(pilot)


async def main(pilot: Pilot[Any]) -> None:
    await settle(pilot)


async def item(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("enter", "enter")
    await settle(pilot)


async def search(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("slash", *"boeking")
    still(pilot)
    await searched(pilot)


async def help_screen(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


async def import_screen(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+o")
    await on_screen_of(pilot, ImportScreen, "the import screen")
    still(pilot)


async def knows(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    assert isinstance(pilot.app, KluisApp)
    await company_data(pilot.app, pilot, "Fietsverhuur Centrum")
    await settle(pilot)


async def profile(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+u")
    await on_screen_of(pilot, ProfileScreen, "the profile")


async def gdpr(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+g")
    await on_screen_of(pilot, GdprScreen, "the GDPR screen")
    await pilot.press("right")  # the marketing and dormant accounts tab
    await settle(pilot)


async def suggestions(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+t")
    await on_screen_of(pilot, SuggestionsScreen, "the suggestions")
    await until(pilot, lambda: "…" not in str(pilot.app.screen.query_one("#suggest-title")))


async def spending(pilot: Pilot[Any]) -> None:
    """$ on Netflix: every company's total, Netflix's year and its contract."""
    await settle(pilot)
    assert isinstance(pilot.app, KluisApp)
    await choose(pilot.app, pilot, "Netflix")
    await pilot.press("dollar_sign")
    await on_screen_of(pilot, SpendingScreen, "the spending screen")


async def locked(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    still(pilot)
    await settle(pilot)


VAULT_SCREENS: dict[str, Prepare] = {
    "main": main,
    "item": item,
    "search": search,
    "help": help_screen,
    "import": import_screen,
    "knows": knows,
    "profile": profile,
    "gdpr": gdpr,
    "suggestions": suggestions,
}


@pytest.fixture(scope="module")
def unlock_folder() -> Iterator[Path]:
    """A vault at a fixed path (the unlock screen shows it)."""
    folder = Path("/tmp/kluis-snapshot-unlock/vault")
    shutil.rmtree(folder.parent, ignore_errors=True)
    create_vault(folder, PASSPHRASE)[0].close()
    yield folder
    shutil.rmtree(folder.parent, ignore_errors=True)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", VAULT_SCREENS)
def test_snapshot(vault: Store, home: Path, snap_compare: Any, name: str, size: str) -> None:
    app = make_app(vault)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=VAULT_SCREENS[name])


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_spending(bank_vault: Store, snap_compare: Any, size: str) -> None:
    app = make_app(bank_vault)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=spending)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_welcome(snap_compare: Any, size: str) -> None:
    app = KluisApp(folder=NO_VAULT, demo_folder=NO_VAULT.parent / "demo", tz=UTC)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=locked)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_unlock(unlock_folder: Path, snap_compare: Any, size: str) -> None:
    app = KluisApp(folder=unlock_folder, tz=UTC)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=locked)


# ---- what must be on the screen at 80×24 -----------------------------------------------------


def shown(app: KluisApp, selector: str) -> bool:
    """``selector``'s widget is drawn (on top) at the middle of its region, inside the terminal."""
    screen = app.screen
    widget = screen.query_one(selector)
    region = widget.region
    x, y = region.x + region.width // 2, region.y + region.height // 2
    if not (region and screen.region.contains(x, y)):
        return False
    found: Widget | None = screen.get_widget_at(x, y)[0]
    while found is not None and found is not widget:
        found = found.parent if isinstance(found.parent, Widget) else None
    return found is widget


NEEDED: dict[str, list[str]] = {
    "main": ["#companies", "#timeline", "#detail", "Footer"],
    "import": ["#import-path", "#import-zone", "#import-me", "#import-start", "#import-cancel"],
    "knows": ["#data-knows", "#data-evidence", "#data-disclosures"],
    "gdpr": ["#gdpr-consent"],
    "suggestions": ["#suggest-table"],
    "profile": ["#profile-table"],
}


@pytest.mark.parametrize("name", NEEDED)
def test_what_a_screen_needs_is_on_an_80x24_terminal(vault: Store, home: Path, name: str) -> None:
    app = make_app(vault)

    async def run() -> None:
        async with app.run_test(size=SMALL) as pilot:
            await VAULT_SCREENS[name](pilot)
            for selector in NEEDED[name]:
                assert shown(app, selector), f"{selector} is out of view at 80×24 on {name}"

    asyncio.run(run())


def test_the_evidence_a_company_has_is_readable_whole_at_80x24(vault: Store, home: Path) -> None:
    app = make_app(vault)

    async def run() -> None:
        async with app.run_test(size=SMALL) as pilot:
            await knows(pilot)
            data = app.screen
            assert isinstance(data, CompanyDataScreen) and data.evidence
            for evidence in data.evidence:
                if evidence:  # (an "… and N more" row has none)
                    said = " ".join(str(data.query_one("#data-evidence").render()).split())
                    assert evidence_text(evidence).plain in said
                    assert shown(app, "#data-evidence")
                await pilot.press("down")

    asyncio.run(run())


def test_what_you_paid_and_the_company_under_the_cursor_fit_80x24(bank_vault: Store) -> None:
    app = make_app(bank_vault)

    async def run() -> None:
        async with app.run_test(size=SMALL) as pilot:
            await spending(pilot)
            for selector in ("#spending-title", "#spending-table", "#spending-company", "Footer"):
                assert shown(app, selector), f"{selector} is out of view at 80×24"

    asyncio.run(run())


def test_the_share_preview_and_its_buttons_fit_80x24(vault: Store, home: Path) -> None:
    app = make_app(vault)

    async def run() -> None:
        async with app.run_test(size=SMALL) as pilot:
            await knows(pilot)
            await share_vcard_or_jsonld(app, pilot, "jsonld", home / "jan.jsonld", ["email"])
            for selector in ("#preview-summary", "#preview-scroll", "#share-confirm"):
                assert shown(app, selector), f"{selector} is out of view at 80×24"

    asyncio.run(run())


@pytest.mark.parametrize("with_vault", [False, True], ids=["welcome", "unlock"])
def test_the_first_screen_fits_80x24(unlock_folder: Path, with_vault: bool) -> None:
    folder = unlock_folder if with_vault else NO_VAULT
    app = KluisApp(folder=folder, demo_folder=NO_VAULT.parent / "demo", tz=UTC)
    needed = ["#unlock-passphrase", "#unlock-go"] if with_vault else ["#welcome-demo"]
    needed = needed if with_vault else [*needed, "#welcome-create"]

    async def run() -> None:
        async with app.run_test(size=SMALL) as pilot:
            await locked(pilot)
            for selector in needed:
                assert shown(app, selector), f"{selector} is out of view at 80×24"

    asyncio.run(run())
