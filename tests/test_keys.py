"""The vault's keys: wrapping, passphrase change, recovery, and refusing tampered files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import PASSPHRASE, mail, options

# An autouse fixture: every test here gets an empty in-memory keyring, never the user's.
from tests.test_tui_unlock import memory_keyring  # noqa: F401
from vault import keys as keymod
from vault.device import delete_device_key
from vault.errors import VaultCorrupt, WrongPassphrase
from vault.ingest import Ingestor
from vault.unlock import (
    PassphraseSource,
    create_vault,
    open_vault,
    open_vault_without_prompt,
    remember_on_device,
    set_new_passphrase,
)


def source(passphrase: str) -> PassphraseSource:
    return PassphraseSource(prompt=lambda _: passphrase, allow_env=False, allow_device=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_data_key_unwraps_only_with_the_right_passphrase() -> None:
    made = keymod.create_keys("first passphrase")
    assert keymod.unwrap_with_passphrase(made.keys, "first passphrase") == made.dek
    with pytest.raises(WrongPassphrase):
        keymod.unwrap_with_passphrase(made.keys, "first passphrasE")


def test_keys_json_holds_argon2id_at_design_strength_and_no_key_in_clear(vault_dir: Path) -> None:
    store, _ = create_vault(vault_dir, PASSPHRASE)
    store.close()
    document = json.loads((vault_dir / "keys.json").read_text())
    assert document["kdf"]["name"] == "argon2id"
    assert (
        document["kdf"]["memory_kib"],
        document["kdf"]["iterations"],
        document["kdf"]["lanes"],
    ) == (65536, 3, 4)
    assert sorted(document["wraps"]) == ["passphrase", "recovery"]
    assert (vault_dir / "keys.json").stat().st_mode & 0o777 == 0o600


def test_recovery_code_is_grouped_for_reading_aloud_and_forgives_typing() -> None:
    made = keymod.create_keys("a passphrase")
    groups = made.recovery_code.split("-")
    assert len(groups) == 7 and all(len(g) == 4 for g in groups)
    sloppy = made.recovery_code.lower().replace("-", " ").replace("0", "o")
    assert keymod.unwrap_with_recovery_code(made.keys, sloppy) == made.dek


def test_a_recovery_code_with_a_typo_is_caught_by_its_check_characters() -> None:
    made = keymod.create_keys("a passphrase")
    code = made.recovery_code
    first = code[0]
    typo = ("1" if first != "1" else "2") + code[1:]
    with pytest.raises(WrongPassphrase, match="typo"):
        keymod.unwrap_with_recovery_code(made.keys, typo)


@pytest.mark.parametrize(
    ("field", "value"),
    [("memory_kib", 8192), ("iterations", 0), ("lanes", 64), ("salt", "c2hvcnQ=")],
)
def test_weak_kdf_parameters_are_refused_before_deriving(field: str, value: object) -> None:
    made = keymod.create_keys("a passphrase")
    document = json.loads(made.keys.to_bytes())
    document["kdf"][field] = value
    with pytest.raises(VaultCorrupt, match="unsafe key-derivation"):
        keymod.KeyFile.from_bytes(json.dumps(document).encode())


def test_passphrase_change_keeps_all_data_and_the_old_one_stops_working(vault_dir: Path) -> None:
    store, code = create_vault(vault_dir, PASSPHRASE)
    Ingestor(store, options(), "test", "t").run([mail(1), mail(2)])
    store.close()
    keyfile = keymod.load_keys(vault_dir)
    dek = keymod.unwrap_with_passphrase(keyfile, PASSPHRASE)
    db_before = (vault_dir / "vault.db").read_bytes()
    keymod.rewrap_passphrase(keyfile, dek, "a new passphrase")
    keymod.save_keys(vault_dir, keyfile)
    assert (vault_dir / "vault.db").read_bytes() == db_before  # re-wrap only
    with pytest.raises(WrongPassphrase):
        open_vault(vault_dir, source(PASSPHRASE))
    reopened = open_vault(vault_dir, source("a new passphrase"))
    with reopened.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM interaction")).scalar() == 2
    reopened.close()
    # The recovery code made at init still opens the vault after the change.
    assert keymod.unwrap_with_recovery_code(keymod.load_keys(vault_dir), code) == dek
    assert sorted(p.name for p in vault_dir.iterdir() if "keys" in p.name) == ["keys.json"]


def test_wrong_passphrase_leaves_every_file_byte_identical(vault_dir: Path) -> None:
    store, _ = create_vault(vault_dir, PASSPHRASE)
    Ingestor(store, options(), "test", "t").run([mail(1)])
    store.close()
    before = snapshot(vault_dir)
    with pytest.raises(WrongPassphrase):
        open_vault(vault_dir, source("not it"))
    assert snapshot(vault_dir) == before


@pytest.mark.parametrize("field", ["vault_id", "nonce", "ciphertext", "format", "kdf"])
def test_tampered_keys_json_gives_a_clear_error(vault_dir: Path, field: str) -> None:
    store, _ = create_vault(vault_dir, PASSPHRASE)
    store.close()
    path = vault_dir / "keys.json"
    document = json.loads(path.read_text())
    if field == "vault_id":
        document["vault_id"] = "0" * 32
    elif field == "format":
        document["format"] = 99
    elif field == "kdf":
        document["kdf"]["iterations"] = 4
    else:
        blob = bytearray(keymod.base64.b64decode(document["wraps"]["passphrase"][field]))
        blob[0] ^= 1
        document["wraps"]["passphrase"][field] = keymod.base64.b64encode(bytes(blob)).decode()
    path.write_text(json.dumps(document))
    with pytest.raises((VaultCorrupt, WrongPassphrase)):
        open_vault(vault_dir, source(PASSPHRASE))


def test_truncated_keys_json_names_the_copy_an_older_kluis_kept(vault_dir: Path) -> None:
    store, _ = create_vault(vault_dir, PASSPHRASE)
    store.close()
    path = vault_dir / "keys.json"
    (vault_dir / "keys.json.bak").write_bytes(path.read_bytes())  # as kluis before 0.2 kept it
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(VaultCorrupt, match=r"keys\.json\.bak"):
        open_vault(vault_dir, source(PASSPHRASE))


def test_a_remembered_device_still_opens_after_a_passphrase_change_until_forgotten(
    vault_dir: Path,
) -> None:
    store, _ = create_vault(vault_dir, PASSPHRASE)
    store.close()
    keyfile = keymod.load_keys(vault_dir)
    dek = keymod.unwrap_with_passphrase(keyfile, PASSPHRASE)
    remember_on_device(vault_dir, keyfile, dek)
    set_new_passphrase(vault_dir, keymod.load_keys(vault_dir), dek, "plum orbit kettle lantern")
    device = PassphraseSource(allow_env=False)  # no prompt: only the keyring can open it
    opened = open_vault_without_prompt(vault_dir, device)
    assert opened is not None
    opened.close()
    with pytest.raises(WrongPassphrase):
        open_vault(vault_dir, source(PASSPHRASE))
    delete_device_key(keymod.load_keys(vault_dir).vault_id)
    assert open_vault_without_prompt(vault_dir, device) is None
