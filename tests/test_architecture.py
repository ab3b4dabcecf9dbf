"""The layers of DESIGN, checked on every import statement of the code.

Every ``import`` and ``from … import`` is read with ``ast``: module-level, lazy (inside a
function) and ``TYPE_CHECKING`` ones alike, so a lazy import cannot hide a wrong arrow.
The core ``vault`` imports no face (``cli``, ``tui``) and no wing (``importers``,
``exports``, ``demo``); the wings import only the core; the faces import the core and the
wings for wiring, never each other, except the command line starting the app.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = ("vault", "importers", "exports", "demo", "cli", "tui")
"""The project's own top-level packages: every other import is the standard library or a
dependency and is not a layer."""

ALLOWED: dict[str, frozenset[str]] = {
    "vault": frozenset(),
    "importers": frozenset({"vault"}),
    "exports": frozenset({"vault"}),
    "demo": frozenset({"vault", "importers"}),
    "tui": frozenset({"vault", "importers", "exports", "demo"}),
    "cli": frozenset({"vault", "importers", "exports", "demo", "tui"}),
}
"""Who may import whom (a package may always import itself)."""

APP_LAUNCHERS = frozenset({"cli/launch.py"})
"""The one place of the command line that may import the app: it starts it."""


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in ``source``, however deeply nested."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def wrong_arrows(root: Path) -> list[str]:
    """Every import in the tree at ``root`` that points against the layers, one line each."""
    wrong: list[str] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for line, target in imported_packages(path.read_text(encoding="utf-8")):
                if target == package or target not in PACKAGES:
                    continue
                allowed = ALLOWED[package]
                if target == "tui" and package == "cli" and where not in APP_LAUNCHERS:
                    allowed = allowed - {"tui"}
                if target not in allowed:
                    wrong.append(f"{where}:{line} imports {target}")
    return wrong


def test_every_import_points_the_way_design_draws() -> None:
    assert wrong_arrows(ROOT) == []


def test_a_planted_wrong_arrow_is_caught_even_when_lazy(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "vault" / "store.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from exports.full import export_all\n"
        "def f():\n"
        "    import tui.app\n"
    )
    (tmp_path / "cli" / "commands.py").write_text("from tui.app import run_app\n")
    (tmp_path / "cli" / "launch.py").write_text("from tui.app import run_app\n")
    (tmp_path / "importers" / "mbox.py").write_text("import vault.records, exports\n")
    assert wrong_arrows(tmp_path) == [
        "vault/store.py:3 imports exports",
        "vault/store.py:5 imports tui",
        "importers/mbox.py:1 imports exports",
        "cli/commands.py:1 imports tui",
    ]


def test_importing_the_core_loads_no_face_and_no_wing() -> None:
    code = (
        "import sys, vault, vault.queries, vault.ingest, vault.search, vault.store;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        f"{('textual', *PACKAGES[1:])!r}];"
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
