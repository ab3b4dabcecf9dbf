"""``kluis sync imap``, and the sync of one account that ``kluis sync`` runs for each.

The account (host, port, user, security, folders) is remembered in the vault
(``vault.accounts``) after the first successful login, so a later ``kluis sync imap`` needs no
options. The password never is: it comes from ``KLUIS_IMAP_PASSWORD``, the OS keyring (service
``kluis-imap``, user ``user@host``) or a prompt, and never from the command line. An OAuth2
account logs in with an access token, renewed from the refresh token kept in the vault.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import closing
from typing import TYPE_CHECKING, cast

from cli.commands import opened
from cli.importing import print_summary, progress_printer, to_stderr
from vault import accounts, environment
from vault.accounts import SOURCE_KIND, MailAccount
from vault.errors import UsageError
from vault.imports import import_options
from vault.store import Store
from vault.writelock import writer_lock

if TYPE_CHECKING:
    from importers.email.imap import Account, Security
    from vault.ingest import Summary
    from vault.records import ImportOptions

PASSWORD_ENV = environment.IMAP_PASSWORD
KEYRING_SERVICE = "kluis-imap"

BATCH_SIZE = 500
"""Items per transaction. Smaller than an import's: a sync that loses the network keeps
what it fetched up to the last batch, and a batch is re-fetched at worst."""


def sync_imap(args: argparse.Namespace) -> int:
    """Run ``kluis sync imap`` (or, with no protocol, ``kluis sync`` of every account; with
    ``--watch``, keep watching); returns the exit status.

    Raises:
        UsageError: no account to sync, an ambiguous one, ``--plain`` to a remote host,
            an unknown folder, or no password without a terminal to ask for it.
        MailServerError: the server refused the login or the network kept failing.
    """
    if args.watch:
        from cli.watch import sync_watch

        return sync_watch(args)
    if args.protocol is None:
        from cli.accounts import sync_all

        return sync_all(args)
    with opened(args) as store:
        summary = sync_account(store, resolve_account(store, args), args)
    return print_summary(summary, as_json=args.json)


def sync_account(
    store: Store,
    account: MailAccount,
    args: argparse.Namespace,
    *,
    show_progress: bool = True,
    password: str | None = None,
) -> Summary:
    """Fetch ``account``'s new mail into the vault (remembering the account once it logged
    in); what came of it. ``args`` gives ``me``, ``timezone`` and ``no_wait``; ``password``
    one already asked for (a watch asks once, not at every sync).

    Raises:
        UsageError: ``--plain`` to a remote host, an unknown folder, no password.
        MailServerError: the server or the identity provider refused, or the network failed.
    """
    from importers.email import imap
    from vault.errors import LoginRefused

    imap.check_plain_allowed(imap_account(account))  # before the password is even asked for
    secret = password if password is not None else account_secret(store, account)
    try:
        return _fetch(store, account, args, secret, show_progress)
    except LoginRefused:
        if account.oauth is None:
            raise
        # The provider may end an access token before its time: renew it once and retry.
        return _fetch(store, account, args, account_secret(store, account, renew=True), False)


def _fetch(
    store: Store, account: MailAccount, args: argparse.Namespace, secret: str, show_progress: bool
) -> Summary:
    from importers.email import imap
    from vault.ingest import Ingestor

    reader = imap_account(account)
    options = _options(store, args, account)
    progress = progress_printer() if show_progress else None
    ingestor = Ingestor(
        store, options, SOURCE_KIND, account.locator, batch_size=BATCH_SIZE, progress=progress
    )
    items = imap.read_account(
        reader, secret, options, on_login=lambda: accounts.save(store, account)
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


def imap_account(account: MailAccount) -> Account:
    """``account`` as the IMAP reader takes it."""
    from importers.email.imap import Account

    return Account(
        host=account.host,
        user=account.user,
        port=account.port,
        security=cast("Security", account.security),
        folders=account.folders,
        auth=account.auth,
    )


def account_secret(store: Store, account: MailAccount, *, renew: bool = False) -> str:
    """What logs ``account`` in: its password, or an OAuth2 access token (renewed with the
    refresh token kept in the vault when it is near its end, or ``renew``, and the new one
    kept).

    Raises:
        UsageError: no password and no terminal to ask at.
        SignInFailed: no sign-in kept, or the provider refused the refresh token.
    """
    if account.auth == "password" or account.oauth is None:
        return imap_password(account)
    from cli.oauth import fresh
    from vault.errors import SignInFailed

    kept = accounts.tokens(store, account)
    if kept is None:
        raise SignInFailed(
            f"no sign-in is kept for {account.user}: run `kluis account add` for it again"
        )
    renewed = fresh(account.oauth, kept, renew=renew)
    if renewed != kept:
        accounts.save(store, account, renewed)
    return renewed.access_token


def resolve_account(store: Store, args: argparse.Namespace) -> MailAccount:
    """The account to sync: the options given, completed from the one remembered.

    Raises:
        UsageError: nothing remembered and no --host/--user, or several accounts match.
    """
    from importers.email.imap import DEFAULT_PORTS

    host = args.host.strip().lower() if args.host else None
    remembered = accounts.accounts(store)
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
        port = DEFAULT_PORTS[cast("Security", security)]
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {port}")
    return MailAccount(
        host=host or (base.host if base else ""),
        user=args.user or (base.user if base else ""),
        port=port,
        security=security,
        folders=tuple(args.folder) if args.folder else (base.folders if base else ()),
        auth=base.auth if base and base.port == port else "password",
        oauth=base.oauth if base and base.port == port else None,
    )


def imap_password(account: MailAccount) -> str:
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


def _keyring_password(account: MailAccount) -> str | None:
    """The password kept in the OS keyring, or None: a missing or broken keyring is 'none'."""
    try:
        import keyring  # deferred: its backend discovery costs start-up time

        value = keyring.get_password(KEYRING_SERVICE, f"{account.user}@{account.host}")
    except Exception:  # headless Linux has no keyring; that is "not stored", not a crash
        return None
    return value if isinstance(value, str) and value else None


def _options(store: Store, args: argparse.Namespace, account: MailAccount) -> ImportOptions:
    """Import options as ``kluis import`` builds them; the login counts as the user's address."""
    me = list(args.me) + ([account.user] if "@" in account.user else [])
    return import_options(store, me, args.timezone)
