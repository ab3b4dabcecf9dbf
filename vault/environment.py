"""Secrets given in the environment, kept out of every process kluis starts.

Scripts give kluis its passphrase in ``KLUIS_PASSPHRASE`` (as restic's ``RESTIC_PASSWORD``)
or the name of a file holding it in ``KLUIS_PASSPHRASE_FILE``, and an IMAP password in
``KLUIS_IMAP_PASSWORD`` (and an OAuth2 app's client secret, for providers that want one, in
``KLUIS_OAUTH_CLIENT_SECRET``). A child process inherits the environment, so
while a command runs (``withheld``) they are out of it and read from here (``secret``): the
parse workers and anything else kluis starts never receive them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

PASSPHRASE = "KLUIS_PASSPHRASE"
PASSPHRASE_FILE = "KLUIS_PASSPHRASE_FILE"
IMAP_PASSWORD = "KLUIS_IMAP_PASSWORD"
OAUTH_CLIENT_SECRET = "KLUIS_OAUTH_CLIENT_SECRET"
SECRETS = (PASSPHRASE, PASSPHRASE_FILE, IMAP_PASSWORD, OAUTH_CLIENT_SECRET)

_withheld: dict[str, str] = {}


def secret(name: str) -> str | None:
    """The value of the secret variable ``name``, withheld or still in the environment; None
    when it is unset or empty."""
    return _withheld.get(name) or os.environ.get(name) or None


@contextmanager
def withheld() -> Iterator[None]:
    """Take the secrets out of the environment for the block, and put them back after it
    (the CLI run in-process, as tests do, leaves the environment as it found it)."""
    taken = {name: os.environ.pop(name) for name in SECRETS if name in os.environ}
    _withheld.update(taken)
    try:
        yield
    finally:
        for name in taken:
            _withheld.pop(name, None)
        os.environ.update(taken)
