"""Finding, creating and unlocking a vault (DESIGN, unlock order).

Order: ``--passphrase-stdin``, ``KLUIS_PASSPHRASE``, the remembered device key, then an
interactive prompt. A passphrase is never taken from the command line.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vault import environment
from vault import keys as keymod
from vault.device import load_device_key
from vault.errors import InvalidValue, VaultExists, VaultLocked, WrongPassphrase
from vault.fsutil import make_private_folder
from vault.store import Store, create_store, db_path, open_store

ENV_VAULT = "KLUIS_VAULT"
ENV_PASSPHRASE = environment.PASSPHRASE
MIN_PASSPHRASE_CHARS = 4


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


def check_new_passphrase(passphrase: str) -> str:
    """Refuse an empty or trivially short passphrase."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise InvalidValue(f"a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    return passphrase


@dataclass(frozen=True, slots=True)
class PassphraseSource:
    """Where a passphrase may come from, in DESIGN's order."""

    from_stdin: bool = False
    allow_env: bool = True
    allow_device: bool = True
    prompt: Callable[[str], str] | None = None

    def non_interactive(self) -> str | None:
        """A passphrase from stdin or the environment, if either was given."""
        if self.from_stdin:
            line = sys.stdin.readline()
            return line.rstrip("\r\n")
        if self.allow_env:
            value = environment.secret(ENV_PASSPHRASE)
            if value:
                return value
        return None

    def ask(self, question: str) -> str:
        """Prompt on the terminal, or fail clearly when there is none."""
        if self.prompt is not None:
            return self.prompt(question)
        if not sys.stdin.isatty():
            raise VaultLocked(
                "the vault is locked: set KLUIS_PASSPHRASE, pass --passphrase-stdin, "
                "or run `kluis remember` once"
            )
        return getpass.getpass(question)


def create_vault(folder: Path, passphrase: str) -> tuple[Store, str]:
    """A new vault in ``folder``; returns the open store and the recovery code to show once.

    Raises:
        VaultExists: ``folder`` already holds a vault.
    """
    if vault_exists(folder) or db_path(folder).exists():
        raise VaultExists(f"there is already a vault at {folder}")
    check_new_passphrase(passphrase)
    made = keymod.create_keys(passphrase)
    make_private_folder(folder)
    store = create_store(folder, made.dek, made.keys.vault_id)
    keymod.save_keys(folder, made.keys)
    return store, made.recovery_code


def _unlock_without_prompt(keyfile: keymod.KeyFile, source: PassphraseSource) -> bytes | None:
    passphrase = source.non_interactive()
    if passphrase is not None:
        return keymod.unwrap_with_passphrase(keyfile, passphrase)
    if source.allow_device and "device" in keyfile.wraps:
        device_key = load_device_key(keyfile.vault_id)
        if device_key is not None:
            try:
                return keymod.unwrap_with_device_key(keyfile, device_key)
            except WrongPassphrase:
                pass  # a stale keyring entry: fall through to the prompt
    return None


def unlock_key(folder: Path, source: PassphraseSource) -> tuple[keymod.KeyFile, bytes]:
    """The key file and the data key, unlocked from the first source that has one."""
    keyfile = keymod.load_keys(folder)
    dek = _unlock_without_prompt(keyfile, source)
    if dek is None:
        dek = keymod.unwrap_with_passphrase(keyfile, source.ask(f"Passphrase for {folder}: "))
    return keyfile, dek


def open_vault(folder: Path, source: PassphraseSource) -> Store:
    """Unlock and open the vault in ``folder``."""
    keyfile, dek = unlock_key(folder, source)
    return open_store(folder, dek, keyfile.vault_id)


def open_vault_without_prompt(folder: Path, source: PassphraseSource) -> Store | None:
    """The vault opened from stdin, the environment or the remembered device key, if any has
    it; None when only asking the user would unlock it (the app's unlock screen does that)."""
    keyfile = keymod.load_keys(folder)
    dek = _unlock_without_prompt(keyfile, source)
    return None if dek is None else open_store(folder, dek, keyfile.vault_id)


def remember_on_device(folder: Path, keyfile: keymod.KeyFile, dek: bytes) -> None:
    """Keep a device key in the OS keyring that opens this vault without asking.

    Raises:
        KeyringUnavailable: there is no usable keyring here (nothing is changed then).
    """
    from vault.device import store_device_key

    keymod.wrap_device_key(keyfile, dek, store_device_key(keyfile.vault_id))
    keymod.save_keys(folder, keyfile)


def set_new_passphrase(folder: Path, keyfile: keymod.KeyFile, dek: bytes, passphrase: str) -> None:
    """Re-wrap the data key under a new passphrase (the database is untouched)."""
    keymod.rewrap_passphrase(keyfile, dek, check_new_passphrase(passphrase))
    keymod.save_keys(folder, keyfile)
