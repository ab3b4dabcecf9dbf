"""`make bench`: every benchmark in one go, one table after another.

Runs bench/run.py (the demo vault's figures), bench/startup.py, bench/import_mail.py,
bench/import_floor.py, bench/import_imap.py, bench/import_chat.py and bench/search.py as separate processes (so one's memory and caches never flatter another)
and passes their output through. ``--quick`` shrinks the inputs for a smoke run;
``--mails``/``--items`` pick the sizes. Figures, never a pass/fail.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import machine_line  # noqa: E402
from targets import TARGETS_FILE, collected  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, one repeat")
    parser.add_argument("--mails", type=int, help="mailbox size for the import bench (20,000)")
    parser.add_argument("--items", type=int, help="interactions for the search bench (1,000,000)")
    parser.add_argument(
        "--skip", default="", help="comma-separated: demo,startup,import,floor,imap,chat,search"
    )
    args = parser.parse_args(argv)
    mails = args.mails or (300 if args.quick else 20_000)
    items = args.items or (3_000 if args.quick else 1_000_000)
    repeat = ["--repeat", "1"] if args.quick else []
    steps = {
        "demo": [str(HERE / "run.py")],
        "startup": [
            str(HERE / "startup.py"),
            *(["--repeat", "2", "--mails", "100"] if args.quick else []),
        ],
        "import": [str(HERE / "import_mail.py"), "--mails", str(mails), *repeat],
        "floor": [str(HERE / "import_floor.py"), "--mails", str(mails)],
        "imap": [str(HERE / "import_imap.py"), "--mails", str(mails), *repeat],
        "chat": [str(HERE / "import_chat.py"), "--messages", str(3_000 if args.quick else 100_000)],
        "search": [str(HERE / "search.py"), "--items", str(items), *repeat],
    }
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    print(f"kluis benchmarks — {machine_line()}", flush=True)
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        reported = Path(scratch) / "targets.jsonl"
        environment = {**os.environ, TARGETS_FILE: str(reported)}
        for name, command in steps.items():
            if name in skip:
                continue
            print(f"\n=== {name} ===", flush=True)
            started = time.perf_counter()
            status = subprocess.call([sys.executable, *command], env=environment)
            print(f"({name}: {time.perf_counter() - started:.0f} s, exit {status})", flush=True)
            failed |= status != 0
        targets = collected(reported)
    if targets:
        met = sum(target.met for target in targets)
        print(f"\n=== issue 21's targets: {met} of {len(targets)} met ===")
        for target in targets:
            print(f"  {target.line()}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
