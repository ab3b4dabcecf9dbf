"""Every error kluis raises on purpose, in one place.

The CLI turns each into one line on stderr; ``UsageError`` and ``InputError`` exit 2,
``VaultBusy`` 11 (restic's "failed to lock the repository"), the rest 1::

    VaultError
    ├── UsageError            bad arguments or an unknown name (exit 2)
    ├── InputError            the user's input cannot be used (exit 2)
    │   ├── UnsupportedFormat     a file kluis does not read
    │   ├── MalformedInput        a file of a known format that is broken as a whole
    │   └── InvalidValue          a value that fails validation
    ├── VaultMissing          no vault at the path (run `kluis init`)
    ├── VaultExists           `init` on a folder that already holds a vault
    ├── VaultLocked           no way to unlock without a prompt
    ├── WrongPassphrase       the passphrase or recovery code does not unwrap the key
    ├── VaultCorrupt          keys.json or vault.db is damaged or does not belong together
    ├── KeyringUnavailable    no usable OS keyring on this machine
    ├── VaultBusy             another kluis is writing to the vault (exit 11)
    └── ImportFailed          an import stopped part-way (what was written so far is kept)
        └── MailServerError       the IMAP server could not be used
            ├── LoginRefused          it refused the user name or password
            ├── ConnectionLost        the network failed through every retry
            └── TlsFailed             no trustworthy TLS connection
"""

from __future__ import annotations


class VaultError(Exception):
    """Base of every error kluis reports to the user."""

    exit_code = 1


class UsageError(VaultError):
    """The command was called wrongly: an unknown company, a bad option value."""

    exit_code = 2


class InputError(VaultError):
    """The user's input (a file, a value) cannot be used."""

    exit_code = 2


class UnsupportedFormat(InputError):
    """A file that kluis does not read."""


class MalformedInput(InputError):
    """A file of a known format that is broken as a whole."""


class InvalidValue(InputError):
    """A value that fails validation."""


class VaultMissing(VaultError):
    """There is no vault at the given path."""


class VaultExists(VaultError):
    """A vault already exists at the given path."""


class VaultLocked(VaultError):
    """The vault cannot be unlocked without a passphrase prompt."""


class WrongPassphrase(VaultError):
    """The passphrase or recovery code does not unwrap the data key."""

    def __init__(self, message: str = "wrong passphrase") -> None:
        super().__init__(message)


class VaultCorrupt(VaultError):
    """keys.json or vault.db is damaged, or they do not belong together."""


class KeyringUnavailable(VaultError):
    """No usable OS keyring on this machine."""


class VaultBusy(VaultError):
    """Another kluis is writing to the vault, and waiting for it was not wanted (or took
    longer than SQLite's busy timeout, for a short write)."""

    exit_code = 11


class ImportFailed(VaultError):
    """An import stopped part-way; what was written so far is kept."""


class MailServerError(ImportFailed):
    """The IMAP server could not be used: unreachable, refused us, or went away."""


class LoginRefused(MailServerError):
    """The server refused the user name or password."""


class ConnectionLost(MailServerError):
    """The network failed and kept failing through every retry."""


class TlsFailed(MailServerError):
    """No trustworthy TLS connection: an untrusted certificate or a failed handshake."""
