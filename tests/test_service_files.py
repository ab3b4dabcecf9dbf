"""The shipped service files (contrib/): they parse, run kluis commands that exist, and hold
no secret. systemd's own ``systemd-analyze verify`` checks the units where it is installed."""

from __future__ import annotations

import configparser
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser

CONTRIB = Path(__file__).parent.parent / "contrib"
UNITS = sorted((CONTRIB / "systemd").glob("*.service"))
PLISTS = sorted((CONTRIB / "launchd").glob("*.plist"))
SECRETS = ("KLUIS_PASSPHRASE", "KLUIS_IMAP_PASSWORD", "--passphrase-stdin", "Environment=")


def kluis_arguments(command: list[str]) -> list[str]:
    """The arguments after ``kluis`` in a command line, which must start the kluis program."""
    assert Path(command[0]).name == "kluis", command
    return command[1:]


def assert_kluis_accepts(arguments: list[str]) -> None:
    """The arguments parse as a kluis command (argparse exits on an unknown one)."""
    args = build_parser().parse_args(arguments)
    assert args.command in {"sync", "watch"}


def unit_exec_start(unit: Path, instance: str = "/home/sanne/Downloads") -> list[str]:
    """The unit's ExecStart as a command, with %h and %f filled in as systemd does."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(unit)
    assert set(parser.sections()) == {"Unit", "Service", "Install"}, unit
    line = parser["Service"]["ExecStart"].replace("%h", "/home/sanne").replace("%f", instance)
    return shlex.split(line)


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_each_systemd_unit_starts_a_kluis_command_that_exists(unit: Path) -> None:
    assert_kluis_accepts(kluis_arguments(unit_exec_start(unit)))
    assert not any(secret in unit.read_text() for secret in SECRETS)


@pytest.mark.parametrize("plist", PLISTS, ids=lambda path: path.name)
def test_each_launchd_agent_starts_a_kluis_command_that_exists(plist: Path) -> None:
    agent = plistlib.loads(plist.read_bytes())
    assert agent["Label"] == plist.stem
    shell, flag, script = agent["ProgramArguments"]
    assert (shell, flag) == ("/bin/sh", "-c")
    words = shlex.split(script.replace("$HOME", "/Users/sanne"))
    assert words[0] == "exec"
    assert_kluis_accepts(kluis_arguments(words[1:]))
    assert "EnvironmentVariables" not in agent
    assert not any(secret in plist.read_text() for secret in SECRETS)


def test_systemd_verifies_the_units(tmp_path: Path) -> None:
    """``systemd-analyze --user verify`` with a HOME where kluis is installed, as pipx does."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the parser test above still ran)")
    home, runtime = tmp_path / "home", tmp_path / "run"
    (home / ".local" / "bin").mkdir(parents=True)
    runtime.mkdir(mode=0o700)
    program = home / ".local" / "bin" / "kluis"
    program.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m vault \"$@\"\n")
    program.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for unit in UNITS:  # a template is verified as one of its instances
        name = unit.name.replace("@.", "@home-sanne-Downloads.")
        shutil.copy(unit, units / name)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    done = subprocess.run(
        [analyze, "--user", "verify", *sorted(str(path) for path in units.iterdir())],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
