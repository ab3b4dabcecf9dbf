"""Start-up: ``kluis companies --json`` with the passphrase and with a remembered key.

Builds a small vault (2,000 generated mails), then times, as fresh processes, --repeat times:

- ``python -c pass``: the interpreter's own floor on this machine;
- ``kluis --help`` and ``python -c "import vault"``;
- ``kluis companies --json`` with ``KLUIS_PASSPHRASE`` (pays Argon2id, 64 MiB, t=3, p=4);
- the same with a remembered device key: ``kluis remember`` into a throwaway file keyring
  (bench/bench_keyring.py, since headless Linux has none), so the real unlock path runs;
- the Argon2id derivation alone, in this process;
- ``kluis search factuur`` as a script runs it (remembered key, and with ``KLUIS_PASSPHRASE``,
  which pays Argon2id by design) beside ``mu find factuur`` on the same mails as a Maildir
  indexed by mu (if ``mu`` is installed; else the table says it is missing).

- the app's time to its main screen (companies listed, a timeline drawn) on the demo vault
  with a remembered key: a fresh process unlocks, runs the real app headless
  (``App.run_test``) and reports the moment it is ready;
- ``kluis search``, ``kluis companies --json`` and the app again on a vault of ``--items``
  (200,000) items, built once through the real ingest path by bench/search.py's generator and
  cached under $TMPDIR/kluis-bench/startup-N;
- where gnome-keyring is installed, ``kluis search`` with the key remembered in a real Secret
  Service on a private session bus (tests/secret_service_daemon.py): the path a Linux desktop takes.

``--before TREE`` times the same commands with another checkout's ``vault`` package first on
``PYTHONPATH`` (e.g. a copy from before a change), alternating runs so load hits both alike.
Then ``python -X importtime`` of the remembered-key search (each tree): the modules that cost
the most. Each row gives the median and minimum wall time and the median CPU (user + system).
Targets (issue 21): a scripted search p50 ≤ 100 ms with a remembered key, ≤ 0.5 s to the app's
main screen. Figures, not a test.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mailgen  # noqa: E402
import search  # noqa: E402
from measure import machine_line, run, table  # noqa: E402
from targets import report  # noqa: E402

sys.path.insert(0, str(HERE.parent))  # tests.secret_service_daemon: the tests' own Secret Service
from tests import secret_service_daemon  # noqa: E402

PASSPHRASE = "bench-passphrase"


def _kluis() -> list[str]:
    local = Path(sys.executable).parent / "kluis"
    return [str(local)] if local.exists() else [sys.executable, "-m", "vault"]


def _compiled(tree: Path) -> None:
    """Byte-compile ``tree``'s packages, as an installed kluis is: with PYTHONDONTWRITEBYTECODE
    set (as on this VM) or a checkout fresh from git, every start would compile each module
    changed since its last .pyc (vault.queries alone: 5 ms) and the figures would time that."""
    for package in ("vault", "cli", "tui", "importers", "exports", "demo"):
        if (tree / package).is_dir():
            compileall.compile_dir(tree / package, quiet=1)


def _env(
    folder: Path, keyring_file: Path, *, passphrase: str | None, tree: Path | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    paths = [str(tree) if tree else None, str(HERE), env.get("PYTHONPATH")]
    env.update(
        KLUIS_VAULT=str(folder),
        KLUIS_BENCH_KEYRING=str(keyring_file),
        PYTHON_KEYRING_BACKEND="bench_keyring.FileKeyring",
        PYTHONPATH=os.pathsep.join(filter(None, paths)),
    )
    if passphrase:
        env["KLUIS_PASSPHRASE"] = passphrase
    return env


# Run in a fresh process: unlock with the remembered key, start the real app headless and
# print the clock and the CPU spent so far when the companies are listed and the first timeline
# is drawn.
_TUI_READY = """
import asyncio, os, time
from pathlib import Path
from vault.unlock import PassphraseSource, open_vault
store = open_vault(Path(os.environ["KLUIS_VAULT"]), PassphraseSource())
from tui.app import KluisApp
app = KluisApp(store)
async def main():
    async with app.run_test(size=(140, 45)):
        while not app.main.companies.loaded or app.timeline.first_paint_at is None:
            await asyncio.sleep(0.002)
        print(time.time(), time.process_time(), flush=True)
asyncio.run(main())
store.close()
"""


def _large(items: int) -> Path:
    """The cached vault of ``items`` generated items (its passphrase is PASSPHRASE too)."""
    folder = Path(tempfile.gettempdir()) / "kluis-bench" / f"startup-{items}"
    manifest = folder / "BENCH.json"
    if not (manifest.exists() and json.loads(manifest.read_text()).get("items") == items):
        shutil.rmtree(folder, ignore_errors=True)
        print(f"building a vault of {items:,} items (cached for the next run)…", flush=True)
        seconds = search.build(folder / "vault", items)
        manifest.write_text(json.dumps({"items": items, "seconds": seconds}))
    return folder / "vault"


def _setup(steps: list[list[str]], env: dict[str, str], cwd: Path) -> str | None:
    for step in steps:
        # cwd: not a checkout, whose packages an older tree's parse pool would import
        done = run([*_kluis(), *step], env=env, cwd=cwd)
        if done.returncode:
            return f"kluis {step[0]} failed: {done.stderr.strip()}"
    return None


def importtime(command: list[str], env: dict[str, str], top: int) -> list[tuple[float, str]]:
    """(cumulative ms, package) of the costliest top-level imports of one run."""
    result = run([sys.executable, "-X", "importtime", *command], env=env)
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[12:].split("|"))
        if not cumulative.isdigit():
            continue
        # Only top-level entries (no indentation): their cumulative time includes their imports.
        raw_name = line.split("|")[2]
        if raw_name.startswith("  ", 1):
            continue
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(cumulative) / 1000
    return sorted(((ms, name) for name, ms in totals.items()), reverse=True)[:top]


def _checks(work: Path, mu: str | None, items: int) -> dict[str, tuple[list[str], str, str | None]]:
    """label: (command, vault, passphrase); vault "secret-service" has its key remembered in
    the Secret Service, the others in the bench's file keyring."""
    kluis = _kluis()
    large = f"{items:,} items" if items else ""
    checks: dict[str, tuple[list[str], str, str | None]] = {
        "python -c pass (interpreter floor)": ([sys.executable, "-c", "pass"], "vault", None),
        'python -c "import vault"': ([sys.executable, "-c", "import vault"], "vault", None),
        "kluis --help": ([*kluis, "--help"], "vault", None),
        "kluis companies --json, KLUIS_PASSPHRASE": (
            [*kluis, "companies", "--json"],
            "vault",
            PASSPHRASE,
        ),
        "kluis companies --json, remembered key": ([*kluis, "companies", "--json"], "vault", None),
        "kluis search factuur --json, remembered key": (
            [*kluis, "search", "factuur", "--json"],
            "vault",
            None,
        ),
        "kluis search factuur, remembered key": ([*kluis, "search", "factuur"], "vault", None),
        "kluis search factuur, KLUIS_PASSPHRASE": (
            [*kluis, "search", "factuur"],
            "vault",
            PASSPHRASE,
        ),
        "kluis search wasmachine, demo, remembered key": (
            [*kluis, "search", "wasmachine"],
            "demo",
            None,
        ),
    }
    if secret_service_daemon.available():
        checks["kluis search wasmachine, demo, key in the Secret Service"] = (
            [*kluis, "search", "wasmachine"],
            "secret-service",
            None,
        )
    if mu:
        checks["mu find factuur (the same mails, mu's index)"] = (
            [mu, "find", f"--muhome={work / 'mu'}", "--maxnum=50", "factuur"],
            "vault",
            None,
        )
    checks["app to main screen, demo vault, remembered key"] = (
        [sys.executable, "-c", _TUI_READY],
        "demo",
        None,
    )
    if items:
        checks.update(
            {
                f"kluis search factuur, {large}, remembered key": (
                    [*kluis, "search", "factuur"],
                    "large",
                    None,
                ),
                f"kluis companies --json, {large}, remembered key": (
                    [*kluis, "companies", "--json"],
                    "large",
                    None,
                ),
                f"app to main screen, {large}, remembered key": (
                    [sys.executable, "-c", _TUI_READY],
                    "large",
                    None,
                ),
            }
        )
    return checks


def _setup_trees(
    work: Path, trees: dict[str, Path | None], keyring_file: Path, large: Path | None
) -> str | None:
    """Each tree's vaults, remembered: of its own making (an older kluis refuses a newer
    schema), but one large vault for both (generated once, by this tree)."""
    for name, tree in trees.items():
        failed = _setup(
            [["init"], ["import", str(work / "mail" / "mailbox.mbox")], ["remember"]],
            _env(work / name / "vault", keyring_file, passphrase=PASSPHRASE, tree=tree),
            work,
        ) or _setup(
            [["demo", "--no-tui"], ["remember"]],
            _env(work / name / "demo", keyring_file, passphrase="demo", tree=tree),
            work,
        )
        if failed:
            return f"{name}: {failed}"
    if large:
        return _setup(
            [["remember"]], _env(large, keyring_file, passphrase=PASSPHRASE, tree=None), work
        )
    return None


def _setup_secret_service(
    work: Path, trees: dict[str, Path | None], keyring_file: Path, env: dict[str, str]
) -> str | None:
    """A copy of each tree's demo vault, remembered in the Secret Service by that tree."""
    for name, tree in trees.items():
        folder = work / name / "secret-service"
        shutil.copytree(work / name / "demo", folder)
        tree_env = _env(folder, keyring_file, passphrase="demo", tree=tree)
        tree_env.pop("PYTHON_KEYRING_BACKEND")
        failed = _setup([["remember"]], {**tree_env, **_bus(env)}, work)
        if failed:
            return f"{name}: {failed}"
    return None


def _bus(env: dict[str, str]) -> dict[str, str]:
    """What a command needs to reach the Secret Service of ``env``."""
    keys = ("HOME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS")
    return {key: env[key] for key in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument(
        "--items", type=int, default=200_000, help="the large vault's items (0: none)"
    )
    parser.add_argument("--before", type=Path, metavar="TREE", help="another checkout to time")
    args = parser.parse_args(argv)
    print(machine_line())
    trees: dict[str, Path | None] = {"after": None}
    if args.before:
        trees = {"before": args.before.resolve(), "after": None}
    for tree in trees.values():
        _compiled(tree or HERE.parent)
    with tempfile.TemporaryDirectory(prefix="kluis-bench-startup-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        keyring_file = work / "keyring.json"
        mu = shutil.which("mu")
        mailgen.generate(work / "mail", args.mails, maildir=bool(mu))
        if mu:
            search.mu_init(work / "mail" / "Maildir", work / "mu")
        large = _large(args.items) if args.items else None
        failed = _setup_trees(work, trees, keyring_file, large)
        bus: dict[str, str] = {}
        if not failed and secret_service_daemon.available():
            bus = _bus(
                stack.enter_context(secret_service_daemon.running(work / "ss", {**os.environ}))
            )
            failed = _setup_secret_service(work, trees, keyring_file, bus)
        if failed:
            print(failed)
            return 1

        def env_for(name: str, vault_name: str, passphrase: str | None) -> dict[str, str]:
            folder = large if vault_name == "large" and large else work / name / vault_name
            env = _env(folder, keyring_file, passphrase=passphrase, tree=trees[name])
            if vault_name == "secret-service":
                env.pop("PYTHON_KEYRING_BACKEND")
                env.update(bus)
            return env

        rows = []
        medians: dict[str, float] = {}  # this tree's median wall ms per check
        for label, (command, vault_name, passphrase) in _checks(work, mu, args.items).items():
            walls: dict[str, list[float]] = {name: [] for name in trees}
            cpus: dict[str, list[float]] = {name: [] for name in trees}
            peaks: dict[str, list[float]] = {name: [] for name in trees}
            timed = dict(trees)  # the trees this check times
            for _ in range(args.repeat):
                for name in list(timed):
                    started = time.time()
                    # cwd: not a checkout, whose packages `python -c` would put before PYTHONPATH
                    result = run(command, env=env_for(name, vault_name, passphrase), cwd=work)
                    if result.returncode and name != "after" and vault_name == "large":
                        # The large vault is shared and this tree's schema; an older tree
                        # refuses it ("written by a newer kluis"): its row says so.
                        print(f"{label} ({name}): not timed: {result.stderr.strip()[-200:]}")
                        del timed[name]
                        continue
                    if result.returncode:
                        print(f"{label} ({name}): exit {result.returncode}: {result.stderr[-300:]}")
                        return 1
                    wall, cpu = result.wall, result.cpu
                    if command[-1] == _TUI_READY:  # up to the main screen, not the exit
                        ready, cpu = map(float, result.stdout.split()[-2:])
                        wall = ready - started
                    walls[name].append(wall * 1000)
                    cpus[name].append(cpu * 1000)
                    peaks[name].append(result.peak_rss_mb)
            medians[label] = statistics.median(walls["after"])
            for name in timed:
                rows.append(
                    [
                        label + (f" [{name}]" if args.before else ""),
                        f"{statistics.median(walls[name]):.0f}",
                        f"{min(walls[name]):.0f}",
                        f"{statistics.median(cpus[name]):.0f}",
                        f"{statistics.median(peaks[name]):.0f}",
                    ]
                )
        from vault.keys import KdfParams

        derive = []
        for _ in range(max(3, args.repeat // 2)):
            params = KdfParams.fresh()
            started = time.perf_counter()
            params.derive(PASSPHRASE)
            derive.append((time.perf_counter() - started) * 1000)
        rows.append(
            [
                "Argon2id derive alone (64 MiB, t=3, p=4)",
                f"{statistics.median(derive):.0f}",
                f"{min(derive):.0f}",
                "–",
                "–",
            ]
        )
        # `python -X importtime <kluis script>` or `python -X importtime -m vault`.
        script = _kluis()[1:] if _kluis()[0] == sys.executable else _kluis()
        searched = "secret-service" if bus else "demo"
        offenders = {
            name: importtime([*script, "search", "wasmachine"], env_for(name, searched, None), 10)
            for name in trees
        }
    print(f"vault: {args.mails:,} generated mails; the demo vault; {args.items:,} items; ")
    print(f"{args.repeat} runs each, fresh processes; load average after: {os.getloadavg()[0]:.2f}")
    print()
    print(table(["start-up", "median ms", "min ms", "CPU ms", "peak MB"], rows))
    if not shutil.which("mu"):
        print("mu find: missing (mu is not installed; e.g. apt-get install maildir-utils)")
    if not bus:
        print("Secret Service: missing (e.g. apt-get install gnome-keyring)")
    for label, ms in medians.items():
        scripted = label.startswith("kluis search wasmachine, demo")
        if scripted or label.startswith("app to main screen"):
            goal = 100 if scripted else 500
            report(label, ms, goal, "ms (median wall)", higher_is_better=False)
    for name, top in offenders.items():
        print()
        where = "the Secret Service" if bus else "the file keyring"
        print(f"python -X importtime, `kluis search wasmachine` [{name}], key in {where}:")
        print(table(["package", "cumulative ms"], [[pkg, f"{ms:.0f}"] for ms, pkg in top]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
