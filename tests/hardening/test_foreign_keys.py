"""A keys.json that is not this vault's says so, and one that is not a file never hangs.

keys.json records its database (a hash of the vault id and the salt that starts vault.db), so a
keys.json copied from another vault, or one whose vault id was changed, is named as such instead
of "wrong passphrase". keys.json as a FIFO or a link to ``/dev/zero`` is one line within
seconds. Every case runs the real CLI, and a refused unlock changes no file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from cli import exits
from tests.hardening.harness import Kluis, assert_clean_failure, make_vault, snapshot
from vault import keys as keymod

FOREIGN = "keys.json does not belong to this vault"
QUICK = 20.0
"""Seconds within which a keys.json that is not a file must be refused (start-up included)."""


def refused(kluis: Kluis, exit_code: int = 1, timeout: float = 120.0) -> str:
    """``kluis companies`` fails in one line and changes no file; the line."""
    before = snapshot(kluis.vault)
    line = assert_clean_failure(kluis.run("companies", timeout=timeout), exit_code)
    assert snapshot(kluis.vault) == before, "a refused unlock changed a file of the vault"
    return line


@pytest.mark.parametrize("passphrase", ["the same passphrase", "another passphrase"])
def test_keys_json_of_another_vault_says_it_does_not_belong(
    kluis: Kluis, tmp_path: Path, passphrase: str
) -> None:
    other = tmp_path / "other"
    make_vault(other, kluis.passphrase if passphrase == "the same passphrase" else "x y z w v")
    shutil.copy2(other / "keys.json", kluis.vault / "keys.json")
    assert FOREIGN in refused(kluis)


def test_keys_json_with_a_changed_vault_id_says_it_does_not_belong(kluis: Kluis) -> None:
    path = kluis.vault / "keys.json"
    document = json.loads(path.read_bytes())
    document["vault_id"] = "0" * 32
    path.write_text(json.dumps(document))
    assert FOREIGN in refused(kluis)


def test_a_wrong_passphrase_on_the_vaults_own_keys_is_still_a_wrong_passphrase(
    kluis: Kluis,
) -> None:
    kluis.passphrase = "not the passphrase"
    assert refused(kluis, exits.NO_PASSPHRASE) == "kluis: wrong passphrase"


def test_keys_json_of_an_older_kluis_without_the_database_record_still_opens(
    kluis: Kluis,
) -> None:
    path = kluis.vault / "keys.json"
    document = json.loads(path.read_bytes())
    del document["database"]
    path.write_text(json.dumps(document))
    assert kluis.run("companies").returncode == 0
    kluis.passphrase = "not the passphrase"
    # nothing to tell it apart by
    assert refused(kluis, exits.NO_PASSPHRASE) == "kluis: wrong passphrase"


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


@pytest.mark.parametrize(
    ("make", "kind"), [(_fifo, "a FIFO"), (_dev_zero, "a character device")], ids=["fifo", "zero"]
)
def test_keys_json_that_is_not_a_file_is_one_line_within_seconds(
    kluis: Kluis, make: object, kind: str
) -> None:
    assert callable(make)
    make(kluis.vault / "keys.json")
    started = time.monotonic()
    line = refused(kluis, timeout=QUICK)
    assert "keys.json" in line and kind in line, line
    assert time.monotonic() - started < QUICK


def test_the_keys_of_a_restored_vault_know_their_database(kluis: Kluis, tmp_path: Path) -> None:
    out = tmp_path / "vault.kluisbak"
    assert kluis.run("backup", "--out", str(out)).returncode == 0
    restored = tmp_path / "restored"
    assert kluis.run("restore", str(out), "--vault", str(restored)).returncode == 0
    assert keymod.load_keys(restored).database is not None  # and load_keys found it matches
    kluis.vault = tmp_path / "other"
    make_vault(kluis.vault, kluis.passphrase)
    shutil.copy2(restored / "keys.json", kluis.vault / "keys.json")
    assert FOREIGN in refused(kluis)
