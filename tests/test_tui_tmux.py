"""The real app in a real terminal (tmux), as a person uses it: open, browse, search, help, quit."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import PASSPHRASE

FIXTURES = Path(__file__).parent / "fixtures" / "email"
SESSION = f"kluis-e2e-{os.getpid()}"
SEARCH_BOX = "esc close ─"  # the search box's border, with its keys
HELP_BOX = "esc closes ─"  # the help screen's border


def tmux(*args: str) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)
    return done.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(condition: Callable[[str], bool], what: str, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = screen()
        if condition(text):
            return text
        time.sleep(0.2)
    pytest.fail(f"the screen never showed {what}:\n{screen()}\n{tmux('ls')}")


@pytest.fixture
def running_app(tmp_path: Path) -> Iterator[Path]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (.ci/run installs it)")
    folder = tmp_path / "vault"
    env = {**os.environ, "KLUIS_VAULT": str(folder), "KLUIS_PASSPHRASE": PASSPHRASE}
    for args in (["init"], ["import", str(FIXTURES), "--me", "me@example.org"]):
        done = subprocess.run(
            [sys.executable, "-m", "vault", *args], env=env, check=False, capture_output=True
        )
        assert done.returncode in (0, 3), done.stderr  # 3: the fixtures quarantine some mail
    log = tmp_path / "stderr.txt"
    # Textual draws on the terminal itself, so only the exit status goes to the log file.
    command = (
        f"KLUIS_VAULT={shlex.quote(str(folder))} KLUIS_PASSPHRASE={shlex.quote(PASSPHRASE)} "
        f"TERM=xterm-256color {shlex.quote(sys.executable)} -m vault; "
        f"echo EXITED=$? > {shlex.quote(str(log))}; sleep 30"
    )
    tmux("new-session", "-d", "-s", SESSION, "-x", "140", "-y", "40", command)
    try:
        yield log
    finally:
        tmux("kill-session", "-t", SESSION)


def press(key: str, condition: Callable[[str], bool], what: str) -> str:
    """Send one key and wait until the screen shows its effect.

    Waiting matters after Escape: a key sent right behind it can reach the app in the same read
    as ``ESC ?``, which a terminal parser may take for alt+? and hand to the search box.
    """
    tmux("send-keys", "-t", SESSION, key)
    return wait_for(condition, what)


def test_a_person_browses_searches_reads_help_and_quits(running_app: Path) -> None:
    wait_for(lambda s: "vattenfall" in s.casefold(), "the company list with its companies")
    press("Enter", lambda s: "c Channel" in s, "the first company's timeline, its keys below")
    press("Enter", lambda s: "From" in s and "esc Back" in s, "its newest item, focused")
    press("/", lambda s: SEARCH_BOX in s, "the search box")
    tmux("send-keys", "-t", SESSION, "-l", "lunch")
    wait_for(lambda s: "Lunch on Friday?" in s, "the search hit")
    press("Escape", lambda s: SEARCH_BOX not in s, "the search box closed")
    press("?", lambda s: HELP_BOX in s and "Everywhere" in s, "the help screen")
    press("Escape", lambda s: HELP_BOX not in s, "the help screen closed")
    tmux("send-keys", "-t", SESSION, "C-q")
    deadline = time.monotonic() + 15
    while not (running_app.exists() and "EXITED=" in running_app.read_text()):
        if time.monotonic() > deadline:
            pytest.fail(f"the app did not quit:\n{screen()}")
        time.sleep(0.2)
    assert "EXITED=0" in running_app.read_text()
    assert "Traceback" not in screen()
