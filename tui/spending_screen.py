"""What you pay ($): every company's total, by company, year or month, and for the company
under the cursor what you paid it each year (a bar per year) and its contracts.

Everything comes from one read of ``vault.spending.amounts`` in a worker, grouped here with
``vault.spending.totals`` (so the app's figures are the CLI's ``kluis spending``), and the
contracts of ``vault.spending.contracts`` on the same read. Currencies are never mixed: one row
and one bar scale per currency.
"""

from __future__ import annotations

from datetime import date, tzinfo
from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui.format import plural, safe
from vault.contracts import PERIOD_WORDS, Contract, money
from vault.spending import GROUPS, Amount, Total, amounts, contracts, totals
from vault.store import Store

BAR_CELLS = 20
EIGHTHS = " ▏▎▍▌▋▊▉"
GROUP_WORDS = {"company": "by company", "year": "by year", "month": "by month"}
STATUS_STYLES = {"active": "green", "ending": "yellow", "ended": "dim"}


def bar(value: Decimal, most: Decimal, cells: int = BAR_CELLS) -> str:
    """A bar of ``value`` against ``most`` in ``cells`` cells, in eighths of a cell (none for
    nothing paid, or more money back than paid)."""
    if most <= 0 or value <= 0:
        return ""
    full, part = divmod(int(value / most * cells * 8), 8)
    return "█" * full + (EIGHTHS[part] if part else "") or "▏"


def _most(rows: list[Total]) -> dict[str | None, Decimal]:
    most: dict[str | None, Decimal] = {}
    for row in rows:
        most[row.currency] = max(most.get(row.currency, Decimal(0)), row.total)
    return most


def span(first: date | None, last: date | None) -> str:
    """``2024-01-03 – 2024-12-03``, one day once."""
    if first is None or last is None:
        return ""
    return first.isoformat() if first == last else f"{first} – {last}"


def total_text(total: Total) -> str:
    """A total with its currency, ``~`` first when some of it was read from a mail's words."""
    return ("~" if total.guessed else "") + money(total.total, total.currency)


def year_chart(years: list[Total]) -> Text:
    """What one company was paid per year: a bar, the total with its currency, how often."""
    out = Text()
    most = _most(years)
    for row in sorted(years, key=lambda t: (t.key, t.currency or "")):
        out.append(f"{row.key}  ")
        out.append(f"{bar(row.total, most[row.currency]):<{BAR_CELLS}}", style="green")
        out.append(f"  {total_text(row):>15}", style="bold")
        out.append(f"  {plural(row.count, 'payment')}\n", style="dim")
    return out


def contract_text(contract: Contract) -> Text:
    """One contract: amount and period, a year's cost, since, next or ended, price changes."""
    out = Text()
    out.append(f"{money(contract.amount, contract.currency)} {PERIOD_WORDS[contract.period]}")
    out.append(f"  ({money(contract.yearly, contract.currency)} a year)", style="dim")
    out.append(f"  since {contract.since:%b %Y}  ")
    out.append(contract.status, style=STATUS_STYLES.get(contract.status, ""))
    if contract.next is not None:
        out.append(f", next {contract.next}")
    elif contract.status == "ended":
        out.append(f", last {contract.last}")
    if contract.ends_on is not None:
        out.append(f", ends {contract.ends_on}")
    for change in contract.changes:
        out.append(f"\n  {change.day:%b %Y}: {change.old} → {change.new}", style="yellow")
    return out


def company_money(name: str, years: list[Total], found: list[Contract]) -> Text:
    """The panel under the table: a company's years and contracts (nothing without amounts)."""
    if not years:
        return Text("")
    out = Text()
    out.append(f"Paid to {safe(name, 60)} per year\n", style="bold")
    out.append_text(year_chart(years))
    if found:
        out.append("Contracts\n", style="bold")
        for contract in found:
            out.append_text(contract_text(contract))
            out.append("\n")
    return out


class SpendingScreen(Screen[int | None]):
    """What you paid each company, year or month; the company under the cursor in detail.

    Enter on a company closes the screen with its id (the app opens its timeline)."""

    DEFAULT_CSS = """
    SpendingScreen #spending-title {
        padding: 0 1;
        text-style: bold;
    }
    SpendingScreen #spending-table {
        height: 1fr;
        min-height: 5;
    }
    SpendingScreen #spending-company {
        height: auto;
        max-height: 50%;
        padding: 0 1;
        border-top: solid $foreground 30%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "cycle_by", "By company/year/month", id="spending.by"),
        Binding("tab", "app.focus_next", "Scroll the company", show=False, id="spending.next"),
        Binding("escape", "close", "Back", id="spending.close"),
    ]

    class Loaded(Message):
        """The worker read every amount and the contracts."""

        def __init__(self, found: list[Amount], contracts: list[Contract]) -> None:
            super().__init__()
            self.found = found
            self.contracts = contracts

    def __init__(self, store: Store, zone: tzinfo, company_id: int | None = None) -> None:
        """Args:
        store: the open vault.
        zone: the app's one clock (days are counted in it).
        company_id: the company to put the cursor on (the open timeline's).
        """
        super().__init__()
        self.store = store
        self.zone = zone
        self.company_id = company_id
        self.by = "company"
        self.found: list[Amount] = []
        self.by_company: dict[int, list[Amount]] = {}
        self.contracts: list[Contract] = []
        self.rows: list[Total] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        """Title, the totals, the company under the cursor, footer."""
        yield Static("What you paid: reading…", id="spending-title")
        yield DataTable(cursor_type="row", id="spending-table")
        with VerticalScroll(id="spending-company"):
            yield Static("", id="spending-company-text")
        yield Footer()

    def on_mount(self) -> None:
        """Read every amount."""
        self.query_one("#spending-table", DataTable).focus()
        self.query_one("#spending-company").display = False
        self._load()

    @work(thread=True, exclusive=True, group="spending", description="Reading what you paid")
    def _load(self) -> None:
        with self.store.reader() as conn:
            found = amounts(conn, self.zone)
            found_contracts = contracts(conn, self.zone, found)
        self.post_message(self.Loaded(found, found_contracts))

    def on_spending_screen_loaded(self, message: Loaded) -> None:
        """Fill the table."""
        message.stop()
        self.found, self.contracts = message.found, message.contracts
        self.by_company = {}
        for amount in self.found:
            self.by_company.setdefault(amount.company_id, []).append(amount)
        self.loaded = True
        self._fill()

    def _fill(self) -> None:
        table: DataTable[Text] = self.query_one("#spending-table", DataTable)
        table.clear(columns=True)
        first = "Company" if self.by == "company" else self.by.capitalize()
        table.add_columns(first, "Total", "", "Items", "First – last")
        self.rows = totals(self.found, self.by)
        most = _most(self.rows)
        for row in self.rows:
            label = row.company if self.by == "company" else row.key
            table.add_row(
                Text(safe(label, 40)),
                Text(total_text(row), style="bold", justify="right"),
                Text(bar(row.total, most[row.currency], 12), style="green"),
                Text(f"{row.count:,}", justify="right"),
                Text(span(row.first, row.last), style="dim"),
            )
        place = next((n for n, row in enumerate(self.rows) if row.company_id == self.company_id), 0)
        if self.rows:
            table.move_cursor(row=place)
        self._title()
        self._show_company(table.cursor_row)

    def _title(self) -> None:
        if not self.rows:
            words = (
                "What you paid: no amounts yet. Import a bank statement (CAMT.053, MT940, OFX "
                "or your bank's CSV), or order and invoice mails."
            )
        else:
            words = f"What you paid, {GROUP_WORDS[self.by]}: {plural(len(self.rows), 'row')}"
        self.query_one("#spending-title", Static).update(Text(words))

    @on(DataTable.RowSelected, "#spending-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        """Enter on a company: back to its timeline."""
        if self.by == "company" and 0 <= event.cursor_row < len(self.rows):
            self.dismiss(self.rows[event.cursor_row].company_id)

    @on(DataTable.RowHighlighted, "#spending-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_company(event.cursor_row)

    def _show_company(self, row: int) -> None:
        """Under the table: the company of the cursor's row, its years and its contracts."""
        panel = self.query_one("#spending-company")
        total = self.rows[row] if self.by == "company" and 0 <= row < len(self.rows) else None
        if total is None or total.company_id is None:
            panel.display = False
            return
        self.company_id = total.company_id
        mine = self.by_company.get(total.company_id, [])
        found = [c for c in self.contracts if c.company_id == total.company_id]
        text = company_money(total.company or "", totals(mine, "year"), found)
        self.query_one("#spending-company-text", Static).update(text)
        panel.display = bool(text)

    def action_cycle_by(self) -> None:
        """b: totals by company, by year, by month."""
        self.by = GROUPS[(GROUPS.index(self.by) + 1) % len(GROUPS)]
        if self.loaded:
            self._fill()

    def action_close(self) -> None:
        """Esc: back."""
        self.dismiss(None)
