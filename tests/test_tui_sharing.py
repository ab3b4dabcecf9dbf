"""The "customer decides" screens, driven with Textual's pilot on a real vault: the profile
(ctrl+u), what a company knows (ctrl+k) with the share wizard, revocation and GDPR letters,
and the GDPR requests screen (ctrl+g).

Jan's profile and his mail with Fietsverhuur Centrum (he sent them his phone number, IBAN and
postcode) come from the share fixtures; every test gets its own vault, because every test
changes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import vobject
from textual.pilot import Pilot
from textual.widgets import (
    DataTable,
    Footer,
    Input,
    RadioButton,
    Select,
    SelectionList,
    Static,
    TabbedContent,
)

from tests.fixtures.share.vaults import fill_profile, import_share_mail
from tests.support import PASSPHRASE
from tests.tui_support import drive, press, until
from tui.app import KluisApp
from tui.company_data import CompanyDataScreen, evidence_text
from tui.dialogs import ConfirmScreen
from tui.gdpr_screen import GdprScreen, LetterForm
from tui.profile_screen import ProfileFieldForm, ProfileScreen
from tui.share_wizard import ShareWizard
from vault.ledger import due_date, gdpr_status, record_request
from vault.profile import load_profile
from vault.store import Store
from vault.unlock import create_vault

UNCHOSEN = ["Jansen", "+31612345678", "NL91ABNA0417164300", "Keizersgracht", "1985-04-12"]


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A vault with Fietsverhuur's mail and no profile; home is a temporary folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    store, _ = create_vault(tmp_path / "vault", PASSPHRASE)
    import_share_mail(store)
    yield store
    store.close()


@pytest.fixture
def jan(empty: Store) -> Store:
    """The same vault with Jan's profile."""
    fill_profile(empty)
    return empty


def shown(app: KluisApp, selector: str) -> str:
    """The plain text of a Static on the current screen."""
    return str(app.screen.query_one(selector, Static).render())


async def company_data(app: KluisApp, pilot: Pilot[Any], name: str) -> CompanyDataScreen:
    """Open ``name``'s timeline, then ctrl+k."""
    company = next(e for e in app.company_rows() if e.name == name)
    app.open_company(company.id)
    await until(pilot, lambda: app.timeline.company_id == company.id, "the timeline")
    await pilot.press("ctrl+k")
    await until(
        pilot,
        lambda: isinstance(app.screen, CompanyDataScreen) and app.screen.loaded,
        "the company data screen",
    )
    assert isinstance(app.screen, CompanyDataScreen)
    return app.screen


async def open_wizard(app: KluisApp, pilot: Pilot[Any]) -> ShareWizard:
    """s on a company's data; wait for the profile's fields."""
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, ShareWizard), "the wizard")
    wizard = app.screen
    assert isinstance(wizard, ShareWizard)
    fields = wizard.query_one("#share-fields", SelectionList)
    await until(pilot, lambda: fields.option_count > 0, "the profile's fields")
    return wizard


async def share_vcard_or_jsonld(
    app: KluisApp, pilot: Pilot[Any], fmt: str, out: Path, keys: list[str]
) -> ShareWizard:
    """s on a company's data: tick ``keys``, choose ``fmt``, fill the purpose and file, preview."""
    wizard = await open_wizard(app, pilot)
    fields = wizard.query_one("#share-fields", SelectionList)
    for key in keys:
        fields.select(key)
    wizard.query_one(f"#format-{fmt}", RadioButton).value = True
    wizard.query_one("#share-purpose", Input).value = "Bike rental deposit"
    await pilot.pause()
    wizard.query_one("#share-out", Input).value = str(out)
    await press(app, pilot, "#share-preview-button")
    await until(pilot, lambda: wizard.preview is not None, "the preview")
    return wizard


# ---- profile --------------------------------------------------------------------------------


def test_a_bad_phone_number_is_refused_in_one_line_and_a_good_one_is_stored(empty: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+u")
        await until(
            pilot,
            lambda: isinstance(app.screen, ProfileScreen) and app.screen.loaded,
            "the profile",
        )
        profile = app.screen
        assert isinstance(profile, ProfileScreen)
        assert "Your profile is empty" in shown(app, "#profile-status")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ProfileFieldForm), "the form")
        form = app.screen
        form.query_one("#field-key", Select).value = "phone"
        form.query_one("#field-value", Input).value = "12345"
        form.query_one("#field-value", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: shown(app, "#field-error"), "the error")
        error = shown(app, "#field-error")
        assert "Not a valid phone number" in error and "\n" not in error
        assert app.screen is form  # still open, the value kept for correcting
        with empty.read() as conn:
            assert load_profile(conn) == []

        form.query_one("#field-value", Input).value = "06-12345678"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is profile and profile.loaded, "back")
        assert [(v.key, v.value) for v in profile.values] == [("phone", "+31612345678")]

    drive(empty, story)


def test_sensitive_values_are_masked_until_revealed_and_removed_after_asking(jan: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+u")
        await until(
            pilot, lambda: isinstance(app.screen, ProfileScreen) and app.screen.loaded, "profile"
        )
        profile = app.screen
        assert isinstance(profile, ProfileScreen)
        table = profile.table
        iban_row = next(i for i, v in enumerate(profile.values) if v.key == "iban")
        assert str(table.get_row_at(iban_row)[4]).endswith("4300")
        assert "NL91" not in str(table.get_row_at(iban_row)[4])
        await pilot.press("r")
        assert str(table.get_row_at(iban_row)[4]) == "NL91ABNA0417164300"
        table.move_cursor(row=iban_row)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: app.screen is profile and profile.loaded, "reloaded")
        assert "iban" not in [v.key for v in profile.values]
        with jan.read() as conn:
            assert "iban" not in [v.key for v in load_profile(conn)]

    drive(jan, story)


# ---- the share wizard -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["vcard", "jsonld"])
def test_the_wizards_preview_is_exactly_the_file_it_writes(
    jan: Store, tmp_path: Path, fmt: str
) -> None:
    name = {"vcard": "profile.vcf", "jsonld": "person.jsonld"}[fmt]
    out = tmp_path / f"jan.{fmt}"

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        data = await company_data(app, pilot, "Fietsverhuur Centrum")
        wizard = await share_vcard_or_jsonld(app, pilot, fmt, out, ["email", "loyalty.klm"])
        assert wizard.preview is not None
        previewed = wizard.preview.files[name]
        on_screen = shown(app, "#preview-text")
        if fmt == "jsonld":  # read as fields and values; j shows the JSON as written
            readable = shown(app, "#preview-text")
            assert "email: jan@example.org" in readable
            assert "purpose: Bike rental deposit" in readable  # the receipt, unpacked
            assert '"' not in readable  # no escaped JSON
            await pilot.press("j")
            on_screen = shown(app, "#preview-text")
        assert not out.exists()  # nothing is written before Write it
        await press(app, pilot, "#share-confirm")
        await until(pilot, lambda: wizard.result is not None, "the file")
        written = out.read_bytes()
        assert written == previewed
        text = written.decode("utf-8")
        if fmt == "vcard":
            card = vobject.readOne(text)
            assert card.email.value == "jan@example.org"
            assert card.contents["x-loyalty-klm"][0].value == "1234567890"
            for line in text.splitlines():
                assert line in on_screen
        else:
            person = json.loads(text)
            assert json.loads(previewed) == person
            assert "jan@example.org" in json.dumps(person)
            for line in json.dumps(person, indent=2, ensure_ascii=False).splitlines():
                assert line.strip() in on_screen
        for value in UNCHOSEN:
            assert value not in text
        assert out.stat().st_mode & 0o777 == 0o600
        assert "Written:" in shown(app, "#done-text")
        await press(app, pilot, "#share-close")
        await until(pilot, lambda: app.screen is data and data.loaded, "the company data")
        [disclosure] = data.disclosures
        assert disclosure["status"] == "active"
        assert sorted(disclosure["fields"]) == ["email", "loyalty.klm"]
        table = data.query_one("#data-disclosures")
        assert "active" in str(table.get_row_at(0)[2])  # type: ignore[attr-defined]

    drive(jan, story)


def test_an_encrypted_zip_shows_its_password_once_and_its_files_in_the_preview(
    jan: Store, tmp_path: Path
) -> None:
    out = tmp_path / "jan.zip"

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await company_data(app, pilot, "Fietsverhuur Centrum")
        wizard = await open_wizard(app, pilot)
        fields = wizard.query_one("#share-fields", SelectionList)
        fields.select("email")
        wizard.query_one("#share-encrypt").value = True  # type: ignore[attr-defined]
        wizard.query_one("#history-all", RadioButton).value = True
        wizard.query_one("#share-purpose", Input).value = "Deposit"
        wizard.query_one("#share-out", Input).value = str(out)
        await press(app, pilot, "#share-preview-button")
        await until(pilot, lambda: wizard.preview is not None, "the preview")
        on_screen = shown(app, "#preview-text")
        for name in ("profile.vcf", "person.jsonld", "index.html", "consent-receipt.json"):
            assert f"── {name}" in on_screen
        assert "Re: Uw reservering van twee fietsen" in on_screen  # the history's titles
        assert wizard.preview is not None
        previewed = wizard.preview.files
        await press(app, pilot, "#share-confirm")
        await until(pilot, lambda: wizard.result is not None, "the file")
        assert wizard.result is not None and wizard.result.password
        done = shown(app, "#done-text")
        assert wizard.result.password in done and "shown only this once" in done

        import pyzipper  # type: ignore[import-untyped]

        with pyzipper.AESZipFile(out) as archive:
            archive.setpassword(wizard.result.password.encode())
            assert {name: archive.read(name) for name in archive.namelist()} == previewed
        assert b"jan@example.org" in previewed["profile.vcf"]
        assert b"+31612345678" not in b"".join(previewed.values())

    drive(jan, story)


def test_an_existing_file_is_replaced_only_after_asking(jan: Store, tmp_path: Path) -> None:
    out = tmp_path / "mine.vcf"
    out.write_bytes(b"my own file")

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await company_data(app, pilot, "Fietsverhuur Centrum")
        wizard = await open_wizard(app, pilot)
        fields = wizard.query_one("#share-fields", SelectionList)
        fields.select("email")
        wizard.query_one("#format-vcard", RadioButton).value = True
        wizard.query_one("#share-purpose", Input).value = "x"
        await pilot.pause()
        wizard.query_one("#share-out", Input).value = str(out)
        await press(app, pilot, "#share-preview-button")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is wizard, "back in the form")
        assert wizard.preview is None and out.read_bytes() == b"my own file"

    drive(jan, story)


# ---- what a company knows, revoke, GDPR -----------------------------------------------------


def test_evidence_from_a_sent_mail_jumps_to_that_mail_in_the_timeline(jan: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        data = await company_data(app, pilot, "Fietsverhuur Centrum")
        known = {row["key"] for row in data.known}
        assert {"phone", "iban"} <= known
        row = next(i for i, e in enumerate(data.evidence) if e.get("interaction_id"))
        target = int(data.evidence[row]["interaction_id"])
        assert "Found in the mail you sent on" in str(
            data.query_one("#data-knows").get_row_at(row)[2]  # type: ignore[attr-defined]
        )
        data.query_one("#data-knows").move_cursor(row=row)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(
            pilot,
            lambda: app.main.detail.item is not None and app.main.detail.item["id"] == target,
            "the item",
        )
        assert app.screen is app.main
        current = app.timeline.current_item
        assert current is not None and current.id == target

    drive(jan, story)


def test_revoking_writes_the_erasure_letter_and_flips_the_status(
    jan: Store, tmp_path: Path
) -> None:
    letter = tmp_path / "erasure.txt"

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        data = await company_data(app, pilot, "Fietsverhuur Centrum")
        await share_vcard_or_jsonld(app, pilot, "vcard", tmp_path / "a.vcf", ["email"])
        await press(app, pilot, "#share-confirm")
        await until(pilot, lambda: isinstance(app.screen, ShareWizard) and app.screen.result, "")
        await press(app, pilot, "#share-close")
        await until(pilot, lambda: app.screen is data and len(data.disclosures) == 1, "shared")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, LetterForm), "the revoke form")
        form = app.screen
        form.query_one("#letter-out", Input).value = str(letter)
        await press(app, pilot, "#letter-write")
        await until(pilot, lambda: app.screen is data and data.loaded, "back")
        assert data.disclosures[0]["status"] == "revoked"
        assert "revoked" in str(
            data.query_one("#data-disclosures").get_row_at(0)[2]  # type: ignore[attr-defined]
        )
        text = letter.read_text()
        assert "Article 17" in text and "Article 7(3)" in text
        assert "Jan Jansen" in text and "jan@example.org" in text  # name, email by default
        assert "NL91ABNA0417164300" not in text
        await pilot.press("x")  # a second time: nothing to revoke
        await pilot.pause()
        assert app.screen is data

    drive(jan, story)


def test_gdpr_requests_show_their_deadline_and_overdue_ones_are_flagged(
    jan: Store, tmp_path: Path
) -> None:
    with jan.begin() as conn:
        company = int(conn.exec_driver_sql("SELECT id FROM company LIMIT 1").scalar() or 0)
        old = record_request(
            conn, company_id=company, kind="access", language="en", fields={},
            letter_path=None, sent_at=datetime(2024, 1, 31, 9, tzinfo=UTC),
        )  # fmt: skip
    letter = tmp_path / "access.txt"

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await company_data(app, pilot, "Fietsverhuur Centrum")
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, LetterForm), "the letter form")
        form = app.screen
        form.query_one("#kind-portability", RadioButton).value = True
        form.query_one("#language-nl", RadioButton).value = True
        form.query_one("#letter-out", Input).value = str(letter)
        await press(app, pilot, "#letter-write")
        await until(pilot, lambda: isinstance(app.screen, CompanyDataScreen), "written")
        assert "artikel 20" in letter.read_text()

        await pilot.press("ctrl+g")
        await until(
            pilot, lambda: isinstance(app.screen, GdprScreen) and app.screen.loaded, "requests"
        )
        screen = app.screen
        assert isinstance(screen, GdprScreen)
        table = screen.query_one("#gdpr-requests")
        rows = {int(str(table.get_row_at(i)[0])): table.get_row_at(i) for i in range(2)}  # type: ignore[attr-defined]
        new = next(r for r in rows if r != old)
        assert str(rows[new][4]) == due_date(date.today()).strftime("%d %b %Y")
        assert str(rows[new][6]) == "open" and int(str(rows[new][5])) >= 28
        assert str(rows[old][4]) == "29 Feb 2024" and str(rows[old][6]) == "OVERDUE"
        assert rows[old][6].style == "bold red"
        assert "1 overdue" in shown(app, "#gdpr-requests-status")

        table.move_cursor(row=list(rows).index(old))  # type: ignore[attr-defined]
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen and screen.loaded, "reloaded")
        with jan.read() as conn:
            status = {r["id"]: r["status"] for r in gdpr_status(conn)}
        assert status[old] == "answered" and status[new] == "open"

    drive(jan, story)


def test_g_on_the_marketing_tab_writes_an_erasure_request_to_that_company(
    jan: Store, tmp_path: Path
) -> None:
    letter = tmp_path / "erase.txt"

    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+g")
        await until(
            pilot, lambda: isinstance(app.screen, GdprScreen) and app.screen.loaded, "the screen"
        )
        screen = app.screen
        assert isinstance(screen, GdprScreen)
        assert "No GDPR requests yet" in shown(app, "#gdpr-requests-status")
        screen.query_one("#gdpr-tabs", TabbedContent).active = "gdpr-consent-tab"
        await pilot.pause()
        chosen = len(screen.consent) - 1
        screen.query_one("#gdpr-consent", DataTable).move_cursor(row=chosen)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, LetterForm), "the letter form")
        app.screen.query_one("#letter-out", Input).value = str(letter)
        await press(app, pilot, "#letter-write")
        await until(pilot, lambda: app.screen is screen and screen.loaded, "reloaded")
        [request] = screen.requests
        assert request["type"] == "erasure"
        assert request["company_id"] == screen.consent[chosen]["company_id"]
        assert "Article 17" in letter.read_text()

    drive(jan, story)


def test_screens_over_the_main_screen_offer_only_the_keys_that_work_there(jan: Store) -> None:
    async def story(app: KluisApp, pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+u")
        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the profile")
        profile = app.screen
        keys = {b.binding.key for b in profile.active_bindings.values() if b.enabled}
        assert {"slash", "ctrl+k"}.isdisjoint(keys)  # search and "what it knows" need the timeline
        await pilot.press("slash", "ctrl+k")
        await pilot.pause()
        assert app.screen is profile
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ProfileFieldForm), "the form")
        form = app.screen
        # The form's own footer (Esc), and it offers a field Jan has no value for yet.
        assert form.query(Footer)
        assert form.query_one("#field-key", Select).value not in {v.key for v in profile.values}
        assert shown(app, "#field-note") == ""
        await pilot.press("escape")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main, "the main screen")

        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, GdprScreen) and app.screen.loaded, "")
        gdpr = app.screen

        def offered() -> set[str]:
            return {b.binding.key for b in gdpr.active_bindings.values() if b.enabled}

        assert "a" not in offered() and "g" not in offered()  # no request yet; wrong tab for g
        gdpr.query_one(TabbedContent).active = "gdpr-consent-tab"
        await until(pilot, lambda: "g" in offered(), "g on the marketing tab")

    drive(jan, story)


def test_mail_to_an_address_is_evidence_said_as_their_mail_not_yours() -> None:
    evidence = {
        "source": "addressed",
        "at": "2024-05-02T10:00:00+00:00",
        "how": "they write to you at this address (12 messages since 2023-01-04)",
    }
    said = evidence_text(evidence).plain
    assert said.startswith("They write to you at this address (12 messages")
    assert "02 May 2024" in said and "you sent" not in said
