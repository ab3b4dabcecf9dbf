"""Sharing our transaction history with a company (issue 20), through the real CLI: ``kluis
share COMPANY --history payments`` writes each payment, order or invoice with its date,
amount, currency and what it was, as schema.org ``MoneyTransfer`` / ``Order`` + ``Invoice``;
the consent receipt names the transaction history, the ledger records every item shared, and
no other history scope carries an amount. Every package is read back with real parsers."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from exports.receipt import SCHEMA_PATH, TRANSACTIONS
from tests.hardening.harness import Kluis, assert_clean_failure, make_vault

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BANK = FIXTURES / "bank" / "year-2024.camt053.xml"
ORDERS = FIXTURES / "orders"
OWN_IBAN = "NL69INGB0123456789"  # the household's account in the bank fixture
SCHEMA = json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def kluis(tmp_path_factory: pytest.TempPathFactory) -> Kluis:
    """Sanne's vault: a year of bank payments, order mails in four languages, her profile."""
    tmp = tmp_path_factory.mktemp("share-payments")
    kluis = Kluis(tmp / "vault", tmp, tmp)
    make_vault(kluis.vault)
    for source in (BANK, ORDERS):
        done = kluis.run("import", str(source))
        assert done.returncode == 0, done.stderr.decode()
    for key, value in (("name", "Sanne de Vries"), ("iban", OWN_IBAN)):
        done = kluis.run("profile", "set", key, value)
        assert done.returncode == 0, done.stderr.decode()
    return kluis


def share(kluis: Kluis, company: str, out: Path, *options: str) -> dict[str, Any]:
    done = kluis.run(
        "share", company, "--fields", "name", "--purpose", "My complaint about a charge",
        "--out", str(out), "--json", *options,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def graph_of(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [node for node in document["@graph"] if node["@type"] == kind]


def test_netflix_gets_every_payment_with_its_amount_in_a_zip(kluis: Kluis, tmp_path: Path) -> None:
    out = tmp_path / "netflix.zip"
    result = share(kluis, "Netflix", out, "--history", "payments")
    assert result["interactions"] == 12 and result["bookings"] == 0
    with zipfile.ZipFile(out) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(contents["person.jsonld"])
    transfers = graph_of(document, "MoneyTransfer")
    assert len(transfers) == 12
    assert {t["amount"]["currency"] for t in transfers} == {"EUR"}
    assert sum(Decimal(t["amount"]["value"]) for t in transfers) == Decimal("158.88")
    assert {t["amount"]["value"] for t in transfers} == {"11.99", "13.49"}  # the price change
    assert all(t["recipient"] == {"@type": "Organization", "name": "Netflix"} for t in transfers)
    assert transfers[0]["startTime"].startswith("2024-01-03")
    receipt = json.loads(contents["consent-receipt.json"])
    jsonschema.validate(receipt, SCHEMA)
    assert receipt["history"] == {"scope": "payments", "interactions": 12, "bookings": 0}
    assert TRANSACTIONS in receipt["services"][0]["purposes"][0]["piiCategory"]
    for data in contents.values():
        assert OWN_IBAN.encode() not in data  # her IBAN was not chosen: withheld everywhere


def test_a_refund_is_a_transfer_from_the_company(kluis: Kluis, tmp_path: Path) -> None:
    out = tmp_path / "bol.jsonld"
    share(kluis, "bol.com", out, "--history", "payments", "--format", "jsonld")
    transfers = graph_of(json.loads(out.read_bytes()), "MoneyTransfer")
    refunds = [t for t in transfers if "agent" in t]
    assert [r["amount"]["value"] for r in refunds] == ["49.00"]
    assert refunds[0]["agent"]["name"] == "bol.com" and "recipient" not in refunds[0]


def test_an_order_mail_is_an_order_with_its_invoice_and_a_newsletter_is_left_out(
    kluis: Kluis, tmp_path: Path
) -> None:
    out = tmp_path / "coolblue.jsonld"
    result = share(kluis, "Coolblue", out, "--history", "payments", "--format", "jsonld")
    assert result["interactions"] == 1  # the order; the newsletter states no amount
    document = json.loads(out.read_bytes())
    (order,) = graph_of(document, "Order")
    assert order["name"] == "Je bestelling 90109443 is bevestigd"
    invoice = order["partOfInvoice"]
    assert invoice["@type"] == "Invoice"
    assert invoice["totalPaymentDue"] == {
        "@type": "MonetaryAmount",
        "value": "49.95",
        "currency": "EUR",
    }
    assert len(document["@graph"][0]["subjectOf"]) == 1  # only the receipt: no message list


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.headings: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag

    def handle_data(self, data: str) -> None:
        if self._tag == "td":
            self.cells.append(data)
        elif self._tag == "h2":
            self.headings.append(data)


def test_the_web_page_lists_the_transactions_with_their_amounts(
    kluis: Kluis, tmp_path: Path
) -> None:
    out = tmp_path / "netflix.html"
    share(kluis, "Netflix", out, "--history", "payments", "--format", "html")
    page = _Cells()
    page.feed(out.read_text())
    assert "Transactions" in page.headings and "History" not in page.headings
    assert page.cells.count("EUR 13.49") == 10 and page.cells.count("EUR 11.99") == 2


def test_the_ledger_records_each_transaction_shared(kluis: Kluis, tmp_path: Path) -> None:
    result = share(kluis, "Ziggo", tmp_path / "ziggo.jsonld", "--history", "payments",
                   "--format", "jsonld")  # fmt: skip
    done = kluis.run("disclosures", "Ziggo", "--json")
    assert done.returncode == 0, done.stderr.decode()
    (disclosure,) = [d for d in json.loads(done.stdout) if d["id"] == result["disclosure_id"]]
    assert disclosure["interactions"] == result["interactions"] == 12


def test_no_other_history_carries_an_amount(kluis: Kluis, tmp_path: Path) -> None:
    out = tmp_path / "netflix-all.jsonld"
    share(kluis, "Netflix", out, "--history", "all", "--format", "jsonld")
    data = out.read_bytes()
    document = json.loads(data)
    assert not graph_of(document, "MoneyTransfer")
    assert b"MonetaryAmount" not in data  # titles as they are, no amount of kluis's own


def test_a_vcard_cannot_hold_the_transactions(kluis: Kluis, tmp_path: Path) -> None:
    done = kluis.run(
        "share", "Netflix", "--fields", "name", "--purpose", "x", "--history", "payments",
        "--format", "vcard", "--out", str(tmp_path / "n.vcf"),
    )  # fmt: skip
    assert "holds no history" in assert_clean_failure(done, 2)
    assert not (tmp_path / "n.vcf").exists()
