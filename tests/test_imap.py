"""`kluis sync imap` against a real Dovecot on 127.0.0.1 (see tests/imap_server.py).

Without dovecot these tests fail with a message saying how to install it; set
KLUIS_SKIP_IMAP=1 to skip them on a machine without it (CI installs it).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cli import sync
from cli.main import main
from importers.email import imap, imap_fetch
from importers.email.message import parse_message
from tests.hardening.generate import LONE_SURROGATE, booking_mail, flight_jsonld
from tests.imap_server import Dovecot, DovecotMissing, MailUser, free_port
from tests.support import PASSPHRASE
from vault.errors import UsageError
from vault.unlock import PassphraseSource, create_vault, open_vault

FIXTURES = Path(__file__).parent / "fixtures" / "imap"
FAST_RETRIES = (0.01, 0.02, 0.04)
_users = itertools.count(1)


@contextmanager
def running_dovecot(kind: type[Dovecot] = Dovecot) -> Iterator[Dovecot]:
    """A started Dovecot (or a ``kind`` of it), stopped and removed afterwards; fails loudly
    if it is missing."""
    if os.environ.get("KLUIS_SKIP_IMAP") == "1":
        pytest.skip("KLUIS_SKIP_IMAP=1: the IMAP tests need a real dovecot")
    try:
        server = kind()
    except DovecotMissing as exc:
        pytest.fail(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One server for the module; each test gets its own user, so mailboxes never mix."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
def sanne(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> MailUser:
    """A fresh mailbox, with its password where a script would put it."""
    user = dovecot.add_user(f"sanne{next(_users)}")
    monkeypatch.setenv("KLUIS_IMAP_PASSWORD", user.password)
    return user


@pytest.fixture
def vault(vault_dir: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty vault the CLI opens from the environment; network retries made quick."""
    store, _code = create_vault(vault_dir, PASSPHRASE)
    store.close()
    monkeypatch.setattr(imap, "RETRY_DELAYS", FAST_RETRIES)
    return vault_dir


def fixture_mail(name: str) -> bytes:
    """A fixture mail with CRLF line ends, as IMAP APPEND wants."""
    return (FIXTURES / f"{name}.eml").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def numbered_mail(n: int, domain: str = "klm.com") -> bytes:
    """A small mail from ``domain`` with its own Message-ID."""
    return (
        f"From: Service <service@{domain}>\r\nTo: sanne@example.nl\r\n"
        f"Subject: Update {n}\r\nDate: Mon, 03 Jun 2024 10:{n % 60:02d}:00 +0200\r\n"
        f"Message-ID: <update.{n}@{domain}>\r\n\r\nUpdate number {n}.\r\n"
    ).encode()


def kluis(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real CLI; (exit status, stdout, stderr)."""
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def sync_args(server: Dovecot, user: MailUser, *extra: str) -> list[str]:
    """`sync imap` to the test server without TLS (allowed: it is loopback)."""
    host = ["--host", server.host, "--port", str(server.port), "--user", user.name]
    return ["sync", "imap", *host, "--plain", *extra]


def synced(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """Run a sync that must succeed; its --json summary."""
    status, out, err = kluis(capsys, *args, "--json")
    assert status == 0, err
    summary: dict[str, Any] = json.loads(out)
    return summary


def companies(capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """Every company's first domain (or name) → its number of interactions."""
    status, out, err = kluis(capsys, "companies", "--json")
    assert status == 0, err
    return {(row["domains"] or [row["name"]])[0]: row["interactions"] for row in json.loads(out)}


def stored_extras(vault_dir: Path) -> dict[str, dict[str, Any]]:
    """source_ref → the IMAP fields of each stored interaction's extras."""
    store = open_vault(vault_dir, PassphraseSource())
    try:
        with store.read() as conn:
            rows = conn.execute(text("SELECT source_ref, extras FROM interaction")).all()
    finally:
        store.close()
    fields = ("folder", "flags", "uid", "uidvalidity", "internaldate")
    return {ref: {k: json.loads(extras).get(k) for k in fields} for ref, extras in rows}


def one_line_error(err: str) -> str:
    """The error line, after checking it is exactly one line and no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_first_sync_reads_every_folder_except_trash_and_junk(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.append(sanne, "INBOX", [fixture_mail("klm-check-in"), fixture_mail("bol-order")])
    dovecot.append(sanne, "Archief/Reizen", [fixture_mail("ns-ticket")])
    dovecot.append(sanne, "Sent", [fixture_mail("sent-to-eneco")])
    dovecot.append(sanne, "Trash", [fixture_mail("trash-newsletter")])  # \Trash flag
    dovecot.append(sanne, "Junk", [fixture_mail("junk-lottery")])  # \Junk flag
    dovecot.append(sanne, "Prullenbak", [numbered_mail(1, "weggooi.example")])  # by name

    summary = synced(capsys, *sync_args(dovecot, sanne, "--me", "sanne@example.nl"))

    assert summary == {
        "new": 4,
        "duplicate": 0,
        "updated": 0,
        "quarantined": 0,
        "errors": 0,
        "skipped": [],
        "skipped_more": 0,
        "error_messages": [],
        "notes": [],
    }
    assert companies(capsys) == {"klm.com": 1, "bol.com": 1, "ns.nl": 1, "eneco.nl": 1}


def test_next_sync_fetches_only_new_mail_and_nothing_when_nothing_is_new(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.append(sanne, "INBOX", [numbered_mail(1), numbered_mail(2)])
    assert synced(capsys, *sync_args(dovecot, sanne))["new"] == 2
    dovecot.append(sanne, "INBOX", [numbered_mail(3)])

    second = synced(capsys, *sync_args(dovecot, sanne))
    third = synced(capsys, *sync_args(dovecot, sanne))

    assert (second["new"], second["duplicate"]) == (1, 0)
    # `UID 4:*` still matches UID 3, the last one: it must not come back as a duplicate.
    assert (third["new"], third["duplicate"]) == (0, 0)
    assert dovecot.bodies_fetched(sanne) == 3  # the server sent each body once
    assert companies(capsys) == {"klm.com": 3}


def test_a_changed_uidvalidity_rescans_the_folder_without_duplicates(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    mails = [numbered_mail(1, "ns.nl"), numbered_mail(2, "ns.nl")]
    dovecot.append(sanne, "Archief", mails)
    assert synced(capsys, *sync_args(dovecot, sanne))["new"] == 2
    with dovecot.client(sanne) as client:
        before = client.folder_status("Archief", ["UIDVALIDITY"])[b"UIDVALIDITY"]
        client.delete_folder("Archief")  # a server rebuilt: same mail, new numbering
    dovecot.append(sanne, "Archief", [*mails, numbered_mail(3, "ns.nl")])
    with dovecot.client(sanne) as client:
        after = client.folder_status("Archief", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    assert after != before

    rescan = synced(capsys, *sync_args(dovecot, sanne))

    assert (rescan["new"], rescan["duplicate"]) == (1, 2)
    assert companies(capsys) == {"ns.nl": 3}
    assert synced(capsys, *sync_args(dovecot, sanne))["duplicate"] == 0


def test_a_mail_with_a_lone_surrogate_in_its_booking_stops_no_sync(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 14: this first mail of a new sender made every later batch fail, on every sync.
    booking = booking_mail(flight_jsonld(reference=LONE_SURROGATE), shop="klm.com")
    later = [numbered_mail(n) for n in range(1, 6)]
    dovecot.append(sanne, "INBOX", [booking.replace(b"\n", b"\r\n"), *later])

    first = synced(capsys, *sync_args(dovecot, sanne))
    again = synced(capsys, *sync_args(dovecot, sanne))

    assert (first["new"], first["quarantined"], first["errors"]) == (6, 0, 0), first
    assert (again["new"], again["errors"]) == (0, 0), again
    assert companies(capsys) == {"klm.com": 6}


def test_syncing_never_marks_mail_as_read(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.append(sanne, "INBOX", [numbered_mail(1), numbered_mail(2)])
    dovecot.append(sanne, "INBOX", [numbered_mail(3)], flags=(b"\\Seen", b"\\Flagged"))

    assert synced(capsys, *sync_args(dovecot, sanne))["new"] == 3

    with dovecot.client(sanne) as client:
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch(client.search(), ["FLAGS"])
    flags = {uid: set(data[b"FLAGS"]) for uid, data in fetched.items()}
    assert b"\\Seen" not in flags[1] | flags[2]
    assert {b"\\Seen", b"\\Flagged"} <= flags[3]
    # The vault keeps where each mail lives and how it was flagged when it was fetched.
    third = stored_extras(vault)[f"imap://{sanne.name}@127.0.0.1/INBOX;UID=3"]
    assert (third["folder"], third["flags"], third["uid"]) == ("INBOX", ["\\Flagged", "\\Seen"], 3)
    assert isinstance(third["uidvalidity"], int)
    assert datetime.fromisoformat(third["internaldate"]).utcoffset() is not None


def test_a_wrong_password_is_one_line_and_exit_1(
    vault: Path,
    dovecot: Dovecot,
    sanne: MailUser,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KLUIS_IMAP_PASSWORD", "not-the-password")

    status, _, err = kluis(capsys, *sync_args(dovecot, sanne))

    assert status == 1
    assert one_line_error(err).startswith(f"kluis: 127.0.0.1 refused the login for '{sanne.name}'")
    # An account that never logged in is not remembered.
    status, _, err = kluis(capsys, "sync", "imap")
    assert status == 2 and "no IMAP account is remembered" in one_line_error(err)


def test_a_server_that_stops_mid_sync_gives_one_line_and_the_next_sync_resumes(
    vault: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_dovecot() as server:  # its own server: this test stops it
        user = server.add_user("ruben")
        monkeypatch.setenv("KLUIS_IMAP_PASSWORD", user.password)
        server.append(user, "INBOX", [numbered_mail(n, "bol.com") for n in range(1, 8)])
        # Two mails per FETCH and per transaction, and the server goes down while the
        # second chunk is being parsed: the third FETCH finds it gone.
        monkeypatch.setattr(imap_fetch, "BATCH_MAILS", 2)
        monkeypatch.setattr(sync, "BATCH_SIZE", 2)
        parsed = itertools.count(1)

        def parse_then_stop(raw: bytes, source_ref: str, options: Any) -> Any:
            if next(parsed) == 3:
                server.stop()
            return parse_message(raw, source_ref, options)

        monkeypatch.setattr(imap, "parse_message", parse_then_stop)

        status, _, err = kluis(capsys, *sync_args(server, user))

        assert status == 1
        line = one_line_error(err)
        assert line.startswith("kluis: 127.0.0.1: connection lost after 3 retries (")
        kept = sum(companies(capsys).values())
        assert 0 < kept < 7

        monkeypatch.setattr(imap, "parse_message", parse_message)
        server.start()
        resumed = synced(capsys, *sync_args(server, user))

    assert (resumed["new"], resumed["duplicate"]) == (7 - kept, 0)
    assert companies(capsys) == {"bol.com": 7}


def test_a_server_that_is_down_is_one_line_after_the_retries(
    vault: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLUIS_IMAP_PASSWORD", "geheim")
    port = free_port()  # nothing listens there
    args = ["sync", "imap", "--host", "127.0.0.1", "--port", str(port), "--user", "sanne"]

    status, _, err = kluis(capsys, *args, "--plain")

    assert status == 1
    assert one_line_error(err) == (
        f"kluis: cannot connect to 127.0.0.1:{port} after 3 retries (Connection refused); "
        "the next sync resumes where this one stopped"
    )


def test_plain_to_a_host_on_the_network_is_refused_before_any_password(
    vault: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KLUIS_IMAP_PASSWORD", raising=False)
    args = ["sync", "imap", "--host", "192.0.2.10", "--user", "sanne", "--plain"]

    status, _, err = kluis(capsys, *args)

    assert status == 2
    line = one_line_error(err)
    assert "--plain" in line and "loopback" in line and "192.0.2.10" in line


def test_plain_is_allowed_to_loopback_names_and_addresses_only() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        imap.check_plain_allowed(imap.Account(host, "sanne", 143, "plain"))
    with pytest.raises(UsageError, match="loopback"):
        imap.check_plain_allowed(imap.Account("10.1.2.3", "sanne", 143, "plain"))
    imap.check_plain_allowed(imap.Account("10.1.2.3", "sanne", 993, "tls"))  # not plain: fine


def test_the_account_is_remembered_so_the_next_sync_needs_no_options(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.append(sanne, "INBOX", [numbered_mail(1)])
    dovecot.append(sanne, "Archief", [numbered_mail(2, "ns.nl")])
    assert synced(capsys, *sync_args(dovecot, sanne, "--folder", "INBOX"))["new"] == 1
    dovecot.append(sanne, "INBOX", [numbered_mail(3)])

    again = synced(capsys, "sync", "imap")

    assert (again["new"], again["duplicate"]) == (1, 0)
    assert companies(capsys) == {"klm.com": 2}  # --folder INBOX was remembered too
    status, out, _ = kluis(capsys, "sync", "imap")
    assert status == 0 and out.startswith("0 new, 0 already in the vault")


def test_two_remembered_accounts_need_host_or_user_to_choose(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    other = dovecot.add_user(f"sanne{next(_users)}", sanne.password)
    synced(capsys, *sync_args(dovecot, sanne))
    synced(capsys, *sync_args(dovecot, other))

    status, _, err = kluis(capsys, "sync", "imap")

    assert status == 2 and "several IMAP accounts" in one_line_error(err)
    assert synced(capsys, "sync", "imap", "--user", other.name)["new"] == 0


def test_the_password_comes_from_the_keyring_when_not_in_the_environment(
    vault: Path,
    dovecot: Dovecot,
    sanne: MailUser,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KLUIS_IMAP_PASSWORD")
    asked: list[tuple[str, str]] = []

    def get_password(service: str, username: str) -> str:
        asked.append((service, username))
        return sanne.password

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    dovecot.append(sanne, "INBOX", [numbered_mail(1)])

    assert synced(capsys, *sync_args(dovecot, sanne))["new"] == 1
    assert asked == [("kluis-imap", f"{sanne.name}@127.0.0.1")]


def test_without_any_password_source_a_script_gets_one_line(
    vault: Path,
    dovecot: Dovecot,
    sanne: MailUser,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KLUIS_IMAP_PASSWORD")

    def broken_keyring(service: str, username: str) -> str:
        raise RuntimeError("No recommended backend was available")

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=broken_keyring))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a script: no terminal to ask at

    status, _, err = kluis(capsys, *sync_args(dovecot, sanne))

    assert status == 2
    assert "KLUIS_IMAP_PASSWORD" in one_line_error(err)


def test_the_password_is_never_a_command_line_option(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in ("--password", "--pass", "--pw"):
        status, _, err = kluis(capsys, *sync_args(dovecot, sanne), option, sanne.password)
        assert status == 2 and "unrecognized arguments" in one_line_error(err)


def test_an_untrusted_certificate_is_one_line_and_no_password_is_sent(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sync", "imap", "--host", "127.0.0.1", "--user", sanne.name]

    status, _, err = kluis(capsys, *args, "--port", str(dovecot.tls_port))

    assert status == 1
    assert "TLS certificate is not trusted" in one_line_error(err)
    assert f"user=<{sanne.name}>" not in dovecot.log.read_text()


def test_tls_and_starttls_sync_with_a_trusted_certificate(
    vault: Path,
    dovecot: Dovecot,
    sanne: MailUser,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))  # trust the test server's CA
    dovecot.append(sanne, "INBOX", [numbered_mail(1)])
    args = ["sync", "imap", "--host", "127.0.0.1", "--user", sanne.name]

    over_tls = synced(capsys, *args, "--tls", "--port", str(dovecot.tls_port))
    over_starttls = synced(capsys, *args, "--starttls", "--port", str(dovecot.port))

    assert over_tls["new"] == 1
    # Another port is another account with its own cursors: read again, stored once.
    assert (over_starttls["new"], over_starttls["duplicate"]) == (0, 1)


def test_folder_option_reads_only_the_named_folders_and_refuses_unknown_ones(
    vault: Path, dovecot: Dovecot, sanne: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.append(sanne, "INBOX", [numbered_mail(1)])
    dovecot.append(sanne, "Archief", [numbered_mail(2, "ns.nl")])
    dovecot.append(sanne, "Trash", [numbered_mail(3, "weggooi.example")])

    status, _, err = kluis(capsys, *sync_args(dovecot, sanne, "--folder", "Nergens"))
    assert status == 2
    assert one_line_error(err).startswith("kluis: there is no folder 'Nergens' on the server")

    chosen = synced(capsys, *sync_args(dovecot, sanne, "--folder", "Archief", "--folder", "Trash"))
    assert chosen["new"] == 2  # a Trash named on purpose is read
    assert companies(capsys) == {"ns.nl": 1, "weggooi.example": 1}


def test_trash_and_junk_are_recognised_by_flag_or_by_a_localized_name() -> None:
    listing: list[tuple[tuple[bytes, ...], bytes, str]] = [
        ((b"\\HasNoChildren",), b"/", "INBOX"),
        ((b"\\Noselect", b"\\HasChildren"), b"/", "[Gmail]"),
        ((b"\\HasNoChildren", b"\\Sent"), b"/", "[Gmail]/Verzonden berichten"),
        ((b"\\HasNoChildren", b"\\Trash"), b"/", "[Gmail]/Bin"),
        ((b"\\HasNoChildren",), b"/", "[Gmail]/Spam"),
        ((b"\\HasChildren",), b".", "INBOX.Prullenbak"),
        ((b"\\HasNoChildren",), b".", "INBOX.Prullenbak.2023"),
        ((b"\\HasNoChildren",), b".", "INBOX.Ongewenst"),
        ((b"\\HasNoChildren",), b"/", "Ongewenste e-mail"),
        ((b"\\HasNoChildren", b"\\Junk"), b"/", "Reclame"),
        ((b"\\HasNoChildren",), b"/", "Deleted Items"),
        ((b"\\HasNoChildren",), b"/", "Archief"),
    ]

    assert imap.choose_folders(listing, []) == [
        "INBOX",
        "[Gmail]/Verzonden berichten",
        "Archief",
    ]
    assert imap.choose_folders(listing, ["inbox", "Reclame"]) == ["INBOX", "Reclame"]
