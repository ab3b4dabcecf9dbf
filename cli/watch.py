"""``kluis sync --watch``: store new mail within seconds of its arrival, until stopped.

One thread per account keeps an IMAP IDLE connection (``importers.email.idle``) and says
when the account has news; the main thread runs the ordinary resumable sync for it
(``cli.sync.sync_account``), so every store goes through the same cursors and the same
writer lock as ``kluis sync``: an import started meanwhile waits one sync at most, never the
whole watch. Each account's state is one status line on stdout. Ctrl-C ends with exit 130
and SIGTERM (a service manager stopping it) with exit 0; what was stored is kept either way.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING

from vault.errors import ImportFailed, UsageError, VaultBusy
from vault.text import escaped

if TYPE_CHECKING:
    from vault.accounts import MailAccount
    from vault.store import Store

# This module is imported to build the parser: the sync machinery loads only when it runs.

POLL_SECONDS = 300.0
"""Default seconds between syncs of every folder, IDLE or not (the folders IDLE does not
watch, and servers without IDLE)."""

MAX_SECONDS = 86_400.0
"""The longest ``--poll``, ``--settle`` or ``--interval``: a day."""

WAKE_SECONDS = 1.0
"""How often the main thread looks up from waiting (signals are handled between waits)."""

_print_lock = threading.Lock()


class Terminated(BaseException):
    """SIGTERM arrived: stop cleanly (a ``BaseException``, so no ``except Exception`` eats it)."""


@contextlib.contextmanager
def ended_by_sigterm() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread (which unwinds every
    open transaction and lock) instead of killing the process mid-write."""

    def raise_terminated(_signum: int, _frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def say(message: str) -> None:
    """One status line on stdout with the time, flushed (a service's log reads it at once)."""
    with _print_lock:
        print(f"{time.strftime('%H:%M:%S')} {escaped(message)}", flush=True)


def seconds(text: str) -> float:
    """An option's number of seconds: more than 0, at most a day (argparse's ``type``).

    Raises:
        argparse.ArgumentTypeError: anything else (``0``, ``-1``, ``nan``, ``inf``, ``soon``).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_SECONDS:.0f} seconds, not {text!r}"
        )
    return value


def add_watch_options(parser: argparse.ArgumentParser) -> None:
    """``--watch`` and ``--poll`` on ``kluis sync imap``."""
    parser.add_argument(
        "--watch",
        action="store_true",
        help="keep running: store new mail as it arrives (IMAP IDLE), from every account "
        "(or the one `sync imap` names)",
    )
    parser.add_argument(
        "--poll",
        type=seconds,
        default=POLL_SECONDS,
        metavar="SECONDS",
        help=f"with --watch: sync every folder this often (default {POLL_SECONDS:.0f})",
    )


def watched_accounts(store: Store, args: argparse.Namespace) -> list[MailAccount]:
    """The accounts to watch: with ``sync imap``, the one it names (or the only one); with
    ``sync``, every account.

    Raises:
        UsageError: there is no account, or ``sync imap``'s options match several.
    """
    from cli.sync import resolve_account
    from vault.accounts import accounts

    if args.protocol is not None:
        return [resolve_account(store, args)]
    found = accounts(store)
    if not found:
        raise UsageError("no mail account yet: add one with `kluis account add`")
    return found


def sync_watch(args: argparse.Namespace) -> int:
    """Watch the accounts until Ctrl-C (exit 130) or SIGTERM (exit 0).

    Raises:
        UsageError: no account, ``--plain`` to a remote host, or no password.
        SignInFailed: an OAuth2 account's sign-in is gone.
    """
    from cli.commands import opened
    from cli.sync import imap_account
    from importers.email import imap

    with opened(args) as store:
        accounts = watched_accounts(store, args)
        for account in accounts:
            imap.check_plain_allowed(imap_account(account))  # before any password is asked
        logins = {account.locator: _login(store, account) for account in accounts}
        due: queue.Queue[str] = queue.Queue()
        stop = threading.Event()
        threads = [
            _watching(account, logins[account.locator], due, stop, args.poll)
            for account in accounts
        ]
        by_locator = {account.locator: account for account in accounts}
        try:
            with ended_by_sigterm():
                for thread in threads:
                    thread.start()
                while True:
                    for locator in _next_due(due):
                        _sync_once(store, args, by_locator[locator], logins[locator])
        except Terminated:
            say("stopped; everything fetched is stored")
            return 0
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=2 * WAKE_SECONDS)


@dataclass(frozen=True)
class _Login:
    """How a watch logs an account in: a password asked once, or a fresh OAuth2 token."""

    secret: Callable[[], str]
    password: str | None


def _login(store: Store, account: MailAccount) -> _Login:
    """Ask for a password now, once (a prompt belongs at the start, not in a thread later);
    an OAuth2 access token is fetched anew at each connect (it expires within the hour).

    Raises:
        UsageError, SignInFailed: as ``account_secret``, now rather than in the watch.
    """
    from cli.sync import account_secret

    first = account_secret(store, account)
    if account.oauth is None:
        return _Login(lambda: first, first)
    return _Login(partial(account_secret, store, account), None)


def _watching(
    account: MailAccount, login: _Login, due: queue.Queue[str], stop: threading.Event, poll: float
) -> threading.Thread:
    """A thread (not started yet) that puts the account on ``due`` whenever it has news."""
    from cli.sync import imap_account
    from importers.email.idle import MailWatcher

    watcher = MailWatcher(
        imap_account(account),
        login.secret,
        partial(due.put, account.locator),
        stop,
        status=partial(_status, account),
        poll=poll,
    )
    return threading.Thread(target=watcher.run, name=f"idle {account.locator}", daemon=True)


def _next_due(due: queue.Queue[str]) -> list[str]:
    """The accounts with news, each once, after waiting for the first (signals still land)."""
    while True:
        try:
            first = due.get(timeout=WAKE_SECONDS)
            break
        except queue.Empty:
            continue
    locators = [first]
    with contextlib.suppress(queue.Empty):
        while True:
            locator = due.get_nowait()
            if locator not in locators:
                locators.append(locator)
    return locators


def _sync_once(store: Store, args: argparse.Namespace, account: MailAccount, login: _Login) -> None:
    """One sync of ``account``; a failure is its status line, and the next news tries again."""
    from cli.sync import sync_account

    try:
        summary = sync_account(store, account, args, show_progress=False, password=login.password)
    except (ImportFailed, VaultBusy, UsageError) as exc:
        _status(account, f"sync failed: {exc}")
        return
    if summary.new or summary.updated or summary.quarantined:
        _status(
            account,
            f"{summary.new} new, {summary.updated} updated, {summary.quarantined} quarantined",
        )


def _status(account: MailAccount, message: str) -> None:
    say(f"{account.user}@{account.host}: {message}")
