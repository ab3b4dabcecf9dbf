"""The CLI contract: JSON shapes, exit codes, one-line errors, and a light `import vault`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.support import PASSPHRASE

FIXTURES = Path(__file__).parent / "fixtures" / "email"


def kluis(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def kluis_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    status, out, err = kluis(capsys, *args, "--json")
    assert status == 0, err
    return json.loads(out)


@pytest.fixture
def filled(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert kluis(capsys, "init")[0] == 0
    status, out, err = kluis(
        capsys,
        "import",
        str(FIXTURES),
        "--format",
        "eml",
        "--me",
        "me@example.org",
        "--timezone",
        "UTC",
        "--json",
    )
    assert status == 3, err  # done, with items quarantined: restic's "incomplete"
    summary = json.loads(out)
    assert summary["new"] >= 8 and summary["quarantined"] >= 1
    return cli_env


def test_init_shows_the_recovery_code_once_and_refuses_a_second_vault(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = kluis(capsys, "init")
    assert status == 0 and "recovery code" in out
    code_line = [line.strip() for line in out.splitlines() if line.count("-") == 6]
    assert len(code_line) == 1
    status, _, err = kluis(capsys, "init")
    assert status == 2 and err.strip() == f"kluis: there is already a vault at {cli_env}"


def test_import_summary_and_reimport_adds_nothing(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = kluis_json(capsys, "import", str(FIXTURES), "--format", "eml")
    assert isinstance(summary, dict)
    assert set(summary) >= {"new", "duplicate", "updated", "quarantined", "errors"}
    assert summary["new"] == 0 and summary["duplicate"] == 0  # unchanged files are not re-read
    touched = FIXTURES / "plain_from_friend.eml"
    os.utime(touched)
    summary = kluis_json(capsys, "import", str(FIXTURES), "--format", "eml")
    assert isinstance(summary, dict) and (summary["new"], summary["duplicate"]) == (0, 1)


def test_companies_json_has_the_contract_fields(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    companies = kluis_json(capsys, "companies")
    assert isinstance(companies, list) and companies
    for row in companies:
        assert set(row) == {"id", "name", "kind", "domains", "interactions", "first_at", "last_at"}
    by_domain = {d: row for row in companies for d in row["domains"]}
    assert by_domain["fietsenwinkel.example"]["kind"] == "company"  # ESP mail unwrapped
    assert "sendgrid.net" not in by_domain
    assert any(r["kind"] == "person" and "Anna" in r["name"] for r in companies)


def test_timeline_and_show_json_shapes(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    companies = kluis_json(capsys, "companies")
    assert isinstance(companies, list)
    vattenfall = next(c for c in companies if "vattenfall.nl" in c["domains"])
    rows = kluis_json(capsys, "timeline", str(vattenfall["id"]))
    assert isinstance(rows, list) and rows
    assert set(rows[0]) == {
        "id",
        "occurred_at",
        "channel",
        "direction",
        "sender",
        "title",
        "snippet",
        "thread",
        "amount",  # beside the contract's fields (issue 20): what the item states, or null
    }
    item = kluis_json(capsys, "show", str(rows[0]["id"]))
    assert isinstance(item, dict)
    assert set(item) >= {"recipients", "body", "attachments", "bookings", "case", "source_ref"}
    assert item["attachments"] and item["attachments"][0]["filename"].endswith(".pdf")


def test_search_finds_words_across_companies(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = kluis_json(capsys, "search", "lunch")
    assert isinstance(rows, list)
    assert [r["title"] for r in rows] == ["Lunch on Friday?"]


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["timeline", "Nobody Inc"], 2, "no company matches"),
        (["show", "424242"], 2, "no item with id 424242"),
        (["show", "abc"], 2, "invalid int value"),
        (["search", "--", "-spam"], 2, "at least one word"),
        (["import", "/no/such/place"], 2, "no such file or folder"),
        (["timeline", "x", "--since", "yesterday-ish"], 2, "not a date"),
        (["frobnicate"], 2, "invalid choice"),
        (["import", str(FIXTURES), "--timezone", "Mars/Olympus"], 2, "unknown time zone"),
    ],
)
def test_errors_are_one_line_with_the_contracts_exit_code(
    filled: Path, capsys: pytest.CaptureFixture[str], args: list[str], status: int, message: str
) -> None:
    code, _, err = kluis(capsys, *args)
    assert code == status
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err


def test_wrong_passphrase_is_one_line_exit_12(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLUIS_PASSPHRASE", "not the passphrase")
    assert kluis(capsys, "companies") == (12, "", "kluis: wrong passphrase\n")


def test_unsupported_file_is_rejected_in_one_line(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kluis(capsys, "init")
    odd = tmp_path / "song.mp3"
    odd.write_bytes(b"ID3\x04\x00" + bytes(200))
    status, _, err = kluis(capsys, "import", str(odd))
    assert status == 2 and "does not recognise" in err and len(err.splitlines()) == 1


def test_company_rename_from_the_cli_sticks(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = kluis(capsys, "company", "rename", "vattenfall.nl", "Energy")
    assert status == 0 and "Energy" in out
    kluis(capsys, "import", str(FIXTURES))
    names = [c["name"] for c in kluis_json(capsys, "companies")]  # type: ignore[union-attr]
    assert "Energy" in names
    assert kluis(capsys, "company", "undo")[0] == 0


def test_doctor_reports_a_healthy_vault(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = kluis_json(capsys, "doctor")
    assert isinstance(report, dict) and report["ok"] is True
    assert report["counts"]["interaction"] >= 8
    assert report["last_imports"][0]["status"] == "done"


def test_passwd_then_recover_from_scripts(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = kluis(capsys, "init")
    code = next(line.strip() for line in out.splitlines() if line.count("-") == 6)
    run = [sys.executable, "-m", "vault"]
    env = {**os.environ, "KLUIS_PASSPHRASE": ""}
    done = subprocess.run(
        [*run, "passwd", "--passphrase-stdin"],
        input=f"{PASSPHRASE}\nplum orbit kettle\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*run, "recover"],
        input=f"{code}\nnine quiet lanterns\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    env["KLUIS_PASSPHRASE"] = "nine quiet lanterns"
    done = subprocess.run(
        [*run, "companies", "--json"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0 and json.loads(done.stdout) == []


def test_a_locked_vault_without_a_terminal_says_how_to_unlock(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "KLUIS_PASSPHRASE": ""}
    done = subprocess.run(
        [sys.executable, "-m", "vault", "companies"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 12
    assert "KLUIS_PASSPHRASE" in done.stderr and len(done.stderr.splitlines()) == 1


def test_remember_without_a_keyring_is_a_clear_message(filled: Path) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = subprocess.run(
        [sys.executable, "-m", "vault", "remember"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert "keyring" in done.stderr and len(done.stderr.splitlines()) == 1


def test_import_vault_loads_no_ui_importer_or_exporter() -> None:
    code = (
        "import sys, vault, cli.main, vault.queries, vault.ingest, vault.search;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'importers', 'exports', 'tui')];"
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_without_me_the_mailbox_owner_is_guessed_and_their_mail_goes_out(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kluis(capsys, "init")
    status, _, err = kluis(capsys, "import", str(FIXTURES), "--json")
    assert status == 3  # the fixtures hold mails that go to quarantine
    assert "Taking me@example.org as your own address" in err
    hits = kluis_json(capsys, "search", "refund", "channel:email")
    assert isinstance(hits, list)
    refund = next(h for h in hits if h["title"] == "Refund request for booking RXJ34P")
    assert refund["direction"] == "out" and refund["company"]["name"] != "example.org"
    # Remembered in the profile: the next import does not need to guess again.
    _, _, err = kluis(capsys, "import", str(FIXTURES))
    assert "Taking" not in err


def test_an_option_before_a_subcommand_name_is_kept() -> None:
    """`kluis sync --watch imap` watches, as `kluis sync imap --watch` does; every nested
    command that repeats one of its parent's options keeps what was given to the parent."""
    from cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["sync", "--watch", "imap"]).watch
    given = parser.parse_args(["sync", "--json", "--me", "me@example.org", "imap"])
    assert given.json and given.me == ["me@example.org"]
    assert parser.parse_args(["people", "--json", "suggest"]).json
    assert parser.parse_args(["quarantine", "--json", "retry"]).json
    assert not parser.parse_args(["sync", "imap"]).watch
