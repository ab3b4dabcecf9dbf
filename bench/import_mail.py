"""`make bench-import`: kluis's mail import side by side with mu, notmuch and mbox-to-sqlite.

Generates two deterministic mailboxes of --mails each (bench/mailgen.py's shapes: ``commercial``,
HTML-heavy, and ``plain``, mostly small plain mails with a few large attachments; an mbox and,
when a chosen tool reads one, its Maildir twin, cached under --data), then runs, as separate
processes on the same mail, each shape and each tool in turn and --repeat times (interleaved,
so a burst of load on this shared machine hits every tool alike; 3 runs, 1 from 100,000 mails
on). Default 5,000 mails a shape (``BENCH_MAILS=20000 make bench-import`` or ``--mails 20000``
for the set of issues 9 and 21):

- ``kluis import`` of the mbox into a fresh vault (SQLCipher, FTS5, companies, bookings),
- the same into plaintext SQLite (bench/plain_kluis.py: no key, same library and pragmas),
- ``kluis import`` of the Maildir (the same input mu and notmuch get),
- ``mu index`` (maildir-utils), ``notmuch new`` (a throwaway NOTMUCH_CONFIG),
- ``mbox-to-sqlite mbox`` (PyPI).

Prints a table of medians per shape: wall time, msg/s, CPU, peak memory (largest process; whole tree
as summed RSS and as PSS) and kluis's speed ratio to each; then the targets of issues 3 and 9.
Figures, not a test. A tool that is not installed is skipped with a note.
``--mails 200000 --tools kluis,mu --shapes commercial`` is the large variant (about 1.3 GiB of
mbox, generated once in a few minutes; the plain shape would be about 5 GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailgen
from measure import Run, machine_line, median, run, table
from targets import report

PASSPHRASE = "bench-passphrase"
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def _which(name: str) -> str | None:
    local = BIN / name
    return str(local) if local.exists() else shutil.which(name)


@dataclass
class Tool:
    """One contender: how to prepare a fresh target, the timed command, and how many it stored."""

    name: str
    needs: str  # the executable that must exist
    maildir: bool  # reads the Maildir twin (else the mbox)
    prepare: Callable[[Path, Path], tuple[list[str], dict[str, str]]]
    """(work dir, data dir) → (timed command, env); untimed set-up happens here."""
    count: Callable[[Path, Run], int]
    disk: Callable[[Path, Path], int]
    """(work dir, data dir) → bytes on disk that keep the mail and make it searchable."""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KLUIS_", "NOTMUCH_"))}
    env.update(extra)
    return env


SOURCE_TREE: Path | None = None
"""--src: run kluis from another checkout (e.g. with a proposed patch) instead of the installed one."""


def _kluis_prepare(
    source: str, plain: bool
) -> Callable[[Path, Path], tuple[list[str], dict[str, str]]]:
    def prepare(work: Path, data: Path) -> tuple[list[str], dict[str, str]]:
        kluis, env = new_vault(work, plain)
        path = data / ("mailbox.mbox" if source == "mbox" else "Maildir")
        return [*kluis, "import", str(path), "--json", "--timezone", "Europe/Amsterdam"], env

    return prepare


def new_vault(work: Path, plain: bool = False) -> tuple[list[str], dict[str, str]]:
    """A fresh vault in ``work``: the kluis command (of --src, if given) and its environment."""
    kluis = (
        [sys.executable, str(HERE / "plain_kluis.py")] if plain else [_which("kluis") or "kluis"]
    )
    env = _env(KLUIS_VAULT=str(work / "vault"), KLUIS_PASSPHRASE=PASSPHRASE)
    if SOURCE_TREE is not None:
        # PYTHONPATH comes before the editable install's finder, so this tree's vault wins.
        env["PYTHONPATH"] = str(SOURCE_TREE)
        if not plain:
            kluis = [sys.executable, "-P", "-m", "vault"]  # -P: not the cwd's vault
    init = run([*kluis, "init"], env=env)
    if init.returncode:
        raise RuntimeError(f"kluis init failed: {init.stderr.strip()}")
    return kluis, env


def _kluis_count(work: Path, result: Run) -> int:
    return int(json.loads(result.stdout)["new"])


def _bytes_under(path: Path) -> int:
    """Bytes of the files at or under ``path`` (0 if there is none)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _disk_of(*stores: str, maildir: bool = False) -> Callable[[Path, Path], int]:
    """A tool's bytes on disk: what it wrote under the work dir, plus the Maildir it indexes
    (mu and notmuch keep only an index: the mail stays in the Maildir)."""

    def disk(work: Path, data: Path) -> int:
        kept = _bytes_under(data / "Maildir") if maildir else 0
        return kept + sum(_bytes_under(work / name) for name in stores)

    return disk


def _mu_prepare(work: Path, data: Path) -> tuple[list[str], dict[str, str]]:
    home = work / "mu"
    init = run(["mu", "init", f"--maildir={data / 'Maildir'}", f"--muhome={home}"])
    if init.returncode:
        raise RuntimeError(f"mu init failed: {init.stderr.strip()}")
    return ["mu", "index", "--quiet", f"--muhome={home}"], _env()


def _mu_count(work: Path, result: Run) -> int:
    info = run(["mu", "info", f"--muhome={work / 'mu'}", "store"])
    for line in info.stdout.splitlines():
        if "messages in store" in line:
            return int(line.split("|")[2].strip())
    return -1


def _notmuch_prepare(work: Path, data: Path) -> tuple[list[str], dict[str, str]]:
    (work / "notmuch").mkdir()
    config = work / "notmuch.config"
    config.write_text(
        f"[database]\npath={work / 'notmuch'}\nmail_root={data / 'Maildir'}\n"
        f"[user]\nname={mailgen.OWNER_NAME}\nprimary_email={mailgen.OWNER}\n"
        "[new]\ntags=unread;inbox;\nignore=\n[search]\nexclude_tags=deleted;spam;\n"
        "[maildir]\nsynchronize_flags=true\n"
    )
    return ["notmuch", "new", "--quiet"], _env(NOTMUCH_CONFIG=str(config))


def _notmuch_count(work: Path, result: Run) -> int:
    counted = run(["notmuch", "count", "*"], env=_env(NOTMUCH_CONFIG=str(work / "notmuch.config")))
    return int(counted.stdout.strip() or -1)


def _m2s_prepare(work: Path, data: Path) -> tuple[list[str], dict[str, str]]:
    tool = _which("mbox-to-sqlite") or "mbox-to-sqlite"
    return [tool, "mbox", str(work / "mail.db"), str(data / "mailbox.mbox")], _env()


def _m2s_count(work: Path, result: Run) -> int:
    with sqlite3.connect(work / "mail.db") as db:
        return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])


TOOLS = {
    "kluis": Tool(
        "kluis import mbox (SQLCipher)",
        "kluis",
        False,
        _kluis_prepare("mbox", False),
        _kluis_count,
        _disk_of("vault"),
    ),
    "kluis-plain": Tool(
        "kluis import mbox (plaintext)",
        "kluis",
        False,
        _kluis_prepare("mbox", True),
        _kluis_count,
        _disk_of("vault"),
    ),
    "kluis-maildir": Tool(
        "kluis import Maildir (SQLCipher)",
        "kluis",
        True,
        _kluis_prepare("maildir", False),
        _kluis_count,
        _disk_of("vault"),
    ),
    "mu": Tool(
        "mu index (Maildir)", "mu", True, _mu_prepare, _mu_count, _disk_of("mu", maildir=True)
    ),
    "notmuch": Tool(
        "notmuch new (Maildir)",
        "notmuch",
        True,
        _notmuch_prepare,
        _notmuch_count,
        _disk_of("notmuch", maildir=True),
    ),
    "mbox-to-sqlite": Tool(
        "mbox-to-sqlite (mbox)",
        "mbox-to-sqlite",
        False,
        _m2s_prepare,
        _m2s_count,
        _disk_of("mail.db"),
    ),
}


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}×" if theirs else "–"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mails", type=int, default=int(os.environ.get("BENCH_MAILS", "5000")), help="per shape"
    )
    parser.add_argument(
        "--shapes",
        default=",".join(mailgen.SHAPES),
        help=f"comma-separated: {','.join(mailgen.SHAPES)}",
    )
    parser.add_argument(
        "--repeat", type=int, help="runs per tool (default: 3, or 1 from 100,000 mails on)"
    )
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help=f"comma-separated: {','.join(TOOLS)}"
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="where the generated mailboxes are cached, a folder per shape "
        "(default: $TMPDIR/kluis-bench)",
    )
    parser.add_argument("--src", type=Path, help="run kluis from this source tree (before/after)")
    args = parser.parse_args(argv)
    global SOURCE_TREE
    SOURCE_TREE = args.src.resolve() if args.src else None
    names = [n.strip() for n in args.tools.split(",") if n.strip()]
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        parser.error(f"unknown tool {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if not shapes or any(s not in mailgen.SHAPES for s in shapes):
        parser.error(f"--shapes: choose from {', '.join(mailgen.SHAPES)}")
    if args.repeat is None:
        args.repeat = 3 if args.mails < 100_000 else 1
    print(machine_line())
    if SOURCE_TREE is not None:
        print(f"kluis from source tree: {SOURCE_TREE}")
    folders = {shape: mailbox(shape, args.mails, args.data, names) for shape in shapes}
    skipped = [
        f"{name} ({TOOLS[name].needs} not installed)"
        for name in names
        if _which(TOOLS[name].needs) is None
    ]
    active = [n for n in names if not any(s.startswith(n + " ") for s in skipped)]
    runs: dict[tuple[str, str], list[Run]] = {}
    counts: dict[tuple[str, str], int] = {}
    disks: dict[tuple[str, str], int] = {}
    for attempt in range(args.repeat):
        for shape in shapes:
            for name in active:
                result = _one_run(TOOLS[name], folders[shape], (shape, name), counts, disks)
                if result is None:
                    continue
                runs.setdefault((shape, name), []).append(result)
                print(
                    f"  run {attempt + 1}/{args.repeat} {shape:<10} {name:<15} {result.wall:7.1f} s  "
                    f"{args.mails / result.wall:7,.0f} msg/s  cpu {result.cpu:5.1f} s  "
                    f"peak {result.peak_rss_mb:5.0f} MB  tree {result.tree_rss_mb:5.0f} MB "
                    f"(PSS {result.tree_pss_mb:4.0f})  disk {disks[shape, name] / 2**20:5.0f} MiB  "
                    f"load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
    for shape in shapes:
        of_shape = {name: rs for (s, name), rs in runs.items() if s == shape}
        _report(
            shape,
            args.mails,
            args.repeat,
            of_shape,
            {n: counts[shape, n] for n in of_shape},
            {n: disks[shape, n] for n in of_shape},
            _bytes_under(folders[shape] / "Maildir"),
        )
    for note in skipped:
        print(f"  skipped: {note}")
    return 0


def mailbox(shape: str, mails: int, root: Path | None, names: list[str]) -> Path:
    """The shape's generated mailbox (cached), announced with its size."""
    base = root or Path(tempfile.gettempdir()) / "kluis-bench"
    # The first shape keeps its old cache folder, which import_floor.py shares.
    data = base / (f"mail-{mails}" if shape == "commercial" else f"{shape}-{mails}")
    made = mailgen.ensure(data, mails, maildir=any(TOOLS[n].maildir for n in names), shape=shape)
    size = made["bytes"]
    generated = (
        "cached" if made["seconds"] != made["seconds"] else f"generated in {made['seconds']:.1f} s"
    )
    print(
        f"mailbox {shape}: {mails:,} mails, {size / 2**20:.0f} MiB "
        f"(avg {size / mails / 1024:.2f} KiB), {generated}: {data}"
    )
    return data


def _one_run(
    tool: Tool,
    data: Path,
    key: tuple[str, str],
    counts: dict[tuple[str, str], int],
    disks: dict[tuple[str, str], int],
) -> Run | None:
    """One timed run of ``tool`` on a fresh target, noting how many it stored and its bytes on
    disk; None (with a note) when it failed."""
    with tempfile.TemporaryDirectory(prefix=f"kluis-bench-{key[1]}-") as tmp:
        work = Path(tmp)
        command, env = tool.prepare(work, data)
        result = run(command, env=env)
        # kluis exits 3 when it finished but quarantined some mails (cli.exits.PARTIAL).
        partial = tool.needs == "kluis" and result.returncode == 3
        if result.returncode and not partial:
            print(f"  {key[1]}: exit {result.returncode}: {result.stderr.strip()[-500:]}")
            return None
        counts[key] = tool.count(work, result)
        disks[key] = tool.disk(work, data)
        return result


def _report(
    shape: str,
    mails: int,
    repeat: int,
    runs: dict[str, list[Run]],
    counts: dict[str, int],
    disks: dict[str, int],
    maildir: int,
) -> None:
    """The table of medians of one shape (``maildir``: the bytes of its Maildir), and the
    targets of issues 3, 9 and 21."""
    rate = {n: mails / median([r.wall for r in rs]) for n, rs in runs.items()}
    ours = rate.get("kluis", 0.0)
    rows = []
    for name, results in runs.items():
        rows.append(
            [
                TOOLS[name].name,
                f"{median([r.wall for r in results]):.1f}",
                f"{rate[name]:,.0f}",
                f"{median([r.cpu for r in results]):.1f}",
                f"{1000 * median([r.cpu for r in results]) / mails:.2f}",
                f"{median([r.peak_rss_mb for r in results]):.0f}",
                f"{median([r.tree_rss_mb for r in results]):.0f}",
                f"{median([r.tree_pss_mb for r in results]):.0f}",
                f"{counts[name]:,}",
                f"{disks[name] / mails / 1024:.1f}",
                _ratio(ours, rate[name]) if name != "kluis" else "1.00×",
            ]
        )
    print()
    print(
        table(
            [
                f"{shape} set (medians of {repeat})",
                "wall s",
                "msg/s",
                "CPU s",
                "CPU ms/mail",
                "peak MB",
                "tree MB",
                "tree PSS",
                "stored",
                "disk KiB/mail",
                "kluis speed ÷",
            ],
            rows,
        )
    )
    print(
        "  peak MB: largest process (ru_maxrss); tree MB: summed RSS of all its processes; tree\n"
        "  PSS: the same with shared pages split among the processes sharing them (sampled);\n"
        "  disk: what keeps the mail searchable (kluis: the vault; mu, notmuch: their index plus\n"
        "  the Maildir they index; mbox-to-sqlite: its database), per mail"
    )
    print(f"targets on the {shape} set (issues 3, 9 and 21):")
    if "mu" in rate and ours:
        report(
            f"import {shape} {mails:,}: kluis ÷ mu msg/s",
            ours / rate["mu"],
            1.3,
            "×",
            higher_is_better=True,
        )
    if "mbox-to-sqlite" in rate and ours:
        report(
            f"import {shape} {mails:,}: kluis ÷ mbox-to-sqlite msg/s",
            ours / rate["mbox-to-sqlite"],
            1.0,
            "×",
            higher_is_better=True,
        )
    if "kluis-plain" in runs and "kluis" in runs:
        cost = median([r.wall for r in runs["kluis"]]) / median(
            [r.wall for r in runs["kluis-plain"]]
        )
        print(
            f"  encryption cost ≤ 1.3× ............. {cost:.2f}× (SQLCipher wall ÷ plaintext wall)"
        )
    if "kluis" in disks and "mu" in disks:
        print(
            f"  disk per mail ...................... kluis {disks['kluis'] / mails / 1024:.1f} KiB "
            f"(vault) vs {maildir / mails / 1024:.1f} KiB Maildir + "
            f"{(disks['mu'] - maildir) / mails / 1024:.1f} KiB mu index"
        )
    if "kluis" in runs:
        # Forked parse workers share most pages with the writer: PSS counts them once.
        peak = max(max(r.peak_rss_mb, r.tree_pss_mb) for r in runs["kluis"])
        summed = max(r.tree_rss_mb for r in runs["kluis"])
        report(
            f"import {shape} {mails:,}: peak memory (tree PSS or largest process)",
            peak,
            200,
            f"MB (summed RSS {summed:.0f} MB)",
            higher_is_better=False,
        )


if __name__ == "__main__":
    raise SystemExit(main())
