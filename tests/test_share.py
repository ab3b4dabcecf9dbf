"""Share packages: exactly the chosen fields, in standard formats, each with a valid receipt."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import pyzipper
import vobject

from exports.receipt import SCHEMA_PATH
from tests.fixtures.share.cli import run, run_json
from tests.fixtures.share.vaults import fill_profile, ingest
from tests.support import mail
from vault.records import Booking
from vault.store import Store

SCHEMA = json.loads(SCHEMA_PATH.read_text())
# Stored forms and the common written forms of every value Jan never chooses to share below.
UNCHOSEN = [
    b"+31612345678",
    b"0612345678",
    b"06-12345678",
    b"NL91ABNA0417164300",
    b"NL91 ABNA",
    b"1985-04-12",
    b"19850412",
    b"XR1234567",
    b"Keizersgracht",
    b"1015 CJ",
    b"vegetarian",
    b"Jansen",
]


@pytest.fixture
def klm(store: Store, cli_env: Path) -> Store:
    """Jan's profile and a history with KLM whose subjects contain his name and phone."""
    fill_profile(store)
    confirmation = mail(1, title="Booking confirmation for Mr Jan Jansen", body="Your flight")
    confirmation.bookings = [
        Booking(
            kind="flight",
            reference="RXJ34P",
            number="KL1234",
            start=datetime(2024, 8, 30, 9, 5, tzinfo=UTC),
            travellers=["JAN JANSEN"],
            seat="12A",
        )
    ]
    ingest(
        store,
        confirmation,
        mail(2, title="We will call you on 06-12345678", body="<script>alert(1)</script>"),
        mail(
            3,
            sender="Jan <jan@example.org>",
            to="customercare@klm.com",
            direction="out",
            title="Seat <b>question</b> & meal",
        ),
    )
    return store


def share(capsys: pytest.CaptureFixture[str], out: Path, *options: str) -> dict[str, Any]:
    result: dict[str, Any] = run_json(
        capsys,
        "share",
        "KLM",
        "--purpose",
        "Rebooking my cancelled flight",
        "--out",
        str(out),
        *options,
    )
    return result


def test_a_vcard_parses_with_vobject_and_holds_only_the_chosen_fields(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jan.vcf"
    share(capsys, out, "--fields", "email,loyalty.klm,seating", "--format", "vcard")
    data = out.read_bytes()
    card = vobject.readOne(data.decode("utf-8"))
    assert card.version.value == "4.0"
    assert card.email.value == "jan@example.org"
    assert card.fn.value == ""  # the name was not chosen; FN is mandatory but empty
    assert card.contents["x-loyalty-klm"][0].value == "1234567890"
    receipt = json.loads(card.contents["x-consent-receipt"][0].value)
    jsonschema.validate(receipt, SCHEMA)
    assert [f["key"] for f in receipt["sharedFields"]] == ["email", "loyalty.klm", "seating"]
    for value in UNCHOSEN:
        assert value not in data


def test_a_vcard_escapes_and_folds_long_values(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "profile", "set", "address.home", "Prinsengracht 7; achterhuis, 1016 GV Amsterdam")
    out = tmp_path / "jan.vcf"
    share(capsys, out, "--fields", "name,address.home,phone", "--format", "vcard")
    data = out.read_bytes()
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    card = vobject.readOne(data.decode("utf-8"))
    assert card.tel.value == "tel:+31612345678"
    assert "Prinsengracht 7; achterhuis" in str(card.adr.value)


def test_json_ld_is_a_schema_org_person_with_only_the_chosen_fields(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jan.jsonld"
    share(capsys, out, "--fields", "name,phone", "--format", "jsonld", "--history", "all")
    data = out.read_bytes()
    document = json.loads(data)
    assert document["@context"] == "https://schema.org"
    person = document["@graph"][0]
    assert person["@type"] == "Person"
    assert person["name"] == "Jan Jansen" and person["telephone"] == ["+31612345678"]
    assert "email" not in person and "address" not in person and "birthDate" not in person
    receipt_node = person["subjectOf"][0]
    jsonschema.validate(json.loads(receipt_node["text"]), SCHEMA)
    titles = [node["name"] for node in person["subjectOf"][1:]]
    assert "We will call you on 06-12345678" in titles  # the phone was chosen: kept
    assert document["@graph"][1]["@type"] == "FlightReservation"
    assert b"JAN JANSEN" not in data  # travellers are never shared
    for value in (b"NL91ABNA0417164300", b"1985-04-12", b"XR1234567", b"Keizersgracht"):
        assert value not in data


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.receipt = ""
        self._in_receipt = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_receipt = ("id", "consent-receipt") in attrs

    def handle_endtag(self, tag: str) -> None:
        self._in_receipt = False

    def handle_data(self, data: str) -> None:
        if self._in_receipt:
            self.receipt += data
        else:
            self.text.append(data)


def test_the_html_page_escapes_everything_and_carries_the_receipt(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jan.html"
    share(capsys, out, "--fields", "email", "--format", "html", "--history", "all")
    page = out.read_text()
    parser = _Text()
    parser.feed(page)
    assert "b" not in parser.tags  # the title's <b> stayed text
    assert parser.tags.count("script") == 1  # only the receipt's inert JSON
    assert "Seat <b>question</b> & meal" in "".join(parser.text)
    assert "Booking confirmation for Mr [withheld]" in "".join(parser.text)
    jsonschema.validate(json.loads(parser.receipt), SCHEMA)
    assert "default-src 'none'" in page


def test_a_zip_holds_all_three_formats_and_the_receipt(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jan.zip"
    result = share(capsys, out, "--fields", "name,email", "--history", "bookings")
    assert result["password"] is None and result["bookings"] == 1
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        contents = {name: archive.read(name) for name in names}
    assert names == ["consent-receipt.json", "index.html", "person.jsonld", "profile.vcf"]
    receipt = json.loads(contents["consent-receipt.json"])
    jsonschema.validate(receipt, SCHEMA)
    assert receipt["piiControllers"][0]["piiController"].startswith("KLM")
    assert receipt["history"] == {"scope": "bookings", "interactions": 0, "bookings": 1}
    assert vobject.readOne(contents["profile.vcf"].decode()).fn.value == "Jan Jansen"
    assert json.loads(contents["person.jsonld"])["@graph"][1]["reservationNumber"] == "RXJ34P"


def test_an_encrypted_zip_opens_only_with_the_password_shown_once(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jan.zip"
    status, text_out, _ = run(
        capsys, "share", "KLM", "--fields", "phone", "--purpose", "Call me back",
        "--out", str(out), "--encrypt",
    )  # fmt: skip
    assert status == 0
    password = text_out.strip().splitlines()[-1].strip()
    assert len(password) == 29 and password.count("-") == 4
    assert b"+31612345678" not in out.read_bytes()  # encrypted, not merely compressed
    with pyzipper.AESZipFile(out) as archive:
        with pytest.raises(RuntimeError):
            archive.read("profile.vcf", pwd=b"wrong")
        archive.setpassword(password.encode())
        assert b"tel:+31612345678" in archive.read("profile.vcf")
        jsonschema.validate(json.loads(archive.read("consent-receipt.json")), SCHEMA)
    run(capsys, "disclosures")
    assert password not in capsys.readouterr().out


def test_unchosen_fields_are_absent_byte_for_byte_in_every_format(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("vcard", "jsonld", "html", "zip"):
        out = tmp_path / f"pkg.{fmt}"
        history = "none" if fmt == "vcard" else "all"
        share(capsys, out, "--fields", "email", "--format", fmt, "--history", history)
        blobs = [out.read_bytes()]
        if fmt == "zip":
            with zipfile.ZipFile(out) as archive:
                blobs = [archive.read(name) for name in archive.namelist()]
        for blob in blobs:
            for value in UNCHOSEN:
                assert value not in blob, (fmt, value)
            assert b"jan@example.org" in blob


def test_a_share_is_recorded_with_values_purpose_expiry_and_digest(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jan.zip"
    result = share(capsys, out, "--fields", "name,email", "--expires", "2099-12-31")
    assert out.stat().st_mode & 0o777 == 0o600
    [row] = run_json(capsys, "disclosures", "KLM")
    assert row["id"] == result["disclosure_id"]
    assert row["fields"] == {"email": ["jan@example.org"], "name": ["Jan Jansen"]}
    assert row["purpose"] == "Rebooking my cancelled flight"
    assert row["expires_at"].startswith("2099-12-31T23:59:59")
    assert row["status"] == "active" and row["expired"] is False
    assert row["package_path"] == str(out.resolve())
    assert row["package_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    with zipfile.ZipFile(out) as archive:
        receipt = json.loads(archive.read("consent-receipt.json"))
    assert receipt["consentReceiptID"] == row["receipt_id"]
    assert receipt["revocation"]["disclosureId"] == row["id"]
    assert receipt["expiry"] == row["expires_at"]


def test_an_existing_file_is_never_overwritten_without_force(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jan.zip"
    out.write_bytes(b"mine")
    args = ("share", "KLM", "--fields", "email", "--purpose", "x", "--out", str(out))
    status, _, err = run(capsys, *args)
    assert status == 2 and "--force" in err and out.read_bytes() == b"mine"
    assert run_json(capsys, "disclosures") == []
    assert run(capsys, *args, "--force")[0] == 0
    assert zipfile.is_zipfile(out)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--fields", "email", "--format", "vcard", "--history", "all"), "vCard holds no history"),
        (("--fields", "email", "--format", "html", "--encrypt"), "--encrypt makes"),
        (("--fields", "shoe_size"), "unknown profile key"),
        (("--fields", "address.work"), "your profile has no address.work"),
        (("--fields", "email", "--history", "lately"), "--history is"),
        (("--fields", "email", "--expires", "2001-01-01"), "not in the future"),
    ],
)
def test_a_share_that_cannot_be_made_is_a_usage_error_and_writes_nothing(
    klm: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    message: str,
) -> None:
    out = tmp_path / "pkg"
    status, _, err = run(capsys, "share", "KLM", "--purpose", "x", "--out", str(out), *options)
    assert status == 2 and message in err and err.count("\n") == 1
    assert not out.exists()
    assert run_json(capsys, "disclosures") == []


def test_a_receipt_without_identifying_fields_names_a_pseudonym(
    klm: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "diet.zip"
    share(capsys, out, "--fields", "diet")
    with zipfile.ZipFile(out) as archive:
        receipt = json.loads(archive.read("consent-receipt.json"))
    assert receipt["piiPrincipalId"] == f"urn:uuid:{receipt['consentReceiptID']}"
    assert receipt["sensitive"] is True and receipt["spiCat"]
    jsonschema.validate(receipt, SCHEMA)
    assert io.BytesIO(out.read_bytes()).getbuffer().nbytes > 0
