"""Two writers at once: the second waits its turn and says for whom; reads never wait.

A second ``kluis import`` used to fail with ``database is locked`` while one ran, and a company
edit during an import failed the same way whenever it met a batch being written. Here a real
CLI import of a 5 MB mbox runs while other CLIs import, edit, read and refuse to wait, and the
app, open on the same vault, shows what the other process imported without a restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.hardening.generate import write_mbox
from tests.hardening.harness import (
    Kluis,
    assert_clean_failure,
    assert_exactly_once,
    open_for_test,
)
from tests.tui_support import drive, lines, until
from tui.app import KluisApp
from tui.company_list import CompanyList
from tui.main_screen import MainScreen
from vault import company_edits
from vault.writelock import LOCK_FILE

BIG = 1100  # 5.1 MB: several seconds of import on this machine
SMALL = 300


def start_import(kluis: Kluis, mbox: Path) -> subprocess.Popen[bytes]:
    """``kluis import MBOX``, started and holding the vault's writer lock."""
    process = kluis.popen("import", str(mbox))
    lock = kluis.vault / LOCK_FILE
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_bytes() and holder_pid(lock) == process.pid):
        assert process.poll() is None and time.monotonic() < deadline, "the import never began"
        time.sleep(0.02)
    return process


@pytest.fixture
def running_import(kluis: Kluis, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A big mbox import, started and holding the vault's writer lock."""
    process = start_import(kluis, write_mbox(tmp_path / "big.mbox", BIG, lines=180))
    try:
        yield process
    finally:
        process.wait(timeout=300)
        assert process.returncode == 0, process.stderr.read() if process.stderr else ""


@contextmanager
def paused(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """``process`` stopped (SIGSTOP) while the block runs, holding whatever it holds: the
    block sees it mid-import however fast the import has become."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def holder_pid(lock: Path) -> int | None:
    try:
        return int(json.loads(lock.read_bytes())["pid"])
    except (ValueError, KeyError):  # being written
        return None


def test_a_second_import_waits_for_the_first_then_both_complete(
    kluis: Kluis, running_import: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    small = write_mbox(tmp_path / "small.mbox", SMALL, first=BIG)
    with paused(running_import):  # the first is still importing when the second asks
        second = kluis.popen("import", str(small))
        said = stderr_until(second, "…")
    assert "Waiting for the import started at " in said
    assert f"(pid {running_import.pid})…" in said
    assert second.wait(timeout=300) == 0
    running_import.wait(timeout=300)
    assert_exactly_once(kluis, BIG + SMALL)


def stderr_until(process: subprocess.Popen[bytes], end: str, seconds: float = 60) -> str:
    """What ``process`` wrote on stderr until it wrote ``end`` (or ended, or ``seconds``)."""
    assert process.stderr is not None
    said = b""
    deadline = time.monotonic() + seconds
    while end.encode() not in said and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.1)
        if ready:
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                break
            said += chunk
    return said.decode()


def test_no_wait_refuses_at_once_with_exit_11_and_names_the_running_import(
    kluis: Kluis, running_import: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    small = write_mbox(tmp_path / "small.mbox", SMALL, first=BIG)
    with paused(running_import):
        done = kluis.run("import", str(small), "--no-wait", timeout=60)
        assert running_import.poll() is None  # refused while the import still ran
    line = assert_clean_failure(done, 11)
    assert "busy" in line and "the import started at" in line
    assert f"(pid {running_import.pid})" in line


def test_reads_answer_while_an_import_writes(
    kluis: Kluis, running_import: subprocess.Popen[bytes]
) -> None:
    with paused(running_import):  # mid-import, maybe mid-batch: the reads do not wait for it
        for command in (["companies"], ["search", "order"], ["bookings"]):
            done = kluis.run(*command, "--json", timeout=60)
            assert done.returncode == 0, done.stderr
            json.loads(done.stdout)
        assert running_import.poll() is None


def test_company_edits_during_an_import_wait_out_its_batches_and_succeed(
    kluis: Kluis, tmp_path: Path
) -> None:
    kluis.json("import", str(write_mbox(tmp_path / "shops.mbox", 70)))
    company = str(kluis.json("companies")[0]["id"])
    running = start_import(kluis, write_mbox(tmp_path / "big.mbox", BIG, first=70, lines=180))
    store = open_for_test(kluis.vault)
    try:
        edits = 0
        # As the app edits (ctrl+e): a short transaction, here over and over, so that many
        # meet a batch of the import being written.
        while running.poll() is None:
            with store.begin() as conn:
                company_edits.rename(conn, company, f"Winkel {edits}")
            edits += 1
    finally:
        store.close()
    assert running.returncode == 0
    assert edits >= 5
    names = {str(c["id"]): c["name"] for c in kluis.json("companies")}
    assert names[company] == f"Winkel {edits - 1}"
    assert_exactly_once(kluis, 70 + BIG)


def test_the_app_shows_what_another_process_imports_without_a_restart(
    kluis: Kluis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MainScreen, "WATCH_SECONDS", 0.2)
    first = write_mbox(tmp_path / "first.mbox", SMALL)
    more = write_mbox(tmp_path / "more.mbox", 70, first=SMALL)  # ten more for every shop
    store = open_for_test(kluis.vault)

    def bol(companies: CompanyList) -> str:
        return next((line for line in lines(companies) if " BOL " in line), "")

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        companies = app.screen.query_one(CompanyList)
        assert companies.entries == []
        done = await asyncio.to_thread(kluis.run, "import", str(first))
        assert done.returncode == 0, done.stderr
        # The import commits in batches (125 mails first): the app may show the first while
        # the rest are written, and shows all of them at its next look.
        await until(
            pilot,
            lambda: sum(entry.interactions for entry in companies.entries) == SMALL,
            "the other process's import",
        )
        assert len(companies.entries) == 7
        assert bol(companies).split()[1:3] == ["BOL", "43"]
        done = await asyncio.to_thread(kluis.run, "import", str(more))
        assert done.returncode == 0, done.stderr
        await until(pilot, lambda: bol(companies).split()[1:3] == ["BOL", "53"], "new counts")

    try:
        drive(store, story)
    finally:
        store.close()
