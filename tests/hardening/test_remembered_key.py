"""A remembered key opens the vault for a script without keyring's backend search (issue 21).

The key lives in a real Secret Service (gnome-keyring on a private session bus, as on a Linux
desktop). ``kluis remember`` records which keyring backend holds it; a scripted ``kluis search``
then reads it from there over D-Bus without keyring, and falls back to keyring's own search when
that record is stale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import secret_service_daemon
from tests.hardening.harness import Kluis, modules_loaded
from vault import keys as keymod
from vault.secret_service import BACKEND

# What keyring's import and backend search bring, and a search with a remembered key does not need.
KEYRING_ONLY = ("keyring", "jaraco", "importlib_metadata", "http.client", "urllib.request")
# What only keyring's search of every backend (entry points) or its unused helpers execute: a key
# in a keyring named by the environment, keyring's config or the record is read without them.
SEARCH_ONLY = ("email", "http", "ssl", "socket", "more_itertools.more", "importlib_metadata._meta")

# What only a passphrase, a recovery code or a plain-text Secret Service session needs: a
# remembered key is opened with AES-GCM alone, and read from the Secret Service over D-Bus with
# only AES-CBC from cryptography (secretstorage loads cryptography's whole OpenSSL backend).
UNLOCK_ONLY = (
    "secretstorage",
    "cryptography.hazmat.backends",
    "cryptography.hazmat.primitives.asymmetric",
    "cryptography.hazmat.primitives.kdf",
)

# What a read command imports lazily and never runs (cli.main.READ_LAZILY), seen by what running
# it would import: subprocess's _posixsubprocess (keyring's jaraco.context imports subprocess),
# traceback's textwrap (logging imports traceback).
LAZY_UNRUN = ("_posixsubprocess", "textwrap")

# A keyring kept in a file, chosen by keyring's own config file (keyringrc.cfg), not by an
# environment variable: the remembered-backend shortcut must not be the only way to it.
_FILE_KEYRING = textwrap.dedent(
    """
    import json, os
    from pathlib import Path
    from keyring.backend import KeyringBackend

    class Keyring(KeyringBackend):
        priority = 1
        path = Path(os.environ["HOME"]) / "keyring.json"
        def _all(self):
            return json.loads(self.path.read_text()) if self.path.exists() else {}
        def get_password(self, service, username):
            return self._all().get(service + "/" + username)
        def set_password(self, service, username, password):
            self.path.write_text(json.dumps({**self._all(), service + "/" + username: password}))
        def delete_password(self, service, username):
            pass
    """
)


@pytest.fixture
def secret_service(kluis: Kluis) -> Iterator[dict[str, str]]:
    """The CLI's environment with a private session bus and an unlocked gnome-keyring on it."""
    if not secret_service_daemon.available():
        pytest.skip("needs dbus-daemon and gnome-keyring-daemon (apt-get install gnome-keyring)")
    env = kluis.env()
    del env["KLUIS_PASSPHRASE"]
    with secret_service_daemon.running(kluis.home, env) as service_env:
        yield service_env


def _remember(kluis: Kluis, env: dict[str, str]) -> None:
    done = kluis.run("remember", env={**env, "KLUIS_PASSPHRASE": kluis.passphrase})
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def _search(env: dict[str, str], watched: tuple[str, ...] = KEYRING_ONLY) -> tuple[str, str]:
    """``kluis search factuur`` as a script runs it: (status and the ``watched`` modules it
    loaded, stderr)."""
    path = os.pathsep.join([env.get("PYTHONPATH", ""), *sys.path])
    output, stderr = modules_loaded({**env, "PYTHONPATH": path}, watched, "search", "factuur")
    return output[-1], stderr


def _record(kluis: Kluis, backend: str) -> None:
    """Make the backend that ``kluis remember`` recorded say ``backend`` (a stale record)."""
    path = keymod.keys_path(kluis.vault)
    document = json.loads(path.read_text())
    document["wraps"]["device"][keymod.DEVICE_BACKEND] = backend
    path.write_text(json.dumps(document))


def test_remember_records_the_secret_service(kluis: Kluis, secret_service: dict[str, str]) -> None:
    _remember(kluis, secret_service)
    assert keymod.device_backend(keymod.load_keys(kluis.vault)) == BACKEND


def test_a_scripted_search_reads_the_remembered_key_without_keyring(
    kluis: Kluis, secret_service: dict[str, str]
) -> None:
    _remember(kluis, secret_service)
    assert _search(secret_service) == ("0 []", "")


def test_a_key_in_the_secret_service_is_read_without_secretstorage_or_a_kdf(
    kluis: Kluis, secret_service: dict[str, str]
) -> None:
    _remember(kluis, secret_service)
    assert _search(secret_service, UNLOCK_ONLY) == ("0 []", "")
    # dataclasses imports inspect, which runs only for a class without a docstring
    assert _search(secret_service, ("tokenize", "dis")) == ("0 []", "")


def test_a_locked_secret_service_collection_is_not_found_there_and_asks_nothing(
    kluis: Kluis, secret_service: dict[str, str]
) -> None:
    _remember(kluis, secret_service)
    lock = (
        "import secretstorage as s\n"
        "s.get_default_collection(s.dbus_init()).lock()\n"
        "from vault import keys, secret_service\n"
        f"vault_id = keys.load_keys(__import__('pathlib').Path({str(kluis.vault)!r})).vault_id\n"
        "print(secret_service.read('kluis', vault_id))\n"
    )
    path = os.pathsep.join([secret_service.get("PYTHONPATH", ""), *sys.path])
    done = subprocess.run(
        [sys.executable, "-c", lock],
        env={**secret_service, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.split() == ["None"], done.stderr


def test_a_vault_remembered_before_the_record_gets_it_at_its_first_unlock(
    kluis: Kluis, secret_service: dict[str, str]
) -> None:
    _remember(kluis, secret_service)
    path = keymod.keys_path(kluis.vault)
    document = json.loads(path.read_text())
    del document["wraps"]["device"][keymod.DEVICE_BACKEND]
    path.write_text(json.dumps(document))
    status, said = _search(secret_service)  # found by keyring's own search, as before
    assert status.startswith("0 ") and said == "", (status, said)
    assert keymod.device_backend(keymod.load_keys(kluis.vault)) == BACKEND
    assert _search(secret_service) == ("0 []", "")  # then read without keyring


def test_a_keyring_chosen_in_the_environment_is_still_used(
    kluis: Kluis, secret_service: dict[str, str], tmp_path: Path
) -> None:
    _remember(kluis, secret_service)
    # PYTHON_KEYRING_BACKEND chooses a keyring that does not hold the key: keyring decides, as
    # before, and the vault stays locked.
    env = {**secret_service, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    status, said = _search(env)
    assert status.startswith("12 ") and "the vault is locked" in said, (status, said)


@pytest.mark.parametrize("record", [BACKEND, "gone.backend.Keyring", None])
def test_a_stale_record_falls_back_to_keyrings_own_search(
    kluis: Kluis, tmp_path: Path, record: str | None
) -> None:
    # The key is in a file keyring that keyring's config file chooses; the record names the
    # Secret Service (with no session bus here), a backend that is gone, or nothing (older vaults).
    (tmp_path / "filekeyring.py").write_text(_FILE_KEYRING)
    config = kluis.home / ".config" / "python_keyring"
    config.mkdir(parents=True)
    (config / "keyringrc.cfg").write_text("[backend]\ndefault-keyring=filekeyring.Keyring\n")
    env = kluis.env(PYTHONPATH=str(tmp_path))
    del env["KLUIS_PASSPHRASE"]
    _remember(kluis, env)
    if record is None:
        path = keymod.keys_path(kluis.vault)
        document = json.loads(path.read_text())
        del document["wraps"]["device"][keymod.DEVICE_BACKEND]
        path.write_text(json.dumps(document))
    else:
        _record(kluis, record)
    status, said = _search(env)
    assert status.startswith("0 ") and said == "", (status, said)
    # The unlock recorded where it found the key: the next one reads it there first, with no
    # second `kluis remember`.
    assert keymod.device_backend(keymod.load_keys(kluis.vault)) == "filekeyring.Keyring"


def _file_keyring_at(folder: Path, module: str) -> None:
    """The file keyring as the module ``module`` (dotted: a package under ``folder``)."""
    *packages, name = module.split(".")
    where = folder.joinpath(*packages)
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{name}.py").write_text(_FILE_KEYRING)


def test_a_key_in_a_keyring_named_by_the_environment_skips_keyrings_search(
    kluis: Kluis, tmp_path: Path
) -> None:
    _file_keyring_at(tmp_path, "filekeyring")
    env = kluis.env(PYTHONPATH=str(tmp_path), PYTHON_KEYRING_BACKEND="filekeyring.Keyring")
    del env["KLUIS_PASSPHRASE"]
    _remember(kluis, env)
    assert _search(env, SEARCH_ONLY) == ("0 []", "")
    assert _search(env, UNLOCK_ONLY + LAZY_UNRUN) == ("0 []", "")


def test_a_scripted_search_ends_with_its_output_and_exit_handlers(
    kluis: Kluis, tmp_path: Path
) -> None:
    # A read command ends its process without the interpreter's teardown: what a keyring
    # registered to run at exit still runs, and every line it printed arrives.
    (tmp_path / "exitkeyring.py").write_text(
        _FILE_KEYRING
        + "import atexit\n"
        + "atexit.register(lambda: (Path(os.environ['HOME']) / 'exited').write_text('yes'))\n"
    )
    env = kluis.env(PYTHONPATH=str(tmp_path), PYTHON_KEYRING_BACKEND="exitkeyring.Keyring")
    del env["KLUIS_PASSPHRASE"]
    _remember(kluis, env)
    (kluis.home / "exited").unlink()
    searched = kluis.run("search", "factuur", "--json", "--all", env=env)
    assert searched.returncode == 0, searched.stderr
    assert isinstance(json.loads(searched.stdout), list)  # the whole JSON list, flushed
    assert (kluis.home / "exited").read_text() == "yes"


def test_a_recorded_keyring_plugin_is_loaded_by_name(kluis: Kluis, tmp_path: Path) -> None:
    # A keyring plug-in (the keyrings.* namespace, as keyrings.alt) that keyring's search does
    # not find here (no entry point): only the record leads to it.
    _file_keyring_at(tmp_path, "keyrings.kluistest")
    env = kluis.env(PYTHONPATH=str(tmp_path))
    del env["KLUIS_PASSPHRASE"]
    _remember(kluis, {**env, "PYTHON_KEYRING_BACKEND": "keyrings.kluistest.Keyring"})
    assert keymod.device_backend(keymod.load_keys(kluis.vault)) == "keyrings.kluistest.Keyring"
    assert _search(env, SEARCH_ONLY) == ("0 []", "")


def test_a_tampered_record_imports_no_module_outside_keyrings_packages(
    kluis: Kluis, tmp_path: Path
) -> None:
    _file_keyring_at(tmp_path, "filekeyring")
    planted = tmp_path / "planted.py"
    planted.write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\nclass Keyring: ...\n")
    env = kluis.env(PYTHONPATH=str(tmp_path), PYTHON_KEYRING_BACKEND="filekeyring.Keyring")
    del env["KLUIS_PASSPHRASE"]
    _remember(kluis, env)
    _record(kluis, "planted.Keyring")
    del env["PYTHON_KEYRING_BACKEND"]
    status, said = _search(env)
    assert status.startswith("12 ") and "the vault is locked" in said, (status, said)
    assert not (tmp_path / "ran").exists()


def test_the_record_never_undoes_a_change_made_meanwhile(kluis: Kluis) -> None:
    # An unlock that read keys.json before a passphrase change must not write the old file back.
    read_before = keymod.load_keys(kluis.vault)
    read_before.wraps["device"] = {"nonce": "", "ciphertext": ""}
    changed = keymod.load_keys(kluis.vault)
    changed.wraps["device"] = {"nonce": "", "ciphertext": ""}
    dek = keymod.unwrap_with_passphrase(changed, kluis.passphrase)
    keymod.rewrap_passphrase(changed, dek, "another passphrase")
    keymod.save_keys(kluis.vault, changed)
    before = keymod.keys_path(kluis.vault).read_bytes()
    keymod.record_device_backend(kluis.vault, read_before, "keyrings.alt.file.PlaintextKeyring")
    assert keymod.keys_path(kluis.vault).read_bytes() == before


def test_with_the_key_gone_everywhere_the_vault_is_locked_as_before(
    kluis: Kluis, secret_service: dict[str, str]
) -> None:
    _remember(kluis, secret_service)
    _record(kluis, BACKEND)
    # The bus is gone and keyring finds no keyring: "locked", the same line as a vault never
    # remembered gets.
    env = {k: v for k, v in secret_service.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    locked = _search(env)
    path = keymod.keys_path(kluis.vault)
    document = json.loads(path.read_text())
    del document["wraps"]["device"]
    path.write_text(json.dumps(document))
    never = _search(env)
    assert locked[0].split()[0] == never[0].split()[0] != "0"
    assert locked[1] == never[1] and "the vault is locked" in locked[1]


def test_what_keyring_loads_lazily_still_works_when_used() -> None:
    # keyring's backend search (entry points) and an OAuth sign-in after a remembered unlock.
    code = (
        "from vault.device import keyring_available\n"
        "keyring_available()\n"
        "import sys\n"
        "lazy = type(sys.modules['urllib.request']).__name__\n"
        "import importlib_metadata, urllib.request\n"
        "points = importlib_metadata.entry_points(group='keyring.backends')\n"
        "print(lazy, urllib.request.Request('https://example.org').host, len(points) >= 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["_LazyModule", "example.org", "True"], done.stderr
