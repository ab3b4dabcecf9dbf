"""kill -9 during backup, restore, export, share --encrypt, revoke --out or company merge leaves
the finished result or nothing, and the next run cleans up what the killed one left.

Two kinds of kill. At a step: the child dies right after its k-th file-system step (an open,
mkdir, fsync, rename, unlink …), so the narrow windows, such as between renaming a package into
place and committing its ledger row, are hit every time. At random moments: SIGKILL after a
random delay, as ``kill -9``, the OOM killer or a power cut would (``KLUIS_HARDENING_SEED``
repeats the moments).

After each kill: nothing half-done is visible (no package without its ledger row or the reverse,
no vault folder with half its files, no export folder without an INCOMPLETE note), and after the
next run no leftover at all (hidden ``.kluis-*`` folders, partial exports, temporary files).
The figures (leftovers after the kills and after the next runs, count and bytes) are printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.hardening.generate import write_mbox
from tests.hardening.harness import (
    FIGURES,
    LONG,
    MEMORY_LIMIT,
    TIMEOUT,
    Kluis,
    count,
    make_vault,
    open_for_test,
)
from vault.blobs import put_blob

MAILS = 3000 if LONG else 1000
BLOB_MB = 40 if LONG else 8  # incompressible: a backup or restore of 40 MB takes about a second
SEED = int(os.environ.get("KLUIS_HARDENING_SEED", "0")) or random.randrange(1, 2**32)
STEP_KILLS = 60 if LONG else 3
"""Kill points per command: every step when there are fewer (the last ones always)."""
RANDOM_KILLS = 30 if LONG else 1

# The CLI as ``python -m vault``, dying right after its STEP-th call of one of STEP_CALLS (0: never;
# the number of steps taken is written to stderr at exit, to choose the kill points).
STEP_CALLS = ("open", "mkdir", "chmod", "fsync", "replace", "rename", "unlink", "rmdir")
_DIE_AT_STEP = (
    "import atexit, os, resource, runpy, signal, sys\n"
    "limit, step = int(sys.argv[1]), int(sys.argv[2])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "taken = 0\n"
    "def counted(call):\n"
    "    def step_then_maybe_die(*args, **kwargs):\n"
    "        global taken\n"
    "        result = call(*args, **kwargs)\n"
    "        taken += 1\n"
    "        if taken == step:\n"
    "            os.kill(os.getpid(), signal.SIGKILL)\n"
    "        return result\n"
    "    return step_then_maybe_die\n"
    f"for name in {STEP_CALLS!r}:\n"
    "    setattr(os, name, counted(getattr(os, name)))\n"
    "atexit.register(lambda: sys.stderr.write(f'kluis-steps: {taken}\\n'))\n"
    "sys.argv = ['kluis', *sys.argv[3:]]\n"
    "runpy.run_module('vault', run_name='__main__', alter_sys=True)\n"
)


@dataclass
class Leftovers:
    """What was found beside a destination that should not be there."""

    count: int = 0
    size: int = 0

    def add(self, other: Leftovers) -> None:
        self.count += other.count
        self.size += other.size


def size_of(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())


def leftovers(folder: Path, expected: Callable[[Path], bool]) -> Leftovers:
    """Every entry of ``folder`` that ``expected`` does not account for."""
    found = Leftovers()
    for entry in folder.iterdir() if folder.exists() else ():
        if not expected(entry):
            found.add(Leftovers(1, size_of(entry)))
    return found


@dataclass
class Figures:
    """Leftovers after each kill and after each next run, per command."""

    name: str
    kills: int = 0
    after_kill: Leftovers = field(default_factory=Leftovers)
    after_next_run: Leftovers = field(default_factory=Leftovers)

    def report(self) -> None:
        print(
            f"{self.name}: {self.kills} kills (seed {SEED}); left after the kills: "
            f"{self.after_kill.count} entries, {self.after_kill.size:,} bytes; after the next "
            f"runs: {self.after_next_run.count} entries, {self.after_next_run.size:,} bytes"
        )
        count("kills", self.name, self.kills)
        FIGURES.setdefault("leftovers", {})
        count("leftovers", f"{self.name}: bytes after the kills", self.after_kill.size)
        count("leftovers", f"{self.name}: bytes after the next runs", self.after_next_run.size)


Args = Callable[[int], list[str]]
"""The command line of run N (0: the first run, never killed; then one per kill)."""
Env = Callable[[int], dict[str, str]]


def steps_of(kluis: Kluis, args: list[str], env: dict[str, str]) -> int:
    """How many file-system steps ``kluis ARGS`` takes when nothing kills it (it must succeed)."""
    done = run_dying_at(kluis, 0, args, env)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return int(done.stderr.decode().rsplit("kluis-steps: ", 1)[1].split()[0])


def run_dying_at(
    kluis: Kluis, step: int, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """``kluis ARGS``, killed right after its ``step``-th file-system step."""
    return subprocess.run(
        [sys.executable, "-c", _DIE_AT_STEP, str(MEMORY_LIMIT), str(step), *args],
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
        check=False,
    )


def kill_points(steps: int, wanted: int) -> list[int]:
    """``wanted`` of the steps 1..``steps``: all when there are few, else the last ones (where the
    result is moved into place) and the rest spread evenly over the earlier ones."""
    if steps <= wanted:
        return list(range(1, steps + 1))
    last = list(range(steps - wanted // 2 + 1, steps + 1))
    spread = wanted - len(last)
    earlier = [1 + (steps - len(last) - 1) * n // max(spread - 1, 1) for n in range(spread)]
    return sorted(set(earlier) | set(last))


def kill_at_random(
    kluis: Kluis, rng: random.Random, seconds: float, args: list[str], env: dict[str, str]
) -> bool:
    """Start ``kluis ARGS`` and SIGKILL it within ``seconds``; False when it finished first."""
    process = subprocess.Popen(
        kluis.command(*args),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        process.wait(timeout=rng.uniform(0.15, seconds))
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True
    finally:
        stderr = process.stderr.read().decode(errors="replace")
        process.stderr.close()
    assert process.returncode == 0, stderr
    return False


def runs(
    kluis: Kluis, figures: Figures, args: Args, env: Env | None = None
) -> Iterator[tuple[int, str]]:
    """Run the command once whole, then kill it at steps and at random moments; yields (run
    number, how it ended) after each run, for the caller to check what is left, run the
    command again and put things back for the next run."""
    environment = env or (lambda _n: kluis.env())
    started = time.monotonic()
    steps = steps_of(kluis, args(0), environment(0))
    seconds = time.monotonic() - started
    yield 0, "not killed"
    number = 0
    for step in kill_points(steps, STEP_KILLS):
        number += 1
        done = run_dying_at(kluis, step, args(number), environment(number))
        assert done.returncode == -signal.SIGKILL, done.stderr.decode(errors="replace")[-2000:]
        figures.kills += 1
        yield number, f"killed after step {step} of {steps}"
    rng = random.Random(SEED)
    landed = 0
    while landed < RANDOM_KILLS:
        number += 1
        if kill_at_random(kluis, rng, seconds * 1.2, args(number), environment(number)):
            landed += 1
            figures.kills += 1
            yield number, f"killed at random ({landed})"
        else:
            yield number, "finished before its kill"


# --- the vault ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault of MAILS mails from 7 shops, a profile, and BLOB_MB of attachment bytes."""
    root = tmp_path_factory.mktemp("big")
    folder = root / "vault"
    make_vault(folder)
    (root / "home").mkdir()
    (root / "tmp").mkdir()
    maker = Kluis(folder, root / "home", root / "tmp")
    done = maker.run("import", str(write_mbox(root / "in.mbox", MAILS)), "--format", "mbox")
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    for key, value in (("name", "Sanne de Vries"), ("email", "sanne@example.org")):
        assert maker.run("profile", "set", key, value).returncode == 0
    store = open_for_test(folder)
    try:
        with store.begin() as conn:
            for _ in range(BLOB_MB):
                put_blob(conn, secrets.token_bytes(1 << 20))
    finally:
        store.close()
    return folder


@pytest.fixture
def kluis(tmp_path: Path, big_vault: Path) -> Kluis:
    vault = tmp_path / "vault"
    shutil.copytree(big_vault, vault)
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    return Kluis(vault, home, tmp)


def interactions(vault: Path) -> int:
    store = open_for_test(vault)
    try:
        with store.read() as conn:
            return int(conn.execute(text("SELECT count(*) FROM interaction")).scalar_one())
    finally:
        store.close()


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           check=True, capture_output=True)  # fmt: skip
    return int(child.stdout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- backup and restore -------------------------------------------------------------------------


def restores_whole(kluis: Kluis, backup: Path, target: Path) -> None:
    """``backup`` restores into ``target`` as a vault that opens, checks and holds every item."""
    done = kluis.run("restore", str(backup), env=kluis.env(KLUIS_VAULT=str(target)))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    vault_is_whole(kluis, target)


def vault_is_whole(kluis: Kluis, folder: Path) -> None:
    Kluis(folder, kluis.home, kluis.tmp).doctor()
    assert interactions(folder) == MAILS


def test_a_killed_backup_leaves_nothing_and_the_next_backup_restores(
    kluis: Kluis, tmp_path: Path
) -> None:
    destination = tmp_path / "usb"
    destination.mkdir()
    backup = destination / "vault.kluis-backup"
    figures = Figures("backup")

    def only_the_backup(entry: Path) -> bool:
        return entry == backup

    for number, how in runs(kluis, figures, lambda _n: ["backup", "--out", str(backup), "--force"]):
        figures.after_kill.add(leftovers(destination, only_the_backup))
        done = kluis.run("backup", "--out", str(backup), "--force")
        assert done.returncode == 0, (how, done.stderr.decode(errors="replace"))
        left = leftovers(destination, only_the_backup)
        figures.after_next_run.add(left)
        assert left.count == 0, (how, sorted(p.name for p in destination.iterdir()))
        restores_whole(kluis, backup, tmp_path / f"restored-{number}")
        shutil.rmtree(tmp_path / f"restored-{number}")
    figures.report()


def test_a_killed_restore_leaves_no_half_vault_and_the_next_restore_works(
    kluis: Kluis, tmp_path: Path
) -> None:
    backup = tmp_path / "vault.kluis-backup"
    assert kluis.run("backup", "--out", str(backup)).returncode == 0
    parent = tmp_path / "restores"
    parent.mkdir()
    figures = Figures("restore")

    def target(number: int) -> Path:
        return parent / f"vault-{number}"

    def a_restored_vault(entry: Path) -> bool:
        return entry.name.startswith("vault-")

    rounds = runs(
        kluis,
        figures,
        lambda _n: ["restore", str(backup)],
        lambda n: kluis.env(KLUIS_VAULT=str(target(n))),
    )
    for number, how in rounds:
        # Either no vault at all, or a whole one: never a folder that looks like half a vault.
        restored = target(number)
        if restored.exists() and any(restored.iterdir()):
            assert sorted(p.name for p in restored.iterdir()) == ["keys.json", "vault.db"], how
            vault_is_whole(kluis, restored)
        figures.after_kill.add(leftovers(parent, a_restored_vault))
        if not (restored / "keys.json").exists():
            restores_whole(kluis, backup, restored)
        left = leftovers(parent, a_restored_vault)
        figures.after_next_run.add(left)
        assert left.count == 0, (how, sorted(p.name for p in parent.iterdir()))
        shutil.rmtree(restored)
    figures.report()


# --- export -------------------------------------------------------------------------------------


def is_whole_export(folder: Path) -> bool:
    return (folder / "README.md").is_file() and not (folder / "INCOMPLETE").exists()


def check_export(folder: Path) -> None:
    assert is_whole_export(folder), sorted(p.name for p in folder.iterdir())
    with (folder / "interaction.jsonl").open("rb") as handle:
        assert sum(1 for _ in handle) == MAILS
    assert len(list((folder / "raw").iterdir())) == MAILS


def test_a_killed_export_leaves_a_marked_partial_folder_and_the_next_export_cleans_it(
    kluis: Kluis, tmp_path: Path
) -> None:
    parent = tmp_path / "exports"
    parent.mkdir()
    figures = Figures("export")

    def out(number: int) -> Path:
        return parent / f"export-{number}"

    for number, how in runs(kluis, figures, lambda n: ["export", "--out", str(out(n))]):
        # Plaintext that is not a whole export is always marked as such.
        for entry in parent.iterdir():
            marked = (entry / "INCOMPLETE").is_file() or not any(entry.iterdir())
            assert is_whole_export(entry) or marked, (how, sorted(entry.iterdir()))
        figures.after_kill.add(leftovers(parent, is_whole_export))
        # The next export: into the same folder if the killed one did not finish it.
        again = out(number) if not is_whole_export(out(number)) else parent / f"again-{number}"
        done = kluis.run("export", "--out", str(again))
        assert done.returncode == 0, (how, done.stderr.decode(errors="replace"))
        for whole in {out(number), again}:
            check_export(whole)
        left = leftovers(parent, {out(number), again}.__contains__)
        figures.after_next_run.add(left)
        assert left.count == 0, (how, sorted(p.name for p in parent.iterdir()))
        for whole in {out(number), again}:
            shutil.rmtree(whole)  # the user takes the export away
    figures.report()


# --- share --encrypt ----------------------------------------------------------------------------


def ledger(kluis: Kluis) -> list[dict[str, object]]:
    """``kluis disclosures --json``: also the "next start" that settles a killed share."""
    rows: list[dict[str, object]] = kluis.json("disclosures")
    return rows


def packages_match_the_ledger(kluis: Kluis, folder: Path, how: str) -> set[Path]:
    """Every file in ``folder`` is a package the ledger records with its digest, and every
    package the ledger records is there; returns the recorded packages."""
    rows = ledger(kluis)
    recorded = {Path(str(r["package_path"])): r["package_sha256"] for r in rows}
    stray = sorted(entry.name for entry in folder.iterdir() if recorded.get(entry) != sha256(entry))
    missing = sorted(str(path) for path in recorded if not path.exists())
    assert not stray and not missing, (how, stray, missing, rows)
    return set(recorded)


def left_by_the_run(folder: Path, known: set[Path]) -> dict[Path, int]:
    """What appeared in ``folder`` besides ``known``, with sizes: measured before any kluis
    starts again, because opening the vault takes back a killed share or letter."""
    return {entry: size_of(entry) for entry in folder.iterdir() if entry not in known}


def unfinished(left: dict[Path, int], finished: set[Path]) -> Leftovers:
    stray = [entry for entry in left if entry not in finished]
    return Leftovers(len(stray), sum(left[entry] for entry in stray))


def test_a_killed_share_leaves_no_package_without_its_ledger_row_nor_the_reverse(
    kluis: Kluis, tmp_path: Path
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    figures = Figures("share --encrypt")
    options = ["--fields", "name,email", "--history", "all", "--purpose", "Loyalty", "--encrypt"]

    def share(name: str) -> list[str]:
        return ["share", "KLM", *options, "--out", str(folder / name)]

    known: set[Path] = set()
    for number, how in runs(kluis, figures, lambda n: share(f"package-{n}.zip")):
        left = left_by_the_run(folder, known)
        figures.after_kill.add(unfinished(left, packages_match_the_ledger(kluis, folder, how)))
        done = kluis.run(*share(f"next-{number}.zip"))
        assert done.returncode == 0, (how, done.stderr.decode(errors="replace"))
        known = packages_match_the_ledger(kluis, folder, how)
        figures.after_next_run.add(leftovers(folder, known.__contains__))
    figures.report()


def test_a_killed_revoke_takes_back_its_letter_and_the_revocation_together(
    kluis: Kluis, tmp_path: Path
) -> None:
    letters, packages = tmp_path / "letters", tmp_path / "packages"
    letters.mkdir()
    packages.mkdir()
    figures = Figures("revoke --out")

    def share(name: str) -> None:
        done = kluis.run(
            "share",
            "KLM",
            "--fields",
            "name",
            "--purpose",
            "Loyalty",
            "--out",
            str(packages / name),
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    share("first.zip")
    # Run N revokes disclosure N + 1: each round shares once more for the next run to revoke.
    rounds = runs(
        kluis, figures, lambda n: ["revoke", str(n + 1), "--out", str(letters / f"{n}.txt")]
    )
    known: set[Path] = set()
    for number, how in rounds:
        left = left_by_the_run(letters, known)
        revoked = {r["id"] for r in ledger(kluis) if r["status"] == "revoked"}  # the next start
        requests = {r["disclosure_id"]: r["letter_path"] for r in kluis.json("gdpr", "status")}
        assert set(requests) == revoked, how
        known = {Path(str(path)) for path in requests.values()}
        figures.after_kill.add(unfinished(left, known))
        stray = leftovers(letters, known.__contains__)
        figures.after_next_run.add(stray)
        assert stray.count == 0, (how, sorted(p.name for p in letters.iterdir()), requests)
        assert (number + 1 in revoked) == (letters / f"{number}.txt").exists(), how
        share(f"round-{number}.zip")
    figures.report()


def test_a_share_that_cannot_be_written_records_nothing(kluis: Kluis, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the package's folder should be")
    done = kluis.run(
        "share", "KLM", "--fields", "name", "--purpose", "x", "--out", str(blocker / "p.zip")
    )
    assert done.returncode != 0 and b"Traceback" not in done.stderr, done.stderr
    assert ledger(kluis) == []


def test_the_next_run_removes_only_what_killed_kluis_runs_left(
    kluis: Kluis, tmp_path: Path
) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    gone = dead_pid()
    hours_ago = time.time() - 7200

    def made(name: str, files: dict[str, str], *, old: bool = False) -> Path:
        path = folder / name
        path.mkdir()
        for file, content in files.items():
            (path / file).write_text(content)
            if old:
                os.utime(path / file, (hours_ago, hours_ago))
        if old:
            os.utime(path, (hours_ago, hours_ago))
        return path

    removed = {
        made(f".kluis-backup-{gone}-a1b2c3d4", {"vault.db": "x" * 1000, "backup.tar": "y"}),
        made(".kluis-backup-k2x9_qpz", {"vault.db": "x", "backup.tar": "y"}, old=True),
        made(f"export.partial-{gone}", {"INCOMPLETE": "kluis: the export in export/ beside"}),
        made(f"empty.partial-{gone}", {}),
    }
    kept = {
        made(f".kluis-backup-{os.getpid()}-a1b2c3d4", {"vault.db": "x"}),  # still running
        made(".kluis-backup-m3n4o5p6", {"vault.db": "x", "notes.txt": "mine"}, old=True),
        made(".kluis-backup-q7r8s9t0", {"vault.db": "x", "backup.tar": "y"}),  # not old yet
        made(f".kluis-restore-{gone}-a1b2c3d4", {"vault.db": "x"}),  # a restore's: not ours here
        made(f"holiday.partial-{gone}", {"photo.jpg": "mine"}),
        made(f"letters.partial-{gone}", {"INCOMPLETE": "my own note"}),
    }
    elsewhere = made("elsewhere", {"vault.db": "precious"})
    link = folder / f".kluis-backup-{gone}-e5f6g7h8"
    link.symlink_to(elsewhere)
    kept |= {elsewhere, link}

    backup = kluis.run("backup", "--out", str(folder / "vault.kluis-backup"))
    assert backup.returncode == 0, backup.stderr
    assert b"Removed 2 leftovers" in backup.stdout, backup.stdout
    export = kluis.run("export", "--out", str(folder / "export"))
    assert export.returncode == 0, export.stderr
    assert b"Removed 2 leftovers" in export.stdout, export.stdout
    left = set(folder.iterdir()) - {folder / "vault.kluis-backup", folder / "export"}
    assert left == kept, (sorted(p.name for p in left), sorted(p.name for p in removed))
    assert (elsewhere / "vault.db").read_text() == "precious"


def test_the_next_write_of_a_file_removes_the_temporary_copies_killed_writes_left(
    kluis: Kluis, tmp_path: Path
) -> None:
    gone = dead_pid()
    calendar = tmp_path / "trips.ics"
    killed = tmp_path / f".trips.ics.{gone}.tmp"  # what a kill between write and rename leaves
    killed.write_text("BEGIN:VCALENDAR (half)")
    running = tmp_path / f".trips.ics.{os.getpid()}.tmp"  # a write still going on
    running.write_text("BEGIN:VCALENDAR")
    others = [tmp_path / f".trips.ics.{gone}.swp", tmp_path / f".other.ics.{gone}.tmp"]
    for other in others:
        other.write_text("not a temporary copy of trips.ics")
    done = kluis.run("bookings", "--ics", str(calendar))
    assert done.returncode == 0, done.stderr
    assert calendar.exists() and not killed.exists()
    assert running.exists() and all(other.exists() for other in others)


# --- company merge ------------------------------------------------------------------------------


def company_items(kluis: Kluis) -> dict[str, int]:
    return {c["name"]: c["interactions"] for c in kluis.json("companies")}


def test_a_killed_company_merge_is_done_whole_or_not_at_all(kluis: Kluis) -> None:
    before = company_items(kluis)
    merged = dict(before, KLM=before["KLM"] + before["BOL"])
    del merged["BOL"]
    figures = Figures("company merge")
    for _number, how in runs(
        kluis, figures, lambda _n: ["company", "merge", "BOL", "--into", "KLM"]
    ):
        now = company_items(kluis)
        assert now in (before, merged), (how, now)
        undo = kluis.run("company", "undo")
        if now == merged:
            assert undo.returncode == 0, (how, undo.stderr.decode(errors="replace"))
        else:
            assert b"no company edit to undo" in undo.stderr, (how, undo.stderr)
        assert company_items(kluis) == before, how
    kluis.doctor()
    figures.report()


def test_the_disclosures_json_names_every_package_by_its_resolved_path(
    kluis: Kluis, tmp_path: Path
) -> None:
    # The ledger check above compares paths: make sure what it compares is what the CLI writes.
    out = tmp_path / "p.zip"
    done = kluis.run(
        "share", "KLM", "--fields", "name", "--purpose", "x", "--out", str(out), "--json"
    )
    assert done.returncode == 0, done.stderr
    written = json.loads(done.stdout)
    [row] = ledger(kluis)
    assert row["package_path"] == written["path"] == str(out.resolve())
