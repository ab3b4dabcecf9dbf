"""The app's cold start (issue 21): the main screen reads the companies from the index alone and
loads no other screen's code, and what it shows is what the vault holds.

The company list and its sparklines are read with one count per company (and per month) on
ix_interaction_timeline; these tests hold them to a plain count of the vault's rows, at month
edges and after an import adds items while the app is open.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.support import PASSPHRASE, mail, options
from tests.tui_support import drive, until
from tui.app import KluisApp
from tui.format import sparkline
from vault.ingest import Ingestor
from vault.queries import list_companies
from vault.store import Store
from vault.unlock import create_vault

SENDERS = ("KLM <noreply@klm.com>", "Bol <info@bol.com>", "Ziggo <service@ziggo.nl>")

# Other screens open on a key; none of their code is needed to show the main screen.
NOT_AT_START = (
    "tui.search",
    "tui.company_data",
    "tui.company_actions",
    "tui.import_screen",
    "tui.suggestions_screen",
    "tui.spending_screen",
    "tui.gdpr_screen",
    "tui.profile_screen",
    "tui.unlock",
    "tui.help",
    "tui.save_attachment",
    "tui.date_range",
    "sqlalchemy",
)

_READY = """
import asyncio, sys
from pathlib import Path
from vault.unlock import PassphraseSource, open_vault
store = open_vault(Path(sys.argv[1]), PassphraseSource())
from tui.app import KluisApp
app = KluisApp(store)
async def main():
    async with app.run_test(size=(120, 36)):
        while not app.main.companies.loaded or app.timeline.first_paint_at is None:
            await asyncio.sleep(0.01)
        print(sorted(m for m in sys.modules if m in sys.argv[2].split(',')))
asyncio.run(main())
store.close()
"""


def _edges() -> list[datetime]:
    """Times at and around month edges in UTC over 14 months, so the 12-month sparkline has
    items on both sides of its first and last month's edges."""
    times = []
    for month in range(14):
        start = datetime(2023 + (month + 10) // 12, (month + 10) % 12 + 1, 1, tzinfo=UTC)
        times += [start, start - timedelta(seconds=1), start + timedelta(days=3, hours=month)]
    return times


def _fill(store: Store, times: list[datetime], first: int = 0) -> None:
    records = [
        mail(first + n, SENDERS[n % len(SENDERS)], when=when) for n, when in enumerate(times)
    ]
    Ingestor(store, options("me@example.org"), "test", "fixture").run(records)


def _expected(store: Store) -> dict[str, tuple[int, str]]:
    """Per company name: (items, sparkline) counted row by row in Python."""
    with store.reader() as conn:
        rows = conn.execute(
            "SELECT c.name, i.occurred_at FROM interaction i JOIN company c ON c.id = i.company_id"
        ).fetchall()
    newest = datetime.fromtimestamp(max(at for _, at in rows), UTC)
    months = [(newest.year * 12 + newest.month - 1 - back) for back in range(11, -1, -1)]
    per_month: Counter[tuple[str, int]] = Counter()
    for name, at in rows:
        when = datetime.fromtimestamp(at, UTC)
        per_month[(name, when.year * 12 + when.month - 1)] += 1
    totals = Counter(name for name, _ in rows)
    return {
        name: (total, sparkline([per_month[(name, m)] for m in months]))
        for name, total in totals.items()
    }


def _shown(app: KluisApp) -> dict[str, tuple[int, str]]:
    return {e.name: (e.interactions, e.spark) for e in app.company_rows()}


def test_the_app_lists_every_company_with_its_count_and_months(tmp_path: Path) -> None:
    store, _ = create_vault(tmp_path / "vault", PASSPHRASE)
    _fill(store, _edges())
    expected = _expected(store)

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        assert _shown(app) == expected
        with store.reader() as conn:
            listed = list_companies(conn)  # `kluis companies`: the same companies, same order
        assert [e.id for e in app.company_rows()] == [r.id for r in listed]

    drive(store, story)
    store.close()


def test_the_list_stays_right_after_an_import_adds_items(tmp_path: Path) -> None:
    store, _ = create_vault(tmp_path / "vault", PASSPHRASE)
    _fill(store, _edges())

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        later = [datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)]
        _fill(store, later + _edges()[:5], first=1000)
        app.main.reload()
        expected = _expected(store)
        await until(pilot, lambda: _shown(app) == expected, "the list to show the new items")

    drive(store, story)
    store.close()


def test_the_main_screen_comes_up_without_the_other_screens_code(tmp_path: Path) -> None:
    store, _ = create_vault(tmp_path / "vault", PASSPHRASE)
    _fill(store, _edges())
    store.close()
    done = subprocess.run(
        [sys.executable, "-c", _READY, str(tmp_path / "vault"), ",".join(NOT_AT_START)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KLUIS_PASSPHRASE": PASSPHRASE},
    )
    assert done.stdout.strip() == "[]", (done.stdout, done.stderr[-2000:])
