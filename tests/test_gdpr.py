"""GDPR letters (Art. 15/16/17/20, English and Dutch) and the one-month deadline of Art. 12(3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from exports.letters import build_letter
from tests.fixtures.share.cli import run, run_json
from tests.fixtures.share.vaults import fill_profile, import_share_mail
from vault.company_edits import rename
from vault.ledger import due_date, gdpr_status, mark_answered, record_request
from vault.store import Store

ARTICLE = {"access": "15", "rectification": "16", "erasure": "17", "portability": "20"}


@pytest.fixture
def jan(store: Store, cli_env: Path) -> Store:
    fill_profile(store)
    import_share_mail(store)
    return store


@pytest.mark.parametrize("kind", list(ARTICLE))
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_each_request_letter_cites_its_article_the_deadline_and_the_company(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, lang: str
) -> None:
    out = tmp_path / f"{kind}-{lang}.txt"
    status, _, err = run(
        capsys, "gdpr", "request", "fietsverhuur", "--type", kind, "--out", str(out),
        "--lang", lang, "--fields", "name,email",
    )  # fmt: skip
    assert status == 0, err
    text = out.read_text()
    law = "AVG" if lang == "nl" else "GDPR"
    cited = f"artikel {ARTICLE[kind]}" if lang == "nl" else f"Article {ARTICLE[kind]}"
    assert cited in text and law in text
    assert "Fietsverhuur Centrum" in text
    assert ("artikel 12, lid 3" if lang == "nl" else "Article 12(3)") in text
    assert "Jan Jansen" in text and "jan@example.org" in text
    assert "NL91ABNA0417164300" not in text  # only the chosen details
    assert out.stat().st_mode & 0o777 == 0o600


def test_a_rectification_letter_lists_the_correct_details(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fix.txt"
    run(capsys, "gdpr", "request", "fietsverhuur", "--type", "rectification", "--out", str(out),
        "--fields", "address.home")  # fmt: skip
    text = out.read_text()
    assert "The correct details:" in text and "Keizersgracht 123, 1015 CJ Amsterdam" in text


def test_an_html_letter_is_escaped_and_parses(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with jan.begin() as conn:
        rename(conn, "fietsverhuur", "Fiets <script>&</script>")
    out = tmp_path / "letter.html"
    assert run(capsys, "gdpr", "request", "fietsverhuur", "--type", "access", "--out",
               str(out))[0] == 0  # fmt: skip
    page = out.read_text()
    tags: list[str] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append(tag)

    Tags().feed(page)
    assert "script" not in tags and "&lt;script&gt;&amp;" in page
    assert "Article 15" in page


def test_status_tracks_the_one_month_deadline_and_flags_overdue_requests(jan: Store) -> None:
    with jan.begin() as conn:
        company = int(conn.exec_driver_sql("SELECT id FROM company LIMIT 1").scalar() or 0)
        old = record_request(
            conn, company_id=company, kind="access", language="en", fields={},
            letter_path=None, sent_at=datetime(2024, 1, 31, 9, tzinfo=UTC),
        )  # fmt: skip
        recent = record_request(
            conn, company_id=company, kind="erasure", language="nl", fields={},
            letter_path=None, sent_at=datetime(2024, 3, 10, 9, tzinfo=UTC),
        )  # fmt: skip
    with jan.read() as conn:
        rows = {r["id"]: r for r in gdpr_status(conn, today=date(2024, 3, 20))}
    assert rows[old]["due_at"] == "2024-02-29" and rows[old]["status"] == "overdue"
    assert rows[old]["overdue"] is True and rows[old]["days_left"] == -20
    assert rows[recent]["due_at"] == "2024-04-10" and rows[recent]["status"] == "open"
    assert rows[recent]["article"] == "Art. 17 GDPR"
    with jan.begin() as conn:
        mark_answered(conn, old, datetime(2024, 3, 21, tzinfo=UTC))
    with jan.read() as conn:
        rows = {r["id"]: r for r in gdpr_status(conn, today=date(2024, 3, 22))}
    assert rows[old]["status"] == "answered" and rows[old]["overdue"] is False


def test_gdpr_status_on_the_command_line(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "gdpr", "request", "korenschoof", "--type", "portability", "--out",
        str(tmp_path / "p.txt"))  # fmt: skip
    [row] = run_json(capsys, "gdpr", "status")
    assert row["status"] == "open" and row["days_left"] >= 28
    assert run(capsys, "gdpr", "answered", str(row["id"]))[0] == 0
    assert run_json(capsys, "gdpr", "status")[0]["status"] == "answered"
    assert run(capsys, "gdpr", "answered", "99")[0] == 2


@pytest.mark.parametrize(
    ("sent", "due"),
    [
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2023, 1, 31), date(2023, 2, 28)),
        (date(2024, 12, 15), date(2025, 1, 15)),
    ],
)
def test_the_deadline_is_one_calendar_month(sent: date, due: date) -> None:
    assert due_date(sent) == due


def test_a_letter_without_chosen_details_leaves_room_to_sign() -> None:
    letter = build_letter(
        "access", "en", company="Shop", details=[], today=date(2024, 5, 1), due=date(2024, 6, 1)
    ).text()
    assert "1 June 2024" in letter and "_______" in letter and "my details" not in letter


def test_a_letter_is_signed_with_the_profiles_name_address_and_email(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "access.txt"
    status, _, err = run(
        capsys, "gdpr", "request", "fietsverhuur", "--type", "access", "--out", str(out)
    )
    assert status == 0 and "note:" not in err, err
    text = out.read_text()
    assert text.rstrip().splitlines()[-7:] == [
        "Kind regards,",
        "",
        "Jan Jansen",
        "Keizersgracht 123",
        "1015 CJ Amsterdam",
        "NL",
        "jan@example.org",
    ]
    assert "_____" not in text


def test_a_letter_from_an_empty_profile_says_what_it_lacks(
    store: Store, cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_share_mail(store)
    out = tmp_path / "erasure.txt"
    status, _, err = run(
        capsys, "gdpr", "request", "fietsverhuur", "--type", "erasure", "--out", str(out)
    )
    assert status == 0
    assert "signed without your name, address.home, email" in err
    assert "kluis profile set name" in err
    assert out.read_text().rstrip().endswith("_______________________")
