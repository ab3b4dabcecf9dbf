"""Passphrases: weak new ones are refused unless the user insists, and scripts can give theirs
in a file or through a command instead of the environment (as restic and borg do).

All through the real CLI. A source that cannot be used (a missing file, a FIFO, ``/dev/zero``,
a failing command) is one line on stderr within seconds, never a hang or endless memory.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.hardening.harness import Kluis, assert_clean_failure, make_vault
from tests.support import PASSPHRASE
from vault import keys as keymod

WEAK = "hunter22"
STRONG = "plum orbit kettle lantern"
QUICK = 20.0
"""Seconds within which a source that cannot be used must be refused (start-up included)."""


def script_env(kluis: Kluis, **extra: str) -> dict[str, str]:
    """The environment of a script that does not put the passphrase in KLUIS_PASSPHRASE."""
    env = kluis.env(**extra)
    del env["KLUIS_PASSPHRASE"]
    return env


def python_command(code: str) -> str:
    """A --passphrase-command running ``code`` in Python."""
    return shlex.join([sys.executable, "-c", code])


# ---- weak passphrases --------------------------------------------------------------------------


def _change(kluis: Kluis, command: str, new: str, *flags: str) -> tuple[int, str]:
    """Run ``init``, ``passwd`` or ``recover`` to make ``new`` the passphrase."""
    if command == "init":
        shutil.rmtree(kluis.vault)
        done = kluis.run("init", *flags, env=kluis.env(KLUIS_PASSPHRASE=new))
    elif command == "passwd":
        done = kluis.run("passwd", *flags, stdin=f"{new}\n".encode())
    else:
        shutil.rmtree(kluis.vault)
        code = make_vault(kluis.vault)
        done = kluis.run("recover", *flags, stdin=f"{code}\n{new}\n".encode())
    return done.returncode, done.stderr.decode()


@pytest.mark.parametrize("command", ["init", "passwd", "recover"])
def test_a_weak_new_passphrase_is_refused_in_one_line_naming_the_estimate(
    kluis: Kluis, command: str
) -> None:
    keys_before = (kluis.vault / "keys.json").read_bytes()
    status, stderr = _change(kluis, command, WEAK)
    assert status == 2 and len(stderr.splitlines()) == 1, stderr
    assert "too weak" in stderr and "zxcvbn score" in stderr and "offline" in stderr
    assert "--allow-weak-passphrase" in stderr
    if command == "passwd":
        assert (kluis.vault / "keys.json").read_bytes() == keys_before
    else:
        assert not (kluis.vault / "keys.json").exists() or command == "recover"


@pytest.mark.parametrize("command", ["init", "passwd", "recover"])
def test_a_weak_passphrase_is_taken_when_the_user_insists(kluis: Kluis, command: str) -> None:
    status, stderr = _change(kluis, command, WEAK, "--allow-weak-passphrase")
    assert status == 0, stderr
    keymod.unwrap_with_passphrase(keymod.load_keys(kluis.vault), WEAK)


def test_a_strong_passphrase_needs_no_flag(kluis: Kluis) -> None:
    status, stderr = _change(kluis, "passwd", STRONG)
    assert status == 0 and stderr == "", stderr


# ---- a file, a command, the environment --------------------------------------------------------


def _passphrase_file(kluis: Kluis, text: str = f"{PASSPHRASE}\nanything after\n") -> Path:
    path = kluis.home / "passphrase.txt"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_the_passphrase_comes_from_a_file(kluis: Kluis) -> None:
    path = _passphrase_file(kluis)
    done = kluis.run("companies", "--passphrase-file", str(path), env=script_env(kluis))
    assert done.returncode == 0 and done.stderr == b"", done.stderr


def test_the_passphrase_comes_from_the_file_kluis_passphrase_file_names(kluis: Kluis) -> None:
    path = _passphrase_file(kluis)
    env = script_env(kluis, KLUIS_PASSPHRASE_FILE=str(path))
    done = kluis.run("companies", env=env)
    assert done.returncode == 0 and done.stderr == b"", done.stderr


def test_a_passphrase_file_others_can_read_works_with_a_warning(kluis: Kluis) -> None:
    path = _passphrase_file(kluis)
    path.chmod(0o644)
    done = kluis.run("companies", "--passphrase-file", str(path), env=script_env(kluis))
    assert done.returncode == 0
    assert b"warning" in done.stderr and b"chmod 600" in done.stderr


def test_the_passphrase_comes_from_a_command_without_kluis_passphrase_in_its_environment(
    kluis: Kluis,
) -> None:
    # The command prints the passphrase only if KLUIS_PASSPHRASE was kept from it.
    command = python_command(
        f"import os; print('leaked' if 'KLUIS_PASSPHRASE' in os.environ else {PASSPHRASE!r})"
    )
    done = kluis.run("companies", "--passphrase-command", command)  # env has KLUIS_PASSPHRASE
    assert done.returncode == 0, done.stderr


def test_passwd_takes_the_old_passphrase_from_a_file(kluis: Kluis) -> None:
    path = _passphrase_file(kluis)
    done = kluis.run(
        "passwd",
        "--passphrase-file",
        str(path),
        env=script_env(kluis),
        stdin=f"{STRONG}\n".encode(),
    )
    assert done.returncode == 0, done.stderr
    keymod.unwrap_with_passphrase(keymod.load_keys(kluis.vault), STRONG)


def _fifo(kluis: Kluis) -> Path:
    path = kluis.home / "passphrase.fifo"
    os.mkfifo(path)
    return path


UNUSABLE = {
    "a missing file": (lambda k: ["--passphrase-file", str(k.home / "nope")], "does not exist"),
    "a folder": (lambda k: ["--passphrase-file", str(k.home)], "a folder"),
    "a FIFO": (lambda k: ["--passphrase-file", str(_fifo(k))], "a FIFO"),
    "/dev/zero": (lambda k: ["--passphrase-file", "/dev/zero"], "character device"),
    "an empty file": (
        lambda k: ["--passphrase-file", str(_passphrase_file(k, "\nsecond line\n"))],
        "empty",
    ),
    "a first line of a megabyte": (
        lambda k: ["--passphrase-file", str(_passphrase_file(k, "x" * 1_000_000))],
        "longer than",
    ),
    "a failing command": (
        lambda k: ["--passphrase-command", python_command("raise SystemExit(3)")],
        "failed (exit 3)",
    ),
    "a command that is not there": (
        lambda k: ["--passphrase-command", "no-such-kluis-helper --get"],
        "cannot run",
    ),
    "a command printing nothing": (
        lambda k: ["--passphrase-command", python_command("pass")],
        "empty",
    ),
    "a command printing without end": (
        lambda k: ["--passphrase-command", python_command("while True: print('y' * 9999)")],
        "printed more than",
    ),
    "an unbalanced quote": (lambda k: ["--passphrase-command", "pass show 'kluis"], "quotation"),
    "two sources at once": (
        lambda k: ["--passphrase-stdin", "--passphrase-file", str(_passphrase_file(k))],
        "only one of",
    ),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_a_source_that_cannot_be_used_is_one_line_within_seconds(kluis: Kluis, case: str) -> None:
    options, reason = UNUSABLE[case]
    started = time.monotonic()
    done = kluis.run("companies", *options(kluis), env=script_env(kluis), timeout=QUICK)
    line = assert_clean_failure(done, 2)
    assert reason in line, line
    assert time.monotonic() - started < QUICK
