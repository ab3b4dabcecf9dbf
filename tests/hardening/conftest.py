"""Fixtures of the hardening suite (the harness itself is in ``harness.py``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hardening.harness import FIGURES, Kluis, make_vault


@pytest.fixture(scope="session")
def template_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One empty vault, copied for each test that needs one (creating costs a migration)."""
    folder = tmp_path_factory.mktemp("template") / "vault"
    make_vault(folder)
    return folder


@pytest.fixture
def kluis(tmp_path: Path, template_vault: Path) -> Iterator[Kluis]:
    """A fresh vault and a private HOME and TMPDIR for the CLI."""
    vault = tmp_path / "vault"
    shutil.copytree(template_vault, vault)
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    yield Kluis(vault, home, tmp)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures of the run: kills survived, hostile inputs per class, canary hits."""
    if not any(FIGURES.values()):
        return
    write = terminalreporter.write_line
    terminalreporter.section("hardening figures")
    for kind, figures in FIGURES.items():
        if figures:
            write(f"{kind}: " + ", ".join(f"{k}: {v:,}" for k, v in figures.items()))
