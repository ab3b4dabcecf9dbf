"""IMAP sync at the network's pace, against the real Dovecot (tests/imap_server.py).

A sync asks for the new mails' sizes first and then fetches their bodies in batches bounded by
bytes (``importers.email.imap_fetch``), parsing a big sync in the worker pool while the writer
stores. What Dovecot saw is read from its rawlog: the FETCH commands and the UIDs each asked
for. One mail that cannot be read, or is deleted meanwhile, never stops the others.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importers.email import imap, imap_fetch
from tests.hardening.harness import (
    MARK,
    Kluis,
    assert_exactly_once,
)
from tests.hardening.test_parse_workers import interrupted_once_pooled
from tests.imap_server import Dovecot, MailUser
from tests.support import PASSPHRASE
from tests.test_imap import (
    FAST_RETRIES,
    companies,
    kluis,
    numbered_mail,
    one_line_error,
    running_dovecot,
    sync_args,
    synced,
)
from vault.unlock import create_vault

_users = itertools.count(1)
BODY_FETCH = r"UID FETCH \S+ \(BODY\.PEEK\[\]"
SIZE_FETCH = r"UID FETCH \S+ \(RFC822\.SIZE\)"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One server for the module; each test gets its own user."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> MailUser:
    """A fresh mailbox, with its password where a script would put it."""
    user = dovecot.add_user(f"batch{next(_users)}")
    monkeypatch.setenv("KLUIS_IMAP_PASSWORD", user.password)
    return user


@pytest.fixture
def vault(vault_dir: Path, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty vault the CLI opens from the environment; network retries made quick."""
    store, _code = create_vault(vault_dir, PASSPHRASE)
    store.close()
    monkeypatch.setattr(imap, "RETRY_DELAYS", FAST_RETRIES)
    return vault_dir


def padded_mail(n: int, size: int, domain: str = "bol.com") -> bytes:
    """``numbered_mail`` with a body of about ``size`` bytes."""
    line = b"Bestelling verzonden, track en trace volgt.  " * 2 + b"\r\n"
    return numbered_mail(n, domain) + line * (size // len(line))


def fetched_uids(command: str) -> list[int]:
    """The UIDs a logged ``UID FETCH 1,2,5 (...)`` command asked for."""
    uids: list[int] = []
    for part in command.split()[3].split(","):
        low, _, high = part.partition(":")
        uids += range(int(low), int(high or low) + 1)
    return uids


def quarantine_reasons(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The reason of every quarantine entry, as ``kluis quarantine --json`` lists them."""
    status, out, err = kluis(capsys, "quarantine", "--json")
    assert status == 0, err
    return [str(entry["reason"]) for entry in json.loads(out)]


def test_a_sync_of_many_mails_fetches_them_in_few_commands(
    vault: Path, dovecot: Dovecot, mailbox: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    count = 1200  # 4.6 MB: parsed in the worker pool once the first 4 MiB are in
    dovecot.append(mailbox, "INBOX", [padded_mail(n, 3800) for n in range(1, count + 1)])

    first = synced(capsys, *sync_args(dovecot, mailbox))

    assert (first["new"], first["quarantined"], first["errors"]) == (count, 0, 0), first
    bodies = dovecot.commands(mailbox, BODY_FETCH)
    sizes = dovecot.commands(mailbox, SIZE_FETCH)
    # 200 mails per FETCH before: 6 round trips, each waited for before parsing began.
    assert len(bodies) <= count * 3800 // imap_fetch.BATCH_BYTES + 2, len(bodies)
    assert len(sizes) == -(-count // imap_fetch.SIZE_SLICE)
    assert sorted(uid for command in bodies for uid in fetched_uids(command)) == list(
        range(1, count + 1)
    )
    assert companies(capsys) == {"bol.com": count}
    again = synced(capsys, *sync_args(dovecot, mailbox))
    assert (again["new"], again["duplicate"]) == (0, 0)


def test_large_mails_come_a_few_at_a_time_bounded_by_bytes(
    vault: Path, dovecot: Dovecot, mailbox: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    size = 700_000
    dovecot.append(mailbox, "INBOX", [padded_mail(n, size) for n in range(1, 13)])

    assert synced(capsys, *sync_args(dovecot, mailbox))["new"] == 12

    bodies = dovecot.commands(mailbox, BODY_FETCH)
    # Before, one FETCH asked for all 8.4 MB at once; a mailbox of 5 MB scans piled up so.
    per_fetch = [len(fetched_uids(command)) for command in bodies]
    assert max(per_fetch) * size <= imap_fetch.BATCH_BYTES, per_fetch
    assert sum(per_fetch) == 12


def test_an_interrupted_big_sync_resumes_without_duplicates(
    vault: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 900
    with running_dovecot() as server:  # its own server: this test stops it
        user = server.add_user("unterbrochen")
        monkeypatch.setenv("KLUIS_IMAP_PASSWORD", user.password)
        server.append(user, "INBOX", [padded_mail(n, 12_000, "ns.nl") for n in range(1, count + 1)])
        real_fetch = imap_fetch.fetch_batch
        calls = itertools.count(1)

        def fetch_then_stop(connection: Any, batch: Any) -> Any:
            if next(calls) == 5:  # past the first 4 MiB: the pool parses, a thread fetches
                server.stop()
            return real_fetch(connection, batch)

        monkeypatch.setattr(imap_fetch, "fetch_batch", fetch_then_stop)

        status, _, err = kluis(capsys, *sync_args(server, user))

        assert status == 1
        assert "connection lost after 3 retries" in one_line_error(err)
        kept = sum(companies(capsys).values())
        assert 0 < kept < count

        monkeypatch.setattr(imap_fetch, "fetch_batch", real_fetch)
        server.start()
        resumed = synced(capsys, *sync_args(server, user))

    assert (resumed["new"], resumed["duplicate"]) == (count - kept, 0)
    assert companies(capsys) == {"ns.nl": count}


def test_a_bad_mail_in_a_batch_is_quarantined_and_the_others_land(
    vault: Path, dovecot: Dovecot, mailbox: MailUser, capsys: pytest.CaptureFixture[str]
) -> None:
    mails = [numbered_mail(n) for n in range(1, 21)]
    mails[6] = b"\x00\x01 not a mail at all \xff" * 20  # the parser refuses it
    dovecot.append(mailbox, "INBOX", mails)
    # The server cannot read the 14th: Dovecot answers its FETCH with BYE and hangs up.
    unreadable = sorted((dovecot.mail / mailbox.name / "Maildir").glob("*/*,S=*"))[13]
    unreadable.chmod(0)

    status, out, err = kluis(capsys, *sync_args(dovecot, mailbox), "--json")
    again = synced(capsys, *sync_args(dovecot, mailbox))

    first = json.loads(out)
    assert status == 3 and "2 quarantined" in one_line_error(err)  # 3: some items quarantined
    assert (first["new"], first["quarantined"], first["errors"]) == (18, 2, 0), first
    assert (again["new"], again["quarantined"]) == (0, 0)
    reasons = quarantine_reasons(capsys)
    assert any(reason.startswith("the server could not send it") for reason in reasons), reasons
    assert any("not" in reason and "mail" in reason for reason in reasons), reasons


def test_a_mail_deleted_between_search_and_fetch_does_not_fail_the_batch(
    vault: Path,
    dovecot: Dovecot,
    mailbox: MailUser,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.append(mailbox, "INBOX", [numbered_mail(n) for n in range(1, 11)])
    real_fetch = imap_fetch.fetch_batch

    def delete_then_fetch(connection: Any, batch: Any) -> Any:
        with dovecot.client(mailbox) as other:  # the user's phone, tidying up meanwhile
            other.select_folder("INBOX")
            other.delete_messages([4])
            other.expunge()
        return real_fetch(connection, batch)

    monkeypatch.setattr(imap_fetch, "fetch_batch", delete_then_fetch)

    summary = synced(capsys, *sync_args(dovecot, mailbox))

    assert (summary["new"], summary["quarantined"], summary["errors"]) == (9, 0, 0), summary
    assert companies(capsys) == {"klm.com": 9}
    assert not re.search(r"UID=4\b", json.dumps(quarantine_reasons(capsys)))


def test_ctrl_c_stops_a_pooled_sync_with_one_line_and_the_next_sync_resumes(
    kluis: Kluis, dovecot: Dovecot
) -> None:
    user = dovecot.add_user(f"batch{next(_users)}")
    count = 1500
    dovecot.append(user, "INBOX", [padded_mail(n, 3800) for n in range(1, count + 1)])
    mark = secrets.token_hex(8)
    env = kluis.env(KLUIS_IMAP_PASSWORD=user.password, **{MARK: mark})
    # a thread fetches, the workers parse, the writer stores
    interrupted_once_pooled(kluis.command(*sync_args(dovecot, user)), env, mark)
    again = kluis.run(*sync_args(dovecot, user), env=env)
    assert again.returncode == 0, again.stderr
    assert_exactly_once(kluis, count)
