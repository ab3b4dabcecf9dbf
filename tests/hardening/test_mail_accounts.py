"""Mail accounts with OAuth2 sign-in, against the real Dovecot and a test identity provider.

Dovecot checks every token with its ``oauth2`` passdb against the provider's introspection
endpoint (tests/oauth_idp.py, the only stand-in): IMAP, SASL XOAUTH2/OAUTHBEARER and the token
check are real. The CLI runs as a subprocess, as a user runs it; the "browser" is an HTTP
client that follows the provider's redirect back to kluis's loopback listener.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from tests.hardening.harness import TIMEOUT, Kluis, assert_clean_failure, open_for_test
from tests.imap_server import Dovecot, DovecotMissing, MailUser, free_port
from tests.oauth_idp import CLIENT_ID, IdentityProvider
from vault import accounts
from vault.store import Store

_users = itertools.count(1)
SIGN_IN_FAILED = 14
SOME_FAILED = 15


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    """The identity provider, on 127.0.0.1."""
    provider = IdentityProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def dovecot(idp: IdentityProvider) -> Iterator[Dovecot]:
    """A real Dovecot that takes passwords and, checked by ``idp``, bearer tokens."""
    if os.environ.get("KLUIS_SKIP_IMAP") == "1":
        pytest.skip("KLUIS_SKIP_IMAP=1: the IMAP tests need a real dovecot")
    try:
        server = Dovecot(introspection_url=f"{idp.url}/introspect")
    except DovecotMissing as exc:
        pytest.fail(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def mailbox(dovecot: Dovecot, idp: IdentityProvider) -> MailUser:
    """A fresh mailbox with one mail, its owner the one signed in at the provider."""
    user = dovecot.add_user(f"eva{next(_users)}")
    dovecot.append(user, "INBOX", [mail(user.name, 1)])
    idp.user = user.name
    idp.lifetime = 3600.0
    return user


def mail(user: str, n: int) -> bytes:
    """A small mail from a company, unique per user and number."""
    return (
        f"From: Service <service@klm.com>\r\nTo: {user}@example.nl\r\nSubject: Update {n}\r\n"
        f"Date: Mon, 03 Jun 2024 10:00:00 +0200\r\nMessage-ID: <{user}.{n}@klm.com>\r\n\r\n"
        f"Update {n}.\r\n"
    ).encode()


def add_args(server: Dovecot, idp: IdentityProvider, user: MailUser, *extra: str) -> list[str]:
    """``account add oauth`` for ``user`` on the test server, at the test provider."""
    where = ["--host", server.host, "--port", str(server.port), "--plain"]
    return [
        "account", "add", "oauth", "--user", user.name, *where,
        "--client-id", CLIENT_ID, *idp.endpoints(), "--scope", "mail", "--no-browser", *extra,
    ]  # fmt: skip


def browser_sign_in(kluis: Kluis, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``kluis ARGS`` and, as the user's browser, open the address it shows."""
    process = subprocess.Popen(
        kluis.command(*args),
        env=kluis.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("http://"):
            browser(line.strip())
            break
    return finish(process, seen)


def browser(url: str) -> None:
    """Follow the sign-in address and its redirect back to kluis, as a browser would."""
    with urllib.request.urlopen(url, timeout=30) as page:
        assert page.status == 200


def finish(process: subprocess.Popen[str], seen: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Wait for ``process``; its result (as bytes, as ``Kluis.run`` gives) with the stderr
    lines read so far in front."""
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("kluis hung during the sign-in")
    stderr = "".join(seen) + err
    return subprocess.CompletedProcess(
        process.args, process.returncode, out.encode(), stderr.encode()
    )


def added(kluis: Kluis, server: Dovecot, idp: IdentityProvider, user: MailUser) -> None:
    """Add ``user``'s account by the browser flow, which must succeed."""
    done = browser_sign_in(kluis, add_args(server, idp, user))
    assert done.returncode == 0, done.stderr


def kluis_store(kluis: Kluis) -> closing[Store]:
    """The test's vault, opened here (as another kluis would), closed after the block."""
    return closing(open_for_test(kluis.vault))


def sync_rows(kluis: Kluis, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    """``kluis sync --json``: (exit status, one row per account, stderr)."""
    done = kluis.run("sync", "--json", *extra)
    return done.returncode, json.loads(done.stdout or "[]"), done.stderr.decode()


def test_browser_sign_in_with_pkce_then_sync_over_xoauth2(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    methods = len(idp.challenge_methods)
    added(kluis, dovecot, idp, mailbox)
    assert idp.challenge_methods[methods:] == ["S256"]  # the provider checked the verifier
    status, rows, err = sync_rows(kluis)
    assert status == 0, err
    assert [(r["status"], r["new"]) for r in rows] == [("done", 1)]
    listed = kluis.json("account", "list")
    assert [(a["user"], a["auth"], a["provider"]) for a in listed] == [
        (mailbox.name, "xoauth2", "oauth")
    ]
    assert f"imap://{dovecot.host}:{dovecot.port}" in listed[0]["endpoints"]
    assert f"{idp.url}/token" in listed[0]["endpoints"]
    refresh = idp.active_grants()[-1].refresh_token
    assert refresh not in json.dumps(listed)


def test_device_sign_in_and_oauthbearer(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    args = add_args(dovecot, idp, mailbox, "--device", "--mechanism", "oauthbearer")
    process = subprocess.Popen(
        kluis.command(*args),
        env=kluis.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    code = re.search(r"enter the code (\w+)", line)
    assert code, line
    idp.approve(code[1])  # the user types the code on their phone
    done = finish(process, [line])
    assert done.returncode == 0, done.stderr
    status, rows, err = sync_rows(kluis)
    assert status == 0 and rows[0]["new"] == 1, err
    assert "method=OAUTHBEARER" in dovecot.log.read_text()


def test_expired_access_token_is_renewed_silently(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    idp.lifetime = 1.0  # every access token is as good as expired when the sync starts
    added(kluis, dovecot, idp, mailbox)
    refreshes = idp.refreshes
    status, rows, err = sync_rows(kluis)
    assert status == 0 and rows[0]["new"] == 1, err
    assert idp.refreshes == refreshes + 1
    assert err == ""  # silently


def test_token_ended_early_by_the_provider_is_renewed_once(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    added(kluis, dovecot, idp, mailbox)
    idp.expire_access_tokens()  # kluis still thinks its token has an hour left
    status, rows, err = sync_rows(kluis)
    assert status == 0 and rows[0]["new"] == 1, err


def test_revoked_sign_in_is_one_clear_line_and_exit_14(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    added(kluis, dovecot, idp, mailbox)
    revoke_at_provider(idp)  # the user revoked kluis in the provider's security page
    line = assert_clean_failure(kluis.run("sync", "imap"), SIGN_IN_FAILED)
    assert "no longer accepts" in line and "kluis account add" in line, line
    done = kluis.run("account", "test", "--json")
    assert done.returncode == SOME_FAILED
    assert json.loads(done.stdout)[0]["status"] == "failed"


def revoke_at_provider(idp: IdentityProvider) -> None:
    """Revoke the newest grant as its owner would, at the provider."""
    grant = idp.active_grants()[-1]
    form = urllib.parse.urlencode({"token": grant.refresh_token}).encode()
    with urllib.request.urlopen(f"{idp.url}/revoke", data=form, timeout=10):
        pass


def test_remove_revokes_the_sign_in_and_keeps_the_mail(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    added(kluis, dovecot, idp, mailbox)
    assert sync_rows(kluis)[0] == 0
    revocations = idp.revocations
    done = kluis.run("account", "remove", mailbox.name)
    assert done.returncode == 0, done.stderr
    assert idp.revocations == revocations + 1
    assert kluis.json("account", "list") == []
    assert sum(c["interactions"] for c in kluis.json("companies")) == 1
    assert_clean_failure(kluis.run("sync"), 2)  # no account left: says how to add one


def test_sync_syncs_every_account_and_says_which_failed(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider
) -> None:
    users = [dovecot.add_user(f"multi{next(_users)}") for _ in range(3)]
    for n, user in enumerate(users):
        dovecot.append(user, "INBOX", [mail(user.name, n)])
    password_user, *oauth_users = users
    where = ["--host", dovecot.host, "--port", str(dovecot.port), "--plain"]
    env = kluis.env(KLUIS_IMAP_PASSWORD=password_user.password)
    done = kluis.run("account", "add", "imap", "--user", password_user.name, *where, env=env)
    assert done.returncode == 0, done.stderr
    for user, mechanism in zip(oauth_users, ("xoauth2", "oauthbearer"), strict=True):
        idp.user = user.name
        args = add_args(dovecot, idp, user, "--mechanism", mechanism)
        assert browser_sign_in(kluis, args).returncode == 0
    done = kluis.run("sync", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 3 and all("1 new" in line for line in lines), lines

    revoke_at_provider(idp)  # the last account's sign-in ends; the others must still sync
    for user in users:
        dovecot.append(user, "INBOX", [mail(user.name, 10)])
    done = kluis.run("sync", env=env)
    assert done.returncode == SOME_FAILED
    assert sum("1 new" in line for line in done.stdout.decode().splitlines()) == 2
    failed = done.stderr.decode().splitlines()
    assert len(failed) == 1 and oauth_users[-1].name in failed[0], failed


def test_forged_answer_to_the_loopback_is_refused(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    process = subprocess.Popen(
        kluis.command(*add_args(dovecot, idp, mailbox)),
        env=kluis.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = [process.stderr.readline(), process.stderr.readline()]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(seen[1].strip()).query))
    forged = f"{query['redirect_uri']}?code=stolen&state=not-yours"
    with urllib.request.urlopen(forged, timeout=10):  # a page the attacker made the user open
        pass
    done = finish(process, [])
    line = assert_clean_failure(done, SIGN_IN_FAILED)
    assert "state" in line
    assert kluis.json("account", "list") == []


@pytest.mark.parametrize(
    "option", ["--token-url", "--authorize-url", "--revoke-url", "--device-url"]
)
@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://idp.example.com/endpoint", "HTTPS"),
        ("file:///etc/passwd", "HTTPS"),
        ("https://idp.example.com/\x1b]0;pwned\x07", "control characters"),
    ],
)
def test_endpoint_without_tls_or_with_control_characters_is_refused(
    kluis: Kluis,
    dovecot: Dovecot,
    idp: IdentityProvider,
    mailbox: MailUser,
    option: str,
    url: str,
    said: str,
) -> None:
    args = add_args(dovecot, idp, mailbox)
    args[args.index(option) + 1] = url
    line = assert_clean_failure(kluis.run(*args), 2)
    assert said in line and "\x1b" not in line, line


def test_tokens_stay_inside_the_vault(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser, tmp_path: Path
) -> None:
    added(kluis, dovecot, idp, mailbox)
    assert sync_rows(kluis)[0] == 0
    grant = idp.active_grants()[-1]
    secrets = [grant.refresh_token.encode(), *(token.encode() for token in grant.access)]
    export = tmp_path / "export"
    assert kluis.run("export", "--out", str(export)).returncode == 0
    for folder in (kluis.vault, kluis.home, kluis.tmp, export):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(secret in data for secret in secrets), path


@pytest.mark.parametrize("broken", ["html", "odd", "no-refresh"])
def test_misbehaving_provider_is_one_line_and_nothing_kept(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser, broken: str
) -> None:
    idp.broken = broken
    try:
        done = browser_sign_in(kluis, add_args(dovecot, idp, mailbox))
    finally:
        idp.broken = None
    stderr = done.stderr.decode()
    last = stderr.splitlines()[-1]
    assert done.returncode == SIGN_IN_FAILED, stderr
    assert last.startswith("kluis: ") and "Traceback" not in stderr, stderr
    assert kluis.json("account", "list") == []


def test_unreachable_provider_is_one_line(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    added(kluis, dovecot, idp, mailbox)
    with kluis_store(kluis) as store:  # the provider moved: its token endpoint is gone
        account = accounts.accounts(store)[0]
        assert account.oauth is not None
        gone = replace(account.oauth, token_url=f"http://127.0.0.1:{free_port()}/token")
        kept = accounts.tokens(store, account)
        assert kept is not None
        accounts.save(store, replace(account, oauth=gone), replace(kept, expires_at=0.0))
    line = assert_clean_failure(kluis.run("sync", "imap"), 1)
    assert "cannot reach the identity provider" in line, line


def test_generic_provider_found_by_its_issuer(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    args = add_args(dovecot, idp, mailbox)
    for option in ("--authorize-url", "--token-url", "--device-url", "--revoke-url"):
        at = args.index(option)
        del args[at : at + 2]
    done = browser_sign_in(kluis, [*args, "--issuer", idp.url])
    assert done.returncode == 0, done.stderr
    endpoints = kluis.json("account", "list")[0]["endpoints"]
    assert f"{idp.url}/revoke" in endpoints and f"{idp.url}/device" in endpoints
    assert sync_rows(kluis)[0] == 0


def test_sign_in_as_someone_else_is_refused_and_revoked(
    kluis: Kluis, dovecot: Dovecot, idp: IdentityProvider, mailbox: MailUser
) -> None:
    idp.user = "somebody-else"  # signed in at the provider with another account
    done = browser_sign_in(kluis, add_args(dovecot, idp, mailbox))
    last = done.stderr.decode().splitlines()[-1]
    assert done.returncode == 1 and last.startswith("kluis: ") and "refused" in last, last
    assert not [g for g in idp.active_grants() if g.user == "somebody-else"]
    assert kluis.json("account", "list") == []
