"""Help a newcomer can use: every option explained, examples for every command, the environment
variables kluis reads, ``kluis help CMD``, errors that point at the command's own help, and
shell completion that costs ``kluis --help`` nothing."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.help import COMPLETION_SHELLS, ENVIRONMENT, EXAMPLES, subparsers
from cli.main import build_parser
from tests.hardening.harness import Kluis, assert_clean_failure

ROOT = Path(__file__).resolve().parents[2]


def test_every_option_of_every_command_has_help_and_every_command_examples() -> None:
    parser = build_parser()
    missing = []
    for words, command in [("", parser), *subparsers(parser)]:
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"kluis {words} {'/'.join(action.option_strings) or action.dest}")
        if words and not command._subparsers and words not in EXAMPLES:
            missing.append(f"kluis {words}: no examples")
    assert missing == []


def test_the_environment_section_names_every_variable_kluis_reads() -> None:
    read = set()
    for folder in ("vault", "cli", "tui", "importers", "exports", "demo"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r'"(KLUIS_[A-Z_]+)"', path.read_text()))
    assert read and read <= {name for name, _ in ENVIRONMENT}


def test_kluis_help_cmd_is_kluis_cmd_help(kluis: Kluis) -> None:
    for words in (["import"], ["company", "merge"], ["quarantine", "save"]):
        helped = kluis.run("help", *words)
        direct = kluis.run(*words, "--help")
        assert helped.returncode == direct.returncode == 0
        assert helped.stdout == direct.stdout and b"examples:" in helped.stdout
    top = kluis.run("help").stdout.decode()
    assert "environment:" in top and "exit status:" in top and "KLUIS_VAULT" in top


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["import", "x.mbox", "--bogus"], "kluis import"),
        (["company", "rename"], "kluis company rename"),
        (["timeline"], "kluis timeline"),
        (["quarantine", "save", "1"], "kluis quarantine save"),
    ],
)
def test_a_usage_error_points_at_the_commands_own_help(
    kluis: Kluis, args: list[str], command: str
) -> None:
    line = assert_clean_failure(kluis.run(*args), 2)
    assert line.endswith(f"(see `{command} --help`)"), line


@pytest.mark.parametrize("shell", COMPLETION_SHELLS)
def test_completion_prints_each_shells_script(kluis: Kluis, shell: str) -> None:
    done = kluis.run("completion", shell)
    assert done.returncode == 0 and b"kluis" in done.stdout and b"_ARGCOMPLETE" in done.stdout


def test_completion_completes_commands_and_options(kluis: Kluis) -> None:
    answer = kluis.tmp / "completions"
    line = "kluis quarantine s"
    env = kluis.env(
        _ARGCOMPLETE="1",
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        _ARGCOMPLETE_STDOUT_FILENAME=str(answer),
    )
    assert kluis.run(env=env).returncode == 0
    assert set(answer.read_text().replace("\v", " ").split()) == {"show", "save"}


# What `kluis --help` must not load: completion, the app, the wings, and the code of the commands
# kept in modules of their own (OAuth's HTTP server, the contracts, the folder watcher, the unlock).
NOT_FOR_HELP = (
    "argcomplete textual importers exports sqlalchemy http cli.accounts cli.oauth cli.money "
    "cli.folder_watch cli.commands cli.render vault.contracts vault.store vault.keys"
)


def test_help_loads_no_completion_no_app_no_importer_and_no_commands_code() -> None:
    code = (
        "import sys\nfrom cli.main import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        f"names = {NOT_FOR_HELP.split()!r}\n"
        "print(sorted(m for m in sys.modules if m in names or m.split('.')[0] in names))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
