"""A throwaway file keyring for the start-up benchmark (headless Linux has no OS keyring).

Selected with ``PYTHON_KEYRING_BACKEND=bench_keyring.FileKeyring`` (``bench/`` on PYTHONPATH)
and ``KLUIS_BENCH_KEYRING=<file>``, so ``kluis remember`` and the remembered-key unlock run
their real code paths. Plaintext: bench vaults only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    """Passwords in a JSON file named by ``KLUIS_BENCH_KEYRING``."""

    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ["KLUIS_BENCH_KEYRING"])

    def _load(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self._path().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}\0{username}", None)
        self._path().write_text(json.dumps(data))
