"""After ``kluis passwd`` or ``kluis recover`` the old passphrase opens nothing kluis keeps.

Earlier versions kept ``keys.json.bak``: the data key wrapped under the passphrase before the
change, so a leaked old passphrase still opened the vault. Now keys.json is only ever replaced
atomically, a copy lives only while it is written, and what a killed write leaves is removed at
the next start. Every case runs the real CLI; a killed ``passwd`` leaves the old or the new
passphrase working, never neither.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli import exits
from tests.hardening.harness import (
    LONG,
    Kluis,
    assert_clean_failure,
    count,
    make_vault,
)
from tests.support import PASSPHRASE
from vault import keys as keymod
from vault.errors import VaultError, WrongPassphrase

OLD = PASSPHRASE
NEW = "plum orbit kettle lantern"
VAULT_FILES = {"keys.json", "vault.db", "vault.db-wal", "vault.db-shm"}


def opens(folder: Path, passphrase: str, name: str = "keys.json") -> bool:
    """True if the key file ``name`` in ``folder`` unwraps the data key with ``passphrase``."""
    try:
        keyfile = keymod.KeyFile.from_bytes((folder / name).read_bytes())
        keymod.unwrap_with_passphrase(keyfile, passphrase)
    except WrongPassphrase:
        return False
    return True


def copies_opening_with(folder: Path, passphrase: str) -> list[str]:
    """Every file in ``folder`` (hidden ones too) that is a key file opening with it."""
    found = []
    for path in sorted(folder.iterdir()):
        try:
            if path.is_file() and opens(folder, passphrase, path.name):
                found.append(path.name)
        except VaultError:
            continue  # not a key file
    return found


def dead_pid() -> int:
    """The id of a process that has ended (as a killed ``passwd`` has)."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def leave_a_copy_as_older_kluis_did(folder: Path) -> None:
    """``keys.json.bak`` and the temporary file of a killed backup write, both under OLD."""
    data = (folder / "keys.json").read_bytes()
    (folder / "keys.json.bak").write_bytes(data)
    (folder / f".keys.json.bak.{dead_pid()}.tmp").write_bytes(data)


def passwd(kluis: Kluis, new: str) -> subprocess.CompletedProcess[bytes]:
    """``kluis passwd`` as a script runs it: the old passphrase in the environment, the new
    one on standard input; the vault's passphrase is then ``new``."""
    done = kluis.run("passwd", stdin=f"{new}\n".encode())
    assert done.returncode == 0, done.stderr.decode()
    kluis.passphrase = new
    return done


def test_after_passwd_the_old_passphrase_opens_nothing_in_the_folder(kluis: Kluis) -> None:
    leave_a_copy_as_older_kluis_did(kluis.vault)
    passwd(kluis, NEW)
    assert copies_opening_with(kluis.vault, OLD) == []
    assert copies_opening_with(kluis.vault, NEW) == ["keys.json"]
    assert "wrong passphrase" in assert_clean_failure(
        kluis.run("companies", env=kluis.env(KLUIS_PASSPHRASE=OLD)), exits.NO_PASSPHRASE
    )
    assert kluis.run("companies", env=kluis.env(KLUIS_PASSPHRASE=NEW)).returncode == 0


def test_after_recover_the_old_passphrase_opens_nothing_in_the_folder(kluis: Kluis) -> None:
    shutil.rmtree(kluis.vault)
    code = make_vault(kluis.vault, OLD)
    leave_a_copy_as_older_kluis_did(kluis.vault)
    kluis.passphrase = ""  # recover needs none: the code and the new one come on stdin
    done = kluis.run("recover", stdin=f"{code}\n{NEW}\n".encode())
    assert done.returncode == 0, done.stderr.decode()
    assert copies_opening_with(kluis.vault, OLD) == []
    assert copies_opening_with(kluis.vault, NEW) == ["keys.json"]
    # The recovery code is a wrap of its own: it still opens (and says so when used).
    assert keymod.unwrap_with_recovery_code(keymod.load_keys(kluis.vault), code)


def test_copies_left_by_a_killed_write_are_removed_at_the_next_start(kluis: Kluis) -> None:
    leave_a_copy_as_older_kluis_did(kluis.vault)
    killed_write = kluis.vault / f".keys.json.{dead_pid()}.tmp"
    killed_write.write_bytes((kluis.vault / "keys.json").read_bytes())
    running_write = kluis.vault / f".keys.json.{os.getpid()}.tmp"
    running_write.write_bytes(b"{}")  # this test process is alive: its write is in progress
    # A refused unlock changes nothing, not even leftovers.
    kluis.run("companies", env=kluis.env(KLUIS_PASSPHRASE="not the passphrase"))
    assert killed_write.exists() and (kluis.vault / "keys.json.bak").exists()
    assert kluis.run("companies").returncode == 0
    names = {p.name for p in kluis.vault.iterdir()}
    assert names - VAULT_FILES == {running_write.name}


def _kill_at_the_write(process: subprocess.Popen[bytes], folder: Path, *, after: bool) -> None:
    """SIGKILL ``process`` as soon as its temporary keys.json appears, or (``after``) as soon as
    it is gone again, renamed over keys.json (or when the process ends first)."""
    tmp = folder / f".keys.json.{process.pid}.tmp"  # execv keeps the pid of the fenced start
    deadline = time.monotonic() + 60
    while process.poll() is None and not tmp.exists() and time.monotonic() < deadline:
        time.sleep(0)
    while after and process.poll() is None and tmp.exists() and time.monotonic() < deadline:
        time.sleep(0)
    process.send_signal(signal.SIGKILL)


def test_killing_passwd_at_random_moments_leaves_old_or_new_never_neither(kluis: Kluis) -> None:
    """A third of the kills land at a random moment of the run, a third the moment the new
    keys.json is being written, a third right after it replaced the old one: the vault opens
    with exactly one of the two passphrases, and the next start leaves nothing but the vault's
    own files."""
    kills = 30 if LONG else 3
    rng = random.Random(14)
    passwd(kluis, NEW)  # the first change raises the cheap test KDF to kluis's own
    started = time.monotonic()
    passwd(kluis, f"{NEW} again")  # one whole run: how long a passwd takes here
    whole = time.monotonic() - started
    killed, attempt = 0, 0
    while killed < kills:
        attempt += 1
        assert attempt < kills * 4, f"only {killed} of {attempt} runs were killed before the end"
        new = f"{NEW} {attempt}"
        process = kluis.popen("passwd", stdin=f"{new}\n".encode())
        if attempt % 3 == 1:
            time.sleep(rng.uniform(0.0, whole * 1.2))
            process.send_signal(signal.SIGKILL)
        else:
            _kill_at_the_write(process, kluis.vault, after=attempt % 3 == 0)
        process.communicate(timeout=60)
        if process.returncode == -signal.SIGKILL:
            killed += 1
        working = [p for p in (kluis.passphrase, new) if opens(kluis.vault, p)]
        assert len(working) == 1, (attempt, working)
        count("kills", "passwd: new passphrase" if working[0] == new else "passwd: old passphrase")
        if {p.name for p in kluis.vault.iterdir()} - VAULT_FILES:
            count("kills", "passwd: leftovers removed at the next start")
        kluis.passphrase = working[0]
        assert kluis.run("companies").returncode == 0  # the next start
        assert {p.name for p in kluis.vault.iterdir()} <= VAULT_FILES, attempt
    count("kills", "passwd", killed)
