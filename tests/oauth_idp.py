"""A small OAuth2 identity provider on 127.0.0.1: the one stand-in of the OAuth2 tests.

It serves what a real provider does for an installed mail app: ``/authorize`` (the user is
taken as signed in and consenting: it redirects at once with a code), ``/token`` (the
authorization-code grant with PKCE S256 checked, refresh, and the device grant), ``/device``
(device authorization; ``approve`` plays the user typing the code), ``/revoke`` (RFC 7009) and
``/introspect`` (RFC 7662), which the real Dovecot's ``oauth2`` passdb asks about every token.
Tests expire or revoke tokens with ``expire_access_tokens`` and by calling ``/revoke``.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

CLIENT_ID = "kluis-test-client"


@dataclass
class Grant:
    """One sign-in: whose it is, its refresh token and the access tokens handed out for it."""

    user: str
    refresh_token: str
    access: dict[str, float] = field(default_factory=dict)  # access token → expires at
    revoked: bool = False


class IdentityProvider:
    """The provider; ``start`` serves it on a free port, ``stop`` ends it."""

    def __init__(self, user: str = "") -> None:
        self.user = user
        """The mail user who is "signed in" at the provider when a browser comes by."""
        self.lifetime = 3600.0
        self.grants: list[Grant] = []
        self.codes: dict[str, dict[str, str]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.challenge_methods: list[str] = []
        self.broken: str | None = None
        """Make the token endpoint misbehave: ``html`` (no JSON), ``odd`` (odd fields), or
        ``no-refresh`` (no refresh token)."""
        self.refreshes = 0
        self.revocations = 0
        self.introspections = 0
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The provider's base address, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> IdentityProvider:
        """Serve in a thread; returns itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def endpoints(self) -> list[str]:
        """The ``kluis account add oauth`` options that point at this provider."""
        return [
            "--authorize-url", f"{self.url}/authorize",
            "--token-url", f"{self.url}/token",
            "--device-url", f"{self.url}/device",
            "--revoke-url", f"{self.url}/revoke",
        ]  # fmt: skip

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far expires now (refresh tokens stay good)."""
        with self._lock:
            for grant in self.grants:
                grant.access = dict.fromkeys(grant.access, 0.0)

    def approve(self, user_code: str) -> None:
        """The user types ``user_code`` at the device page and consents."""
        with self._lock:
            for device in self.devices.values():
                if device["user_code"] == user_code:
                    device["approved"] = True

    def active_grants(self) -> list[Grant]:
        """The sign-ins not revoked."""
        return [grant for grant in self.grants if not grant.revoked]

    # The HTTP side.

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                if parts.path == "/.well-known/openid-configuration":
                    self._answer(200, idp.discovery())
                    return
                if parts.path != "/authorize":
                    self._answer(404, {"error": "not_found"})
                    return
                query = dict(urllib.parse.parse_qsl(parts.query))
                self.send_response(302)
                self.send_header("Location", idp.authorize(query))
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                routes = {
                    "/token": idp.token,
                    "/device": idp.device,
                    "/revoke": idp.revoke,
                    "/introspect": idp.introspect,
                }
                route = routes.get(urllib.parse.urlsplit(self.path).path)
                if route is None:
                    self._answer(404, {"error": "not_found"})
                    return
                if route == idp.token and idp.broken == "html":
                    self._answer(200, "<html>Sign-in service is down</html>")
                    return
                self._answer(*route(form))

            def _answer(self, status: int, body: dict[str, Any] | str) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler

    def discovery(self) -> dict[str, Any]:
        """OpenID Connect discovery: where the endpoints are."""
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "device_authorization_endpoint": f"{self.url}/device",
            "revocation_endpoint": f"{self.url}/revoke",
            "introspection_endpoint": f"{self.url}/introspect",
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where the browser goes next: back to the app with a code (or an error)."""
        redirect = query.get("redirect_uri", "")
        answer: dict[str, str] = {"state": query.get("state", "")}
        if query.get("client_id") != CLIENT_ID:
            answer["error"] = "unauthorized_client"
        else:
            self.challenge_methods.append(query.get("code_challenge_method", "plain"))
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "redirect_uri": redirect,
                "challenge": query.get("code_challenge", ""),
                "method": query.get("code_challenge_method", "plain"),
            }
            answer["code"] = code
        return f"{redirect}?{urllib.parse.urlencode(answer)}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: code (PKCE checked), refresh and device grants."""
        if form.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        kind = form.get("grant_type")
        with self._lock:
            if kind == "authorization_code":
                request = self.codes.pop(form.get("code", ""), None)
                if request is None or request["redirect_uri"] != form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant", "error_description": "unknown code"}
                if (
                    request["method"] != "S256"
                    or _s256(form.get("code_verifier", "")) != (request["challenge"])
                ):
                    return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
                return 200, self._new_grant()
            if kind == "refresh_token":
                grant = self._grant(form.get("refresh_token", ""))
                if grant is None or grant.revoked:
                    return 400, {"error": "invalid_grant", "error_description": "revoked"}
                self.refreshes += 1
                return 200, self._access(grant, refresh=False)
            if kind == "urn:ietf:params:oauth:grant-type:device_code":
                device = self.devices.get(form.get("device_code", ""))
                if device is None:
                    return 400, {"error": "invalid_grant"}
                if not device["approved"]:
                    return 400, {"error": "authorization_pending"}
                del self.devices[form["device_code"]]
                return 200, self._new_grant()
        return 400, {"error": "unsupported_grant_type"}

    def device(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Device authorization: a device code for the app, a user code for the person."""
        if form.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        device_code, user_code = secrets.token_urlsafe(16), secrets.token_hex(4).upper()
        with self._lock:
            self.devices[device_code] = {"user_code": user_code, "approved": False}
        return 200, {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": f"{self.url}/device",
            "interval": 0.05,
            "expires_in": 60,
        }

    def revoke(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """RFC 7009: revoking a refresh token ends its access tokens too."""
        with self._lock:
            grant = self._grant(form.get("token", ""))
            if grant is not None:
                grant.revoked = True
                self.revocations += 1
        return 200, {}

    def introspect(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """RFC 7662, as Dovecot's oauth2 passdb asks: active, and whose."""
        token = form.get("token", "")
        with self._lock:
            self.introspections += 1
            for grant in self.grants:
                expires = grant.access.get(token)
                if expires is not None and not grant.revoked and expires > time.time():
                    return 200, {"active": True, "username": grant.user}
        return 200, {"active": False}

    def _grant(self, refresh_token: str) -> Grant | None:
        return next((g for g in self.grants if g.refresh_token == refresh_token), None)

    def _new_grant(self) -> dict[str, Any]:
        grant = Grant(self.user, secrets.token_urlsafe(24))
        self.grants.append(grant)
        return self._access(grant, refresh=True)

    def _access(self, grant: Grant, *, refresh: bool) -> dict[str, Any]:
        access = secrets.token_urlsafe(24)
        grant.access[access] = time.time() + self.lifetime
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.lifetime),
        }
        if refresh and self.broken != "no-refresh":
            answer["refresh_token"] = grant.refresh_token
        if self.broken == "odd":
            answer.update(expires_in="soon", token_type=None, refresh_token=["x"])
        return answer


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
