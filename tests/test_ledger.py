"""The ledger: disclosures (expired flagged), revoke, what a company knows, marketing consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from exports.share import ShareRequest
from exports.sharing import share_package
from tests.fixtures.share.cli import run, run_json
from tests.fixtures.share.vaults import ME, fill_profile, import_share_mail, ingest
from tests.support import mail
from vault.ledger import list_disclosures, own_text
from vault.queries import show
from vault.records import Booking, Interaction
from vault.store import Store


@pytest.fixture
def jan(store: Store, cli_env: Path) -> Store:
    """Jan's profile and his mail with Fietsverhuur Centrum and a bakery."""
    fill_profile(store)
    import_share_mail(store)
    return store


def _by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in rows}


def test_knows_finds_my_details_in_mail_i_sent_with_the_interaction_as_evidence(
    jan: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    known = _by_key(run_json(capsys, "knows", "fietsverhuur"))
    for key, how in (
        ("phone", "phone number"),
        ("iban", "IBAN"),
        ("address.home", "postcode and house number"),
    ):
        [evidence] = known[key]["evidence"]
        assert evidence["source"] == "message" and evidence["interaction_id"]
        assert evidence["how"] == f"{how} in your message's text"
        with jan.read() as conn:
            assert show(conn, evidence["interaction_id"])["title"] == (
                "Re: Uw reservering van twee fietsen"
            )
    # I wrote from that address, and they wrote back to it.
    assert known["email"]["sources"] == ["addressed", "message"]
    assert known["name"]["evidence"][0]["how"] == "name in your message's sender"


def test_a_company_that_only_writes_to_me_knows_the_address_it_writes_to(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_profile(store)
    june = datetime(2024, 6, 3, 8, tzinfo=UTC)
    newsletters = [
        mail(
            n,
            "HEMA <nieuws@mail.hema.nl>",
            to=ME,
            title=f"Deze week {n}",
            when=june + timedelta(7 * n),
        )
        for n in range(3)
    ]
    # A mail to another customer whose address contains mine is not evidence.
    other = mail(9, "HEMA <nieuws@mail.hema.nl>", to=f"stef{ME}", title="Voor een ander")
    ingest(store, *newsletters, other)
    known = _by_key(run_json(capsys, "knows", "HEMA"))
    assert set(known) == {"email"}
    assert known["email"]["value"] == ME
    [evidence] = known["email"]["evidence"]
    assert evidence["source"] == "addressed"
    assert evidence["how"] == "they write to you at this address (3 messages since 2024-06-03)"
    with store.read() as conn:
        assert show(conn, evidence["interaction_id"])["title"] == "Deze week 2"


def test_the_companys_own_numbers_quoted_text_and_order_numbers_are_not_evidence(
    jan: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    known = _by_key(run_json(capsys, "knows", "fietsverhuur"))
    # The inbound mail repeats my phone and street, and my reply of June quotes the company
    # saying my phone and IBAN; it also holds an order number made of my phone's digits and
    # a pickup point in my postcode at another number. None of that counts.
    assert len(known["phone"]["evidence"]) == 1
    assert len(known["iban"]["evidence"]) == 1
    assert len(known["address.home"]["evidence"]) == 1
    assert "birthdate" not in known and "passport" not in known
    for key in ("phone", "iban", "address.home"):
        assert known[key]["evidence"][0]["at"].startswith("2024-05-03")


def test_what_i_told_one_company_is_not_evidence_against_another(
    jan: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    bakery = _by_key(run_json(capsys, "knows", "korenschoof"))
    assert set(bakery) == {"birthdate", "email", "name", "phone"}
    assert bakery["birthdate"]["evidence"][0]["excerpt"].find("12 april 1985") >= 0
    assert "iban" not in bakery and "address.home" not in bakery


def test_knows_finds_my_name_as_a_traveller_of_a_booking(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_profile(store)
    confirmation = mail(1, title="Your booking RXJ34P")
    confirmation.bookings = [
        Booking(kind="flight", reference="RXJ34P", travellers=["JANSEN/JAN MR", "Jan Jansen"])
    ]
    ingest(store, confirmation)
    [row] = run_json(capsys, "knows", "KLM")
    assert row["key"] == "name" and row["sources"] == ["booking"]
    assert row["evidence"][0]["interaction_id"] and row["evidence"][0]["booking_id"]
    assert row["evidence"][0]["how"] == "name in flight RXJ34P"


def test_shared_fields_stay_known_after_the_profile_changed(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, "share", "korenschoof", "--fields", "seating", "--purpose", "Terras",
             "--out", str(tmp_path / "p.zip"))  # fmt: skip
    run(capsys, "profile", "set", "seating", "aisle")
    seating = _by_key(run_json(capsys, "knows", "korenschoof"))["seating"]
    assert seating["value"] == "window" and seating["in_profile"] is False
    assert seating["evidence"][0]["source"] == "share"


def test_expired_disclosures_are_flagged(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    then = datetime(2024, 1, 1, tzinfo=UTC)
    share_package(
        jan,
        ShareRequest("korenschoof", ["name"], "none", "Cake order", "2024-02-01", "html",
                     tmp_path / "old.html"),
        now=then,
    )  # fmt: skip
    run_json(capsys, "share", "korenschoof", "--fields", "name", "--purpose", "Now",
             "--out", str(tmp_path / "new.html"), "--format", "html")  # fmt: skip
    rows = run_json(capsys, "disclosures")
    assert [(r["purpose"], r["expired"], r["status"]) for r in rows] == [
        ("Now", False, "active"),
        ("Cake order", True, "expired"),
    ]
    _, out, _ = run(capsys, "disclosures", "korenschoof")
    assert "EXPIRED" in out


def test_revoke_marks_the_disclosure_and_writes_an_erasure_letter_citing_it(
    jan: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = run_json(capsys, "share", "fietsverhuur", "--fields", "phone,iban", "--purpose",
                      "Deposit refund", "--out", str(tmp_path / "p.zip"))  # fmt: skip
    letter = tmp_path / "erasure.txt"
    status, _, err = run(capsys, "revoke", str(shared["disclosure_id"]), "--out", str(letter),
                         "--fields", "name")  # fmt: skip
    assert status == 0, err
    text = letter.read_text()
    assert "Article 17" in text and "Article 7(3)" in text and "Fietsverhuur Centrum" in text
    [row] = run_json(capsys, "disclosures")
    assert row["status"] == "revoked" and row["revoked_at"]
    assert row["receipt_id"] in text and "Deposit refund" in text
    assert "NL91ABNA0417164300" not in text  # cited by field, not by value
    assert letter.stat().st_mode & 0o777 == 0o600
    [request] = run_json(capsys, "gdpr", "status")
    assert request["type"] == "erasure" and request["disclosure_id"] == row["id"]
    status, _, err = run(capsys, "revoke", str(row["id"]))
    assert status == 2 and "already revoked" in err
    assert run(capsys, "revoke", "999")[0] == 2


def test_own_text_drops_quotes_and_the_mail_replied_to() -> None:
    body = (
        "Call me on 0612345678\n> quoted line\nregards\n\n"
        "On Mon, 1 Jan 2024 at 10:00, Shop <a@shop.example> wrote:\n> more\nafter\n"
    )
    assert own_text(body) == "Call me on 0612345678\nregards\n"
    outlook = "mine\n\nVan: Shop <a@b.example>\nVerzonden: maandag\ntheirs"
    assert own_text(outlook) == "mine\n"


def test_the_consent_view_shows_marketing_frequency_and_dormant_accounts(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    newsletters = []
    for n in range(6):
        item = mail(n, sender="Shop <news@shop.example>", when=now - timedelta(days=30 * n + 1))
        item.extras = {
            "list_unsubscribe": "<mailto:unsub@shop.example>",
            "list_id": "<news.shop.example>",
        }
        newsletters.append(item)
    old = mail(10, sender="Oldbank <service@oldbank.example>", when=now - timedelta(days=4 * 365))
    mine = mail(11, sender="Jan <jan@example.org>", to="service@oldbank.example", direction="out",
                when=now - timedelta(days=4 * 365 - 1))  # fmt: skip
    recent = mail(12, sender="Jan <jan@example.org>", to="hello@shop.example", direction="out",
                  when=now - timedelta(days=3))  # fmt: skip
    ingest(store, *newsletters, old, mine, recent)
    rows = {r["company"]: r for r in run_json(capsys, "consent")}
    shop, bank = rows["Shop"], rows["Oldbank"]
    assert shop["marketing"] is True and shop["marketing_last_year"] == 6
    assert shop["per_month"] == 1.2 and shop["unsubscribe"] == "<mailto:unsub@shop.example>"
    assert shop["dormant"] is False and shop["last_outbound_at"]
    assert bank["marketing"] is False and bank["dormant"] is True
    assert "erasure" in bank["suggestion"]
    _, out, _ = run(capsys, "consent")
    assert "DORMANT" in out


def _newsletter(n: int, sender: str, when: datetime) -> Interaction:
    item = mail(n, sender=sender, when=when)
    item.extras = {"list_unsubscribe": "<mailto:unsub@x.example>, <https://x.example/unsub?u=1>"}
    return item


def test_a_bank_and_a_municipality_that_still_send_notices_are_not_dormant(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    statements = [
        mail(n, sender="Bank <service@bank.example>", when=now - timedelta(days=30 * n + 2))
        for n in range(60)
    ]
    notice = mail(99, sender="Gemeente <noreply@gemeente.example>", when=now - timedelta(days=40))
    first = mail(98, sender="Gemeente <noreply@gemeente.example>", when=now - timedelta(days=2000))
    ingest(store, *statements, notice, first)
    rows = {r["company"]: r for r in run_json(capsys, "consent")}
    for name in ("Bank", "Gemeente"):
        assert rows[name]["dormant"] is False, rows[name]
        assert rows[name]["suggestion"] is None
        assert rows[name]["last_service_at"]
    _, out, _ = run(capsys, "consent")
    assert "erasure" not in out and "DORMANT" not in out


def test_a_company_that_only_markets_to_me_for_years_is_dormant(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    old_order = mail(1, sender="Shop <orders@shop.example>", when=now - timedelta(days=5 * 365))
    news = [
        _newsletter(10 + n, "Shop <news@shop.example>", now - timedelta(days=7 * n + 1))
        for n in range(20)
    ]
    ingest(store, old_order, *news)
    shop = next(r for r in run_json(capsys, "consent") if r["company"] == "Shop")
    assert shop["dormant"] is True
    assert shop["suggestion"].startswith("only marketing for 3+ years")


def test_a_marketers_rate_is_over_the_time_it_mails_not_a_fixed_year(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Weekly for half a year, ending fourteen months ago (an old export, or it stopped):
    # about four a month, never 0.0.
    now = datetime.now(UTC)
    stopped = now - timedelta(days=425)
    news = [
        _newsletter(n, "Shop <news@shop.example>", stopped - timedelta(days=7 * n))
        for n in range(26)
    ]
    ingest(store, *news)
    shop = next(r for r in run_json(capsys, "consent") if r["company"] == "Shop")
    assert 4.0 <= shop["per_month"] <= 4.6, shop
    assert shop["marketing_last_year"] == 0


def test_consent_shows_where_to_unsubscribe(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    ingest(store, *(_newsletter(n, "Shop <news@shop.example>", now - timedelta(days=n + 1))
                    for n in range(3)))  # fmt: skip
    _, out, _ = run(capsys, "consent")
    assert "unsubscribe: https://x.example/unsub?u=1" in out


def test_list_disclosures_filters_by_company(jan: Store, tmp_path: Path) -> None:
    share_package(
        jan,
        ShareRequest("korenschoof", ["name"], "none", "Cake", None, "html", tmp_path / "a.html"),
    )
    share_package(
        jan,
        ShareRequest("fietsverhuur", ["name"], "none", "Bikes", None, "html", tmp_path / "b.html"),
    )
    with jan.read() as conn:
        assert [d["purpose"] for d in list_disclosures(conn)] == ["Bikes", "Cake"]
        company = conn.exec_driver_sql(
            "SELECT company_id FROM disclosure WHERE purpose='Cake'"
        ).scalar()
        assert [d["purpose"] for d in list_disclosures(conn, int(company))] == ["Cake"]
