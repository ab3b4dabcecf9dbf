"""Waiting for new mail on an IMAP account: IMAP IDLE (RFC 2177), or polling without it.

``MailWatcher.run`` keeps one connection to an account's INBOX and calls ``on_news`` when
the server announces mail (an untagged ``EXISTS``), after every (re)connect (mail may
have arrived while it was away), and every ``poll`` seconds (the other folders, and servers
without IDLE). Fetching is not its job: the caller runs the ordinary resumable sync, which
reads every folder after its cursor. The connection is read-only (EXAMINE) and IDLE is
renewed well inside the 29 minutes after which RFC 2177 lets a server drop it. A network
error reconnects after an exponential backoff with jitter, so many clients that lost one
server do not all come back at the same instant.
"""

from __future__ import annotations

import errno
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from importers.email.imap import _NETWORK_ERRORS, Account, _reason, connect, disconnect
from vault.errors import MailServerError

RENEW_SECONDS = 24 * 60.0
"""Seconds one IDLE command lasts before it is renewed (RFC 2177: at most 29 minutes)."""

CHECK_SECONDS = 1.0
"""Longest wait for one IDLE response: how soon a stop is noticed."""

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 300.0
"""Seconds before the first reconnect, doubling per failure up to the cap, with jitter."""

STABLE_SECONDS = 60.0
"""A connection that lasted this long resets the reconnect delay (a server that drops every
new connection at once is not retried faster and faster)."""

FOLDER = "INBOX"
"""The folder IDLE watches: where new mail lands on every server."""

Status = Callable[[str], None]

_EOF_WAKES = 3
"""Wake-ups in a row with nothing to read that mean the socket is at its end."""


def backoff(failures: int, first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after ``failures`` failed tries in a row (0 for the first one):
    doubling, capped, and spread over its upper half at random (jitter)."""
    ceiling = min(cap, first * 2.0 ** min(failures, 32))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - spreading retries, not a secret


def has_news(responses: list[tuple[Any, ...]]) -> bool:
    """True if IDLE responses announce mail: ``(n, b"EXISTS")`` or ``(n, b"RECENT")``."""
    return any(
        len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT") for response in responses
    )


class MailWatcher:
    """One account's IDLE connection; ``run`` until ``stop`` is set (run it in a thread).

    ``secret`` is asked at every (re)connect: an OAuth2 access token expires within the hour,
    and a server drops the connection when it does.
    """

    def __init__(
        self,
        account: Account,
        secret: Callable[[], str],
        on_news: Callable[[], None],
        stop: threading.Event,
        *,
        status: Status,
        poll: float,
        renew: float = RENEW_SECONDS,
    ) -> None:
        self.account = account
        self.secret = secret
        self.on_news = on_news
        self.stop = stop
        self.status = status
        self.poll = poll
        self.renew = renew

    def run(self) -> None:
        """Watch until ``stop`` is set; never raises (each failure is a status line)."""
        failures = 0
        while not self.stop.is_set():
            client: IMAPClient | None = None
            connected = time.monotonic()
            try:
                client = connect(self.account, self.secret())
                connected = time.monotonic()
                self.on_news()  # whatever came while there was no connection
                self._watch(client)
            except Exception as exc:  # a thread's last line: any failure waits and tries again
                if client is not None and time.monotonic() - connected > STABLE_SECONDS:
                    failures = 0  # a connection that lasted: the delays start over
                wait = backoff(failures)
                failures += 1
                self.status(f"{_gist(exc)}; trying again in {wait:.0f} s")
                self.stop.wait(wait)
            finally:
                if client is not None:
                    disconnect(client)

    def _watch(self, client: IMAPClient) -> None:
        """IDLE on INBOX (or poll without IDLE) until stop or a network error."""
        idle = b"IDLE" in client.capabilities()
        if idle:
            client.select_folder(FOLDER, readonly=True)
        self.status(
            f"watching {FOLDER} (IDLE)" if idle else f"polling every {self.poll:.0f} s (no IDLE)"
        )
        next_poll = time.monotonic() + self.poll
        while not self.stop.is_set():
            if idle:
                news = self._idle_once(client, next_poll)
            else:
                self.stop.wait(max(0.0, next_poll - time.monotonic()))
                client.noop()  # a dead connection shows here rather than at the next sync
                news = False
            if news or time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.poll
                self.on_news()

    def _idle_once(self, client: IMAPClient, next_poll: float) -> bool:
        """One IDLE command, until mail is announced, the poll is due, renewal or stop.

        Raises:
            ConnectionResetError: the server said BYE or closed the connection.
        """
        client.idle()
        ends = min(next_poll, time.monotonic() + self.renew)
        news = False
        empty_wakes = 0
        while not news and not self.stop.is_set() and time.monotonic() < ends:
            asked = time.monotonic()
            responses = client.idle_check(timeout=CHECK_SECONDS)
            # imapclient swallows EOF: a closed socket reads as readable with nothing in it.
            quick = not responses and time.monotonic() - asked < CHECK_SECONDS / 2
            empty_wakes = empty_wakes + 1 if quick else 0
            if empty_wakes >= _EOF_WAKES or any(r[:1] == (b"BYE",) for r in responses):
                raise ConnectionResetError(errno.ECONNRESET, "the server closed the connection")
            news = has_news(responses)
        # DONE answers with what came meanwhile; after a network error there is no DONE to send.
        return has_news(client.idle_done()[1]) or news


def _gist(exc: BaseException) -> str:
    """A failure as a status line."""
    if isinstance(exc, MailServerError):
        return str(exc)
    if isinstance(exc, (*_NETWORK_ERRORS, IMAPClientError)):
        return f"connection lost ({_reason(exc)})"
    return f"unexpected error ({_reason(exc)})"
