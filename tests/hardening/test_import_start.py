"""What an import loads (issue 21): the writer works on plain DB-API connections, so a ``kluis
import`` loads neither SQLAlchemy (a quarter of a second of the importing process's start,
before the first mail was parsed) nor the app."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hardening.generate import write_mbox
from tests.hardening.harness import Kluis, modules_loaded

NOT_NEEDED = ("sqlalchemy", "sqlmodel", "textual", "tui")


def test_an_import_loads_neither_sqlalchemy_nor_the_app(kluis: Kluis, tmp_path: Path) -> None:
    mbox = write_mbox(tmp_path / "shops.mbox", 40)
    (*output, loaded), stderr = modules_loaded(
        kluis.env(), NOT_NEEDED, "import", str(mbox), "--json"
    )
    assert loaded == "0 []", (output, stderr)
    assert json.loads("\n".join(output))["new"] == 40
