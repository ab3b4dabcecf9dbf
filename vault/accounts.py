"""Mail accounts kept inside the vault: where to log in, how, and (for OAuth2) the tokens.

An account is a ``source`` row of kind ``imap`` whose ``settings`` hold host, port, user,
security, folders and the sign-in kind. An OAuth2 account also keeps its provider's
endpoints, client id and scopes, and its tokens (refresh token, access token and when that
expires) under ``settings["tokens"]``: inside the encrypted database, never in a plain file,
on a command line or in a child's environment. A source row without settings is a mailbox
whose account was removed (or whose first login failed): its mail stays, it is no account.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vault.store import Store, execute
from vault.timefmt import now_iso

SOURCE_KIND = "imap"
Auth = Literal["password", "xoauth2", "oauthbearer"]
AUTH_KINDS: tuple[Auth, ...] = ("password", "xoauth2", "oauthbearer")


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """An identity provider as one account uses it (the endpoints, the app's client id)."""

    provider: str
    client_id: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    device_url: str = ""
    revoke_url: str = ""
    client_secret: str = field(default="", repr=False)
    """Only for providers that want one from an installed app (Google); not confidential
    there, but kept inside the vault all the same."""

    def endpoints(self) -> list[str]:
        """Every URL kluis may contact for this provider."""
        urls = (self.authorize_url, self.token_url, self.device_url, self.revoke_url)
        return [url for url in urls if url]


@dataclass(frozen=True, slots=True)
class Tokens:
    """An OAuth2 grant: the refresh token, and the access token with its expiry (epoch s)."""

    refresh_token: str
    access_token: str = ""
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class MailAccount:
    """One mail account; ``folders`` empty means all but Trash and Junk."""

    host: str
    user: str
    port: int
    security: str = "tls"
    folders: tuple[str, ...] = ()
    auth: Auth = "password"
    oauth: OAuthClient | None = None
    last_sync: str | None = field(default=None, compare=False)

    @property
    def locator(self) -> str:
        """The account as the ``source`` table names it: ``user@host:port``."""
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def provider(self) -> str:
        """``imap`` for a password account, else the OAuth2 provider's name."""
        return self.oauth.provider if self.oauth is not None else "imap"


def accounts(store: Store) -> list[MailAccount]:
    """Every mail account, in the order they were added, with the end of its last sync."""
    with store.reader() as conn:
        rows = execute(
            conn,
            "SELECT s.settings, (SELECT max(r.finished_at) FROM importrun r "
            "WHERE r.source_id = s.id AND r.status = 'done') "
            "FROM source s WHERE s.kind = :k ORDER BY s.id",
            {"k": SOURCE_KIND},
        ).all()
    found: list[MailAccount] = []
    for raw, last in rows:
        account = _account(_settings(raw), last)
        if account is not None:
            found.append(account)
    return found


def find(store: Store, locator: str) -> MailAccount | None:
    """The account named ``user@host:port``, or None."""
    return next((a for a in accounts(store) if a.locator == locator), None)


def save(store: Store, account: MailAccount, tokens: Tokens | None = None) -> None:
    """Add or update ``account`` (and its tokens, when given; kept ones stay otherwise)."""
    settings: dict[str, Any] = {
        "host": account.host,
        "port": account.port,
        "user": account.user,
        "security": account.security,
        "folders": list(account.folders),
        "auth": account.auth,
    }
    if account.oauth is not None:
        oauth = asdict(account.oauth)
        oauth["scopes"] = list(account.oauth.scopes)
        settings["oauth"] = oauth
    with store.writer() as conn:
        execute(
            conn,
            "INSERT OR IGNORE INTO source(kind, locator, created_at, settings) "
            "VALUES (:k, :l, :t, '{}')",
            {"k": SOURCE_KIND, "l": account.locator, "t": now_iso()},
        )
        old = _settings(
            execute(
                conn,
                "SELECT settings FROM source WHERE kind=:k AND locator=:l",
                {"k": SOURCE_KIND, "l": account.locator},
            ).one()[0]
        )
        if tokens is not None:
            settings["tokens"] = asdict(tokens)
        elif account.auth != "password" and "tokens" in old:
            settings["tokens"] = old["tokens"]
        execute(
            conn,
            "UPDATE source SET settings=:s WHERE kind=:k AND locator=:l",
            {"s": json.dumps(settings), "k": SOURCE_KIND, "l": account.locator},
        )


def tokens(store: Store, account: MailAccount) -> Tokens | None:
    """The account's OAuth2 tokens, or None when it has none."""
    with store.reader() as conn:
        row = execute(
            conn,
            "SELECT settings FROM source WHERE kind=:k AND locator=:l",
            {"k": SOURCE_KIND, "l": account.locator},
        ).first()
    raw = row[0] if row is not None else None
    kept = _settings(raw).get("tokens")
    if not isinstance(kept, dict) or not kept.get("refresh_token"):
        return None
    return Tokens(
        refresh_token=str(kept["refresh_token"]),
        access_token=str(kept.get("access_token") or ""),
        expires_at=float(kept.get("expires_at") or 0.0),
    )


def remove(store: Store, account: MailAccount) -> None:
    """Forget the account's settings and tokens; the mail it brought stays in the vault, and
    its cursor too, so adding it again fetches only what is new."""
    with store.writer() as conn:
        execute(
            conn,
            "UPDATE source SET settings='{}' WHERE kind=:k AND locator=:l",
            {"k": SOURCE_KIND, "l": account.locator},
        )


def without_secrets(settings: Any) -> Any:
    """A ``source`` row's settings as they may leave the vault (an export): without the
    tokens and the app's client secret."""
    if not isinstance(settings, dict):
        return settings
    kept = {key: value for key, value in settings.items() if key != "tokens"}
    if isinstance(kept.get("oauth"), dict):
        kept["oauth"] = {k: v for k, v in kept["oauth"].items() if k != "client_secret"}
    return kept


def _settings(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _account(settings: dict[str, Any], last_sync: str | None) -> MailAccount | None:
    """The account ``settings`` describe, or None for a row that is no (longer an) account."""
    if not (settings.get("host") and settings.get("user") and settings.get("port")):
        return None
    auth = settings.get("auth", "password")
    oauth = settings.get("oauth")
    client = None
    if isinstance(oauth, dict) and auth != "password":
        client = OAuthClient(
            provider=str(oauth.get("provider", "generic")),
            client_id=str(oauth.get("client_id", "")),
            authorize_url=str(oauth.get("authorize_url", "")),
            token_url=str(oauth.get("token_url", "")),
            scopes=tuple(str(s) for s in oauth.get("scopes", ())),
            device_url=str(oauth.get("device_url", "")),
            revoke_url=str(oauth.get("revoke_url", "")),
            client_secret=str(oauth.get("client_secret", "")),
        )
    return MailAccount(
        host=str(settings["host"]),
        user=str(settings["user"]),
        port=int(settings["port"]),
        security=str(settings.get("security", "tls")),
        folders=tuple(str(f) for f in settings.get("folders", ())),
        auth=auth if auth in AUTH_KINDS else "password",
        oauth=client,
        last_sync=last_sync,
    )
