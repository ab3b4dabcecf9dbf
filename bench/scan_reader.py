"""What one scan reader costs: CPU ms of the reader child (``importers.scan.child``) started,
given one file and ended, A against B.

``python bench/scan_reader.py --base /tmp/base-checkout`` runs, in each checkout's own
``.venv``, a process that hands one file to ``importers.scan.sandbox`` (as an import does) and
ends the reader; the reader's user+sys CPU is what the process's waited children used. Cases: no
file (an unknown kind: the start alone), the small boarding-pass PDF and PNG of
tests/fixtures/tickets, and a 3 MB scan as bench/mailgen.py's plain set attaches it. A and B
alternate, ``--repeat`` times; prints the medians and B/A. Figures, not a test.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailgen
from measure import machine_line, median

HERE = Path(__file__).resolve().parent
TICKETS = HERE.parent / "tests" / "fixtures" / "tickets"
_DRIVER = """import resource, sys
from pathlib import Path
from importers.scan import sandbox
data = Path(sys.argv[2]).read_bytes()
sandbox.read_in_sandbox(sys.argv[1], data)
sandbox._READER.release()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print((usage.ru_utime + usage.ru_stime) * 1000)
"""


def reader_ms(tree: Path, kind: str, path: Path) -> float:
    """CPU ms of the reader ``tree`` starts for ``path`` read as ``kind``."""
    done = subprocess.run(
        [tree / ".venv" / "bin" / "python", "-c", _DRIVER, kind, path],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def main(argv: list[str] | None = None) -> int:
    """Print the reader's CPU per case for A (and B)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=HERE.parent, help="A: this checkout")
    parser.add_argument("--base", type=Path, help="B: the checkout to compare with")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    trees = {"A": args.src.resolve()} | ({"B": args.base.resolve()} if args.base else {})
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="kluis-scanreader-") as folder:
        scan = Path(folder) / "scan.pdf"
        rng = random.Random(3)
        while not (big := mailgen._big_file(rng, 3_000_000))[0].endswith(".pdf"):
            pass  # the generator gives a photo or a scan at random: take its first scan
        scan.write_bytes(big[2])
        nothing = Path(folder) / "nothing"
        nothing.write_bytes(b"")
        cases = {
            "start (no file)": ("none", nothing),
            "small PDF": ("pdf", TICKETS / "boarding-pass.pdf"),
            "small PNG": ("image", TICKETS / "boarding-pass.png"),
            "3 MB plain-set scan": ("pdf", scan),
        }
        print(
            f"{'reader CPU ms, medians of ' + str(args.repeat):<32} "
            + " ".join(f"{name:>8}" for name in trees)
            + ("      B/A" if len(trees) == 2 else "")
        )
        for case, (kind, path) in cases.items():
            runs: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    runs[name].append(reader_ms(tree, kind, path))
            mids = {name: median(values) for name, values in runs.items()}
            ratio = f" {mids['B'] / mids['A']:8.2f}×" if len(mids) == 2 else ""
            print(f"{case:<32} " + " ".join(f"{m:8.1f}" for m in mids.values()) + ratio)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
