"""Run the ``kluis`` CLI with an unkeyed store: plaintext SQLite, for the encryption cost only.

Bench-only. The same SQLCipher library and the same pragmas, page size included, but no
``PRAGMA key``: SQLCipher without a key is plain SQLite, so the difference between this and a
normal ``kluis`` run is the encryption alone (not another SQLite build). It patches
``vault.store`` from outside because kluis has no such switch (see bench/README.md for the
one-line switch proposed instead). Use on throwaway vaults only: ``python bench/plain_kluis.py
init`` then ``python bench/plain_kluis.py import …`` with ``KLUIS_VAULT``/``KLUIS_PASSPHRASE``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from vault import store


def _unkeyed(dek: bytes) -> str:
    # Issued first on every connection, where the key pragma would be: before the first write.
    return f"PRAGMA page_size = {store.PAGE_SIZE}"


@contextmanager
def plaintext() -> Iterator[None]:
    """Within: every store kluis opens is unkeyed (plain SQLite); restored afterwards."""
    saved = store._key_pragma, store._CONNECTION_PRAGMAS  # type: ignore[attr-defined]
    store._key_pragma = _unkeyed  # type: ignore[attr-defined]
    store._CONNECTION_PRAGMAS = tuple(  # type: ignore[attr-defined]
        p for p in saved[1] if "cipher_" not in p
    )
    try:
        yield
    finally:
        store._key_pragma, store._CONNECTION_PRAGMAS = saved  # type: ignore[attr-defined]


def main() -> int:
    from cli.main import main as kluis

    with plaintext():
        return kluis(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
