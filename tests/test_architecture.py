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
from collections.abc import Iterator
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


def every_import(root: Path) -> Iterator[tuple[str, str, int, str]]:
    """(package, file, line, top-level package imported) of every import in the tree at ``root``."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for line, target in imported_packages(path.read_text(encoding="utf-8")):
                yield package, where, line, target


def wrong_arrows(root: Path) -> list[str]:
    """Every import in the tree at ``root`` that points against the layers, one line each."""
    wrong: list[str] = []
    for package, where, line, target in every_import(root):
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


STORE_LIBRARIES = frozenset({"sqlalchemy", "sqlmodel"})
"""The database libraries: only the store runs SQL with them."""

STORE_MODULES = frozenset({"vault/store.py", "vault/models.py"})
"""The store, and the models that declare its tables (SQLModel classes, and laying them out)."""


def store_library_imports(root: Path) -> list[str]:
    """Every import of SQLAlchemy or SQLModel outside the store, one line each: every other
    module runs SQL through ``vault.store``'s ``execute`` on an opaque connection."""
    return [
        f"{where}:{line} imports {target}"
        for _, where, line, target in every_import(root)
        if target in STORE_LIBRARIES and where not in STORE_MODULES
    ]


def test_only_the_store_imports_sqlalchemy() -> None:
    assert store_library_imports(ROOT) == []


def test_a_planted_sqlalchemy_import_is_caught_even_when_lazy(tmp_path: Path) -> None:
    planted = {
        # the store and the models may; a lazy or TYPE_CHECKING import elsewhere may not
        "vault/store.py": "from sqlalchemy import Connection\n",
        "vault/models.py": "from sqlmodel import SQLModel\n",
        "vault/queries.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from sqlalchemy import Connection\n",
        "tui/screen.py": "def f():\n    import sqlalchemy.exc\n",
        "exports/full.py": "from sqlmodel import select\n",
    }
    for name, source in planted.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(source)
    assert store_library_imports(tmp_path) == [
        "vault/queries.py:3 imports sqlalchemy",
        "exports/full.py:1 imports sqlmodel",
        "tui/screen.py:2 imports sqlalchemy",
    ]
