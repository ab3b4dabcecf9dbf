"""What an import loads (issue 21): the writer works on plain DB-API connections, so a ``kluis
import`` loads neither SQLAlchemy (a quarter of a second of the importing process's start,
before the first mail was parsed) nor the app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.hardening.generate import write_mbox
from tests.hardening.harness import Kluis

NOT_NEEDED = ("sqlalchemy", "sqlmodel", "textual", "tui")

_LOADED = (
    "import sys\n"
    "from cli.main import main\n"
    "status = main(sys.argv[2:])\n"
    "names = sys.argv[1].split(',')\n"
    "print(status, sorted(m for m in sys.modules if m in names or m.split('.')[0] in names))\n"
)


def test_an_import_loads_neither_sqlalchemy_nor_the_app(kluis: Kluis, tmp_path: Path) -> None:
    mbox = write_mbox(tmp_path / "shops.mbox", 40)
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, ",".join(NOT_NEEDED), "import", str(mbox), "--json"],
        env=kluis.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    *output, loaded = done.stdout.splitlines()
    assert loaded == "0 []", (done.stdout, done.stderr)
    assert json.loads("\n".join(output))["new"] == 40
