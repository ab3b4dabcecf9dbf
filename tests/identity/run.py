"""``make identity``: how well kluis tells who each item is with, on the labelled set.

Writes the labelled sources (``labelled.py``) into a temporary folder, imports them into a
fresh vault through the real command line as a user would, exports the vault with
``kluis export`` and compares each item's company with its label:

- pairwise precision of "same company": of the pairs of items kluis put together, the share
  that truly belong together (fusing unrelated people lowers it);
- pairwise recall: of the pairs that truly belong together, the share kluis put together
  (one company split in two lowers it);
- names: the share of items whose company name a user would accept.

Prints the figures and every entity kluis got wrong, one line each. ``--json`` prints the
figures as one object; ``--min F`` exits 1 when precision or recall is below ``F``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.identity.labelled import ME_ADDRESS, Entity, build

PASSPHRASE = "identity set: a long passphrase nobody guesses 2026"
MARKER = re.compile(r"idset-\d{4}")


@dataclass
class Scores:
    """The figures of one run."""

    items: int
    found: int
    precision: float
    recall: float
    names: float


def _kluis(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "vault", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 3):  # 3: done, some items quarantined
        raise SystemExit(f"kluis {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def import_and_export(folder: Path) -> tuple[dict[str, Entity], dict[str, tuple[int, str]]]:
    """The labels, and per marker the (company id, company name) kluis gave the item."""
    labelled = build(folder / "sources")
    env = {
        **os.environ,
        "KLUIS_VAULT": str(folder / "vault"),
        "KLUIS_PASSPHRASE": PASSPHRASE,
        "HOME": str(folder / "home"),
    }
    (folder / "home").mkdir()
    _kluis(env, "init")
    for format_name, path in labelled.sources:
        _kluis(env, "import", str(path), "--format", format_name, "--me", ME_ADDRESS)
    _kluis(env, "export", "--out", str(folder / "export"))
    export = folder / "export"
    companies = {int(c["id"]): str(c["name"]) for c in _read_jsonl(export / "company.jsonl")}  # type: ignore[call-overload]
    sources = {
        int(s["id"]): str(s.get("locator", "")) for s in _read_jsonl(export / "source.jsonl")
    }  # type: ignore[call-overload]
    given: dict[str, tuple[int, str]] = {}
    for row in _read_jsonl(export / "interaction.jsonl"):
        where = (
            " ".join(str(row.get(name) or "") for name in ("title", "body", "source_ref"))
            + " "
            + sources.get(int(row.get("source_id") or 0), "")
        )  # type: ignore[call-overload]
        for marker in set(MARKER.findall(where)):
            company_id = int(row["company_id"])  # type: ignore[call-overload]
            given.setdefault(marker, (company_id, companies.get(company_id, "?")))
    return labelled.truth, given


def _pairs(groups: dict[object, int]) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


def score(truth: dict[str, Entity], given: dict[str, tuple[int, str]]) -> Scores:
    """Pairwise precision and recall of "same company", and the share of accepted names."""
    found = [m for m in truth if m in given]
    both = Counter((truth[m].key, given[m][0]) for m in found)
    together = _pairs(both)
    predicted = _pairs(Counter(given[m][0] for m in found))
    actual = _pairs(Counter(truth[m].key for m in truth))
    accepted = sum(
        1 for m in found if given[m][1].casefold() in {name.casefold() for name in truth[m].names}
    )
    return Scores(
        items=len(truth),
        found=len(found),
        precision=together / predicted if predicted else 1.0,
        recall=together / actual if actual else 1.0,
        names=accepted / len(truth) if truth else 1.0,
    )


def mistakes(truth: dict[str, Entity], given: dict[str, tuple[int, str]]) -> list[str]:
    """One line per entity kluis split, fused with another, named wrongly or lost."""
    lines: list[str] = []
    by_entity: dict[str, list[str]] = defaultdict(list)
    for marker, entity in truth.items():
        by_entity[entity.key].append(marker)
    by_company: dict[int, set[str]] = defaultdict(set)
    for marker, (company_id, _) in given.items():
        if marker in truth:
            by_company[company_id].add(truth[marker].key)
    for key, markers in sorted(by_entity.items()):
        entity = truth[markers[0]]
        lost = [m for m in markers if m not in given]
        got = Counter(given[m] for m in markers if m in given)
        problems = []
        if lost:
            problems.append(f"{len(lost)} of {len(markers)} items not found")
        if len(got) > 1:
            problems.append(
                "split into " + ", ".join(f"{name!r} ({n})" for (_, name), n in got.items())
            )
        for (company_id, name), _ in got.items():
            fused = sorted(by_company[company_id] - {key})
            if fused:
                problems.append(f"{name!r} also holds {', '.join(fused)}")
            if name.casefold() not in {n.casefold() for n in entity.names}:
                problems.append(f"named {name!r}, expected {entity.names[0]!r}")
        if problems:
            lines.append(f"{key} ({entity.kind}, {len(markers)} items): " + "; ".join(problems))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Build, import, score and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--min", type=float, default=0.0, help="fail below this precision/recall")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kluis-identity-") as tmp:
        truth, given = import_and_export(Path(tmp))
    scores = score(truth, given)
    if args.json:
        print(json.dumps(scores.__dict__))
    else:
        for line in mistakes(truth, given):
            print(line)
        print(
            f"identity set: {scores.items} items ({scores.found} found), "
            f"precision {scores.precision:.3f}, recall {scores.recall:.3f}, "
            f"names accepted {scores.names:.3f}"
        )
    return 1 if min(scores.precision, scores.recall) < args.min else 0


if __name__ == "__main__":
    raise SystemExit(main())
