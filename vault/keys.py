"""The vault's keys: a random data key (DEK), wrapped by the passphrase, a recovery code
and optionally a device key kept in the OS keyring (DESIGN, "The vault on disk").

``keys.json`` holds only wrapped keys and public parameters. Each wrap is AES-256-GCM with
the file's header (format, vault id, KDF parameters and the slot name) as associated data, so
a tampered header fails to unwrap instead of being silently used.

It also names its database without any key: ``database`` is a hash of the vault id and the
salt that starts ``vault.db``. A wrap that fails for every passphrase looks the same whether
the passphrase is wrong or the file belongs to another vault; this field tells the two apart
before any key is derived or the database touched (SQLCipher's salt stays for the database's
life: VACUUM keeps it, and a restored backup's keys.json records no database until its next
write).

No other copy is kept: a passphrase change replaces the file atomically, and a copy that held
the data key under an old passphrase (``keys.json.bak`` of earlier versions, the temporary
file of a killed write) is removed at the next successful unlock.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault.errors import ForeignKeys, VaultCorrupt, VaultError, VaultMissing, WrongPassphrase
from vault.fsutil import read_regular_file, remove_killed_temporaries, write_atomically
from vault.store import database_salt

KEYS_FILE = "keys.json"
LEGACY_BACKUP = KEYS_FILE + ".bak"
MAX_KEYS_BYTES = 64 * 1024  # a real keys.json is about 1 KB
FORMAT_VERSION = 1
DEK_BYTES = 32

# Argon2id as DESIGN sets it, and the bounds a keys.json must respect before we derive:
# a tampered file must not make us derive with weak (or absurdly costly) parameters.
DEFAULT_MEMORY_KIB = 64 * 1024
DEFAULT_ITERATIONS = 3
DEFAULT_LANES = 4
MIN_MEMORY_KIB = 19 * 1024
MAX_MEMORY_KIB = 1024 * 1024  # 1 GiB: more would only let a tampered file stall the unlock
MAX_ITERATIONS = 16
MAX_LANES = 16
MIN_SALT_BYTES = 16

# Crockford's base32: no I, L, O, U, so a code read aloud is not misheard.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_BYTES = 16
RECOVERY_CHECK_CHARS = 2


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise VaultCorrupt(f"keys.json is damaged: {what} is missing")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise VaultCorrupt(f"keys.json is damaged: {what} is not valid base64") from exc


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id parameters of the passphrase wrap."""

    salt: bytes
    memory_kib: int = DEFAULT_MEMORY_KIB
    iterations: int = DEFAULT_ITERATIONS
    lanes: int = DEFAULT_LANES

    @classmethod
    def fresh(cls) -> KdfParams:
        """New parameters with a random salt."""
        return cls(salt=secrets.token_bytes(MIN_SALT_BYTES))

    def check(self) -> None:
        """Refuse parameters outside the bounds before any derivation.

        Raises:
            VaultCorrupt: a parameter is out of bounds.
        """
        problems = []
        if not MIN_MEMORY_KIB <= self.memory_kib <= MAX_MEMORY_KIB:
            problems.append(f"memory {self.memory_kib} KiB")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            problems.append(f"iterations {self.iterations}")
        if not 1 <= self.lanes <= MAX_LANES:
            problems.append(f"lanes {self.lanes}")
        if len(self.salt) < MIN_SALT_BYTES:
            problems.append(f"a {len(self.salt)}-byte salt")
        if problems:
            raise VaultCorrupt(
                "keys.json has unsafe key-derivation parameters (" + ", ".join(problems) + ")"
            )

    def derive(self, passphrase: str) -> bytes:
        """The 256-bit key-encryption key for ``passphrase``."""
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        self.check()
        kdf = Argon2id(
            salt=self.salt,
            length=32,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
        )
        return kdf.derive(passphrase.encode("utf-8"))

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored in keys.json."""
        return {
            "name": "argon2id",
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
            "salt": _b64(self.salt),
        }

    @classmethod
    def from_json(cls, data: Any) -> KdfParams:
        """Read parameters from keys.json, refusing anything malformed."""
        if not isinstance(data, dict) or data.get("name") != "argon2id":
            raise VaultCorrupt("keys.json is damaged: the key-derivation section is not Argon2id")
        numbers = [data.get(name) for name in ("memory_kib", "iterations", "lanes")]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            raise VaultCorrupt("keys.json is damaged: key-derivation parameters are not numbers")
        params = cls(
            salt=_unb64(data.get("salt"), "the salt"),
            memory_kib=int(data["memory_kib"]),
            iterations=int(data["iterations"]),
            lanes=int(data["lanes"]),
        )
        params.check()
        return params


def _recovery_check(data: bytes) -> str:
    digest = hashlib.sha256(b"kluis-recovery" + data).digest()
    value = int.from_bytes(digest[:2], "big") % (32**RECOVERY_CHECK_CHARS)
    return "".join(
        RECOVERY_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(RECOVERY_CHECK_CHARS))
    )


def format_recovery_code(data: bytes) -> str:
    """128 random bits as 28 Crockford base32 characters in groups of four (last two: a check)."""
    number = int.from_bytes(data, "big")
    chars = [RECOVERY_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(26))]
    text = "".join(chars) + _recovery_check(data)
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_code(code: str) -> bytes:
    """The 16 bytes of a recovery code typed back, forgiving case, spaces, dashes, O/0 and I/L/1.

    Raises:
        WrongPassphrase: the code is malformed or fails its check characters.
    """
    cleaned = code.upper().replace("O", "0").replace("I", "1").replace("L", "1")
    cleaned = "".join(ch for ch in cleaned if ch not in " -\t\n")
    if len(cleaned) != 26 + RECOVERY_CHECK_CHARS or any(
        ch not in RECOVERY_ALPHABET for ch in cleaned
    ):
        raise WrongPassphrase("that is not a recovery code (28 characters, shown at `kluis init`)")
    number = 0
    for ch in cleaned[:26]:
        number = (number << 5) | RECOVERY_ALPHABET.index(ch)
    if number >> (8 * RECOVERY_BYTES):
        raise WrongPassphrase("that recovery code has a typo")
    data = number.to_bytes(RECOVERY_BYTES, "big")
    if _recovery_check(data) != cleaned[26:]:
        raise WrongPassphrase("that recovery code has a typo")
    return data


def _recovery_kek(code_bytes: bytes, salt: bytes) -> bytes:
    # The code is 128 uniformly random bits, so a slow KDF adds nothing; HKDF binds it to the vault.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"kluis recovery v1")
    return hkdf.derive(code_bytes)


@dataclass(slots=True)
class KeyFile:
    """The parsed ``keys.json``: header plus one wrap of the DEK per slot."""

    vault_id: str
    kdf: KdfParams
    wraps: dict[str, dict[str, str]] = field(default_factory=dict)
    database: str | None = None
    """``database_binding`` of the vault.db this file was written for (None in older files)."""

    def _associated_data(self, slot: str) -> bytes:
        # The passphrase slot also binds the KDF parameters; the other slots do not, so a
        # passphrase change can renew its own slot without the recovery code or device key.
        header: dict[str, Any] = {"format": FORMAT_VERSION, "vault_id": self.vault_id, "slot": slot}
        if slot == "passphrase":
            header["kdf"] = self.kdf.to_json()
        return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()

    def wrap(self, slot: str, kek: bytes, dek: bytes, **extra: str) -> None:
        """Store ``dek`` encrypted under ``kek`` in ``slot``."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        sealed = AESGCM(kek).encrypt(nonce, dek, self._associated_data(slot))
        self.wraps[slot] = {"nonce": _b64(nonce), "ciphertext": _b64(sealed), **extra}

    def unwrap(self, slot: str, kek: bytes) -> bytes:
        """The DEK from ``slot``.

        Raises:
            WrongPassphrase: ``kek`` does not open the slot (or the header was altered).
        """
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        entry = self.wraps.get(slot)
        if entry is None:
            raise VaultCorrupt(f"keys.json is damaged: the {slot} key is missing")
        nonce = _unb64(entry.get("nonce"), f"the {slot} nonce")
        sealed = _unb64(entry.get("ciphertext"), f"the {slot} key")
        if len(nonce) != 12:
            raise VaultCorrupt(f"keys.json is damaged: the {slot} nonce has the wrong length")
        try:
            dek = AESGCM(kek).decrypt(nonce, sealed, self._associated_data(slot))
        except InvalidTag:
            raise WrongPassphrase() from None
        if len(dek) != DEK_BYTES:
            raise VaultCorrupt("keys.json is damaged: the data key has the wrong length")
        return dek

    def to_bytes(self) -> bytes:
        """The JSON file contents."""
        document: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "vault_id": self.vault_id,
            "kdf": self.kdf.to_json(),
            "wraps": self.wraps,
        }
        if self.database is not None:
            document["database"] = self.database
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyFile:
        """Parse keys.json, refusing anything malformed with a clear message."""
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise VaultCorrupt(f"keys.json is damaged (not valid JSON: {exc})") from None
        if not isinstance(document, dict):
            raise VaultCorrupt("keys.json is damaged: not a JSON object")
        if document.get("format") != FORMAT_VERSION:
            raise VaultCorrupt(
                f"keys.json has format {document.get('format')!r}; this kluis reads format "
                f"{FORMAT_VERSION}"
            )
        vault_id = document.get("vault_id")
        wraps = document.get("wraps")
        if not isinstance(vault_id, str) or not isinstance(wraps, dict):
            raise VaultCorrupt("keys.json is damaged: vault id or wrapped keys are missing")
        if not all(isinstance(v, dict) for v in wraps.values()):
            raise VaultCorrupt("keys.json is damaged: a wrapped key is malformed")
        database = document.get("database")
        if database is not None and not isinstance(database, str):
            raise VaultCorrupt("keys.json is damaged: its database field is not text")
        return cls(
            vault_id=vault_id,
            kdf=KdfParams.from_json(document.get("kdf")),
            wraps=wraps,
            database=database,
        )


def keys_path(folder: Path) -> Path:
    """Where a vault folder keeps its keys."""
    return folder / KEYS_FILE


def load_keys(folder: Path) -> KeyFile:
    """Read ``keys.json`` of the vault in ``folder``.

    Only a regular file of at most ``MAX_KEYS_BYTES`` is read: a FIFO or a link to a device in
    its place is an error, never a hang.

    Raises:
        VaultMissing: there is no vault there.
        VaultCorrupt: the file is damaged or not a regular file.
        ForeignKeys: it was written for another vault's vault.db (``check_belongs``).
    """
    path = keys_path(folder)
    try:
        data = read_regular_file(path, MAX_KEYS_BYTES)
    except FileNotFoundError:
        raise VaultMissing(f"no vault at {folder} (create one with `kluis init`)") from None
    except OSError as exc:
        raise VaultCorrupt(f"cannot read {path}: {exc.strerror}") from None
    try:
        keys = KeyFile.from_bytes(data)
    except VaultCorrupt as exc:
        if path.with_name(LEGACY_BACKUP).exists():
            raise VaultCorrupt(f"{exc}; the previous version is in {LEGACY_BACKUP}") from None
        raise
    check_belongs(folder, keys)
    return keys


def database_binding(vault_id: str, salt: bytes) -> str:
    """What keys.json records of its database: a hash of the vault id and vault.db's salt."""
    digest = hashlib.sha256(b"kluis keys.json for vault.db\0" + vault_id.encode() + salt)
    return digest.hexdigest()[:32]


def check_belongs(folder: Path, keys: KeyFile) -> None:
    """Refuse ``keys`` written for another database than ``folder``'s vault.db.

    Only a keys.json that records its database (``database``) and a readable vault.db can
    tell; otherwise nothing is said (and a wrong passphrase stays "wrong passphrase").

    Raises:
        ForeignKeys: keys.json was made for another vault (or its vault id was changed).
    """
    salt = database_salt(folder)
    if keys.database is None or salt is None:
        return
    if keys.database != database_binding(keys.vault_id, salt):
        raise ForeignKeys(
            f"{KEYS_FILE} does not belong to this vault: it was made for another vault's "
            "vault.db (put this vault's own keys.json back, e.g. from a backup)"
        )


def save_keys(folder: Path, keys: KeyFile) -> None:
    """Write ``keys.json`` atomically and remove any older copy of it (see the module note).

    The file records the vault.db beside it (``database``), when there is one.
    """
    salt = database_salt(folder)
    if salt is not None:
        keys.database = database_binding(keys.vault_id, salt)
    write_atomically(keys_path(folder), keys.to_bytes())
    remove_stale_copies(folder)


def remove_stale_copies(folder: Path) -> None:
    """Remove every copy of keys.json but keys.json itself: ``keys.json.bak`` (which earlier
    versions kept, wrapping the data key under the passphrase before the last change) and the
    temporary files of writes that were killed. A temporary file of a process that still runs
    is its write in progress and stays. Best effort: a vault on a read-only disk still opens.
    """
    with contextlib.suppress(OSError):
        (folder / LEGACY_BACKUP).unlink()
    for name in (KEYS_FILE, LEGACY_BACKUP):
        remove_killed_temporaries(folder / name)


@dataclass(frozen=True, slots=True)
class NewKeys:
    """What ``create_keys`` made: the key file, the DEK and the recovery code to show once."""

    keys: KeyFile
    dek: bytes
    recovery_code: str


def create_keys(passphrase: str, kdf: KdfParams | None = None) -> NewKeys:
    """A new DEK wrapped by ``passphrase`` and by a new recovery code."""
    import uuid  # only a new vault needs it: not on every unlock's path

    keys = KeyFile(
        vault_id=uuid.UUID(bytes=secrets.token_bytes(16), version=4).hex,
        kdf=kdf or KdfParams.fresh(),
    )
    dek = secrets.token_bytes(DEK_BYTES)
    keys.wrap("passphrase", keys.kdf.derive(passphrase), dek)
    code = secrets.token_bytes(RECOVERY_BYTES)
    salt = secrets.token_bytes(16)
    keys.wrap("recovery", _recovery_kek(code, salt), dek, salt=_b64(salt))
    return NewKeys(keys, dek, format_recovery_code(code))


def unwrap_with_passphrase(keys: KeyFile, passphrase: str) -> bytes:
    """The DEK, or ``WrongPassphrase``."""
    return keys.unwrap("passphrase", keys.kdf.derive(passphrase))


def unwrap_with_recovery_code(keys: KeyFile, code: str) -> bytes:
    """The DEK from the recovery code, or ``WrongPassphrase``."""
    code_bytes = parse_recovery_code(code)
    salt = _unb64(keys.wraps.get("recovery", {}).get("salt"), "the recovery salt")
    try:
        return keys.unwrap("recovery", _recovery_kek(code_bytes, salt))
    except WrongPassphrase:
        raise WrongPassphrase("wrong recovery code") from None


def rewrap_passphrase(keys: KeyFile, dek: bytes, new_passphrase: str) -> None:
    """Wrap ``dek`` under a new passphrase with a fresh salt; the database is untouched."""
    keys.kdf = KdfParams(
        salt=secrets.token_bytes(MIN_SALT_BYTES),
        memory_kib=max(keys.kdf.memory_kib, DEFAULT_MEMORY_KIB),
        iterations=max(keys.kdf.iterations, DEFAULT_ITERATIONS),
        lanes=keys.kdf.lanes,
    )
    keys.wrap("passphrase", keys.kdf.derive(new_passphrase), dek)


DEVICE_BACKEND = "keyring_backend"
"""The device slot's field naming the keyring backend that holds its key (a hint, not secret)."""


def wrap_device_key(keys: KeyFile, dek: bytes, device_key: bytes, backend: str) -> None:
    """Add the "remember on this device" slot, opened by a key kept in the OS keyring
    ``backend`` (recorded so an unlock can read it there without searching every keyring)."""
    keys.wrap("device", device_key, dek, **{DEVICE_BACKEND: backend})


def device_backend(keys: KeyFile) -> str | None:
    """The keyring backend recorded in the device slot, if any (older files have none)."""
    value = keys.wraps.get("device", {}).get(DEVICE_BACKEND)
    return value if isinstance(value, str) else None


def record_device_backend(folder: Path, keys: KeyFile, backend: str) -> None:
    """Record in ``folder``'s keys.json that ``backend`` holds the device key, so the next
    unlock reads it there first (a vault remembered before the record existed needs no second
    ``kluis remember``). Only if keys.json is still what ``keys`` was read from; best effort:
    a read-only folder or a file changed meanwhile (a passphrase change) is left as it is."""
    with contextlib.suppress(OSError, VaultError):
        current = load_keys(folder)
        if current.to_bytes() != keys.to_bytes() or "device" not in current.wraps:
            return
        current.wraps["device"][DEVICE_BACKEND] = backend
        save_keys(folder, current)
        keys.wraps["device"][DEVICE_BACKEND] = backend


def unwrap_with_device_key(keys: KeyFile, device_key: bytes) -> bytes:
    """The DEK from the device slot, or ``WrongPassphrase`` if the keyring's key is stale."""
    return keys.unwrap("device", device_key)
