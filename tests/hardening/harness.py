"""The hardening suite's harness: cheap real vaults and the real CLI in a fenced subprocess.

Every vault here is a real SQLCipher vault with a real Argon2id-wrapped key, only with the
cheapest parameters ``keys.json`` accepts (19 MiB, t=1), so the dozens of CLI runs of this suite
do not spend their time deriving keys. Each CLI run gets its own HOME and TMPDIR (scanned by the
leak tests), a timeout, and an address-space limit: a hostile file may fail, never hang or eat
the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.support import PASSPHRASE
from vault import keys as keymod
from vault.fsutil import make_private_folder
from vault.store import Store, create_store, open_store

LONG = os.environ.get("KLUIS_HARDENING_LONG") == "1"
"""``make hardening`` sets this: many more kills and the biggest hostile inputs."""

MEMORY_LIMIT = 1536 * 1024 * 1024
"""RLIMIT_AS of every CLI run: an input that needs more is a memory bomb that got through."""

TIMEOUT = 120.0
"""Seconds any single CLI run may take before the test calls it a hang."""

# Sets the limit, then becomes ``python -m vault``: safer than preexec_fn, which is not
# thread-safe, and the hostile corpus runs two CLIs at once.
_LIMITED = (
    "import os, resource, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'vault', *sys.argv[2:]])\n"
)


def cheap_kdf() -> keymod.KdfParams:
    """The smallest Argon2id parameters keys.json accepts: fast tests, still real Argon2id."""
    return keymod.KdfParams(
        salt=secrets.token_bytes(keymod.MIN_SALT_BYTES),
        memory_kib=keymod.MIN_MEMORY_KIB,
        iterations=1,
        lanes=1,
    )


def make_vault(folder: Path, passphrase: str = PASSPHRASE) -> str:
    """A new, empty vault in ``folder`` (as ``kluis init`` makes it, with a cheap KDF); returns
    its recovery code."""
    made = keymod.create_keys(passphrase, cheap_kdf())
    make_private_folder(folder)
    create_store(folder, made.dek, made.keys.vault_id).close()
    keymod.save_keys(folder, made.keys)
    return made.recovery_code


def open_for_test(folder: Path, passphrase: str = PASSPHRASE) -> Store:
    """Open a vault in-process, to look at what the CLI left in it."""
    keyfile = keymod.load_keys(folder)
    return open_store(folder, keymod.unwrap_with_passphrase(keyfile, passphrase), keyfile.vault_id)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, to prove that nothing changed."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@dataclass
class Kluis:
    """The CLI against one vault, run as a script would run it, in a fenced environment."""

    vault: Path
    home: Path
    tmp: Path
    passphrase: str = PASSPHRASE

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "KLUIS_VAULT": str(self.vault),
            "KLUIS_PASSPHRASE": self.passphrase,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update(extra)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-c", _LIMITED, str(MEMORY_LIMIT), *args]

    def run(
        self,
        *args: str,
        timeout: float = TIMEOUT,
        env: dict[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``kluis ARGS`` (with ``stdin`` as its input, else none); a run past ``timeout``
        fails the test as a hang."""
        try:
            return subprocess.run(
                self.command(*args),
                env=env or self.env(),
                capture_output=True,
                timeout=timeout,
                input=stdin,
                stdin=subprocess.DEVNULL if stdin is None else None,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"kluis {' '.join(args)} hung (no end within {timeout:.0f} s)")

    def popen(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``kluis ARGS`` without waiting (to kill it), ``stdin`` already written to it,
        in ``env`` (default: this test's)."""
        process = subprocess.Popen(
            self.command(*args),
            env=env or self.env(),
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if stdin is not None:
            assert process.stdin is not None
            process.stdin.write(stdin)  # a few lines: the pipe's buffer takes them at once
            process.stdin.close()
            process.stdin = None  # all written: communicate() must not flush it again
        return process

    def measure(self, *args: str, timeout: float = TIMEOUT) -> Measured:
        """Run ``kluis ARGS`` like ``run``, measuring its seconds and its peak memory."""
        started = time.monotonic()
        with subprocess.Popen(
            self.command(*args),
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as process:
            peak = _PeakMemory(process.pid)
            try:
                out, err = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                pytest.fail(f"kluis {' '.join(args)} hung (no end within {timeout:.0f} s)")
            finally:
                peak.stop()
        done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        return Measured(done, time.monotonic() - started, peak.megabytes)

    def json(self, *args: str) -> Any:
        """Run a command with ``--json`` that must succeed; its parsed output."""
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return json.loads(done.stdout)

    def doctor(self) -> dict[str, Any]:
        """``kluis doctor --json``, which must find the vault healthy."""
        done = self.run("doctor", "--json")
        report = json.loads(done.stdout) if done.stdout else {}
        assert done.returncode == 0 and report.get("ok"), (
            done.stderr.decode(errors="replace"),
            report,
        )
        checks = {c["name"]: c["ok"] for c in report["checks"]}
        assert checks.get("integrity_check") and checks.get("cipher_integrity_check"), report
        return dict(report)


@dataclass(frozen=True)
class Measured:
    """A CLI run with its wall-clock seconds and peak resident memory."""

    done: subprocess.CompletedProcess[bytes]
    seconds: float
    peak_mb: int
    """The child's VmHWM (0 where /proc does not say): its own high-water mark after the exec,
    never the parent's pages it was forked with (which ``ru_maxrss`` would count)."""


class _PeakMemory:
    """Reads the high-water mark of resident memory of a process and of its children (parse
    workers) until it is stopped; ``megabytes`` is the largest of any one of them."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.megabytes = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            for pid in _family(self._pid):
                with contextlib.suppress(OSError, ValueError):
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):  # kB, and only ever grows
                            self.megabytes = max(self.megabytes, int(line.split()[1]) // 1024)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _family(pid: int) -> list[int]:
    """``pid`` and its descendants, as /proc lists them now."""
    family, todo = [], [pid]
    while todo:
        current = todo.pop()
        family.append(current)
        with contextlib.suppress(OSError, ValueError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return family


MARK = "KLUIS_TEST_MARK"
"""An environment variable every process a test's CLI starts inherits, to find them all."""


def marked(mark: str) -> list[int]:
    """The live processes whose environment holds ``MARK=mark``: a CLI and all it started."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours
                continue
    return found


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # "pid (name) state ppid ...": the name may hold spaces, so split after ")".
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """The processes under ``pid``: its children, theirs, and so on."""
    found: list[int] = []
    todo = children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children(child))
    return found


def _command(pid: int) -> str:
    try:
        return f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"{pid}: (ended)"


def no_process_left(mark: str, seconds: float = 10.0) -> None:
    """Fail unless every process marked ``mark`` has ended within ``seconds``."""
    deadline = time.monotonic() + seconds
    while left := marked(mark):
        if time.monotonic() > deadline:
            pytest.fail(f"processes outlived the killed import: {[_command(p) for p in left]}")
        time.sleep(0.05)


def assert_exactly_once(kluis: Kluis, expected: int) -> None:
    """``expected`` interactions, each source item once."""
    store = open_for_test(kluis.vault)
    try:
        with store.read() as conn:
            total, keys, refs = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT dedup_key), count(DISTINCT source_ref) "
                    "FROM interaction"
                )
            ).one()
    finally:
        store.close()
    assert (total, keys, refs) == (expected, expected, expected)


def assert_clean_failure(done: subprocess.CompletedProcess[bytes], exit_code: int) -> str:
    """The contract for errors: one line on stderr, ``kluis: ...``, the expected exit status,
    no traceback and no "unexpected error" (which means a bug reached the last defence)."""
    stderr = done.stderr.decode("utf-8", "replace")
    lines = [line for line in stderr.splitlines() if not line.startswith("Taking ")]
    assert done.returncode == exit_code, (done.returncode, stderr[-2000:])
    assert "Traceback" not in stderr, stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("kluis: "), stderr[-2000:]
    assert "unexpected error" not in lines[0], lines[0]
    return lines[0]


IMPORTED = (0, 3)
"""Exit statuses of an import that finished: 3 (cli.exits.PARTIAL) when items went to quarantine
or nothing was read."""


def import_summary(done: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    """The ``--json`` summary of an import that finished, checked: no traceback, exit 0, or
    3 exactly when something was quarantined or failed or nothing was read."""
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr[-2000:]
    assert done.returncode in IMPORTED, (done.returncode, stderr[-2000:])
    summary: dict[str, Any] = json.loads(done.stdout)
    read = summary["new"] + summary["duplicate"] + summary["updated"]
    assert done.returncode == 0 or summary["quarantined"] or summary["errors"] or not read, summary
    return summary


FIGURES: dict[str, dict[str, int]] = {"kills": {}, "hostile": {}, "canary": {}, "peak MB": {}}
"""What the suite measured, printed in the terminal summary: kills survived per import,
hostile inputs tried per class, canary hits per place scanned, the peak memory per input."""


def count(kind: str, key: str, amount: int = 1) -> None:
    """Add ``amount`` to one figure."""
    FIGURES[kind][key] = FIGURES[kind].get(key, 0) + amount


def record_peak(key: str, megabytes: int) -> None:
    """Keep the largest peak memory measured for ``key``."""
    FIGURES["peak MB"][key] = max(FIGURES["peak MB"].get(key, 0), megabytes)


def run_in_process(kluis: Kluis, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``kluis ARGS`` through ``cli.main.main`` in this process, for small inputs where a
    subprocess's start-up would dominate; the same environment, output captured as bytes."""
    import contextlib
    import io

    from cli.main import main

    saved_env = {name: os.environ.get(name) for name in kluis.env()}
    out, err = io.StringIO(), io.StringIO()
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        os.environ.update(kluis.env())
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.umask(umask)  # main() sets 0077 for the files it makes; not for the test run
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return subprocess.CompletedProcess(
        ["kluis", *args], code, out.getvalue().encode(), err.getvalue().encode()
    )


_LOADED = (
    "import sys\n"
    "from cli.main import main\n"
    "status = main(sys.argv[2:])\n"
    "names = sys.argv[1].split(',')\n"
    "print(status, sorted(m for m in sys.modules if m in names or m.split('.')[0] in names))\n"
)


def python_script(
    env: dict[str, str], script: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -c SCRIPT ARGS`` in ``env``, its output captured as text (a test's view of
    what a process started the way kluis is started loaded, kept or left behind)."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def modules_loaded(
    env: dict[str, str], watched: tuple[str, ...], *args: str
) -> tuple[list[str], str]:
    """``kluis ARGS`` run as a script in ``env``: its stdout lines, the last one its exit status
    and which of the ``watched`` modules (or packages) it loaded (``0 []``: none); and its
    stderr."""
    done = python_script(env, _LOADED, ",".join(watched), *args)
    return done.stdout.splitlines(), done.stderr
