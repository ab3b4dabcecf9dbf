"""Run the kluis conformance corpus against the CLI and report each case.

Usage::

    python tests/conformance/run.py [--corpus DIR] [--only ID ...] [--kluis CMD] [--jobs N] [-v]

Each case of ``<corpus>/expected.json`` runs in a fresh vault exactly as ``<corpus>/README.md``
("Running the cases") says: ``kluis init``, one ``kluis import`` per path, read-back through
``companies``, ``timeline``, ``show`` and ``bookings``, comparison with ``expect`` (rules in
``compare.py``), then, for an import that succeeded, the same imports again, which must add nothing.
Case ids listed in ``expected_failures.txt`` beside this script are expected to fail (XFAIL); one
that passes (XPASS) fails the run so that the list gets trimmed.

Standard library only. Exit status: 0 when every case passed or failed as expected, 1 otherwise,
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import compare
from compare import ImportCall, Json

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
EXPECTED_FAILURES = HERE / "expected_failures.txt"
TIMEOUT_SECONDS = 120.0
PASSPHRASE = "conformance corpus passphrase"
SHOWN_MISMATCHES = 8


class CaseAbortedError(Exception):
    """A kluis call could not finish (timeout, cannot start): the case fails at that point."""


@dataclass(frozen=True)
class Completed:
    """One finished kluis call."""

    label: str
    returncode: int
    stdout: str
    stderr: str

    def first_error(self) -> str:
        """The first stderr line, for messages."""
        lines = compare.stderr_lines(self.stderr)
        return lines[0] if lines else "(no stderr)"


class Children:
    """The kluis processes running now, so that Ctrl-C can end exactly those."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[bytes]] = set()

    def add(self, process: subprocess.Popen[bytes]) -> None:
        """Remember a started process."""
        with self._lock:
            self._live.add(process)

    def discard(self, process: subprocess.Popen[bytes]) -> None:
        """Forget a finished process."""
        with self._lock:
            self._live.discard(process)

    def kill_all(self) -> None:
        """Kill the process group of every process still running."""
        with self._lock:
            for process in list(self._live):
                kill_group(process)


CHILDREN = Children()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill a kluis call and whatever it spawned (it runs in its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Kluis:
    """Runs kluis against one temporary vault and collects contract violations seen on the way.

    Every call is checked for the two rules that hold everywhere: stderr never contains
    ``Traceback``, and a call that exits 2 writes exactly one line to stderr.
    """

    command: Sequence[str]
    workdir: Path
    corpus: Path
    problems: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """The environment of every call: this vault, the passphrase, no real keyring."""
        env = dict(os.environ)
        env["KLUIS_VAULT"] = str(self.workdir / "vault")
        env["KLUIS_PASSPHRASE"] = PASSPHRASE
        # Never read or write the user's keyring from a test run.
        env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
        return env

    def label(self, args: Sequence[str]) -> str:
        """The call as shown in reports, with corpus paths relative to the corpus."""
        prefix = f"{self.corpus}{os.sep}"
        return "kluis " + " ".join(a.removeprefix(prefix) for a in args)

    def run(self, *args: str) -> Completed:
        """Run one kluis call with the timeout; check the rules that hold for every call."""
        label = self.label(args)
        try:
            process = subprocess.Popen(
                [*self.command, *args],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            raise CaseAbortedError(f"{label}: cannot start: {error}") from error
        CHILDREN.add(process)
        try:
            out, err = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as error:
            kill_group(process)
            process.communicate()
            raise CaseAbortedError(f"{label}: timed out after {TIMEOUT_SECONDS:.0f} s") from error
        finally:
            CHILDREN.discard(process)
        done = Completed(
            label,
            process.returncode,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
        )
        self._check_everywhere(done)
        return done

    def _check_everywhere(self, done: Completed) -> None:
        """No traceback on stderr; exit 2 comes with exactly one stderr line."""
        if "Traceback" in done.stderr:
            last = compare.stderr_lines(done.stderr)[-1]
            self.problems.append(f"{done.label}: Traceback on stderr ({last})")
        lines = compare.stderr_lines(done.stderr)
        if done.returncode == 2 and len(lines) != 1:
            self.problems.append(f"{done.label}: exit 2 with {len(lines)} stderr lines")

    def view(self, *args: str) -> tuple[Json | None, str | None]:
        """Run a ``--json`` view; return the parsed output or None with the reason."""
        done = self.run(*args, "--json")
        if done.returncode != 0:
            return None, f"{done.label}: exit {done.returncode}: {done.first_error()}"
        try:
            return json.loads(done.stdout), None
        except json.JSONDecodeError as error:
            return None, f"{done.label}: stdout is not JSON ({error})"

    def import_path(self, path: str, fmt: str, extra: Sequence[str]) -> ImportCall:
        """``kluis import <corpus>/<path> --format F --timezone UTC <args> --json``."""
        done = self.run(
            "import",
            str(self.corpus / path),
            "--format",
            fmt,
            "--timezone",
            "UTC",
            *extra,
            "--json",
        )
        return ImportCall(done.label, done.returncode, parse_summary(done.stdout), done.stderr)


def parse_summary(stdout: str) -> Mapping[str, Json] | None:
    """The import summary: stdout must be exactly one JSON object."""
    try:
        value = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class Snapshot:
    """The vault read back through the CLI."""

    companies: list[Json]
    bookings: Json | None
    bookings_error: str | None
    rows: list[Json]
    problems: list[str]


class Shown:
    """``kluis show <id> --json``, each id fetched once."""

    def __init__(self, kluis: Kluis) -> None:
        self._kluis = kluis
        self._cache: dict[str, Mapping[str, Json] | None] = {}

    def __call__(self, item_id: str) -> Mapping[str, Json] | None:
        """The full item, or None if the call failed (the reason goes to the case's problems)."""
        if item_id not in self._cache:
            value, error = self._kluis.view("show", item_id)
            if error:
                self._kluis.problems.append(error)
            if isinstance(value, list) and len(value) == 1:
                value = value[0]  # tolerate a one-row list: every view prints lists
            self._cache[item_id] = value if isinstance(value, dict) else None
        return self._cache[item_id]


def import_all(kluis: Kluis, case: Mapping[str, Json]) -> list[ImportCall]:
    """Import every path of the case, in order, into the same vault."""
    extra = [str(a) for a in case.get("args", [])]
    return [kluis.import_path(p, case["format"], extra) for p in case["paths"]]


def read_companies_and_bookings(kluis: Kluis) -> Snapshot:
    """``kluis companies --json`` and ``kluis bookings --json``."""
    problems: list[str] = []
    raw, error = kluis.view("companies")
    problems += [error] if error else []
    companies, complaint = compare.as_rows(raw, "companies") if not error else ([], [])
    bookings, bookings_error = kluis.view("bookings")
    return Snapshot(companies, bookings, bookings_error, [], problems + complaint)


def read_back(kluis: Kluis) -> Snapshot:
    """Companies, bookings and the timeline of every company."""
    snap = read_companies_and_bookings(kluis)
    for company in snap.companies:
        if not isinstance(company, dict) or company.get("id") is None:
            snap.problems.append(f"companies: a row without id: {company!r}")
            continue
        raw, error = kluis.view("timeline", str(company["id"]), "--limit", "1000000")
        rows, complaint = compare.as_rows(raw, "timeline") if not error else ([], [])
        snap.problems += ([error] if error else []) + complaint
        snap.rows += rows
    return snap


def expectation_mismatches(
    expect: Mapping[str, Json], calls: Sequence[ImportCall], snap: Snapshot, shown: Shown
) -> list[str]:
    """Everything ``expect`` states, checked against the calls and the read-back vault."""
    problems = [p for call in calls for p in compare.summary_mismatches(call)]
    interactions = sum(
        compare.count_field(c, "interactions") for c in snap.companies if isinstance(c, dict)
    )
    if "outcome" in expect:
        problems += compare.outcome_mismatches(expect["outcome"], calls, interactions)
    if "quarantined" in expect:
        problems += compare.quarantined_mismatches(expect["quarantined"], calls)
    problems += compare.companies_mismatches(expect, snap.companies)
    if "items" in expect:
        problems += compare.items_mismatches(expect["items"], snap.rows, shown)
    if "bookings" in expect:
        if snap.bookings_error:
            problems.append(snap.bookings_error)
        else:
            rows, complaint = compare.as_rows(snap.bookings, "bookings")
            problems += complaint or compare.bookings_mismatches(expect["bookings"], rows)
    return problems


def should_reimport(expect: Mapping[str, Json], calls: Sequence[ImportCall]) -> bool:
    """Step 5 applies when the outcome was ``imported``: every call finished, as allowed."""
    allowed = "outcome" not in expect or "imported" in compare.alternatives(expect["outcome"])
    return allowed and all(compare.finished(call) for call in calls)


def reimport_mismatches(kluis: Kluis, case: Mapping[str, Json], before: Snapshot) -> list[str]:
    """Import the same paths again: nothing new, companies and bookings unchanged."""
    problems = compare.reimport_mismatches(import_all(kluis, case))
    after = read_companies_and_bookings(kluis)
    problems += after.problems
    problems += compare.unchanged_mismatches("companies", before.companies, after.companies)
    problems += compare.unchanged_mismatches("bookings", before.bookings, after.bookings)
    return problems


def check_case(kluis: Kluis, case: Mapping[str, Json]) -> list[str]:
    """Steps 1 to 5 of the corpus README for one case, in the kluis's own temp vault."""
    init = kluis.run("init")
    if init.returncode != 0:
        return [f"{init.label}: exit {init.returncode}: {init.first_error()}"]
    calls = import_all(kluis, case)
    snap = read_back(kluis)
    expect = case.get("expect", {})
    problems = snap.problems + expectation_mismatches(expect, calls, snap, Shown(kluis))
    if should_reimport(expect, calls):
        problems += reimport_mismatches(kluis, case, snap)
    return problems


def run_case(case: Mapping[str, Json], corpus: Path, command: Sequence[str]) -> list[str]:
    """Run one case in a fresh temporary vault; return its mismatches (empty: it passed)."""
    with tempfile.TemporaryDirectory(prefix="kluis-conformance-") as tmp:
        kluis = Kluis(command, Path(tmp), corpus)
        try:
            problems = check_case(kluis, case)
        except CaseAbortedError as error:
            problems = [str(error)]
        except Exception as error:  # a runner bug must fail one case, not the whole run
            problems = [f"runner error: {type(error).__name__}: {error}"]
        return kluis.problems + problems


# --- expected failures and reporting ------------------------------------------------------------


def load_expected_failures(path: Path) -> dict[str, str]:
    """Case ids expected to fail, each with its reason (the line's or the preceding comment)."""
    if not path.is_file():
        return {}
    failures: dict[str, str] = {}
    reason = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        text, _, comment = line.partition("#")
        if not text.strip():
            # A comment line names the reason for the ids below it; a blank line ends the block.
            reason = (comment.strip() or reason) if line.strip() else ""
            continue
        failures[text.strip()] = comment.strip() or reason
    return failures


@dataclass
class Tally:
    """Counts for the final line, and the cases that passed while listed as expected failures."""

    passed: int = 0
    failed: int = 0
    xfailed: int = 0
    xpassed: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The final summary line; an XPASS counts as a failure of the run."""
        failed = self.failed + len(self.xpassed)
        return f"{self.passed} passed, {failed} failed, {self.xfailed} xfailed"


def report(
    case_id: str, problems: list[str], reason: str | None, verbose: bool, tally: Tally
) -> None:
    """Print the case's line(s) and count it."""
    if reason is None and not problems:
        tally.passed += 1
        print(f"PASS {case_id}", flush=True)
    elif reason is None:
        tally.failed += 1
        print(f"FAIL {case_id}:\n" + format_problems(problems, verbose), flush=True)
    elif problems:
        tally.xfailed += 1
        print(f"XFAIL {case_id}" + (f"  # {reason}" if verbose and reason else ""), flush=True)
        if verbose:
            print(format_problems(problems, verbose), flush=True)
    else:
        tally.xpassed.append(case_id)
        print(
            f"XPASS {case_id}: PASSED BUT LISTED IN {EXPECTED_FAILURES.name}; remove it there",
            flush=True,
        )


def format_problems(problems: list[str], verbose: bool) -> str:
    """The mismatches, one per line, indented; the first few unless verbose."""
    shown = problems if verbose else problems[:SHOWN_MISMATCHES]
    lines = [f"    {p}" for p in shown]
    if len(shown) < len(problems):
        lines.append(f"    ... {len(problems) - len(shown)} more (-v shows all)")
    return "\n".join(lines)


# --- command line --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The runner's options."""
    parser = argparse.ArgumentParser(description="Run the kluis conformance corpus.")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help=f"corpus folder (default: {DEFAULT_CORPUS})",
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these case ids")
    parser.add_argument(
        "--kluis",
        metavar="CMD",
        help="the kluis command, shell-quoted (default: this python -m vault)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="cases run in parallel (default 2)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="all mismatches, XFAIL details and timings"
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def select_cases(cases: list[Json], only: Sequence[str] | None) -> list[Json]:
    """The cases to run, in corpus order; unknown ``--only`` ids are an error."""
    if not only:
        return cases
    known = {case["id"] for case in cases}
    unknown = [case_id for case_id in only if case_id not in known]
    if unknown:
        print(f"conformance: unknown case id(s): {', '.join(unknown)}", file=sys.stderr)
        raise SystemExit(2)
    return [case for case in cases if case["id"] in set(only)]


def timed_case(
    case: Mapping[str, Json], corpus: Path, command: Sequence[str]
) -> tuple[list[str], float]:
    """``run_case`` with its duration in seconds."""
    started = time.monotonic()
    problems = run_case(case, corpus, command)
    return problems, time.monotonic() - started


def run_all(
    cases: list[Json], failures: Mapping[str, str], args: argparse.Namespace, command: list[str]
) -> Tally:
    """Run the cases in a small thread pool; print results in corpus order as they finish."""
    tally = Tally()
    corpus = args.corpus.resolve()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(case["id"], pool.submit(timed_case, case, corpus, command)) for case in cases]
        try:
            for case_id, future in futures:
                problems, seconds = future.result()
                report(case_id, problems, failures.get(case_id), args.verbose, tally)
                if args.verbose:
                    print(f"    ({seconds:.1f} s)", flush=True)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            CHILDREN.kill_all()
            raise
    return tally


def warn_stale(failures: Mapping[str, str], cases: list[Json]) -> None:
    """Ids in the expected-failures list that the corpus does not have."""
    stale = sorted(set(failures) - {case["id"] for case in cases})
    if stale:
        print(
            f"warning: {EXPECTED_FAILURES.name} lists unknown ids: {', '.join(stale)}",
            file=sys.stderr,
        )


def json_cases(corpus: Path) -> list[Json]:
    """The ``cases`` of ``expected.json``."""
    data = json.loads((corpus / "expected.json").read_text(encoding="utf-8"))
    cases: list[Json] = data["cases"]
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    """Run the corpus; 0 if every case passed or failed as expected, else 1."""
    args = parse_args(argv)
    if not (args.corpus / "expected.json").is_file():
        print(f"conformance: no corpus at {args.corpus}; skipped")
        return 0
    command = shlex.split(args.kluis) if args.kluis else [sys.executable, "-m", "vault"]
    all_cases = json_cases(args.corpus)
    cases = select_cases(all_cases, args.only)
    failures = load_expected_failures(EXPECTED_FAILURES)
    warn_stale(failures, all_cases)
    started = time.monotonic()
    try:
        tally = run_all(cases, failures, args, command)
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return 130
    if tally.xpassed:
        print(
            f"XPASS: {len(tally.xpassed)} case(s) passed but are listed in "
            f"{EXPECTED_FAILURES}: {', '.join(tally.xpassed)}. Trim the list."
        )
    if args.verbose:
        print(f"({len(cases)} cases in {time.monotonic() - started:.0f} s)")
    print(tally.line())
    return 1 if tally.failed or tally.xpassed else 0


if __name__ == "__main__":
    sys.exit(main())
