"""Finding, creating and unlocking a vault (DESIGN, unlock order).

Order: one of ``--passphrase-stdin``, ``--passphrase-file FILE`` and ``--passphrase-command
CMD``, then ``KLUIS_PASSPHRASE_FILE``, ``KLUIS_PASSPHRASE``, the remembered device key, and
last an interactive prompt. A passphrase is never taken from the command line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault import environment
from vault import keys as keymod
from vault import passphrase_input as given
from vault.device import device_keys, keyring_available
from vault.errors import InvalidValue, UsageError, VaultExists, VaultLocked, WrongPassphrase
from vault.fsutil import make_private_folder
from vault.store import Store, create_store, db_path, open_store

ENV_VAULT = "KLUIS_VAULT"
ENV_PASSPHRASE = environment.PASSPHRASE
MIN_PASSPHRASE_CHARS = 4
ALLOW_WEAK_OPTION = "--allow-weak-passphrase"


def default_folder() -> Path:
    """The vault folder when neither ``--vault`` nor ``KLUIS_VAULT`` names one."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("kluis"))


def resolve_folder(option: str | None) -> Path:
    """The vault folder: ``--vault``, else ``KLUIS_VAULT``, else the platform default."""
    chosen = option or os.environ.get(ENV_VAULT)
    return Path(chosen).expanduser() if chosen else default_folder()


def vault_exists(folder: Path) -> bool:
    """True if ``folder`` holds a vault (its keys file)."""
    return keymod.keys_path(folder).exists()


def check_new_passphrase(
    passphrase: str, *, allow_weak: bool = False, insist_with: str = ALLOW_WEAK_OPTION
) -> str:
    """Refuse a passphrase shorter than 4 characters, and one that zxcvbn estimates too easy
    to guess unless ``allow_weak`` (the user insisted, with what ``insist_with`` names).

    Raises:
        InvalidValue: one line naming the estimate.
    """
    from vault.strength import estimate

    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise InvalidValue(f"a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    strength = estimate(passphrase)
    if not strength.strong_enough and not allow_weak:
        raise InvalidValue(
            f"that passphrase is too weak: it would be {strength.describe()}; use a longer "
            f"one (four or five unrelated words), or insist with {insist_with}"
        )
    return passphrase


@dataclass(frozen=True, slots=True)
class PassphraseSource:
    """Where a passphrase may come from, in DESIGN's order."""

    from_stdin: bool = False
    file: str | None = None
    command: str | None = None
    allow_env: bool = True
    allow_device: bool = True
    prompt: Callable[[str], str] | None = None

    @classmethod
    def from_args(cls, args: Any, **choices: Any) -> PassphraseSource:
        """The sources the command line names (``--passphrase-stdin``, ``--passphrase-file``,
        ``--passphrase-command``), with ``choices`` for the other fields.

        Raises:
            UsageError: more than one of the three is given.
        """
        source = cls(
            from_stdin=bool(getattr(args, "passphrase_stdin", False)),
            file=getattr(args, "passphrase_file", None),
            command=getattr(args, "passphrase_command", None),
            **choices,
        )
        if sum((source.from_stdin, source.file is not None, source.command is not None)) > 1:
            raise UsageError(
                "give only one of --passphrase-stdin, --passphrase-file and --passphrase-command"
            )
        return source

    def non_interactive(self) -> str | None:
        """A passphrase from standard input, a file, a command or the environment, in that
        order; None when none of them was given."""
        if self.from_stdin:
            return given.read_stdin_line() or ""
        if self.file is not None:
            return given.read_passphrase_file(self.file)
        if self.command is not None:
            return given.run_passphrase_command(self.command)
        if not self.allow_env:
            return None
        file = environment.secret(environment.PASSPHRASE_FILE)
        if file is not None:
            return given.read_passphrase_file(file)
        return environment.secret(ENV_PASSPHRASE)

    def ask(self, question: str) -> str:
        """Prompt on the terminal, or fail clearly when there is none."""
        if self.prompt is not None:
            return self.prompt(question)
        if not sys.stdin.isatty():
            # `kluis remember` only helps where there is a keyring to remember in.
            remember = ", or run `kluis remember` once" if keyring_available() else ""
            raise VaultLocked(
                "the vault is locked: set KLUIS_PASSPHRASE or KLUIS_PASSPHRASE_FILE, or pass "
                f"--passphrase-stdin, --passphrase-file or --passphrase-command{remember}"
            )
        import getpass  # only a terminal's prompt needs it, not a script's unlock

        return getpass.getpass(question)


def create_vault(folder: Path, passphrase: str, *, allow_weak: bool = False) -> tuple[Store, str]:
    """A new vault in ``folder``; returns the open store and the recovery code to show once.

    Raises:
        VaultExists: ``folder`` already holds a vault.
        InvalidValue: the passphrase is too short, or too weak and ``allow_weak`` is not set.
    """
    if vault_exists(folder) or db_path(folder).exists():
        raise VaultExists(f"there is already a vault at {folder}")
    check_new_passphrase(passphrase, allow_weak=allow_weak)
    made = keymod.create_keys(passphrase)
    make_private_folder(folder)
    store = create_store(folder, made.dek, made.keys.vault_id)
    keymod.save_keys(folder, made.keys)
    return store, made.recovery_code


def _unlock_without_prompt(
    folder: Path, keyfile: keymod.KeyFile, source: PassphraseSource
) -> bytes | None:
    passphrase = source.non_interactive()
    if passphrase is not None:
        return keymod.unwrap_with_passphrase(keyfile, passphrase)
    if source.allow_device and "device" in keyfile.wraps:
        recorded = keymod.device_backend(keyfile)
        for found in device_keys(keyfile.vault_id, recorded):
            try:
                dek = keymod.unwrap_with_device_key(keyfile, found.key)
            except WrongPassphrase:
                continue  # a stale keyring entry: try the next, then the prompt
            if found.backend != recorded:  # remembered before the record, or the key moved
                keymod.record_device_backend(folder, keyfile, found.backend)
            return dek
    return None


def _open_unlocked(
    folder: Path, keyfile: keymod.KeyFile, dek: bytes, upgrading: Callable[[], None] | None
) -> Store:
    """The database opened with ``dek``; then the vault is known to be whole, so any stale
    copy of keys.json (which may open with an old passphrase) is removed."""
    extra = {} if upgrading is None else {"upgrading": upgrading}
    store = open_store(folder, dek, keyfile.vault_id, **extra)
    keymod.remove_stale_copies(folder)
    return store


def unlock_key(folder: Path, source: PassphraseSource) -> tuple[keymod.KeyFile, bytes]:
    """The key file and the data key, unlocked from the first source that has one."""
    keyfile = keymod.load_keys(folder)
    dek = _unlock_without_prompt(folder, keyfile, source)
    if dek is None:
        dek = keymod.unwrap_with_passphrase(keyfile, source.ask(f"Passphrase for {folder}: "))
    return keyfile, dek


def open_vault(folder: Path, source: PassphraseSource) -> Store:
    """Unlock and open the vault in ``folder``."""
    keyfile, dek = unlock_key(folder, source)
    return _open_unlocked(folder, keyfile, dek, None)


def open_vault_without_prompt(folder: Path, source: PassphraseSource) -> Store | None:
    """The vault opened from stdin, a file, a command, the environment or the remembered device
    key, if any has it; None when only asking the user would unlock it (the app's unlock screen
    does that)."""
    keyfile = keymod.load_keys(folder)
    dek = _unlock_without_prompt(folder, keyfile, source)
    return None if dek is None else _open_unlocked(folder, keyfile, dek, None)


def open_with(
    folder: Path,
    unwrap: Callable[[keymod.KeyFile], bytes],
    upgrading: Callable[[], None] | None = None,
) -> tuple[keymod.KeyFile, bytes, Store]:
    """The vault opened with the data key ``unwrap`` finds in its keys (the app's unlock
    screen: a typed passphrase or the recovery code); ``upgrading`` as for ``open_store``."""
    keyfile = keymod.load_keys(folder)
    dek = unwrap(keyfile)
    return keyfile, dek, _open_unlocked(folder, keyfile, dek, upgrading)


def remember_on_device(folder: Path, keyfile: keymod.KeyFile, dek: bytes) -> None:
    """Keep a device key in the OS keyring that opens this vault without asking.

    Raises:
        KeyringUnavailable: there is no usable keyring here (nothing is changed then).
    """
    from vault.device import store_device_key

    keymod.wrap_device_key(keyfile, dek, *store_device_key(keyfile.vault_id))
    keymod.save_keys(folder, keyfile)


def set_new_passphrase(
    folder: Path,
    keyfile: keymod.KeyFile,
    dek: bytes,
    passphrase: str,
    *,
    allow_weak: bool = False,
) -> None:
    """Re-wrap the data key under a new passphrase (the database is untouched).

    keys.json is replaced atomically and no copy of the old one is kept, so afterwards the old
    passphrase opens nothing in the folder. The recovery code and a remembered device key are
    separate wraps of the same data key and keep working.
    """
    keymod.rewrap_passphrase(keyfile, dek, check_new_passphrase(passphrase, allow_weak=allow_weak))
    keymod.save_keys(folder, keyfile)
