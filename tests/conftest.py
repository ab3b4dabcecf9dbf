"""Shared fixtures: real vaults on disk (real SQLCipher, real Argon2id), records to ingest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import PASSPHRASE
from vault.store import Store
from vault.unlock import create_vault


@pytest.fixture
def vault_dir(tmp_path: Path) -> Path:
    """Where a test's vault lives (not created yet)."""
    return tmp_path / "vault"


@pytest.fixture
def store(vault_dir: Path) -> Iterator[Store]:
    """A new, open vault."""
    opened, _code = create_vault(vault_dir, PASSPHRASE)
    yield opened
    opened.close()


@pytest.fixture
def cli_env(vault_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment for running the CLI against ``vault_dir`` as a script would."""
    monkeypatch.setenv("KLUIS_VAULT", str(vault_dir))
    monkeypatch.setenv("KLUIS_PASSPHRASE", PASSPHRASE)
    return vault_dir
