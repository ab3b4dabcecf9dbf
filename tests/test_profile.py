"""The profile: validated fields, one-line errors, and recognising values in text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.fixtures.share.cli import run, run_json
from vault.profile import ProfileValue, find_value, normalise, redact
from vault.store import Store


def test_a_phone_number_is_stored_in_international_form(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "profile", "set", "phone", "06-12 34 56 78")
    assert status == 0 and "+31612345678" in out
    rows = run_json(capsys, "profile", "show")
    assert rows == [
        {
            "key": "phone",
            "value": "+31612345678",
            "category": "contact",
            "sensitivity": "personal",
            "updated_at": rows[0]["updated_at"],
        }
    ]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("phone", "call me maybe", "not a phone number"),
        ("phone", "+31 6 123", "not a valid phone number"),
        ("iban", "NL91 ABNA 0417 1643 01", "not a valid IBAN"),
        ("birthdate", "1985", "not a whole date"),
        ("birthdate", "2999-01-01", "not a plausible date of birth"),
        ("email", "jan at example", "not an email address"),
        ("passport", "X!", "not a document number"),
    ],
)
def test_a_bad_value_is_a_one_line_error_and_nothing_is_stored(
    store: Store,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: str,
    reason: str,
) -> None:
    status, _, err = run(capsys, "profile", "set", key, value)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"kluis: {reason}")
    assert run_json(capsys, "profile", "show") == []


def test_an_unknown_key_is_refused_with_the_keys_that_exist(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "profile", "set", "shoe_size", "44")
    assert status == 2 and "unknown profile key 'shoe_size'" in err and "loyalty.PROGRAM" in err


def test_emails_accumulate_but_a_name_is_replaced(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ("email", "Jan@Example.org"),
        ("email", "jan@work.example"),
        ("name", "Jan"),
        ("name", "Jan Jansen"),
    ):
        assert run(capsys, "profile", "set", *args)[0] == 0
    rows = run_json(capsys, "profile", "show")
    assert [(r["key"], r["value"]) for r in rows] == [
        ("email", "jan@example.org"),
        ("email", "jan@work.example"),
        ("name", "Jan Jansen"),
    ]


def test_unset_removes_one_value_or_the_whole_key(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "profile", "set", "phone", "+31612345678")
    run(capsys, "profile", "set", "phone", "020 123 4567")
    assert run(capsys, "profile", "unset", "phone", "06 1234 5678")[0] == 0  # any written form
    assert [r["value"] for r in run_json(capsys, "profile", "show")] == ["+31201234567"]
    assert run(capsys, "profile", "unset", "phone")[0] == 0
    status, _, err = run(capsys, "profile", "unset", "phone")
    assert status == 2 and "no phone" in err


def test_sensitive_values_are_masked_unless_revealed(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "profile", "set", "iban", "NL91ABNA0417164300")
    _, out, _ = run(capsys, "profile", "show")
    assert "NL91ABNA0417164300" not in out and "4300" in out
    _, out, _ = run(capsys, "profile", "show", "--reveal")
    assert "NL91ABNA0417164300" in out


def test_a_passport_number_can_come_from_stdin_and_is_not_echoed(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("xr 123 4567\n"))
    status, out, _ = run(capsys, "profile", "set", "passport", "--stdin")
    assert status == 0 and "XR1234567" not in out and "hidden" in out
    assert run_json(capsys, "profile", "show")[0]["value"] == "XR1234567"


def test_loyalty_and_free_keys_take_a_label(
    store: Store, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "profile", "set", "loyalty.klm", "1234 567 890")[0] == 0
    assert run(capsys, "profile", "set", "free.shoe-size", "44")[0] == 0
    assert run(capsys, "profile", "set", "loyalty.", "1")[0] == 2
    keys = {r["key"]: r for r in run_json(capsys, "profile", "show")}
    assert keys["loyalty.klm"]["category"] == "loyalty"
    assert keys["free.shoe-size"]["value"] == "44"


# --- recognising values in text ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "bel me op 06-12 34 56 78 graag",
        "tel: +31 (0)6 1234 5678",
        "0031612345678",
        "+31612345678.",
        "mobiel 06 1234 5678\n",
    ],
)
def test_my_phone_number_is_found_in_any_written_form(text: str) -> None:
    assert find_value("phone", "+31612345678", text)


@pytest.mark.parametrize(
    "text",
    [
        "ordernummer 310612345678",  # the digits, but an order number
        "bel ons op 020 123 4567",  # the company's number
        "06-12345679",  # one digit off
        "klantnummer 0612345678901",
    ],
)
def test_other_numbers_are_not_taken_for_my_phone(text: str) -> None:
    assert find_value("phone", "+31612345678", text) == []


def test_an_iban_is_found_grouped_or_compact_but_not_inside_a_longer_token() -> None:
    iban = normalise("iban", "nl91 abna 0417 1643 00")
    assert find_value("iban", iban, "naar NL91 ABNA 0417 1643 00 graag")
    assert find_value("iban", iban, "rekening nl91abna0417164300.")
    assert find_value("iban", iban, "NL91ABNA041716430012") == []
    assert find_value("iban", iban, "NL02 ABNA 0123 4567 89") == []


@pytest.mark.parametrize(
    "text", ["geboren 12-04-1985", "born 1985-04-12", "op 12 april 1985", "April 12th, 1985"]
)
def test_a_birthdate_is_found_as_digits_or_with_the_month_name(text: str) -> None:
    assert find_value("birthdate", "1985-04-12", text)


def test_an_address_is_found_by_street_or_by_postcode_and_house_number() -> None:
    home = "Keizersgracht 123, 1015 CJ Amsterdam, NL"
    assert find_value("address.home", home, "bezorgen op keizersgracht  123 a.u.b.")
    assert find_value("address.home", home, "postcode 1015CJ, huisnummer 123")
    assert find_value("address.home", home, "afhalen in 1015 CJ op nummer 9") == []
    assert find_value("address.home", home, "Keizersgracht 1234") == []


def test_redact_replaces_every_form_of_a_withheld_value() -> None:
    values = [
        ProfileValue(1, "phone", "+31612345678", "contact", "personal", ""),
        ProfileValue(2, "name", "Jan Jansen", "identity", "normal", ""),
    ]
    text = "Booking for JAN JANSEN, call 06-12 34 56 78"
    assert redact(text, values) == "Booking for [withheld], call [withheld]"


@pytest.mark.parametrize("typed", ["1985-04-12", "12-04-1985", "12/04/1985", "12 april 1985"])
def test_a_birthdate_is_read_day_first_except_in_iso_form(typed: str) -> None:
    assert normalise("birthdate", typed) == "1985-04-12"
