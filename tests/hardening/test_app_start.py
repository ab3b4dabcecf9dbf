"""The app's cold start (issue 21): to its main screen, companies listed and a timeline drawn,
it reads through the store's plain DB-API reader and never loads SQLAlchemy (a third of a
second of import)."""

from __future__ import annotations

from pathlib import Path

from tests.hardening.harness import Kluis, python_script
from tests.support import FIXTURES

_STARTED = """
import asyncio, os, sys
from pathlib import Path
from vault.unlock import PassphraseSource, open_vault
store = open_vault(Path(os.environ["KLUIS_VAULT"]), PassphraseSource())
from tui.app import KluisApp
app = KluisApp(store)
async def main():
    async with app.run_test(size=(140, 45)):
        while not app.main.companies.loaded or app.timeline.first_paint_at is None:
            await asyncio.sleep(0.01)
        print(len(app.main.companies.entries), "sqlalchemy" in sys.modules, flush=True)
asyncio.run(main())
store.close()
"""


def test_the_app_reaches_its_main_screen_without_sqlalchemy(kluis: Kluis) -> None:
    imported = kluis.run("import", str(FIXTURES / "email"), "--me", "me@example.org")
    assert imported.returncode in (0, 3), imported.stderr  # 3: some fixtures are quarantined
    done = python_script(kluis.env(), _STARTED)
    companies, loaded = done.stdout.split()
    assert int(companies) > 0 and loaded == "False", done.stderr


def test_every_read_of_the_app_goes_through_the_reader() -> None:
    # Store.read() hands out SQLAlchemy connections: one call on a screen's path loads it again.
    root = Path(__file__).resolve().parents[2] / "tui"
    found = [
        f"{path.name}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "store.read()" in line
    ]
    assert found == []
