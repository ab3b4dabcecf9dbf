"""Every error kluis raises on purpose, in one place.

The CLI turns each into one line on stderr and exits with the class's ``exit_code``, numbered
like restic's (the table the user reads is ``cli.exits``)::

    VaultError
    ├── UsageError            bad arguments or an unknown name (exit 2)
    ├── InputError            the user's input cannot be used (exit 2)
    │   ├── UnsupportedFormat     a file kluis does not read
    │   ├── MalformedInput        a file of a known format that is broken as a whole
    │   ├── InvalidValue          a value that fails validation
    │   └── RefusedInput          a path kluis will not read: outside the chosen source, not a
    │                             regular file or folder, or over a size limit
    ├── VaultMissing          no vault at the path (run `kluis init`) (exit 10)
    ├── VaultExists           `init` on a folder that already holds a vault (exit 2)
    ├── VaultLocked           no way to unlock without a prompt (exit 12)
    ├── WrongPassphrase       the passphrase or recovery code does not unwrap the key (exit 12)
    ├── VaultCorrupt          keys.json or vault.db is damaged or does not belong together
    │   ├── VaultDamaged          a page of vault.db fails its check (exit 13, also `doctor`'s)
    │   └── ForeignKeys           keys.json was made for another vault's vault.db
    ├── KeyringUnavailable    no usable OS keyring on this machine
    ├── VaultBusy             another kluis is writing to the vault (exit 11)
    └── ImportFailed          an import stopped part-way (what was written so far is kept)
        └── MailServerError       the IMAP server could not be used
            ├── LoginRefused          it refused the user name or password
            ├── ConnectionLost        the network failed through every retry
            ├── TlsFailed             no trustworthy TLS connection
            └── SignInFailed          the OAuth2 provider refused or revoked the sign-in
                                      (exit 14: run `kluis account add` again)
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


class RefusedInput(InputError):
    """A path kluis will not read: outside the chosen source (``..``, an absolute name, a link
    leading out), not a regular file or folder (a FIFO, a device, a socket), or over a limit.

    Inside a source the importer quarantines the path with ``reason`` and goes on; as the source
    itself it is the one-line error of the command.
    """

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type[RefusedInput], tuple[str, str]]:
        return RefusedInput, (self.path, self.reason)  # picklable across the parse pool


class VaultMissing(VaultError):
    """There is no vault at the given path (restic's "repository does not exist")."""

    exit_code = 10


class VaultExists(VaultError):
    """A vault already exists at the given path: the folder given cannot be used."""

    exit_code = 2


class VaultLocked(VaultError):
    """The vault cannot be unlocked without a passphrase prompt (no passphrase: exit 12)."""

    exit_code = 12


class WrongPassphrase(VaultError):
    """The passphrase or recovery code does not unwrap the data key."""

    exit_code = 12

    def __init__(self, message: str = "wrong passphrase") -> None:
        super().__init__(message)


class VaultCorrupt(VaultError):
    """keys.json or vault.db is damaged, or they do not belong together."""


class VaultDamaged(VaultCorrupt):
    """A page of vault.db fails its check: the file was damaged on disk.

    Exit status 13, which ``kluis doctor`` also returns when it finds the vault damaged; what is
    readable can still be saved with ``kluis doctor --salvage DIR``.
    """

    exit_code = 13


class ForeignKeys(VaultCorrupt):
    """keys.json belongs to another vault than vault.db (copied over it, or its id changed)."""


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


class SignInFailed(MailServerError):
    """The identity provider refused the OAuth2 sign-in, or no longer accepts it (revoked or
    expired): exit 14, sign in again with ``kluis account add``."""

    exit_code = 14
