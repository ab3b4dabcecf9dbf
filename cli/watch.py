"""``kluis sync imap --watch``: store new mail within seconds of its arrival, until stopped.

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
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING

from vault.errors import MailServerError, UsageError, VaultBusy
from vault.text import escaped

if TYPE_CHECKING:
    from importers.email.imap import Account
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
        help="keep running: store new mail as it arrives (IMAP IDLE); every remembered "
        "account unless --host or --user names one",
    )
    parser.add_argument(
        "--poll",
        type=seconds,
        default=POLL_SECONDS,
        metavar="SECONDS",
        help=f"with --watch: sync every folder this often (default {POLL_SECONDS:.0f})",
    )


def watched_accounts(store: Store, args: argparse.Namespace) -> list[Account]:
    """The accounts to watch: the one ``--host``/``--user`` name, else every remembered one.

    The one place that says which accounts exist, to point at the account list later.

    Raises:
        UsageError: none is remembered and none is named, or the options match several.
    """
    from cli.sync import remembered_accounts, resolve_account

    if args.host or args.user:
        return [resolve_account(store, args)]
    accounts = remembered_accounts(store)
    if not accounts:
        return [resolve_account(store, args)]  # raises with the message saying what to give
    if args.folder:
        accounts = [replace(account, folders=tuple(args.folder)) for account in accounts]
    return accounts


def sync_watch(args: argparse.Namespace) -> int:
    """Watch the accounts until Ctrl-C (exit 130) or SIGTERM (exit 0).

    Raises:
        UsageError: no account, ``--plain`` to a remote host, or no password.
    """
    from cli.commands import opened
    from cli.sync import imap_password
    from importers.email import imap

    with opened(args) as store:
        accounts = watched_accounts(store, args)
        for account in accounts:
            imap.check_plain_allowed(account)  # before any password is asked for
        passwords = {account: imap_password(account) for account in accounts}
        due: queue.Queue[Account] = queue.Queue()
        stop = threading.Event()
        threads = [
            _watching(account, passwords[account], due, stop, args.poll) for account in accounts
        ]
        try:
            with ended_by_sigterm():
                for thread in threads:
                    thread.start()
                while True:
                    for account in _next_due(due):
                        _sync_once(store, args, account, passwords[account])
        except Terminated:
            say("stopped; everything fetched is stored")
            return 0
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=2 * WAKE_SECONDS)


def _watching(
    account: Account, password: str, due: queue.Queue[Account], stop: threading.Event, poll: float
) -> threading.Thread:
    """A thread (not started yet) that puts ``account`` on ``due`` whenever it has news."""
    from importers.email.idle import MailWatcher

    watcher = MailWatcher(
        account,
        lambda: password,
        partial(due.put, account),
        stop,
        status=partial(_status, account),
        poll=poll,
    )
    return threading.Thread(target=watcher.run, name=f"idle {account.locator}", daemon=True)


def _next_due(due: queue.Queue[Account]) -> list[Account]:
    """The accounts with news, each once, after waiting for the first (signals still land)."""
    while True:
        try:
            first = due.get(timeout=WAKE_SECONDS)
            break
        except queue.Empty:
            continue
    accounts = [first]
    with contextlib.suppress(queue.Empty):
        while True:
            account = due.get_nowait()
            if account not in accounts:
                accounts.append(account)
    return accounts


def _sync_once(store: Store, args: argparse.Namespace, account: Account, password: str) -> None:
    """One sync of ``account``; a failure is its status line, and the next news tries again."""
    from cli.sync import sync_account

    try:
        summary = sync_account(store, args, account, password, None)
    except (MailServerError, VaultBusy, UsageError) as exc:
        _status(account, f"sync failed: {exc}")
        return
    if summary.new or summary.updated or summary.quarantined:
        _status(
            account,
            f"{summary.new} new, {summary.updated} updated, {summary.quarantined} quarantined",
        )


def _status(account: Account, message: str) -> None:
    say(f"{account.user}@{account.host}: {message}")
