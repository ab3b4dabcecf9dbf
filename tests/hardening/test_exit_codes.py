"""Every exit status of ``cli.exits`` as a script sees it from a subprocess, each one listed in
``kluis --help`` and the README."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from cli import exits
from tests.hardening.harness import Kluis, assert_clean_failure
from vault.writelock import writer_lock

README = Path(__file__).resolve().parents[2] / "README.md"
MAIL = b"From: A <a@shop.example>\nSubject: hi\nDate: Mon, 1 Jan 2024 10:00:00 +0100\n\nhello\n"


def test_every_exit_status_is_listed_in_help_and_the_readme(kluis: Kluis) -> None:
    shown = kluis.run("--help").stdout.decode()
    readme = README.read_text()
    for code, meaning in exits.TABLE:
        assert f"{code:>3}  {meaning}" in shown
        assert f"| {code} |" in readme, code


def test_0_done_and_2_usage(kluis: Kluis) -> None:
    assert kluis.run("companies").returncode == exits.OK
    assert_clean_failure(kluis.run("companies", "--frobnicate"), exits.USAGE)


def test_1_a_failure_not_listed_elsewhere(kluis: Kluis) -> None:
    env = kluis.env(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert_clean_failure(kluis.run("remember", env=env), exits.FAILED)


def test_3_an_import_that_quarantined_or_read_nothing(kluis: Kluis) -> None:
    broken = kluis.tmp / "broken.eml"
    broken.write_bytes(b"From: A <a@shop.example>\nSubject: no date\n\nbody\n")
    assert kluis.run("import", str(broken)).returncode == exits.PARTIAL
    good = kluis.tmp / "good.eml"
    good.write_bytes(MAIL)
    assert kluis.run("import", str(good), "--me", "me@example.org").returncode == exits.OK
    # The same file again reads nothing new, rightly: that is no failure.
    assert kluis.run("import", str(good)).returncode == exits.OK


def test_10_no_vault(kluis: Kluis, tmp_path: Path) -> None:
    env = kluis.env(KLUIS_VAULT=str(tmp_path / "nowhere"))
    assert "kluis init" in assert_clean_failure(kluis.run("companies", env=env), exits.NO_VAULT)


def test_11_busy(kluis: Kluis) -> None:
    good = kluis.tmp / "good.eml"
    good.write_bytes(MAIL)
    with writer_lock(kluis.vault, "import", wait=False):
        done = kluis.run("import", str(good), "--no-wait")
    assert_clean_failure(done, exits.BUSY)


def test_12_wrong_or_no_passphrase(kluis: Kluis) -> None:
    wrong = kluis.env(KLUIS_PASSPHRASE="not it")
    assert_clean_failure(kluis.run("companies", env=wrong), exits.NO_PASSPHRASE)
    none = kluis.env(KLUIS_PASSPHRASE="")
    assert_clean_failure(kluis.run("companies", env=none), exits.NO_PASSPHRASE)


def test_13_damaged_is_the_status_the_damaged_vault_suite_checks() -> None:
    # tests/hardening/test_damaged_vault.py damages real vaults and runs the CLI on them.
    from tests.hardening import test_damaged_vault

    assert test_damaged_vault.DAMAGED is exits.DAMAGED == 13


def test_130_interrupted(kluis: Kluis) -> None:
    process = kluis.popen("companies", "--passphrase-command", "sleep 60")
    time.sleep(3)  # it waits for the passphrase command
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == exits.INTERRUPTED, err
    assert err.decode().startswith("kluis: interrupted") and b"Traceback" not in err
