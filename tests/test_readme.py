"""The README as a newcomer follows it: every command of its ``console`` blocks runs, in order, in
one shell session on a fresh HOME (a real demo vault, the passphrase as the README sets it), and
prints what the README shows; every ``kluis`` line of its other blocks is a command kluis accepts
and every ``make`` target it names exists. The README cannot drift from the program again.

In a console block, ``$ CMD`` is a command and the lines under it its output; a line ``…`` alone
stands for any number of lines. The one figure that differs between machines, the demo's build
time, is the only one not compared.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.main import build_parser
from vault.errors import VaultError

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HOME = "/home/you"
"""The home folder as the README writes it; the test's own HOME is shown as this."""

COMPANIES = "kluis companies --json"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_BUILD_TIME = re.compile(r"^Done in \d+(?:\.\d+)? s:", re.MULTILINE)


@dataclass(frozen=True)
class Step:
    """One ``$ command`` of a console block and the output the README shows for it."""

    command: str
    expected: list[str]


def blocks(kind: str) -> list[str]:
    """The text of every fenced block of ``kind`` (``console``, ``sh``) in the README."""
    return [body for lang, body in _BLOCK.findall(README.read_text()) if lang == kind]


def tour() -> list[Step]:
    """Every command of the README's console blocks, in order, with its shown output."""
    steps: list[Step] = []
    for body in blocks("console"):
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:], []))
            elif steps:
                steps[-1].expected.append(line.rstrip())
    for step in steps:
        while step.expected and not step.expected[-1]:
            step.expected.pop()
    return steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` is ``expected`` line for line, a ``…`` line standing for any lines."""
    if not expected:
        return not actual
    if expected[0] == "…":
        return any(matches(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def _path_without_kluis() -> str:
    """This PATH without any folder that has a ``kluis``: the README must say how to get it."""
    folders = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not (Path(f) / "kluis").exists())


@dataclass(frozen=True)
class Ran:
    status: int
    out: str
    err: str


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """Run the whole tour as one shell session would, in a fresh HOME: each command in bash,
    the environment (``export``, ``. .venv/bin/activate``) carried to the next."""
    if not (ROOT / ".venv" / "bin" / "activate").exists():
        pytest.skip("no .venv here: the tour starts from `make run`'s .venv")
    home = tmp_path_factory.mktemp("readme-home")
    scratch = home / "tmp"
    scratch.mkdir()
    state = home.parent / "shell-state"
    env = {
        "PATH": _path_without_kluis(),
        "HOME": str(home),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "TZ": "Europe/Amsterdam",  # the README's machine is where the demo's owner lives
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    results: dict[str, Ran] = {}
    # After the tour, in the same session: the demo's companies, for the README's figures.
    for step in [*tour(), Step(COMPANIES, [])]:
        script = (
            f"[ -f {shlex.quote(str(state))} ] && . {shlex.quote(str(state))}\n"
            f"{step.command}\nstatus=$?\nexport -p > {shlex.quote(str(state))}\nexit $status\n"
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        shown = done.stdout.replace(str(home), HOME)
        results[step.command] = Ran(done.returncode, shown, done.stderr.replace(str(home), HOME))
    return results


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("step", tour(), ids=[step.command for step in tour()])
def test_every_tour_command_prints_what_the_readme_shows(
    session: dict[str, Ran], step: Step
) -> None:
    ran = session[step.command]
    assert ran.status == 0 and not ran.err, (step.command, ran.status, ran.err)
    actual = [line.rstrip() for line in ran.out.splitlines()]
    expected = step.expected
    built = [line for line in expected if _BUILD_TIME.match(line)]
    if built:  # the build time is the machine's: take it from the run, compare the rest
        actual = [_BUILD_TIME.sub(built[0].split(":")[0] + ":", line) for line in actual]
    assert matches(expected, actual), "\n".join(
        ["README shows:", *expected, "", "kluis printed:", *actual]
    )


@pytest.mark.slow
def test_the_readme_counts_the_demos_companies_and_people_right(session: dict[str, Ran]) -> None:
    claimed = re.search(r"(\d+) companies and (\d+) people", " ".join(README.read_text().split()))
    assert claimed is not None
    kinds = [row["kind"] for row in json.loads(session[COMPANIES].out)]
    assert (kinds.count("company"), kinds.count("person")) == tuple(map(int, claimed.groups()))


def test_the_tour_starts_with_what_make_run_installed() -> None:
    steps = tour()
    assert steps[0].command == ". .venv/bin/activate"
    assert any(step.command.startswith("kluis demo") for step in steps)
    assert all(step.expected or step.command.startswith((".", "export")) for step in steps)


def _commands(body: str) -> list[list[str]]:
    """The words of each command of a ``sh`` block (continuations joined, comments and
    leading ``NAME=value`` settings dropped)."""
    words_of = []
    for line in body.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            words.pop(0)
        if words:
            words_of.append(words)
    return words_of


def _shown(first: str) -> list[list[str]]:
    return [words for body in blocks("sh") for words in _commands(body) if words[0] == first]


@pytest.mark.parametrize("words", _shown("kluis"), ids=lambda words: " ".join(words))
def test_every_kluis_command_the_readme_shows_is_one_kluis_accepts(words: list[str]) -> None:
    commands: list[list[str]] = [[]]
    for word in words:  # `kluis backup --out F ; kluis restore F`: two commands
        if word == ";":
            commands.append([])
        else:
            commands[-1].append(word)
    for command in commands:
        assert command[0] == "kluis", command
        try:
            build_parser().parse_args(command[1:])
        except (SystemExit, VaultError) as exc:
            pytest.fail(f"{shlex.join(command)}: refused by kluis ({exc})")


def test_every_make_target_the_readme_shows_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = {words[1] for words in _shown("make")}
    assert {"run", "test", "check"} <= targets
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), target
