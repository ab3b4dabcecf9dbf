"""Where a script's passphrase comes from: standard input, a file, a command, the environment.

Like restic's ``--password-file`` and ``--password-command`` and borg's ``BORG_PASSCOMMAND``,
so the secret need not sit in the environment. Every source gives its first line, without the
line ending, and every read is bounded: ``/dev/zero`` as the file or a command that never stops
printing is a one-line error, not unbounded memory.

The command is split like a shell would (``shlex``) but run without one: ``pass show kluis``
works, a pipe needs ``sh -c '…'``. It inherits standard error (for its own prompts) but not
standard input (which ``kluis passwd`` reads the new passphrase from).

While a kluis command runs, ``KLUIS_PASSPHRASE`` and ``KLUIS_PASSPHRASE_FILE`` are out of
``os.environ`` (``vault.environment``), so no process kluis starts inherits them.
"""

from __future__ import annotations

import shlex
import stat
import sys
from pathlib import Path

from vault.errors import InputError, UsageError
from vault.fsutil import read_file_start

MAX_PASSPHRASE_BYTES = 4096


def first_line(data: bytes, where: str) -> str:
    """The first line of ``data`` as text, without its line ending.

    Raises:
        InputError: it is not UTF-8, longer than ``MAX_PASSPHRASE_BYTES``, or empty.
    """
    line, newline, _rest = data.partition(b"\n")
    if not newline and len(line) > MAX_PASSPHRASE_BYTES:
        raise InputError(f"{where}: the first line is longer than {MAX_PASSPHRASE_BYTES:,} bytes")
    try:
        text = line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise InputError(f"{where}: the passphrase is not UTF-8 text") from None
    if not text:
        raise InputError(f"{where}: the first line is empty, so there is no passphrase")
    return text


def read_stdin_line(what: str = "passphrase") -> str | None:
    """One line of standard input without its line ending (at most ``MAX_PASSPHRASE_BYTES``
    characters); None at the end of the input.

    Raises:
        InputError: the line is longer than that.
    """
    line = sys.stdin.readline(MAX_PASSPHRASE_BYTES + 1)
    if len(line) > MAX_PASSPHRASE_BYTES:
        raise InputError(
            f"the {what} on standard input is longer than {MAX_PASSPHRASE_BYTES:,} characters"
        )
    return line.rstrip("\r\n") if line else None


def read_passphrase_file(name: str) -> str:
    """The passphrase in the first line of the regular file ``name``.

    Warns on standard error when others may read the file.

    Raises:
        InputError: there is no such file, it is not a regular file, or it holds no passphrase.
    """
    path = Path(name).expanduser()
    where = f"passphrase file {name}"
    try:
        data = read_file_start(path, MAX_PASSPHRASE_BYTES + 1)
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{where} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read the {where}: {exc.strerror}") from None
    if stat.S_IMODE(mode) & 0o077:
        print(
            f"kluis: warning: others on this machine can read {name} (chmod 600 it)",
            file=sys.stderr,
        )
    return first_line(data, where)


def run_passphrase_command(command: str) -> str:
    """The first line the command ``command`` prints (split like a shell would, run without one).

    Raises:
        UsageError: ``command`` is empty or cannot be split.
        InputError: it cannot start, fails, or prints no passphrase.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--passphrase-command cannot be split into words: {exc}") from None
    if not argv:
        raise UsageError("--passphrase-command is empty")
    where = f"passphrase command {argv[0]}"
    import subprocess  # only --passphrase-command needs it: not on every unlock's path

    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    except OSError as exc:
        raise InputError(f"the {where} cannot run: {exc.strerror}") from None
    assert process.stdout is not None  # stdout=PIPE
    with process.stdout:
        output = process.stdout.read(MAX_PASSPHRASE_BYTES + 1)
        if len(output) > MAX_PASSPHRASE_BYTES:
            process.kill()  # before the pipe closes, so it does not die of a broken pipe aloud
            process.wait()
            raise InputError(
                f"the {where} printed more than {MAX_PASSPHRASE_BYTES:,} bytes; it should "
                "print the passphrase only"
            )
    status = process.wait()
    if status != 0:
        ended = f"exit {status}" if status > 0 else f"signal {-status}"
        raise InputError(f"the {where} failed ({ended})")
    return first_line(output, where)
