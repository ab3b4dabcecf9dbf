""" "Remember on this device": a device key kept in the OS keyring.

Headless Linux usually has no keyring. Any failure of the keyring, including a missing
backend, means "not remembered": never a traceback.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vault import secret_service
from vault.errors import KeyringUnavailable
from vault.lazy import lazily

SERVICE = "kluis"

_UNUSED_BY_A_READ = ("urllib.request", "importlib_metadata", "importlib.metadata", "more_itertools")
"""Modules ``import keyring`` loads (through jaraco.context, jaraco.functools and its plugin
search) that reading or writing one password never runs: ≈ 30 ms of a scripted start-up.
They are imported lazily: each loads at its first use, by keyring's backend search or at the
latest when other code imports it (an ``import`` statement loads a lazy module whole)."""


def _import_keyring() -> Any:
    try:
        with lazily(_UNUSED_BY_A_READ):
            import keyring  # deferred: its imports cost start-up time
    except Exception as exc:  # a broken keyring install must not stop kluis
        raise KeyringUnavailable(f"no usable keyring on this machine ({exc})") from None
    return keyring


def _usable(backend: Any) -> Any:
    from keyring.backends import fail

    if isinstance(backend, fail.Keyring) or backend.priority <= 0:
        raise KeyringUnavailable(
            "no OS keyring on this machine, so kluis cannot remember the vault here; "
            "use KLUIS_PASSPHRASE or --passphrase-stdin in scripts"
        )
    return backend


def _keyring() -> Any:
    keyring = _import_keyring()
    _usable(_searched(keyring))
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


def backend_name(backend: Any) -> str:
    """The qualified name of a keyring backend's class, as ``kluis remember`` records it."""
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _searched(keyring: Any) -> Any:
    """The backend keyring itself chooses (its search of every installed backend, unless its
    settings name one)."""
    return keyring.get_keyring()


def load_device_key(vault_id: str) -> bytes | None:
    """The device key remembered for ``vault_id``, or None if there is none or no keyring."""
    found = _read(vault_id, _searched)
    return None if found is None else found.key


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A device key and the keyring backend it was read from (its qualified class name)."""

    key: bytes
    backend: str


def _read(vault_id: str, choose: Callable[[Any], Any]) -> DeviceKey | None:
    """The key the backend ``choose(keyring)`` holds for ``vault_id``; None for any failure."""
    try:
        backend = _usable(choose(_import_keyring()))
        key = _decoded(backend.get_password(SERVICE, vault_id))
    except Exception:  # "not remembered" whatever the keyring's failure
        return None
    return None if key is None else DeviceKey(key, backend_name(backend))


BACKEND_PACKAGES = ("keyring.backends.", "keyrings.")
"""Where keyring's own backends and its plug-ins (keyrings.alt, keyrings.*) live: a recorded
backend is loaded by name only from there, so a tampered keys.json cannot import just any
module."""


def _named(recorded: str | None) -> Callable[[Any], Any]:
    """A chooser of the backend keyring takes without searching (``PYTHON_KEYRING_BACKEND`` or
    its config file), else of the ``recorded`` one, loaded by name; it raises LookupError when
    only keyring's search of every installed backend (entry points) can tell."""

    def choose(keyring: Any) -> Any:
        chosen = keyring.core.load_env() or keyring.core.load_config()
        if chosen is None and recorded is not None and recorded.startswith(BACKEND_PACKAGES):
            chosen = keyring.core.load_keyring(recorded)
        if chosen is None:
            raise LookupError("no keyring backend named")
        return chosen

    return choose


def device_keys(vault_id: str, backend: str | None) -> Iterator[DeviceKey]:
    """The device keys to try for ``vault_id``, cheapest first, each read only when the one
    before did not open the vault.

    ``backend`` is the keyring backend that stored the key (recorded by ``kluis remember``):
    when it is the Secret Service, its item is read first without keyring; then the backend
    named by keyring's settings or the record is loaded alone, without keyring's search of
    every installed backend (entry points); that search follows if neither has the key.
    """
    seen: set[bytes] = set()
    if secret_service.applies(backend):
        fast = _decoded(secret_service.read(SERVICE, vault_id))
        if fast is not None:
            seen.add(fast)
            yield DeviceKey(fast, secret_service.BACKEND)
    named = _read(vault_id, _named(backend))
    if named is not None and named.key not in seen:
        seen.add(named.key)
        yield named
    full = _read(vault_id, _searched)
    if full is not None and full.key not in seen:
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
        backend = keyring.get_keyring()
    except Exception as exc:
        raise KeyringUnavailable(f"the keyring refused to store the key ({exc})") from None
    return key, backend_name(backend)


def delete_device_key(vault_id: str) -> bool:
    """Forget the device key; True if one was removed."""
    try:
        keyring = _keyring()
        keyring.delete_password(SERVICE, vault_id)
    except Exception:  # nothing stored, or no keyring: either way nothing is remembered
        return False
    return True
