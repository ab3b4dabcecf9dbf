"""What you pay each company (issue 20), through the real CLI into a real vault: a year of bank
statements in each format gives the right totals and contracts, overlapping statements add
nothing twice, a payment joins the company its mail is from, mails state amounts in four
languages, a contract's end and its cancellation letter, and hostile statements are refused
in one line."""

from __future__ import annotations

import json
import shutil
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from tests.hardening.harness import Kluis, assert_clean_failure, count, make_vault

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BANK = FIXTURES / "bank"
ORDERS = FIXTURES / "orders"
EXPECTED = json.loads((BANK / "expected.json").read_text())
SPENDING_KEYS = {"company_id", "company", "currency", "total", "count", "first", "last"}
CONTRACT_KEYS = {
    "company_id",
    "company",
    "amount",
    "currency",
    "period",
    "since",
    "last",
    "next",
    "yearly",
    "status",
}


@pytest.fixture
def kluis(tmp_path: Path) -> Kluis:
    kluis = Kluis(tmp_path / "vault", tmp_path, tmp_path)
    make_vault(kluis.vault)
    return kluis


def imported(kluis: Kluis, *paths: Path) -> dict[str, object]:
    done = kluis.run("import", *map(str, paths), "--json")
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, object] = json.loads(done.stdout)
    return result


def by_company(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["company"]: row for row in rows}


@pytest.mark.parametrize(
    "name", ["year-2024.camt053.xml", "year-2024.sta", "ing-2024.csv", "rabobank-2024.csv"]
)
def test_a_year_of_statements_gives_each_companys_total(kluis: Kluis, name: str) -> None:
    assert imported(kluis, BANK / name)["new"] == EXPECTED["count"]
    rows = kluis.json("spending")
    assert all(set(row) >= SPENDING_KEYS for row in rows)
    spent = by_company(rows)
    assert spent["Netflix"]["total"] == "158.88" and spent["Netflix"]["count"] == 12
    assert spent["bol.com"]["total"] == str(Decimal("183.44") - Decimal("49.00"))  # a refund
    assert "Acme" not in spent  # a salary is income, not spending
    assert {row["currency"] for row in rows} == {"EUR"}
    assert (spent["Netflix"]["first"], spent["Netflix"]["last"]) == ("2024-01-03", "2024-12-03")
    (year,) = kluis.json("spending", "--by", "year")
    assert year["period"] == "2024" and Decimal(str(year["total"])) == sum(
        Decimal(str(row["total"])) for row in rows
    )


def test_contracts_their_price_change_and_the_cancelled_one(kluis: Kluis) -> None:
    imported(kluis, BANK / "year-2024.camt053.xml")
    found = by_company(kluis.json("contracts"))
    assert all(set(row) >= CONTRACT_KEYS for row in found.values())
    netflix = found["Netflix"]
    assert (netflix["period"], netflix["amount"], netflix["status"]) == (
        "monthly",
        "13.49",
        "active",
    )
    assert netflix["yearly"] == "161.88" and netflix["next"] == "2025-01-02"
    assert netflix["price_changes"] == [{"date": "2024-03-03", "from": "11.99", "to": "13.49"}]
    assert (found["Vattenfall"]["status"], found["Vattenfall"]["next"]) == ("ended", None)
    assert found["NS Reizigers"]["period"] == "quarterly"
    assert found["Centraal Beheer"]["period"] == "yearly"
    assert "Albert Heijn" not in found and "Acme" not in found and "bol.com" not in found
    shown = kluis.run("contracts").stdout.decode()
    assert "Netflix (Mar 2024: 11.99 → 13.49)" in shown and "ended" in shown


def test_overlapping_statements_add_nothing_twice(kluis: Kluis, tmp_path: Path) -> None:
    rows = (BANK / "ing-2024.csv").read_text().splitlines()
    first, second = tmp_path / "jan-jun.csv", tmp_path / "may-dec.csv"
    first.write_text("\n".join(rows[:60]) + "\n")
    second.write_text("\n".join([rows[0], *rows[40:]]) + "\n")
    assert imported(kluis, first)["new"] == 59
    summary = imported(kluis, second)
    assert (summary["new"], summary["duplicate"]) == (EXPECTED["count"] - 59, 20)
    assert imported(kluis, BANK / "ing-2024.csv")["new"] == 0
    assert by_company(kluis.json("spending"))["Netflix"]["count"] == 12


def test_a_payment_joins_the_company_its_mail_is_from(kluis: Kluis, tmp_path: Path) -> None:
    mail = tmp_path / "netflix.eml"
    mail.write_text(
        "From: Netflix <info@mailer.netflix.com>\nTo: sanne@example.org\n"
        "Subject: Je lidmaatschap\nDate: Fri, 01 Mar 2024 09:00:00 +0100\n"
        "Message-ID: <m-1@netflix.com>\n\nJe nieuwe prijs is € 13,49 per maand.\n"
    )
    imported(kluis, mail, BANK / "year-2024.camt053.xml")
    companies = {row["name"]: row for row in kluis.json("companies", "--all")}
    assert "Netflix" in companies and companies["Netflix"]["interactions"] == 13
    timeline = kluis.json("timeline", "Netflix", "--all")
    assert {row["channel"] for row in timeline} == {"email", "payment"}


def test_order_and_invoice_mails_state_their_totals_in_four_languages(kluis: Kluis) -> None:
    imported(kluis, ORDERS)
    spent = by_company(kluis.json("spending"))
    totals = {name: (row["total"], row["currency"]) for name, row in spent.items()}
    assert totals["Coolblue"] == ("49.95", "EUR")  # the newsletter's "Totaal bespaard" not read
    assert totals["Apple"] == ("12.99", "USD")
    assert totals["Dm"] == ("12.90", "EUR")
    assert totals["SNCF Connect"] == ("8.50", "EUR")  # TTC, not HT
    assert all(row["source"] == "mail" and row["guessed"] == 1 for row in spent.values())


def test_a_contracts_end_and_its_cancellation_letter(kluis: Kluis, tmp_path: Path) -> None:
    imported(kluis, BANK / "year-2024.camt053.xml")
    said = kluis.run("contracts", "end", "Ziggo", "--on", "2024-12-31", "--notice", "30")
    assert said.returncode == 0, said.stderr
    ziggo = by_company(kluis.json("contracts"))["Ziggo Services"]
    assert (ziggo["status"], ziggo["ends_on"], ziggo["notice_days"]) == ("ended", "2024-12-31", 30)
    letter = tmp_path / "letters" / "opzegging.txt"
    letter.parent.mkdir(mode=0o700)
    done = kluis.run(
        "contracts", "letter", "Netflix", "--lang", "nl", "--on", "2027-01-31", "--out", str(letter)
    )
    assert done.returncode == 0, done.stderr
    text = letter.read_text()
    assert "Opzegging van mijn overeenkomst" in text and "€ 13,49 per maand" in text
    assert "NFLX-77" in text and "31 januari 2027" in text
    assert stat.S_IMODE(letter.stat().st_mode) == 0o600
    again = kluis.run("contracts", "letter", "Netflix", "--out", str(letter))
    assert "exists" in assert_clean_failure(again, 2)
    nothing = kluis.run("contracts", "letter", "Albert Heijn")
    assert "no contract" in assert_clean_failure(nothing, 2)


HOSTILE = {
    "bomb.xml": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document '
    b'xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Ntry>'
    b"<Amt Ccy='EUR'>&a;</Amt></Ntry></Stmt></BkToCstmrStmt></Document>",
    "cut.xml": (BANK / "year-2024.camt053.xml").read_bytes()[:20_000],
    "huge-field.csv": b'"Datum";"Naam / Omschrijving";"Af Bij";"Bedrag (EUR)"\n"20240101";"'
    + b"x" * 400_000
    + b'";"Af";"1,00"\n',
    "binary.sta": b":20:X\n:25:Y\n:61:" + bytes(range(256)) * 200,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_statement_is_refused_in_one_line_or_read_with_its_reasons(
    kluis: Kluis, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    done = kluis.run("import", str(path), "--json")
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr
    assert done.returncode in (0, 2, 3), stderr
    if done.returncode == 2:
        assert stderr.count("\n") == 1 and stderr.startswith("kluis: ")
    count("hostile", "bank statements")


def test_the_fixture_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    shutil.copy(BANK / "generate.py", tmp_path / "generate.py")
    import runpy

    runpy.run_path(str(tmp_path / "generate.py"), run_name="__main__")
    for name in ("year-2024.camt053.xml", "year-2024.sta", "ing-2024.csv", "rabobank-2024.csv"):
        assert (tmp_path / name).read_bytes() == (BANK / name).read_bytes(), name


def test_a_day_typed_for_spending_is_that_day_wherever_the_machine_is(kluis: Kluis) -> None:
    imported(kluis, BANK / "year-2024.camt053.xml")
    west = kluis.env(TZ="America/New_York")  # before: --since 2024-12-01 became 30 November
    done = kluis.run(
        "spending", "--since", "2024-12-01", "--until", "2024-12-03", "--json", env=west
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(row["company"], row["total"]) for row in rows] == [("Netflix", "13.49")]


def test_a_payment_is_shown_by_its_day_on_the_command_line(kluis: Kluis) -> None:
    # A bank states the day only: "2024-12-03", never a made-up "2024-12-03 12:00".
    imported(kluis, BANK / "year-2024.camt053.xml")
    netflix = next(c for c in kluis.json("companies") if c["name"] == "Netflix")
    done = kluis.run("timeline", str(netflix["id"]))
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.decode().splitlines() if "Paid EUR" in line]
    assert len(rows) == 12 and not any("12:00" in row for row in rows)
    assert any(" 2024-12-03 " in row for row in rows)
    item = rows[0].split()[0]
    shown = kluis.run("show", item).stdout.decode().splitlines()
    assert [line for line in shown if line.startswith("When:")] == ["When:     2024-12-03"]
