"""A wrong key or a tampered vault is a clear one-line error that changes no file.

Each case runs ``kluis companies`` against a vault whose passphrase, ``keys.json`` (field by
field), or ``vault.db`` is wrong; it must exit 1 with one ``kluis: ...`` line, and every file of
the vault folder must stay byte-identical (no WAL, no SHM, no rewritten key file).
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cli import exits
from tests.hardening.harness import (
    Kluis,
    assert_clean_failure,
    make_vault,
    run_in_process,
    snapshot,
)
from tests.support import PASSPHRASE
from vault import keys as keymod
from vault.errors import VaultCorrupt

Tamper = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Tamper:
    def tamper(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = document
        for name in parents:
            target = target[name]
        target[last] = value

    return tamper


def _flip(path: str) -> Tamper:
    """Change one base64 character of a field: still valid base64, other bytes."""

    def tamper(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = document
        for name in parents:
            target = target[name]
        value = target[last]
        target[last] = ("B" if value[0] != "B" else "C") + value[1:]

    return tamper


def _drop(path: str) -> Tamper:
    def tamper(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = document
        for name in parents:
            target = target[name]
        del target[last]

    return tamper


TAMPERS: dict[str, Tamper] = {
    "format": _set("format", 2),
    "vault_id": _set("vault_id", "0" * 32),
    "kdf.name": _set("kdf.name", "scrypt"),
    "kdf.memory_kib": _set("kdf.memory_kib", 65 * 1024),
    "kdf.iterations": _set("kdf.iterations", 2),
    "kdf.lanes": _set("kdf.lanes", 2),
    "kdf.salt": _flip("kdf.salt"),
    "kdf.salt not base64": _set("kdf.salt", "%%%"),
    "wraps.passphrase.nonce": _flip("wraps.passphrase.nonce"),
    "wraps.passphrase.ciphertext": _flip("wraps.passphrase.ciphertext"),
    "wraps.passphrase missing": _drop("wraps.passphrase"),
    "wraps not an object": _set("wraps", []),
    "kdf.memory_kib a string": _set("kdf.memory_kib", "65536"),
}

OUT_OF_BOUNDS: dict[str, Tamper] = {
    "memory below 19 MiB": _set("kdf.memory_kib", 1024),
    "memory of a terabyte": _set("kdf.memory_kib", 2**30),
    "no iterations": _set("kdf.iterations", 0),
    "a billion iterations": _set("kdf.iterations", 10**9),
    "no lanes": _set("kdf.lanes", 0),
    "65 lanes": _set("kdf.lanes", 65),
    "an 8-byte salt": _set("kdf.salt", "AAAAAAAAAAA="),
}


def refused_without_a_change(kluis: Kluis, exit_code: int = 1) -> str:
    before = snapshot(kluis.vault)
    line = assert_clean_failure(run_in_process(kluis, "companies"), exit_code)
    assert snapshot(kluis.vault) == before, "a refused unlock changed a file of the vault"
    return line


def rewrite_keys(folder: Path, tamper: Tamper) -> None:
    path = folder / "keys.json"
    document = json.loads(path.read_bytes())
    tampered = copy.deepcopy(document)
    tamper(tampered)
    path.write_text(json.dumps(tampered))


def test_a_wrong_passphrase_is_one_line_and_changes_no_file(kluis: Kluis) -> None:
    kluis.passphrase = "not the passphrase"
    assert "wrong passphrase" in refused_without_a_change(kluis, exits.NO_PASSPHRASE)


@pytest.mark.parametrize("field", list(TAMPERS))
def test_a_tampered_key_file_is_refused_and_nothing_changes(kluis: Kluis, field: str) -> None:
    rewrite_keys(kluis.vault, TAMPERS[field])
    # A well-formed header is the wrap's associated data: changed, no passphrase unwraps it
    # (12); a malformed one is a damaged keys.json (1).
    refused_without_a_change(kluis, exits.NO_PASSPHRASE if field in UNWRAPS_NOT else exits.FAILED)


UNWRAPS_NOT = {
    "kdf.memory_kib",
    "kdf.iterations",
    "kdf.lanes",
    "kdf.salt",
    "wraps.passphrase.nonce",
    "wraps.passphrase.ciphertext",
}


@pytest.mark.parametrize("field", ["keys.json truncated", "keys.json empty", "keys.json binary"])
def test_a_damaged_key_file_is_refused_and_nothing_changes(kluis: Kluis, field: str) -> None:
    path = kluis.vault / "keys.json"
    data = path.read_bytes()
    path.write_bytes(
        {
            "keys.json truncated": data[: len(data) // 2],
            "keys.json empty": b"",
            "keys.json binary": b"\xff\xfe\x00" * 50,
        }[field]
    )
    refused_without_a_change(kluis)


@pytest.mark.parametrize("cut", [0, 100, 16384, 16384 * 3])
def test_a_truncated_database_is_refused_and_nothing_changes(kluis: Kluis, cut: int) -> None:
    # Some mail first, so the database spans many pages.
    for n in range(3):
        mail = kluis.home / f"{n}.eml"
        mail.write_bytes(
            b"From: a@shop.example.com\nSubject: x\nDate: Mon, 1 Jan 2024 10:00:00 "
            + f"+0000\nMessage-ID: <{n}@x>\n\n".encode()
            + b"body " * 20_000
        )
        assert run_in_process(kluis, "import", str(mail)).returncode == 0
    path = kluis.vault / "vault.db"
    assert path.stat().st_size > 16384 * 4
    with path.open("r+b") as handle:
        handle.truncate(cut)
    refused_without_a_change(kluis)


def test_a_database_from_another_vault_is_refused_and_nothing_changes(
    kluis: Kluis, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    make_vault(other)
    shutil.copy2(other / "vault.db", kluis.vault / "vault.db")
    assert "another vault" in refused_without_a_change(kluis)


def test_keys_of_another_vault_are_refused_and_nothing_changes(
    kluis: Kluis, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    make_vault(other)  # same passphrase, other data key
    shutil.copy2(other / "keys.json", kluis.vault / "keys.json")
    refused_without_a_change(kluis)


@pytest.mark.parametrize("bound", list(OUT_OF_BOUNDS))
def test_argon2_parameters_out_of_bounds_are_refused_before_deriving(
    kluis: Kluis, bound: str
) -> None:
    rewrite_keys(kluis.vault, OUT_OF_BOUNDS[bound])
    started = time.perf_counter()
    with pytest.raises(VaultCorrupt, match="key-derivation"):
        keymod.unwrap_with_passphrase(keymod.load_keys(kluis.vault), PASSPHRASE)
    assert time.perf_counter() - started < 0.05
    assert "unsafe key-derivation parameters" in refused_without_a_change(kluis)
