"""Read a remembered device key straight from the freedesktop Secret Service.

keyring finds its backend by reading every installed package's entry points and importing each
backend it knows (with its own imports of urllib, http, email and ssl): about 50 ms of CPU before
the first secret is read. When ``kluis remember`` stored the key through keyring's Secret Service
backend, the same item can be read over D-Bus (jeepney, the library keyring's backend uses
through secretstorage) in four messages: the bus's Hello, a search of the default collection by
the attributes keyring stored, an encrypted session, and the item's secret. secretstorage asks
three more (the collection's label and lock state, the item's lock state), and its decryption
loads cryptography's whole OpenSSL backend; here a locked collection or item answers the search
or the secret with an error, which is "not found here" all the same.

The session is always the encrypted one (``dh-ietf1024-sha256-aes128-cbc-pkcs7``, as
secretstorage opens it): a service that offers only plain transfer is "not found here".

This reader only ever reads, and only where nothing chooses another keyring for this process
(``PYTHON_KEYRING_BACKEND``, or a ``KEYRING_PROPERTY_*`` setting such as a preferred collection or
another attribute scheme). Anything it cannot do without asking (a locked collection or item, no
session bus, no daemon) is "not found here", and the caller falls back to keyring.
"""

from __future__ import annotations

import os
from typing import Any

BACKEND = "keyring.backends.SecretService.Keyring"
"""The keyring backend whose items this module reads (its fully qualified class name)."""

_BUS_NAME = "org.freedesktop.secrets"
_INTERFACE = "org.freedesktop.Secret."
_DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
_ALGORITHM = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
_TIMEOUT_S = 5.0
"""Per message: a daemon that does not answer is "not found here", never a hang."""

# RFC 2409's second Oakley group (1024-bit MODP, generator 2): the group the Secret Service
# specification names for this algorithm.
_PRIME = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E34"
    "04DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6"
    "F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)
_KEY_BYTES = 128
_PRIVATE_BYTES = 32
"""Our private exponent: 256 random bits. The 1024-bit group itself gives about 80 bits of
security; a private exponent of twice the security strength keeps that whole in a safe-prime
group (RFC 7919 §5.2, NIST SP 800-56A Rev. 3 §5.6.1.1.1), and 256 bits is more than the group
offers. A full 1024-bit exponent (secretstorage's) only makes the two powers four times slower
(≈ 6 ms against 1.6 ms here) for no added strength."""


def applies(backend: str | None) -> bool:
    """Whether a key stored through ``backend`` can be read here without keyring."""
    if backend != BACKEND or "PYTHON_KEYRING_BACKEND" in os.environ:
        return False
    return not any(name.startswith("KEYRING_PROPERTY_") for name in os.environ)


def read(service: str, username: str) -> str | None:
    """The secret keyring's Secret Service backend stored for (``service``, ``username``) in the
    default collection, or None when it is not there or cannot be read without a prompt."""
    try:
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus="SESSION") as connection:
            return _read(connection, service, username)
    except Exception:  # no bus, no daemon, a locked item, a D-Bus error: not found here
        return None


def _read(connection: Any, service: str, username: str) -> str | None:
    import secrets

    from jeepney import DBusAddress, new_method_call
    from jeepney.wrappers import unwrap_msg

    def call(path: str, interface: str, method: str, signature: str, body: tuple[Any, ...]) -> Any:
        address = DBusAddress(path, bus_name=_BUS_NAME, interface=_INTERFACE + interface)
        message = new_method_call(address, method, signature, body)
        return unwrap_msg(connection.send_and_get_reply(message, timeout=_TIMEOUT_S))

    # keyring's default attribute scheme: {"service": ..., "username": ...}
    (items,) = call(
        _DEFAULT_COLLECTION,
        "Collection",
        "SearchItems",
        "a{ss}",
        ({"service": service, "username": username},),
    )
    if not items:
        return None
    private = int.from_bytes(secrets.token_bytes(_PRIVATE_BYTES), "big")
    public = pow(2, private, _PRIME).to_bytes(_KEY_BYTES, "big")
    (signature, theirs), session = call(
        "/org/freedesktop/secrets", "Service", "OpenSession", "sv", (_ALGORITHM, ("ay", public))
    )
    if signature != "ay":
        return None
    aes_key = _session_key(private, bytes(theirs))
    ((_, iv, sealed, _),) = call(items[0], "Item", "GetSecret", "o", (session,))
    return _decrypted(aes_key, bytes(iv), bytes(sealed)).decode("utf-8")


def _session_key(private: int, theirs: bytes) -> bytes:
    """The session's AES-128 key: HKDF-SHA256 (no salt, no info) of the Diffie-Hellman secret,
    as the Secret Service specification defines it."""
    import hashlib
    import hmac

    peer = int.from_bytes(theirs, "big")
    if len(theirs) > _KEY_BYTES or not 1 < peer < _PRIME - 1:
        raise ValueError("the Secret Service sent an invalid public key")
    shared = pow(peer, private, _PRIME).to_bytes(_KEY_BYTES, "big")
    extracted = hmac.digest(bytes(32), shared, hashlib.sha256)
    return hmac.digest(extracted, b"\x01", hashlib.sha256)[:16]


def _decrypted(key: bytes, iv: bytes, sealed: bytes) -> bytes:
    """AES-128-CBC decryption and PKCS #7 unpadding of a secret the session sent."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(sealed) + decryptor.finalize()
    size = padded[-1] if padded else 0
    if not 1 <= size <= 16 or padded[-size:] != bytes([size]) * size:
        raise ValueError("the secret's padding is malformed")
    return padded[:-size]
