"""The parse workers of an import hold nothing of the vault: no passphrase, no data key, no file;
and they end with it, quietly.

They used to be forked from the process that had unlocked the vault, so each one carried the
passphrase in its environment, the data key (raw and hex) in its memory and ``vault.db``, its
WAL and the source open. Here a real CLI import of an mbox big enough for the parse pool is
frozen (SIGSTOP) while its workers run; then every process it started is searched: its
environment, its open files and every readable page of its memory. The importing process
itself is searched too, to show that the search finds the key where it is. Ctrl-C used to make
each worker print a traceback. (SIGKILL of the importer: ``test_crash_safety``.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hardening.generate import write_mbox
from tests.hardening.harness import (
    IMPORTED,
    MARK,
    Kluis,
    assert_clean_failure,
    assert_exactly_once,
    children,
    descendants,
    no_process_left,
)
from tests.support import PASSPHRASE
from vault import keys as keymod

MAILS = 1100  # 5.1 MB: over POOL_MIN_BYTES, so parsing runs in the pool


def memory_holding(pid: int, needles: dict[str, bytes]) -> set[str]:
    """The names of the ``needles`` found anywhere in the readable memory of ``pid``."""
    found: set[str] = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(bound, 16) for bound in fields[0].split("-"))
            if not fields[1].startswith("r") or fields[-1] in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, ValueError, OverflowError):  # a mapping that cannot be read
                continue
            found.update(name for name, needle in needles.items() if needle in data)
    return found


def wait_for_workers(pid: int, seconds: float = 60, count: int = 1) -> list[int]:
    """The worker processes of the import ``pid`` once its parse pool runs (at least ``count``
    of them, each started): the children of its fork server (or, spawned, its own children but
    multiprocessing's resource tracker)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            server = fork_server(pid)
            workers = [
                child
                for child in children(server or pid)
                if b"multiprocessing" in Path(f"/proc/{child}/cmdline").read_bytes()
                and b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
            ]
            if len(workers) >= count and all(_ignores_ctrl_c(worker) for worker in workers):
                return workers
        time.sleep(0.02)
    pytest.fail("the import never started its parse pool")


def fork_server(pid: int) -> int | None:
    """The parse pool's fork server under the import ``pid``, if it has one."""
    for child in children(pid):
        with contextlib.suppress(OSError):
            if b"multiprocessing.forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
    return None


def interrupted_once_pooled(command: list[str], env: dict[str, str], mark: str) -> None:
    """Run ``command`` in a session of its own, press Ctrl-C at its terminal (the whole group)
    once its parse pool runs, and check it ends with one line, exit 130, and no process marked
    ``mark`` left."""
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_workers(process.pid)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C at a terminal: the whole group
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    stopped = subprocess.CompletedProcess(process.args, process.returncode, b"", stderr)
    assert "interrupted" in assert_clean_failure(stopped, 130)
    no_process_left(mark)


def _ignores_ctrl_c(pid: int) -> bool:
    """True once the worker ``pid`` is set up (its initializer ignores SIGINT first thing)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def test_parse_workers_get_no_passphrase_no_key_and_no_vault_file(
    kluis: Kluis, tmp_path: Path
) -> None:
    mbox = write_mbox(tmp_path / "inbox.mbox", MAILS, lines=180)
    dek = keymod.unwrap_with_passphrase(keymod.load_keys(kluis.vault), PASSPHRASE)
    needles = {
        "passphrase": PASSPHRASE.encode(),
        "raw data key": dek,
        "hex data key": dek.hex().encode(),
    }
    process = kluis.popen("import", str(mbox), env=kluis.env(**{MARK: secrets.token_hex(8)}))
    try:
        workers = wait_for_workers(process.pid, count=2)
        os.kill(process.pid, signal.SIGSTOP)  # the importer, frozen with its workers alive
        try:
            started = descendants(process.pid)  # the fork server and scan readers too
            assert set(workers) <= set(started)
            assert "raw data key" in memory_holding(process.pid, needles)  # the search works
            for pid in started:
                environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                assert not [v for v in environment if v.startswith(b"KLUIS_PASSPHRASE=")]
                assert PASSPHRASE.encode() not in b"\0".join(environment)
                fd_folder = Path(f"/proc/{pid}/fd")
                files = [os.readlink(fd_folder / fd) for fd in os.listdir(fd_folder)]
                leaked = [f for f in files if f.startswith(str(kluis.vault)) or f == str(mbox)]
                assert leaked == [], (pid, leaked)
                assert memory_holding(pid, needles) == set(), pid
        finally:
            os.kill(process.pid, signal.SIGCONT)
        process.wait(timeout=300)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert len(kluis.json("companies")) > 0


def _shared_dirty_mb(pid: int) -> float:
    """The written pages ``pid`` still shares with another process (its fork server), in MB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Shared_Dirty:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_parse_workers_are_forked_from_one_fork_server_and_share_what_it_loaded(
    kluis: Kluis, tmp_path: Path
) -> None:
    # Spawned, each worker loaded the importer's modules itself: two copies of ~20 MB.
    mbox = write_mbox(tmp_path / "inbox.mbox", MAILS, lines=180)
    process = kluis.popen("import", str(mbox))
    try:
        workers = wait_for_workers(process.pid, count=2)  # both forked, not the first alone
        server = fork_server(process.pid)
        assert server is not None, "no fork server under the import"
        assert sorted(workers) == sorted(children(server)), "every worker comes from the server"
        assert len(workers) == 2
        for worker in workers:
            assert _shared_dirty_mb(worker) >= 4, worker  # the server's loaded modules
        process.wait(timeout=300)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


def test_ctrl_c_stops_a_pooled_import_with_one_line_and_leaves_no_process(
    kluis: Kluis, tmp_path: Path
) -> None:
    mbox = write_mbox(tmp_path / "inbox.mbox", MAILS, lines=180)
    mark = secrets.token_hex(8)
    interrupted_once_pooled(kluis.command("import", str(mbox)), kluis.env(**{MARK: mark}), mark)
    assert (
        kluis.run("import", str(mbox)).returncode in IMPORTED
    )  # and it carries on where it stopped
    assert_exactly_once(kluis, MAILS)


def test_a_big_mailboxs_parse_workers_start_while_the_vault_is_still_locked(
    kluis: Kluis, tmp_path: Path
) -> None:
    # They used to start once the key was derived and the importing process had parsed the
    # first 300 mails alone: about a second of one core's work at the start of every import.
    mbox = write_mbox(tmp_path / "inbox.mbox", MAILS, lines=180)
    env = kluis.env()
    del env["KLUIS_PASSPHRASE"]
    process = subprocess.Popen(
        kluis.command("import", str(mbox), "--passphrase-stdin"),
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_workers(process.pid, count=2)  # no passphrase given yet
        assert process.poll() is None
        _, stderr = process.communicate(kluis.passphrase.encode() + b"\n", timeout=300)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, stderr
    assert_exactly_once(kluis, MAILS)


def test_a_wrong_passphrase_ends_the_workers_started_ahead_with_one_line(
    kluis: Kluis, tmp_path: Path
) -> None:
    mbox = write_mbox(tmp_path / "inbox.mbox", MAILS, lines=180)
    mark = secrets.token_hex(8)
    failed = kluis.run(
        "import", str(mbox), env=kluis.env(KLUIS_PASSPHRASE="not it", **{MARK: mark})
    )
    assert "passphrase" in assert_clean_failure(failed, 12)
    no_process_left(mark)


@pytest.mark.parametrize("package", ["vault", "importers", "multiprocessing"])
def test_a_pooled_import_started_in_a_folder_holding_a_package_of_that_name_never_runs_it(
    kluis: Kluis, tmp_path: Path, package: str
) -> None:
    # The fork server and its resource tracker are started as ``python -c``, which puts the
    # current folder first on their module path: an unpacked export holding a ``vault`` folder
    # had its code run in place of kluis's, in a process that parses the user's mail.
    program = Path(sys.executable).with_name("kluis")  # the installed command, as a user runs it
    if not program.exists():
        pytest.skip("kluis is not installed beside this interpreter")
    downloads = tmp_path / "downloads"
    ran = tmp_path / "ran"
    (downloads / package).mkdir(parents=True)
    (downloads / package / "__init__.py").write_text(f"open({str(ran)!r}, 'w').close()\n")
    mbox = write_mbox(downloads / "inbox.mbox", MAILS, lines=180)

    done = subprocess.run(
        [str(program), "import", str(mbox)],
        cwd=downloads,
        env=kluis.env(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert not ran.exists(), f"the {package} folder of the current folder was imported"
    assert_exactly_once(kluis, MAILS)
