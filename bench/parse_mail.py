"""Parse-only CPU per mail: ``parse_message`` on bench/mailgen.py's shapes, A against B.

``python bench/parse_mail.py --mails 5000 --base /tmp/base-checkout`` parses each shape's mails
in a child process per run (the mails generated in the child before its clock starts), runs A
(this checkout, or ``--src``) and B (``--base``) in turn ``--repeat`` times, and prints per shape
the median CPU ms per mail of each, B/A, and how many mails took the fast MIME path
(``importers.email.multipart``) and how many the stdlib fallback. Without ``--base`` only A runs.

Only the parse: the attachment scan (importers/scan, a sandboxed child per PDF or image, ~100x
a parse) is switched off in the child, so the figure is what cutting and reading a mail costs.
Figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mailgen

HERE = Path(__file__).resolve().parent


def child(shape: str, mails: int) -> None:
    """Parse the mails of ``shape`` once, untimed (counting the fallbacks), then timed."""
    from zoneinfo import ZoneInfo

    from importers.email import message
    from importers.email.mime import PARSER
    from vault.records import ImportOptions

    message.scan_attachments = lambda attachments: []  # type: ignore[assignment]  # bench-only
    options = ImportOptions(
        timezone=ZoneInfo("Europe/Amsterdam"), me_addresses=frozenset({mailgen.OWNER})
    )
    raws = [raw for _, raw in mailgen.SHAPES[shape](mailgen.SEED, mails).messages()]
    stdlib = PARSER._full
    fallbacks = 0

    def counted(data: bytes) -> object:
        nonlocal fallbacks
        fallbacks += 1
        return full(data)

    full = stdlib.parsebytes
    stdlib.parsebytes = counted  # type: ignore[method-assign]  # bench-only: count, untimed pass
    for number, raw in enumerate(raws):
        message.parse_message(raw, str(number), options)
    stdlib.parsebytes = full  # type: ignore[method-assign]
    started = time.process_time()
    for number, raw in enumerate(raws):
        message.parse_message(raw, str(number), options)
    cpu = time.process_time() - started
    print(json.dumps({"ms": cpu / mails * 1000, "fallbacks": fallbacks}))


def measure(source: Path | None, shape: str, mails: int) -> dict[str, float]:
    """One child run's figures, kluis imported from ``source`` (else the installed one)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    done = subprocess.run(
        [sys.executable, "-P", __file__, "--child", shape, "--mails", str(mails)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=5000, help="per shape")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", default=",".join(mailgen.SHAPES))
    parser.add_argument("--src", type=Path, help="A: run kluis from this source tree")
    parser.add_argument("--base", type=Path, help="B: the source tree to compare with")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mails)
        return
    sides = {"A": args.src or HERE.parent}
    if args.base:
        sides["B"] = args.base
    print(f"parse-only CPU ms per mail, {args.mails} mails a shape, medians of {args.repeat}")
    for shape in args.shapes.split(","):
        runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        for _ in range(args.repeat):
            for side, source in sides.items():
                runs[side].append(measure(source.resolve(), shape, args.mails))
        ms = {side: median(run["ms"] for run in found) for side, found in runs.items()}
        line = f"{shape:>10}: " + "  ".join(
            f"{side} {ms[side]:.3f} ms (fallback {int(runs[side][0]['fallbacks'])} of {args.mails})"
            for side in sides
        )
        if "B" in ms:
            line += f"  B/A {ms['B'] / ms['A']:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
