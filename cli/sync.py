"""``kluis sync imap``: fetch an account's new mail into the vault.

The account (host, port, user, security, folders) is remembered in the vault's ``source``
table after the first successful login, so a later ``kluis sync imap`` needs no options.
The password never is: it comes from ``KLUIS_IMAP_PASSWORD``, the OS keyring (service
``kluis-imap``, user ``user@host``) or a prompt, and never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from contextlib import closing
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cli.commands import opened, print_summary, progress_printer, to_stderr
from vault import environment
from vault.errors import UsageError
from vault.imports import import_options
from vault.store import Store
from vault.timefmt import now_iso
from vault.writelock import writer_lock

if TYPE_CHECKING:
    from collections.abc import Callable

    from importers.email.imap import Account
    from vault.ingest import Summary
    from vault.records import ImportOptions

PASSWORD_ENV = environment.IMAP_PASSWORD
KEYRING_SERVICE = "kluis-imap"
SOURCE_KIND = "imap"

BATCH_SIZE = 500
"""Items per transaction. Smaller than an import's: a sync that loses the network keeps
what it fetched up to the last batch, and a batch is re-fetched at worst."""


def sync_imap(args: argparse.Namespace) -> int:
    """Run ``kluis sync imap`` (with ``--watch``: keep watching); returns the exit status.

    Raises:
        UsageError: no account to sync, an ambiguous one, ``--plain`` to a remote host,
            an unknown folder, or no password without a terminal to ask for it.
        MailServerError: the server refused the login or the network kept failing.
    """
    from importers.email import imap

    if args.watch:
        from cli.watch import sync_watch

        return sync_watch(args)
    with opened(args) as store:
        account = resolve_account(store, args)
        imap.check_plain_allowed(account)  # before the password is even asked for
        password = imap_password(account)
        summary = sync_account(store, args, account, password, progress_printer())
    return print_summary(summary, as_json=args.json)


def sync_account(
    store: Store,
    args: argparse.Namespace,
    account: Account,
    password: str,
    progress: Callable[[Summary], None] | None,
) -> Summary:
    """Fetch ``account``'s new mail into the vault, holding the writer lock while storing."""
    from importers.email import imap
    from vault.ingest import Ingestor

    options = _options(store, args, account)
    ingestor = Ingestor(
        store, options, SOURCE_KIND, account.locator, batch_size=BATCH_SIZE, progress=progress
    )
    items = imap.read_account(
        account, password, options, on_login=lambda: remember_account(store, account)
    )
    try:
        with (
            writer_lock(store.folder, "sync", wait=not args.no_wait, notice=to_stderr),
            closing(items),
        ):
            return ingestor.run(items)
    finally:
        if progress is not None:
            sys.stderr.write("\n")


def resolve_account(store: Store, args: argparse.Namespace) -> Account:
    """The account to sync: the options given, completed from the one remembered.

    Raises:
        UsageError: nothing remembered and no --host/--user, or several accounts match.
    """
    from importers.email.imap import DEFAULT_PORTS, Account

    host = args.host.strip().lower() if args.host else None
    remembered = remembered_accounts(store)
    matches = [
        account
        for account in remembered
        if (host is None or account.host == host)
        and (args.user is None or account.user == args.user)
        and (args.port is None or account.port == args.port)
    ]
    if len(matches) > 1:
        names = ", ".join(account.locator for account in matches)
        raise UsageError(
            f"several IMAP accounts are remembered ({names}); choose one with --host and --user"
        )
    base = matches[0] if matches else None
    if base is None and not (host and args.user):
        if remembered:
            raise UsageError(
                "no remembered IMAP account matches; give both --host and --user for a new one"
            )
        raise UsageError("no IMAP account is remembered yet: give --host and --user")
    security = args.security or (base.security if base else "tls")
    if args.port is not None:
        port = args.port
    elif base is not None and security == base.security:
        port = base.port
    else:
        port = DEFAULT_PORTS[security]
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {port}")
    return Account(
        host=host or (base.host if base else ""),
        user=args.user or (base.user if base else ""),
        port=port,
        security=security,
        folders=tuple(args.folder) if args.folder else (base.folders if base else ()),
    )


def remembered_accounts(store: Store) -> list[Account]:
    """The IMAP accounts that logged in once, from the ``source`` table."""
    from importers.email.imap import Account

    with store.read() as conn:
        rows = conn.execute(
            text("SELECT settings FROM source WHERE kind=:k ORDER BY id"), {"k": SOURCE_KIND}
        ).all()
    accounts: list[Account] = []
    for (raw,) in rows:
        settings: dict[str, Any] = json.loads(raw or "{}")
        # A source row without settings is from a sync whose login failed: not an account.
        if settings.get("host") and settings.get("user") and settings.get("port"):
            accounts.append(
                Account(
                    host=str(settings["host"]),
                    user=str(settings["user"]),
                    port=int(settings["port"]),
                    security=settings.get("security", "tls"),
                    folders=tuple(settings.get("folders", ())),
                )
            )
    return accounts


def remember_account(store: Store, account: Account) -> None:
    """Keep the account's settings (never its password) for the next sync."""
    settings = {
        "host": account.host,
        "port": account.port,
        "user": account.user,
        "security": account.security,
        "folders": list(account.folders),
    }
    with store.begin() as conn:
        conn.execute(
            text(
                "INSERT OR IGNORE INTO source(kind, locator, created_at, settings) "
                "VALUES (:k, :l, :t, '{}')"
            ),
            {
                "k": SOURCE_KIND,
                "l": account.locator,
                "t": now_iso(),
            },
        )
        conn.execute(
            text("UPDATE source SET settings=:s WHERE kind=:k AND locator=:l"),
            {"s": json.dumps(settings), "k": SOURCE_KIND, "l": account.locator},
        )


def imap_password(account: Account) -> str:
    """The password: ``KLUIS_IMAP_PASSWORD``, the OS keyring, then a prompt at a terminal.

    Raises:
        UsageError: none of them has it and there is no terminal to ask at.
    """
    password = environment.secret(PASSWORD_ENV) or _keyring_password(account)
    if password:
        return password
    if sys.stdin.isatty():
        return getpass.getpass(f"IMAP password for {account.user} at {account.host}: ")
    raise UsageError(
        f"no IMAP password for {account.user}@{account.host}: set {PASSWORD_ENV}, keep it in "
        f"the OS keyring (service {KEYRING_SERVICE!r}, user '{account.user}@{account.host}'), "
        "or run in a terminal to be asked"
    )


def _keyring_password(account: Account) -> str | None:
    """The password kept in the OS keyring, or None: a missing or broken keyring is 'none'."""
    try:
        import keyring  # deferred: its backend discovery costs start-up time

        value = keyring.get_password(KEYRING_SERVICE, f"{account.user}@{account.host}")
    except Exception:  # headless Linux has no keyring; that is "not stored", not a crash
        return None
    return value if isinstance(value, str) and value else None


def _options(store: Store, args: argparse.Namespace, account: Account) -> ImportOptions:
    """Import options as ``kluis import`` builds them; the login counts as the user's address."""
    me = list(args.me) + ([account.user] if "@" in account.user else [])
    return import_options(store, me, args.timezone)
