"""OAuth2 sign-in for mail accounts: the installed-app and device flows, refresh, revoke.

The installed-app flow (RFC 8252) waits for the provider's redirect on 127.0.0.1 at a random
port, with PKCE S256 (RFC 7636) and a random ``state`` that must come back unchanged. The
device flow (RFC 8628) shows a code to type in a browser elsewhere. Tokens are renewed with the
refresh token shortly before the access token expires, and revoked (RFC 7009) where the
provider offers an endpoint. Only HTTPS is spoken, except to a loopback address.
Plain ``urllib`` and ``http.server``: no dependency for a few form posts.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from ipaddress import ip_address
from typing import Any, TypeGuard

from vault.accounts import OAuthClient, Tokens
from vault.errors import MailServerError, SignInFailed, UsageError

TIMEOUT = 30.0
"""Seconds for one request to the identity provider."""
WAIT_FOR_BROWSER = 300.0
"""Seconds the loopback and device flows wait for the user to approve."""
RENEW_MARGIN = 300.0
"""An access token with less than this many seconds left is renewed before use."""
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_WELL_KNOWN = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")

PROVIDERS: dict[str, dict[str, Any]] = {
    "gmail": {
        "host": "imap.gmail.com",
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "device_url": "https://oauth2.googleapis.com/device/code",
        "revoke_url": "https://oauth2.googleapis.com/revoke",
        "scopes": ("https://mail.google.com/",),
    },
    "outlook": {  # Outlook.com and Microsoft 365; Microsoft has no revocation endpoint
        "host": "outlook.office365.com",
        "authorize_url": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "token_url": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "device_url": "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
        "revoke_url": "",
        "scopes": ("https://outlook.office.com/IMAP.AccessAsUser.All", "offline_access"),
    },
}


def check_endpoint(url: str) -> str:
    """``url`` when it is HTTPS, or HTTP to a loopback address.

    Raises:
        UsageError: any other URL (a token must never travel in the clear), or one with
            spaces or control characters (it is shown in a terminal).
    """
    if not (url.isascii() and url.isprintable()) or " " in url:
        raise UsageError(f"{url!r} is no usable address (spaces or control characters)")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname:
        try:
            if ip_address(parts.hostname).is_loopback:
                return url
        except ValueError:
            pass
    raise UsageError(f"{url!r} is no HTTPS address (plain HTTP is only allowed to 127.0.0.1)")


def discover(issuer: str) -> dict[str, str]:
    """The endpoints an issuer publishes (OpenID Connect discovery, RFC 8414 as fallback)."""
    base = check_endpoint(issuer).rstrip("/")
    for well_known in (
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ):
        try:
            found = _request(base + well_known, None)
        except SignInFailed:
            continue
        return {
            "authorize_url": str(found.get("authorization_endpoint", "")),
            "token_url": str(found.get("token_endpoint", "")),
            "device_url": str(found.get("device_authorization_endpoint", "")),
            "revoke_url": str(found.get("revocation_endpoint", "")),
        }
    raise SignInFailed(
        f"{issuer} publishes no OAuth2 endpoints; give --authorize-url and --token-url"
    )


def pkce_pair() -> tuple[str, str]:
    """A PKCE (verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def loopback_grant(client: OAuthClient, user: str, show: Callable[[str], None]) -> Tokens:
    """Sign in with a browser: ``show`` gets the address to open; the answer comes back to a
    one-shot listener on 127.0.0.1.

    Raises:
        SignInFailed: the user or the provider refused, the state did not match, or no
            answer came within ``WAIT_FOR_BROWSER`` seconds.
    """
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    answer: dict[str, str] = {}
    done = threading.Event()

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            if "code" not in query and "error" not in query:
                self.send_error(404)
                return
            answer.update(query)
            done.set()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"kluis has the answer; you can close this page.\n")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request line holds the authorization code."""

    with http.server.HTTPServer(("127.0.0.1", 0), Redirect) as listener:
        redirect_uri = f"http://127.0.0.1:{listener.server_address[1]}/"
        query = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(client.scopes),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "login_hint": user,
            "access_type": "offline",  # Google: hand out a refresh token
            "prompt": "consent",
        }
        show(f"{client.authorize_url}?{urllib.parse.urlencode(query)}")
        thread = threading.Thread(target=listener.serve_forever, daemon=True)
        thread.start()
        approved = done.wait(WAIT_FOR_BROWSER)
        listener.shutdown()
    if not approved:
        raise SignInFailed(f"no answer from the browser within {WAIT_FOR_BROWSER:.0f} s")
    if answer.get("state") != state:
        raise SignInFailed("the sign-in answer does not belong to this request (state differs)")
    if "error" in answer:
        raise SignInFailed(f"sign-in refused: {_described(answer)}")
    form = {
        "grant_type": "authorization_code",
        "code": answer["code"],
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return _token_request(client, form, None)


def device_grant(client: OAuthClient, show: Callable[[str], None]) -> Tokens:
    """Sign in with a browser elsewhere: ``show`` gets where to go and the code to type.

    Raises:
        SignInFailed: the provider has no device flow, or it was refused or timed out.
    """
    if not client.device_url:
        raise SignInFailed(f"{client.provider} offers no device sign-in; leave out --device")
    form = {"client_id": client.client_id, "scope": " ".join(client.scopes)}
    start = _request(client.device_url, form)
    where = (
        start.get("verification_uri_complete")
        or start.get("verification_uri")
        or start.get("verification_url", "")
    )
    show(f"On any device, open {where} and enter the code {start.get('user_code', '')}")
    interval = min(_seconds(start.get("interval"), 5.0), 60.0)
    deadline = time.monotonic() + min(_seconds(start.get("expires_in"), 900.0), WAIT_FOR_BROWSER)
    form = {"grant_type": DEVICE_GRANT, "device_code": str(start.get("device_code", ""))}
    while time.monotonic() < deadline:
        time.sleep(interval)
        try:
            return _token_request(client, form, None)
        except _Pending as pending:
            interval += 5 if pending.slow_down else 0
    raise SignInFailed("the device sign-in was not approved in time")


def fresh(client: OAuthClient, tokens: Tokens, *, renew: bool = False) -> Tokens:
    """``tokens`` with an access token good for a while yet: renewed when near its end (or
    when ``renew``).

    Raises:
        SignInFailed: the provider refused the refresh token (revoked, or expired).
    """
    if not renew and tokens.access_token and tokens.expires_at - time.time() > RENEW_MARGIN:
        return tokens
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    return _token_request(client, form, tokens.refresh_token)


def revoke(client: OAuthClient, tokens: Tokens) -> bool:
    """Revoke the refresh token at the provider; False when it has no endpoint for it.

    Raises:
        SignInFailed: the provider could not be reached or refused.
    """
    if not client.revoke_url:
        return False
    form = {
        "token": tokens.refresh_token,
        "token_type_hint": "refresh_token",
        "client_id": client.client_id,
    }
    _request(client.revoke_url, form, expect_json=False)
    return True


class _Pending(Exception):
    """The device flow's ``authorization_pending`` / ``slow_down``: ask again later."""

    def __init__(self, slow_down: bool) -> None:
        super().__init__("pending")
        self.slow_down = slow_down


def _token_request(client: OAuthClient, form: dict[str, str], refresh_token: str | None) -> Tokens:
    """POST to the token endpoint; the grant as ``Tokens`` (keeping the old refresh token
    when the provider does not rotate it)."""
    form = {**form, "client_id": client.client_id}
    if client.client_secret:
        form["client_secret"] = client.client_secret
    try:
        answer = _request(client.token_url, form)
    except _Refused as refused:
        error = refused.answer.get("error")
        if error in ("authorization_pending", "slow_down"):
            raise _Pending(error == "slow_down") from None
        if error == "invalid_grant" and refresh_token is not None:
            raise SignInFailed(
                f"{client.provider} no longer accepts this account's sign-in (revoked or "
                "expired): run `kluis account add` for it again"
            ) from None
        raise SignInFailed(f"sign-in refused: {_described(refused.answer)}") from None
    access = answer.get("access_token")
    renewed = answer.get("refresh_token") or refresh_token
    if not _token_text(access) or not _token_text(renewed):
        raise SignInFailed(
            f"{client.provider} gave no usable access and refresh token: check the scopes "
            "(Microsoft needs offline_access)"
        )
    expires_in = _seconds(answer.get("expires_in"), 3600.0)
    return Tokens(refresh_token=renewed, access_token=access, expires_at=time.time() + expires_in)


class _Refused(SignInFailed):
    """The provider answered with an OAuth2 error (its JSON body in ``answer``)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(_described(answer))
        self.answer = answer


def _request(url: str, form: dict[str, str] | None, expect_json: bool = True) -> dict[str, Any]:
    """GET (``form`` None) or POST a form to ``url``; its JSON answer."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(  # noqa: S310 (check_endpoint allows https and loopback http)
        check_endpoint(url), data=data, headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read(1 << 20)
    except urllib.error.HTTPError as exc:
        raise _Refused(_json(exc.read(1 << 16)) or {"error": f"HTTP {exc.code}"}) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        where = urllib.parse.urlsplit(url).netloc
        raise MailServerError(f"cannot reach the identity provider {where}: {reason}") from None
    if not expect_json:
        return {}
    answer = _json(body)
    if answer is None:
        raise SignInFailed(f"{urllib.parse.urlsplit(url).netloc} answered with no JSON object")
    return answer


def _token_text(value: Any) -> TypeGuard[str]:
    """A token as it may go into a SASL exchange: printable ASCII, of a sane length."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 8192
        and value.isascii()
        and (value.isprintable())
    )


def _seconds(value: Any, default: float) -> float:
    """A provider's number of seconds, or ``default`` when it is missing or no number."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if 0 <= seconds < 1e9 else default


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _described(answer: dict[str, Any]) -> str:
    error = str(answer.get("error", "refused"))
    detail = str(answer.get("error_description", "")).splitlines()
    return f"{error} ({detail[0]})" if detail else error
