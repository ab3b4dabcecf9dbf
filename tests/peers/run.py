"""``make peers``: kluis on KDE KItinerary's own test inputs, compared with its expected results.

Usage::

    python tests/peers/run.py [--peers DIR] [--only FOLDER/NAME ...] [--jobs N] [-v]

Every input of ``<peers>/kitinerary/`` (``../shared/peers`` beside the project; skipped cleanly
when absent) goes through the real ``kluis import`` into a fresh vault of its own, then
``kluis bookings --json`` is compared with KItinerary's expected JSON on what a traveller sees
(rules in ``agree.py``). Prints each folder's "N of M agree", the total, and every disagreement
in one line. Cases listed in ``DIFFERENCES.md`` beside this script differ on purpose: they are
reported as explained, with the reason.

How each folder's inputs are given to kluis:

- ``structureddata/NAME.html`` (``--format html``) against ``NAME.json``;
- ``jsonlddata/NAME.in.json`` (``--format jsonld``) against ``NAME.out.json``;
- ``pkpassdata/NAME.pkpass`` (``--format pkpass``) against ``NAME.json``; the ``.pkpasses``
  bundle against the expected results of the passes it holds;
- ``calendarhandlerdata/NAME.ics`` and ``extractordata-db-ics/NAME.ics`` (``--format ics``)
  against ``NAME.json`` and ``NAME.ics.json``. ``to-be-cancelled.ics`` has no result of its own,
  and one DB result has no input: neither is a case;
- ``bcbpdata``: the ``NAME.txt`` files are KItinerary's dump of the decoded barcode, not an
  input; the barcode itself is the ``ticketToken`` of ``NAME.json`` (KItinerary's test feeds that
  string to its parser). It is written to ``NAME.bcbp`` and imported with ``--format bcbp``.

A barcode has no year and a pass may lack one: KItinerary's tests give the date the document
arrived (pkpass 2017-12-29, barcodes 2018-04-02). kluis takes that date from the file's
modification time, so each input is copied into the case's folder with that time.

Exit status: 0 when every disagreement is explained and every explained case still disagrees,
1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.hardening.harness import make_vault
from tests.peers.agree import Json, disagreements, expected_trips

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_PEERS = REPO.parent / "shared" / "peers"
DIFFERENCES = HERE / "DIFFERENCES.md"
PASSPHRASE = "peers: KItinerary's cases through the real import"
TIMEOUT_SECONDS = 120.0
TIMEZONE = "America/New_York"
"""The user's zone for the imports: far from every case's own, so an invented zone shows."""
FOLDERS = (
    "structureddata",
    "jsonlddata",
    "pkpassdata",
    "calendarhandlerdata",
    "bcbpdata",
    "extractordata-db-ics",
)
CONTEXT = {
    "pkpassdata": datetime(2017, 12, 29, 18, 46, 2, tzinfo=UTC),
    "bcbpdata": datetime(2018, 4, 2, 12, 0, tzinfo=UTC),
}
"""The date each KItinerary test gives as "when the document arrived"."""
_DIFFERENCE_ROW = re.compile(r"^\|\s*`?([\w.-]+/[\w.-]+)`?\s*\|\s*(.+?)\s*\|\s*$")


@dataclass(frozen=True)
class Case:
    """One input (or bundle) and what KItinerary expects of it."""

    folder: str
    name: str
    source: Path
    fmt: str
    expected: Json
    barcode: str | None = None

    @property
    def id(self) -> str:
        """``folder/name``, as listed in DIFFERENCES.md."""
        return f"{self.folder}/{self.name}"


@dataclass
class Result:
    """What one case gave: its differences (empty: agrees) or the failure that stopped it."""

    case: Case
    differences: list[str] = field(default_factory=list)


def _load(path: Path) -> Json:
    return json.loads(path.read_text(encoding="utf-8"))


def discover(root: Path) -> list[Case]:
    """Every case of ``root`` (the ``kitinerary`` folder), folder by folder, by name."""
    cases: list[Case] = []
    for source in sorted((root / "structureddata").glob("*.html")):
        cases.append(_case(source, "html", source.with_suffix(".json")))
    for source in sorted((root / "jsonlddata").glob("*.in.json")):
        out = source.with_name(source.name.removesuffix(".in.json") + ".out.json")
        cases.append(_case(source, "jsonld", out))
    for source in sorted((root / "pkpassdata").glob("*.pkpass")):
        cases.append(_case(source, "pkpass", source.with_suffix(".json")))
    for bundle in sorted((root / "pkpassdata").glob("*.pkpasses")):
        with zipfile.ZipFile(bundle) as archive:
            members = [Path(n).stem for n in archive.namelist() if n.endswith(".pkpass")]
        expected = [obj for m in members for obj in _load(bundle.with_name(f"{m}.json"))]
        cases.append(Case("pkpassdata", bundle.name, bundle, "pkpass", expected))
    for source in sorted((root / "calendarhandlerdata").glob("*.ics")):
        if source.with_suffix(".json").is_file():
            cases.append(_case(source, "ics", source.with_suffix(".json")))
    for source in sorted((root / "extractordata-db-ics").glob("*.ics")):
        result = source.with_name(source.name + ".json")
        if result.is_file():
            cases.append(_case(source, "ics", result))
    for result in sorted((root / "bcbpdata").glob("*.json")):
        expected = _load(result)
        token = _ticket_token(expected)
        if token:
            cases.append(Case("bcbpdata", result.stem, result, "bcbp", expected, token))
    return cases


def _case(source: Path, fmt: str, expected: Path) -> Case:
    return Case(source.parent.name, source.name, source, fmt, _load(expected))


def _ticket_token(expected: Json) -> str | None:
    """The barcode string KItinerary decoded: its first reservation's ``ticketToken``."""
    for obj in expected if isinstance(expected, list) else [expected]:
        ticket = obj.get("reservedTicket") if isinstance(obj, dict) else None
        token = ticket.get("ticketToken") if isinstance(ticket, dict) else None
        if isinstance(token, str):
            return token.split(":", 1)[1] if token.startswith("aztecCode:") else token
    return None


def load_differences(path: Path) -> dict[str, str]:
    """Case ids that differ on purpose, with the reason (rows ``| folder/name | reason |``)."""
    if not path.is_file():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = _DIFFERENCE_ROW.match(line)
        if row and "/" in row.group(1) and not row.group(1).startswith("-"):
            found[row.group(1)] = row.group(2)
    return found


# --- running one case -----------------------------------------------------------------------------


def _env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KLUIS_VAULT=str(folder / "vault"),
        KLUIS_PASSPHRASE=PASSPHRASE,
        HOME=str(folder / "home"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p),
    )
    return env


def _kluis(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault", *args],
        env=_env(folder),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _staged_input(case: Case, folder: Path) -> Path:
    """The input copied into the case's folder, dated as KItinerary's test dates it."""
    if case.barcode is not None:
        path = folder / f"{case.name}.bcbp"
        path.write_text(case.barcode, encoding="utf-8")
    else:
        path = folder / case.source.name
        shutil.copyfile(case.source, path)
    context = CONTEXT.get(case.folder)
    if context is not None:
        os.utime(path, (context.timestamp(), context.timestamp()))
    return path


def run_case(case: Case) -> Result:
    """Import the case into a fresh vault and compare its bookings with KItinerary's."""
    with tempfile.TemporaryDirectory(prefix="kluis-peers-") as tmp:
        folder = Path(tmp)
        (folder / "home").mkdir()
        make_vault(folder / "vault", PASSPHRASE)
        source = _staged_input(case, folder)
        try:
            done = _kluis(
                folder, "import", str(source), "--format", case.fmt, "--timezone", TIMEZONE
            )
            if done.returncode not in (0, 3) or "Traceback" in done.stderr:
                first = (done.stderr.strip().splitlines() or ["(no stderr)"])[-1]
                return Result(case, [f"kluis import exit {done.returncode}: {first}"])
            listed = _kluis(folder, "bookings", "--json")
        except subprocess.TimeoutExpired:
            return Result(case, [f"kluis timed out after {TIMEOUT_SECONDS:.0f} s"])
        if listed.returncode != 0:
            return Result(
                case, [f"kluis bookings exit {listed.returncode}: {listed.stderr.strip()}"]
            )
        rows = json.loads(listed.stdout)
    return Result(case, disagreements(expected_trips(case.expected), rows))


# --- reporting ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Per folder: cases, agreements, explained differences; and what fails the run."""

    cases: dict[str, int] = field(default_factory=dict)
    agree: dict[str, int] = field(default_factory=dict)
    explained: dict[str, int] = field(default_factory=dict)
    no_booking: dict[str, int] = field(default_factory=dict)
    unexplained: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    def count(self, result: Result, reason: str | None) -> None:
        """Add one case's result."""
        folder = result.case.folder
        self.cases[folder] = self.cases.get(folder, 0) + 1
        if not expected_trips(result.case.expected):
            self.no_booking[folder] = self.no_booking.get(folder, 0) + 1
        if not result.differences:
            self.agree[folder] = self.agree.get(folder, 0) + 1
            if reason is not None:
                self.stale.append(result.case.id)
        elif reason is not None:
            self.explained[folder] = self.explained.get(folder, 0) + 1
        else:
            self.unexplained.append(result.case.id)

    def columns(self) -> tuple[dict[str, int], ...]:
        """The per-folder counts in the table's order."""
        return self.cases, self.agree, self.explained, self.no_booking


def report(result: Result, reason: str | None, verbose: bool) -> None:
    """One line per disagreement (explained ones with their reason)."""
    case_id = result.case.id
    if not result.differences:
        if verbose:
            print(f"AGREE {case_id}", flush=True)
        return
    tag = "EXPLAINED" if reason is not None else "DIFFER"
    if reason is not None and not verbose:
        print(f"{tag} {case_id}: {reason}", flush=True)
        return
    for line in result.differences:
        print(f"{tag} {case_id}: {line}", flush=True)
    if reason is not None:
        print(f"    why: {reason}", flush=True)


def table(tally: Tally) -> None:
    """Each folder's "N of M agree", then the total; how many of the M expect no booking at
    all (a page with a place or an event on it, broken markup), where agreeing means making none.
    """
    print()
    folders = [f for f in FOLDERS if f in tally.cases]
    width = max(len(f) for f in [*folders, "total"])
    rows = [(f, *(n.get(f, 0) for n in tally.columns())) for f in folders]
    rows.append(("total", *(sum(n.values()) for n in tally.columns())))
    for name, cases, agree, explained, nothing in rows:
        share = agree / cases if cases else 1.0
        print(
            f"{name:<{width}}  {agree:>3} of {cases:>3} agree ({share:6.1%})"
            f"  {explained} explained  ({nothing} expect no booking)"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The runner's options."""
    parser = argparse.ArgumentParser(description="kluis on KItinerary's test inputs.")
    parser.add_argument("--peers", type=Path, default=DEFAULT_PEERS, help="the peers folder")
    parser.add_argument("--only", nargs="+", metavar="FOLDER/NAME", help="run only these cases")
    parser.add_argument("--jobs", type=int, default=2, help="cases run in parallel (default 2)")
    parser.add_argument("-v", "--verbose", action="store_true", help="agreements and details too")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case; 0 when every difference is explained (see the module docstring)."""
    args = parse_args(argv)
    root = args.peers / "kitinerary"
    if not root.is_dir():
        print(f"peers: no KItinerary suite at {root}; skipped")
        return 0
    cases = discover(root)
    if args.only:
        unknown = set(args.only) - {c.id for c in cases}
        if unknown:
            print(f"peers: unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.id in set(args.only)]
    reasons = load_differences(DIFFERENCES)
    tally = Tally()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(run_case, cases):
            reason = reasons.get(result.case.id)
            report(result, reason, args.verbose)
            tally.count(result, reason)
    table(tally)
    if tally.stale:
        print(f"agree now but listed in {DIFFERENCES.name}: {', '.join(tally.stale)}; trim it")
    if args.verbose:
        print(f"({len(cases)} cases in {time.monotonic() - started:.0f} s)")
    return 1 if tally.unexplained or tally.stale else 0


if __name__ == "__main__":
    sys.exit(main())
