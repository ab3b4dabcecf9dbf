"""Start-up: ``kluis companies --json`` with the passphrase and with a remembered key.

Builds a small vault (2,000 generated mails), then times, as fresh processes, --repeat times:

- ``python -c pass``: the interpreter's own floor on this machine;
- ``kluis --help`` and ``python -c "import vault"``;
- ``kluis companies --json`` with ``KLUIS_PASSPHRASE`` (pays Argon2id, 64 MiB, t=3, p=4);
- the same with a remembered device key: ``kluis remember`` into a throwaway file keyring
  (bench/bench_keyring.py, since headless Linux has none), so the real unlock path runs;
- the Argon2id derivation alone, in this process.

Then ``python -X importtime`` of the remembered-key run: the modules that cost the most.
Target (issue 9): ≤ 0.3 s with a remembered key. Figures, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mailgen  # noqa: E402
from measure import machine_line, run, table  # noqa: E402

PASSPHRASE = "bench-passphrase"


def _kluis() -> list[str]:
    local = Path(sys.executable).parent / "kluis"
    return [str(local)] if local.exists() else [sys.executable, "-m", "vault"]


def _env(folder: Path, keyring_file: Path, *, passphrase: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
    env.update(
        KLUIS_VAULT=str(folder),
        KLUIS_BENCH_KEYRING=str(keyring_file),
        PYTHON_KEYRING_BACKEND="bench_keyring.FileKeyring",
        PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")])),
    )
    if passphrase:
        env["KLUIS_PASSPHRASE"] = PASSPHRASE
    return env


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--mails", type=int, default=2000)
    args = parser.parse_args(argv)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="kluis-bench-startup-") as tmp:
        work = Path(tmp)
        folder, keyring_file = work / "vault", work / "keyring.json"
        mailgen.generate(work / "mail", args.mails, maildir=False)
        with_passphrase = _env(folder, keyring_file, passphrase=True)
        remembered = _env(folder, keyring_file, passphrase=False)
        for step in (["init"], ["import", str(work / "mail" / "mailbox.mbox")], ["remember"]):
            done = run([*_kluis(), *step], env=with_passphrase)
            if done.returncode:
                print(f"kluis {step[0]} failed: {done.stderr.strip()}")
                return 1
        checks = {
            "python -c pass (interpreter floor)": ([sys.executable, "-c", "pass"], remembered),
            'python -c "import vault"': ([sys.executable, "-c", "import vault"], remembered),
            "kluis --help": ([*_kluis(), "--help"], remembered),
            "kluis companies --json, KLUIS_PASSPHRASE": (
                [*_kluis(), "companies", "--json"],
                with_passphrase,
            ),
            "kluis companies --json, remembered key": (
                [*_kluis(), "companies", "--json"],
                remembered,
            ),
        }
        rows = []
        for label, (command, env) in checks.items():
            walls, peaks = [], []
            for _ in range(args.repeat):
                result = run(command, env=env)
                if result.returncode:
                    print(f"{label}: exit {result.returncode}: {result.stderr.strip()}")
                    break
                walls.append(result.wall * 1000)
                peaks.append(result.peak_rss_mb)
            if walls:
                rows.append(
                    [
                        label,
                        f"{statistics.median(walls):.0f}",
                        f"{min(walls):.0f}",
                        f"{statistics.median(peaks):.0f}",
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
            ]
        )
        # `python -X importtime <kluis script>` or `python -X importtime -m vault`.
        script = _kluis()[1:] if _kluis()[0] == sys.executable else _kluis()
        offenders = importtime([*script, "companies", "--json"], remembered, top=15)
    print(f"vault: {args.mails:,} generated mails; {args.repeat} runs each, fresh processes")
    print()
    print(table(["start-up", "median ms", "min ms", "peak MB"], rows))
    print("target: ≤ 300 ms with a remembered key (issue 9)")
    print()
    print("python -X importtime, remembered-key `kluis companies --json`, by top-level package:")
    print(table(["package", "cumulative ms"], [[name, f"{ms:.0f}"] for ms, name in offenders]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
