"""Issue 21's targets, each bench reporting its figure against its goal.

A bench calls ``report`` for every figure that has a target: it prints one line (so the bench
alone says whether the goal is met) and, under ``make bench``, appends the figure to the file
named by ``$KLUIS_BENCH_TARGETS``; ``bench/all.py`` prints them together at the end as one table.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

TARGETS_FILE = "KLUIS_BENCH_TARGETS"


@dataclass(frozen=True, slots=True)
class Target:
    """One measured figure and the goal it is held to."""

    name: str
    value: float
    goal: float
    unit: str
    higher_is_better: bool

    @property
    def met(self) -> bool:
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    def line(self) -> str:
        sign = "≥" if self.higher_is_better else "≤"
        verdict = "met" if self.met else "NOT met"
        return f"{self.name}: {self.value:,.2f} {self.unit} (goal {sign} {self.goal:g}): {verdict}"


def report(name: str, value: float, goal: float, unit: str, *, higher_is_better: bool) -> None:
    """Print ``name``'s figure against its goal, and keep it for ``make bench``'s summary."""
    target = Target(name, value, goal, unit, higher_is_better)
    print(f"target · {target.line()}", flush=True)
    path = os.environ.get(TARGETS_FILE)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(target)) + "\n")


def collected(path: Path) -> list[Target]:
    """The targets the benches reported into ``path``, in order."""
    if not path.exists():
        return []
    return [Target(**json.loads(line)) for line in path.read_text().splitlines() if line]
