"""Read a remembered device key straight from the freedesktop Secret Service.

keyring finds its backend by reading every installed package's entry points and importing each
backend it knows (with its own imports of urllib, http, email and ssl): about 50 ms of CPU before
the first secret is read. When ``kluis remember`` stored the key through keyring's Secret Service
backend, the same item can be read with ``secretstorage`` alone, the library that backend uses.

This reader only ever reads, and only where nothing chooses another keyring for this process
(``PYTHON_KEYRING_BACKEND``, or a ``KEYRING_PROPERTY_*`` setting such as a preferred collection or
another attribute scheme). Anything it cannot do without asking (a locked collection or item, no
session bus, no daemon) is "not found here", and the caller falls back to keyring.
"""

from __future__ import annotations

import os

BACKEND = "keyring.backends.SecretService.Keyring"
"""The keyring backend whose items this module reads (its fully qualified class name)."""


def applies(backend: str | None) -> bool:
    """Whether a key stored through ``backend`` can be read here without keyring."""
    if backend != BACKEND or "PYTHON_KEYRING_BACKEND" in os.environ:
        return False
    return not any(name.startswith("KEYRING_PROPERTY_") for name in os.environ)


def read(service: str, username: str) -> str | None:
    """The secret keyring's Secret Service backend stored for (``service``, ``username``) in the
    default collection, or None when it is not there or cannot be read without a prompt."""
    try:
        from contextlib import closing

        import secretstorage

        with closing(secretstorage.dbus_init()) as connection:
            collection = secretstorage.get_default_collection(connection)
            if collection.is_locked():
                return None  # unlocking prompts: keyring's own path does that
            # keyring's default attribute scheme: {"service": ..., "username": ...}
            for item in collection.search_items({"service": service, "username": username}):
                return None if item.is_locked() else item.get_secret().decode("utf-8")
    except Exception:  # no bus, no daemon, no secretstorage: not found here
        return None
    return None
