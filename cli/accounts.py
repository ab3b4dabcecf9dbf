"""``kluis account list/add/remove/test`` and ``kluis sync`` of every account at once.

An account is added once (password or OAuth2 sign-in), kept inside the vault
(``vault.accounts``), and synced by ``kluis sync`` with the others: one line each, and exit
``SOME_ACCOUNTS_FAILED`` (15) when one failed while the rest still synced.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from cli import oauth
from cli.commands import opened
from cli.exits import OK, PARTIAL, SOME_ACCOUNTS_FAILED
from cli.importing import to_stderr
from cli.render import print_json
from cli.sync import account_secret, imap_account, imap_password, sync_account
from vault import accounts
from vault.accounts import MailAccount, OAuthClient, Tokens
from vault.errors import ImportFailed, MailServerError, UsageError
from vault.store import Store
from vault.text import escaped

if TYPE_CHECKING:
    from importers.email.imap import Security


def cmd_account(args: argparse.Namespace) -> int:
    """Run ``kluis account ACTION``; returns the exit status."""
    actions = {"list": _list, "add": _add, "remove": _remove, "test": _test}
    with opened(args) as store:
        return actions[args.action](store, args)


def sync_all(args: argparse.Namespace) -> int:
    """Run ``kluis sync`` with no protocol: every account, one line each.

    Returns 0 when all synced, ``SOME_ACCOUNTS_FAILED`` when any failed (each says why),
    ``PARTIAL`` when all synced but some mail was quarantined.

    Raises:
        UsageError: there is no account yet.
    """
    results: list[dict[str, Any]] = []
    with opened(args) as store:
        found = accounts.accounts(store)
        if not found:
            raise UsageError("no mail account yet: add one with `kluis account add`")
        for account in found:
            row: dict[str, Any] = {"account": account.locator, "provider": account.provider}
            try:
                summary = sync_account(store, account, args, show_progress=False)
            except (ImportFailed, UsageError) as exc:  # this account's; the next may work
                row.update(status="failed", error=str(exc))
                if not args.json:
                    to_stderr(f"{account.user} at {account.host}: failed: {exc}")
            else:
                row.update(status="done", **summary.to_json())
                if not args.json:
                    print(
                        escaped(
                            f"{account.user} at {account.host}: {summary.new:,} new, "
                            f"{summary.duplicate:,} already in the vault, "
                            f"{summary.quarantined:,} quarantined"
                        ),
                        flush=True,
                    )
            results.append(row)
    if args.json:
        print_json(results)
    if any(row["status"] == "failed" for row in results):
        return SOME_ACCOUNTS_FAILED
    return PARTIAL if any(row.get("quarantined") or row.get("errors") for row in results) else OK


def chosen(store: Store, name: str) -> MailAccount:
    """The account ``name`` means: its ``user@host:port``, ``user@host`` or user name.

    Raises:
        UsageError: no account or several match.
    """
    found = accounts.accounts(store)
    matches = [a for a in found if name in (a.locator, f"{a.user}@{a.host}", a.user)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(a.locator for a in found) or "none yet"
        raise UsageError(f"no account {name!r} (accounts: {known})")
    raise UsageError(f"{name!r} names several accounts; give user@host:port")


def _list(store: Store, args: argparse.Namespace) -> int:
    rows = [_described(account) for account in accounts.accounts(store)]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No mail account yet: add one with `kluis account add`.")
    for row in rows:
        print(
            escaped(
                f"{row['account']}  {row['provider']}  {row['auth']}  "
                f"last sync {row['last_sync'] or 'never'}"
            )
        )
        print(escaped(f"  talks to: {', '.join(row['endpoints'])}"))
    return 0


def _described(account: MailAccount) -> dict[str, Any]:
    """The account as ``list --json`` shows it: never a password or token."""
    endpoints = [f"imap://{account.host}:{account.port}"]
    if account.oauth is not None:
        endpoints += account.oauth.endpoints()
    return {
        "account": account.locator,
        "provider": account.provider,
        "user": account.user,
        "host": account.host,
        "port": account.port,
        "security": account.security,
        "auth": account.auth,
        "folders": list(account.folders),
        "last_sync": account.last_sync,
        "endpoints": endpoints,
    }


def _add(store: Store, args: argparse.Namespace) -> int:
    account = _new_account(args)
    if accounts.find(store, account.locator) is not None:
        raise UsageError(f"{account.locator} is already an account; remove it first to change it")
    if account.oauth is None:
        _login(account, imap_password(account))  # kept only once it logs in
        accounts.save(store, account)
    else:
        tokens = _sign_in(account.oauth, account.user, args)
        try:
            _login(account, tokens.access_token)
        except MailServerError:
            with contextlib.suppress(MailServerError):  # a grant kluis will not keep
                oauth.revoke(account.oauth, tokens)
            raise
        accounts.save(store, account, tokens)
    print(escaped(f"Added {account.locator} ({account.provider}, {account.auth})."))
    return 0


def _new_account(args: argparse.Namespace) -> MailAccount:
    """The account the options of ``account add`` describe (not yet signed in)."""
    from importers.email.imap import DEFAULT_PORTS

    preset: dict[str, Any] = oauth.PROVIDERS.get(args.provider, {})
    host = (args.host or preset.get("host") or "").strip().lower()
    if not host:
        raise UsageError(f"--host is needed for a {args.provider} account")
    security = args.security or "tls"
    port = args.port or DEFAULT_PORTS[cast("Security", security)]
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {port}")
    account = MailAccount(
        host=host, user=args.user, port=port, security=security, folders=tuple(args.folder)
    )
    if args.provider == "imap":
        return account
    if not args.client_id:
        raise UsageError(f"--client-id is needed for {args.provider} (see the README)")
    endpoints = {
        key: getattr(args, key) or preset.get(key, "")
        for key in ("authorize_url", "token_url", "device_url", "revoke_url")
    }
    if args.issuer:
        endpoints = {**oauth.discover(args.issuer), **{k: v for k, v in endpoints.items() if v}}
    if not (endpoints["authorize_url"] and endpoints["token_url"]):
        raise UsageError("give --issuer, or --authorize-url and --token-url")
    for url in endpoints.values():
        if url:
            oauth.check_endpoint(url)
    client = OAuthClient(
        provider=args.provider,
        client_id=args.client_id,
        scopes=tuple(args.scope) if args.scope else tuple(preset.get("scopes", ())),
        client_secret=_client_secret(),
        **endpoints,
    )
    if not client.scopes:
        raise UsageError("give the scopes the provider wants for IMAP with --scope")
    return replace(account, auth=args.mechanism, oauth=client)


def _client_secret() -> str:
    """The app's client secret, for providers that want one (Google): from
    ``KLUIS_OAUTH_CLIENT_SECRET`` (never from the command line), else none."""
    from vault import environment

    return environment.secret(environment.OAUTH_CLIENT_SECRET) or ""


def _sign_in(client: OAuthClient, user: str, args: argparse.Namespace) -> Tokens:
    """Run the device flow (``--device``) or the browser flow; the grant."""
    if args.device:
        return oauth.device_grant(client, to_stderr)

    def show(url: str) -> None:
        to_stderr(f"Open this address in a browser to sign in as {user}:")
        print(url, file=sys.stderr, flush=True)  # whole, not escaped: it must stay usable
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)

    return oauth.loopback_grant(client, user, show)


def _login(account: MailAccount, secret: str) -> None:
    """Log in and out once, so a wrong setting shows now and not at the first sync."""
    from importers.email import imap

    reader = imap_account(account)
    imap.check_plain_allowed(reader)
    try:
        client = imap.connect(reader, secret)
    except OSError as exc:
        raise MailServerError(f"cannot reach {account.host}:{account.port}: {exc}") from None
    client.logout()


def _remove(store: Store, args: argparse.Namespace) -> int:
    account = chosen(store, args.account)
    tokens = accounts.tokens(store, account)
    note = ""
    if account.oauth is not None and tokens is not None:
        try:
            revoked = oauth.revoke(account.oauth, tokens)
        except MailServerError as exc:
            note = f"; the provider could not revoke the sign-in ({exc}): revoke it there"
        else:
            note = (
                "; its sign-in is revoked"
                if revoked
                else f"; {account.provider} has no revocation endpoint: revoke kluis's access "
                "in the account's security settings"
            )
    accounts.remove(store, account)
    print(escaped(f"Removed {account.locator}; its mail stays in the vault{note}."))
    return 0


def _test(store: Store, args: argparse.Namespace) -> int:
    chosen_ones = [chosen(store, args.account)] if args.account else accounts.accounts(store)
    rows: list[dict[str, Any]] = []
    for account in chosen_ones:
        try:
            _login(account, account_secret(store, account))
        except (MailServerError, UsageError) as exc:
            rows.append({"account": account.locator, "status": "failed", "error": str(exc)})
        else:
            rows.append({"account": account.locator, "status": "ok", "error": None})
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(escaped(f"{row['account']}: {row['error'] or 'logs in'}"))
    return SOME_ACCOUNTS_FAILED if any(row["status"] == "failed" for row in rows) else OK
