"""Exit statuses of ``kluis``, in one table (restic's numbering is the model).

Each error class of ``vault.errors`` carries its status; this is where they are listed for the
user: in ``kluis --help`` and the README. A script tells "no vault" from "wrong passphrase"
from "done, but some items were quarantined" by the number alone.
"""

from __future__ import annotations

from vault.errors import (
    SignInFailed,
    UsageError,
    VaultBusy,
    VaultDamaged,
    VaultError,
    VaultMissing,
    WrongPassphrase,
)

OK = 0
FAILED = VaultError.exit_code
USAGE = UsageError.exit_code
PARTIAL = 3
NO_VAULT = VaultMissing.exit_code
BUSY = VaultBusy.exit_code
NO_PASSPHRASE = WrongPassphrase.exit_code
DAMAGED = VaultDamaged.exit_code
SIGN_IN = SignInFailed.exit_code
SOME_ACCOUNTS_FAILED = 15
INTERRUPTED = 130

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "done"),
    (FAILED, "failed: an internal fault or an error not listed here"),
    (USAGE, "usage or input error: a bad option, value, name or file"),
    (PARTIAL, "done, but some items were quarantined or nothing was read (`kluis quarantine`)"),
    (NO_VAULT, "no vault at the folder (`kluis init` makes one)"),
    (BUSY, "the vault is busy: another kluis is writing to it (--no-wait)"),
    (NO_PASSPHRASE, "wrong passphrase or recovery code, or none given where none can be asked"),
    (DAMAGED, "the vault is damaged (`kluis doctor`, `kluis doctor --salvage DIR`)"),
    (SIGN_IN, "a mail provider no longer accepts a sign-in (`kluis account add` it again)"),
    (
        SOME_ACCOUNTS_FAILED,
        "`kluis sync`: one or more accounts could not be synced (each says why); the others were",
    ),
    (INTERRUPTED, "interrupted (Ctrl-C); what was imported so far is kept"),
)
"""(status, meaning) of every exit status kluis uses."""


def exit_status_text() -> str:
    """The table as ``kluis --help`` shows it, one status a line."""
    return "exit status:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in TABLE)
