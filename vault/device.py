""" "Remember on this device": a device key kept in the OS keyring.

Headless Linux usually has no keyring. Any failure of the keyring, including a missing
backend, means "not remembered": never a traceback.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import Any

from vault import secret_service
from vault.errors import KeyringUnavailable

SERVICE = "kluis"


def _keyring() -> Any:
    try:
        import keyring  # deferred: its backend discovery costs start-up time
        from keyring.backends import fail
    except Exception as exc:  # a broken keyring install must not stop kluis
        raise KeyringUnavailable(f"no usable keyring on this machine ({exc})") from None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or backend.priority <= 0:
        raise KeyringUnavailable(
            "no OS keyring on this machine, so kluis cannot remember the vault here; "
            "use KLUIS_PASSPHRASE or --passphrase-stdin in scripts"
        )
    return keyring


def keyring_available() -> bool:
    """Whether this machine has an OS keyring kluis can remember a vault in."""
    try:
        _keyring()
    except Exception:  # KeyringUnavailable, or a backend that fails while it is looked up
        return False
    return True


def _decoded(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return key if len(key) == 32 else None


def load_device_key(vault_id: str) -> bytes | None:
    """The device key remembered for ``vault_id``, or None if there is none or no keyring."""
    try:
        keyring = _keyring()
        value = keyring.get_password(SERVICE, vault_id)
    except Exception:  # "not remembered" whatever the keyring's failure
        return None
    return _decoded(value)


def device_keys(vault_id: str, backend: str | None) -> Iterator[bytes]:
    """The device keys to try for ``vault_id``, cheapest first, each read only when the one
    before did not open the vault.

    ``backend`` is the keyring backend that stored the key (recorded by ``kluis remember``):
    when it is the Secret Service, its item is read first without keyring's backend search;
    keyring's full search follows if that finds nothing or a stale key.
    """
    fast = (
        _decoded(secret_service.read(SERVICE, vault_id))
        if secret_service.applies(backend)
        else None
    )
    if fast is not None:
        yield fast
    full = load_device_key(vault_id)
    if full is not None and full != fast:
        yield full


def store_device_key(vault_id: str) -> tuple[bytes, str]:
    """Make a new device key and keep it in the keyring; returns the key and the keyring
    backend that holds it (its class's qualified name, for ``device_keys``).

    Raises:
        KeyringUnavailable: there is no keyring, or it refused.
    """
    keyring = _keyring()
    key = secrets.token_bytes(32)
    try:
        keyring.set_password(SERVICE, vault_id, base64.b64encode(key).decode())
        backend = type(keyring.get_keyring())
    except Exception as exc:
        raise KeyringUnavailable(f"the keyring refused to store the key ({exc})") from None
    return key, f"{backend.__module__}.{backend.__qualname__}"


def delete_device_key(vault_id: str) -> bool:
    """Forget the device key; True if one was removed."""
    try:
        keyring = _keyring()
        keyring.delete_password(SERVICE, vault_id)
    except Exception:  # nothing stored, or no keyring: either way nothing is remembered
        return False
    return True
