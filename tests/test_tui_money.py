"""What you pay, in the app (issue 20): on a vault holding a year of bank statements, $ lists
every company with its total, the company under the cursor shows what it was paid per year and
its contracts (Netflix with its price change), b groups by year and month, and the timeline
shows each payment's amount; the share wizard shares the payments with their amounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, RadioButton, SelectionList, Static

import importers
from tests.support import PASSPHRASE, options
from tests.test_tui_sharing import company_data, open_wizard
from tests.tui_support import drive, lines, press, settle, text_of, until
from tui.app import KluisApp
from tui.spending_screen import SpendingScreen
from vault.ingest import Ingestor
from vault.profile import set_value
from vault.store import Store
from vault.unlock import create_vault

BANK = Path(__file__).parent / "fixtures" / "bank" / "year-2024.camt053.xml"
ORDERS = Path(__file__).parent / "fixtures" / "orders"


def import_bank_year(store: Store) -> None:
    """A year of the fixture's CAMT.053 statement, as ``kluis import`` reads it."""
    opts = options("sanne@example.org")
    Ingestor(store, opts, "camt", str(BANK)).run(importers.load("camt").read(BANK, opts))


@pytest.fixture(scope="module")
def bank_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A vault with a year of payments: Netflix, bol.com, groceries, a cancelled gym."""
    store, _ = create_vault(Path(tmp_path_factory.mktemp("money")) / "vault", PASSPHRASE)
    import_bank_year(store)
    yield store
    store.close()


def shown(app: KluisApp, selector: str) -> str:
    """The text a Static of the current screen shows."""
    return str(app.screen.query_one(selector, Static).render())


def table_text(app: KluisApp) -> str:
    """Every cell of the spending table, one row a line."""
    table: DataTable[Any] = app.screen.query_one("#spending-table", DataTable)
    return "\n".join(
        "  ".join(str(cell) for cell in table.get_row_at(n)) for n in range(table.row_count)
    )


async def open_spending(app: KluisApp, pilot: Pilot[Any]) -> SpendingScreen:
    """$ from the main screen, then wait for the amounts."""
    await pilot.press("dollar_sign")
    await until(pilot, lambda: isinstance(app.screen, SpendingScreen), "the spending screen")
    screen = app.screen
    assert isinstance(screen, SpendingScreen)
    await until(pilot, lambda: screen.loaded, "the amounts read")
    return screen


async def choose(app: KluisApp, pilot: Pilot[Any], name: str) -> None:
    """Type ``name`` in the company list and open its timeline."""
    await pilot.press(*name)
    await settle(pilot)
    await until(pilot, lambda: app.timeline.company_name == name, f"{name}'s timeline")
    await settle(pilot)


def test_dollar_lists_every_company_you_paid_with_its_total(bank_vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await open_spending(app, pilot)
        rows = table_text(app)
        assert "Netflix  EUR 158.88" in rows
        assert "2024-01-03 – 2024-12-03" in rows
        assert "bol.com  EUR 134.44" in rows  # a refund lowers the total
        assert "Acme" not in rows  # a salary is income, not spending
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, SpendingScreen)

    drive(bank_vault, story)


def test_a_payment_shows_its_day_without_a_made_up_clock(bank_vault: Store) -> None:
    # A bank states the day only: the row and the item say "03 Dec", never "03 Dec 12:00".
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await choose(app, pilot, "Netflix")
        rows = [line for line in lines(app.timeline) if "Paid EUR" in line]
        assert rows and all("12:00" not in row for row in rows)
        assert any(" 03 Dec " in row for row in rows)
        await pilot.press("enter")
        await settle(pilot)
        when = [line for line in text_of(app.screen, "#detail-body").splitlines() if "When" in line]
        assert when and "12:00" not in when[0] and "2024" in when[0]

    drive(bank_vault, story)


def test_a_company_shows_its_year_and_the_netflix_price_change(bank_vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await choose(app, pilot, "Netflix")
        await open_spending(app, pilot)
        company = shown(app, "#spending-company-text")
        assert "Paid to Netflix per year" in company
        assert "2024" in company and "EUR 158.88" in company and "12 payments" in company
        assert "EUR 13.49 a month" in company
        assert "Mar 2024: 11.99 → 13.49" in company

    drive(bank_vault, story)


def test_b_groups_what_you_paid_by_year_then_month(bank_vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await open_spending(app, pilot)
        await pilot.press("b")
        await settle(pilot)
        assert table_text(app).startswith("2024  EUR ")
        assert "by year" in shown(app, "#spending-title")
        await pilot.press("b")
        await settle(pilot)
        assert table_text(app).startswith("2024-12  EUR ")
        assert not app.screen.query_one("#spending-company").display
        await pilot.press("b")
        await settle(pilot)
        assert "Netflix" in table_text(app)

    drive(bank_vault, story)


def test_enter_on_a_company_opens_its_timeline(bank_vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        screen = await open_spending(app, pilot)
        netflix = next(n for n, row in enumerate(screen.rows) if row.company == "Netflix")
        screen.query_one("#spending-table", DataTable).move_cursor(row=netflix)
        await pilot.press("enter")
        await until(pilot, lambda: app.timeline.company_name == "Netflix", "Netflix's timeline")
        assert not isinstance(app.screen, SpendingScreen)

    drive(bank_vault, story)


def test_the_timeline_shows_each_payments_amount(bank_vault: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await choose(app, pilot, "Netflix")
        lines = [app.timeline.render_line(y).text for y in range(app.timeline.size.height)]
        assert any("EUR 13.49" in line for line in lines), lines

    drive(bank_vault, story)


def test_totals_read_from_mail_words_are_marked_as_guesses(tmp_path: Path) -> None:
    store, _ = create_vault(tmp_path / "vault", PASSPHRASE)
    opts = options("sanne@example.org")
    Ingestor(store, opts, "eml", str(ORDERS)).run(importers.load("eml").read(ORDERS, opts))

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await open_spending(app, pilot)
        rows = table_text(app)
        assert "Coolblue  ~EUR 49.95" in rows and "Apple  ~USD 12.99" in rows

    try:
        drive(store, story)
    finally:
        store.close()


def test_a_vault_without_amounts_says_how_to_get_them(tmp_path: Path) -> None:
    store, _ = create_vault(tmp_path / "vault", PASSPHRASE)
    Ingestor(store, options("me@example.org"), "test", "none").run([])

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await open_spending(app, pilot)
        assert "no amounts yet" in shown(app, "#spending-title")
        assert not app.screen.query_one("#spending-company").display

    try:
        drive(store, story)
    finally:
        store.close()


def test_the_wizard_shares_the_payments_with_their_amounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store, _ = create_vault(tmp_path / "vault", PASSPHRASE)
    import_bank_year(store)
    with store.begin() as conn:
        set_value(conn, "name", "Sanne de Vries")
    out = tmp_path / "netflix.jsonld"

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await company_data(app, pilot, "Netflix")
        wizard = await open_wizard(app, pilot)
        wizard.query_one("#share-fields", SelectionList).select("name")
        wizard.query_one("#history-payments", RadioButton).value = True
        wizard.query_one("#format-jsonld", RadioButton).value = True
        wizard.query_one("#share-purpose", Input).value = "A double charge"
        await pilot.pause()
        wizard.query_one("#share-out", Input).value = str(out)
        await press(app, pilot, "#share-preview-button")
        await until(pilot, lambda: wizard.preview is not None, "the preview")
        assert "history: 12 payments" in " ".join(shown(app, "#preview-summary").split())
        await press(app, pilot, "#share-confirm")
        await until(pilot, lambda: wizard.result is not None, "the file")
        graph = json.loads(out.read_bytes())["@graph"]
        transfers = [n for n in graph if n["@type"] == "MoneyTransfer"]
        assert len(transfers) == 12 and transfers[-1]["amount"]["value"] == "13.49"

    try:
        drive(store, story)
    finally:
        store.close()
