"""Bank statements in every format give the same payments: amount and direction, the
counterparty's name and IBAN, the SEPA creditor id and mandate, the bank's reference."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

import importers
from tests.support import interactions, options, quarantined
from vault.contracts import Paid, find_contracts
from vault.errors import MalformedInput
from vault.payees import payee_name
from vault.records import Interaction

BANK = Path(__file__).parent / "fixtures" / "bank"
EXPECTED = json.loads((BANK / "expected.json").read_text())
YEAR = {
    "year-2024.camt053.xml": "camt",
    "year-2024.sta": "mt940",
    "ing-2024.csv": "bank-csv",
    "rabobank-2024.csv": "bank-csv",
}


def payments(path: Path, format_name: str | None = None) -> list[Interaction]:
    items = list(importers.read(path, format_name or importers.detect(path), options()))
    return interactions(items)


@pytest.mark.parametrize("name", sorted(YEAR))
def test_each_format_is_detected_and_gives_every_transaction(name: str) -> None:
    path = BANK / name
    assert importers.detect(path) == YEAR[name]
    found = payments(path)
    assert len(found) == EXPECTED["count"]
    paid: dict[str, Decimal] = {}
    for item in found:
        assert item.money is not None and item.money.currency == "EUR" and item.money.value > 0
        assert not item.money.guessed
        party = item.recipients[0] if item.direction == "out" else item.sender
        assert party is not None and party.name
        signed = item.money.value if item.direction == "out" else -item.money.value
        paid[party.name] = paid.get(party.name, Decimal(0)) + signed
    assert {k: str(v) for k, v in sorted(paid.items())} == EXPECTED["net_paid_by_name"]


@pytest.mark.parametrize("name", sorted(YEAR))
def test_a_direct_debit_carries_its_creditor_id_mandate_and_iban(name: str) -> None:
    netflix = [p for p in payments(BANK / name) if "NETFLIX" in p.title]
    assert len(netflix) == 12
    first = netflix[0]
    assert first.payment is not None
    assert first.payment.creditor_id == "NL45ZZZ123456780000"
    assert first.payment.mandate == "NFLX-77"
    assert first.payment.iban == "NL20INGB0001234567"
    assert first.occurred_at.date().isoformat() == "2024-01-03"
    assert first.direction == "out" and first.money is not None
    assert first.money.value == Decimal("11.99")


def test_the_years_contracts_price_change_and_cancellation_are_found() -> None:
    paid = [
        Paid(hash(name), name, p.occurred_at.date(), p.money.value, "EUR", p.payment.mandate)
        for p in payments(BANK / "year-2024.camt053.xml")
        if p.direction == "out" and p.money and p.payment and p.recipients
        for name in [payee_name(p.recipients[0].name) or "?"]
    ]
    found = {c.company: c for c in find_contracts(paid)}
    assert set(found) == {
        "Netflix",
        "Ziggo Services",
        "Vattenfall",
        "NS Reizigers",
        "Centraal Beheer",
    }
    netflix = found["Netflix"]
    assert (netflix.period, netflix.amount, netflix.status) == (
        "monthly",
        Decimal("13.49"),
        "active",
    )
    (change,) = netflix.changes
    assert (change.day.isoformat(), change.old, change.new) == (
        "2024-03-03",
        Decimal("11.99"),
        Decimal("13.49"),
    )
    assert found["Vattenfall"].status == "ended" and found["Vattenfall"].next is None
    assert found["NS Reizigers"].period == "quarterly"
    assert (found["Centraal Beheer"].period, found["Centraal Beheer"].yearly) == (
        "yearly",
        Decimal("240.00"),
    )
    assert found["Ziggo Services"].yearly == Decimal("660.00")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NETFLIX INTERNATIONAL B.V.", "Netflix"),
        ("ALBERT HEIJN 1234 AMSTERDAM NLD", "Albert Heijn"),
        ("CCV*Bakkerij de Vries", "Bakkerij de Vries"),
        ("Bol.com via Stichting Adyen", "Bol.com"),
        ("SumUp *Koffiebar Noord", "Koffiebar Noord"),
    ],
)
def test_a_terminals_name_becomes_the_business_name(raw: str, expected: str) -> None:
    assert payee_name(raw) == expected


ABN_AMRO = (
    "123456789\tEUR\t20240303\t1000,00\t986,51\t20240303\t-13,49\t"
    "/TRTP/SEPA Incasso algemeen doorlopend/CSID/NL45ZZZ123456780000/NAME/Netflix International "
    "B.V./MARF/NFLX-77/REMI/Netflix maart/IBAN/NL20INGB0001234567/BIC/INGBNL2A/EREF/E2E-1\n"
    "123456789\tEUR\t20240304\t986,51\t950,21\t20240304\t-36,30\t"
    "BEA   NR:ABC123   04.03.24/12.01 ALBERT HEIJN 1234 AMSTERDAM,PAS123\n"
)
BUNQ = (
    '"Date";"Interest Date";"Amount";"Account";"Counterparty";"Name";"Description"\n'
    '"2024-03-03";"2024-03-03";"-13.49";"NL12BUNQ2025123456";"NL20INGB0001234567";'
    '"Netflix International B.V.";"Netflix maart"\n'
)
VOLKSBANK = (
    "03-03-2024,NL12ASNB0123456789,NL20INGB0001234567,Netflix International B.V.,,,,EUR,"
    "1000.00,EUR,-13.49,03-03-2024,03-03-2024,8810,IC,55501234,,Netflix maart,1\n"
)
OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
CHARSET:1252

<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR
<BANKACCTFROM><BANKID>INGB<ACCTID>NL69INGB0123456789<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20240301<DTEND>20240331
<STMTTRN><TRNTYPE>DIRECTDEBIT<DTPOSTED>20240303120000<TRNAMT>-13.49<FITID>F-1
<NAME>Netflix International B.V.<MEMO>Netflix maart</STMTTRN>
<STMTTRN><TRNTYPE>DIRECTDEP<DTPOSTED>20240324<TRNAMT>2800.00<FITID>F-2<NAME>Acme B.V.
</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


@pytest.mark.parametrize(
    ("name", "text", "format_name"),
    [
        ("MUT.TXT", ABN_AMRO, "bank-csv"),
        ("bunq.csv", BUNQ, "bank-csv"),
        ("asn.csv", VOLKSBANK, "bank-csv"),
        ("statement.ofx", OFX, "ofx"),
    ],
)
def test_other_banks_exports_are_read_by_their_own_layout(
    tmp_path: Path, name: str, text: str, format_name: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert importers.detect(path) == format_name
    first = payments(path)[0]
    assert first.direction == "out" and first.money is not None
    assert first.money.value == Decimal("13.49")
    party = first.recipients[0]
    assert payee_name(party.name) == "Netflix"
    assert first.occurred_at.date().isoformat() == "2024-03-03"


def test_the_abn_amro_card_payment_names_the_shop(tmp_path: Path) -> None:
    path = tmp_path / "MUT.TXT"
    path.write_text(ABN_AMRO)
    card = payments(path)[1]
    assert payee_name(card.recipients[0].name) == "Albert Heijn"


def test_any_other_banks_csv_is_read_by_its_header_or_the_columns_named(tmp_path: Path) -> None:
    german = tmp_path / "umsaetze.csv"
    german.write_text(
        "Buchungstag;Empfänger;IBAN;Verwendungszweck;Betrag;Währung\n"
        "03.03.2024;Netflix International B.V.;NL20INGB0001234567;Netflix März;-13,49;EUR\n"
    )
    (item,) = payments(german)
    assert item.money is not None and (item.money.value, item.money.currency) == (
        Decimal("13.49"),
        "EUR",
    )
    odd = tmp_path / "odd.csv"
    odd.write_text("Wann,Wer,Wieviel\n2024-03-03,Netflix,-13.49\n")
    with pytest.raises(MalformedInput, match="--columns"):
        list(importers.read(odd, "bank-csv", options()))
    from dataclasses import replace

    named = replace(options(), columns=(("date", "Wann"), ("name", "Wer"), ("amount", "Wieviel")))
    (item,) = interactions(list(importers.read(odd, "bank-csv", named)))
    assert item.money is not None and item.money.value == Decimal("13.49")


def test_a_bad_row_is_quarantined_with_its_reason_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ing.csv"
    lines = (BANK / "ing-2024.csv").read_text().splitlines()
    lines[2] = lines[2].replace('"Af";"', '"Af";"twelve').replace("20240105", "2024-13-45")
    path.write_text("\n".join(lines) + "\n")
    items = list(importers.read(path, "bank-csv", options()))
    (bad,) = quarantined(items)
    assert "row 2" in bad.reason and ("date" in bad.reason or "amount" in bad.reason)
    assert len(interactions(items)) == EXPECTED["count"] - 1


def test_an_xml_bomb_or_entity_in_a_statement_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<Stmt><Ntry><Amt Ccy='EUR'>&b;</Amt></Ntry></Stmt></BkToCstmrStmt></Document>"
    )
    with pytest.raises(MalformedInput, match="document type declaration"):
        list(importers.read(path, "camt", options()))


def test_overlapping_statements_give_the_same_keys(tmp_path: Path) -> None:
    rows = (BANK / "ing-2024.csv").read_text().splitlines()
    first = tmp_path / "jan-jun.csv"
    first.write_text("\n".join(rows[:60]) + "\n")
    second = tmp_path / "may-dec.csv"
    second.write_text("\n".join([rows[0], *rows[40:]]) + "\n")
    keys_first = {p.dedup_key for p in payments(first)}
    keys_second = {p.dedup_key for p in payments(second)}
    everything = {p.dedup_key for p in payments(BANK / "ing-2024.csv")}
    assert keys_first | keys_second == everything
    assert len(keys_first & keys_second) == 20  # the overlap: the same payments, not new ones
