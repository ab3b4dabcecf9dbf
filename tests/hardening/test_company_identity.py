"""Company identity on the shapes real mail and chats have (issue 15), through the real CLI.

Each test is one finding of the issue, told as the user meets it: a company named after one
employee, list posters fused into one person, an internet provider split into "persons", user
edits undone by the next import, a company twice across channels, bookings under the calendar
program's name, cases across companies by a weak reference, list posts counted as marketing, no
view of people. Every source is written here as the real exporters write it.
"""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from tests.hardening.harness import Kluis, assert_clean_failure, open_for_test, run_in_process

ME = "sanne@example.org"
START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
_count = iter(range(1, 1_000_000))


def _mbox(folder: Path, mails: list[tuple[str, str, dict[str, str]]], name: str = "m") -> Path:
    """An mbox of (From, Subject, other headers) mails to the user."""
    path = folder / f"{name}.mbox"
    box = mailbox.mbox(str(path), create=True)
    for sender, subject, headers in mails:
        n = next(_count)
        message = EmailMessage()
        message["From"] = sender
        message["To"] = headers.pop("To", f"Sanne <{ME}>")
        message["Subject"] = subject
        message["Date"] = format_datetime(START + timedelta(hours=n))
        message["Message-ID"] = f"<m{n}@test.example>"
        for header, value in headers.items():
            message[header] = value
        message.set_content(f"{subject}\n\nGroet\n")
        box.add(message)
    box.close()
    return path


def _whatsapp(folder: Path, title: str, lines: list[str], *, business: bool = False) -> Path:
    text = ["04/03/2024, 09:00 - Messages and calls are end-to-end encrypted."]
    if business:
        text.append(
            f"04/03/2024, 09:00 - {title} uses a secure service from Meta to manage this chat."
        )
    for n, line in enumerate(lines):
        who = title if n % 2 == 0 else "Sanne de Vries"
        text.append(f"04/03/2024, 10:{n + next(_count) % 50:02d} - {who}: {line}")
    path = folder / f"WhatsApp Chat with {title}.txt"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def _telegram(folder: Path, chats: list[tuple[str, str, int, list[str]]]) -> Path:
    """A Telegram Desktop export of (name, type, id, their messages) chats."""
    listed = []
    for name, kind, chat_id, lines in chats:
        messages = []
        for n, line in enumerate(lines):
            when = START + timedelta(days=3, minutes=next(_count))
            messages.append(
                {
                    "id": n + 1,
                    "type": "message",
                    "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
                    "date_unixtime": str(int(when.timestamp())),
                    "from": name,
                    "from_id": f"user{chat_id}",
                    "text": line,
                    "text_entities": [{"type": "plain", "text": line}],
                }
            )
        listed.append({"name": name, "type": kind, "id": chat_id, "messages": messages})
    target = folder / f"telegram{next(_count)}"
    target.mkdir()
    export = {
        "personal_information": {"user_id": 1, "first_name": "Sanne", "last_name": "de Vries"},
        "chats": {"about": "", "list": listed},
    }
    (target / "result.json").write_text(json.dumps(export), encoding="utf-8")
    return target


def _import(kluis: Kluis, path: Path, fmt: str) -> None:
    done = run_in_process(kluis, "import", str(path), "--format", fmt, "--me", ME, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["quarantined"] == 0


def _companies(kluis: Kluis) -> dict[str, dict[str, Any]]:
    done = run_in_process(kluis, "companies", "--json")
    assert done.returncode == 0, done.stderr
    return {row["name"]: row for row in json.loads(done.stdout)}


def _json(kluis: Kluis, *args: str) -> Any:
    done = run_in_process(kluis, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ok(kluis: Kluis, *args: str) -> str:
    done = run_in_process(kluis, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def test_a_company_is_named_by_its_brand_never_by_one_employee(
    kluis: Kluis, tmp_path: Path
) -> None:
    mails = [
        ("Nicoletta Bernasconi <nicoletta.bernasconi@ibm.com>", "Re: our meeting", {}),
        ("Priya Raman <priya.raman@ibm.com>", "Re: the quote", {}),
        ("Richard Earnshaw <richard.earnshaw@arm.com>", "Patch review", {}),
        ("Sarah Lin <slin@acme-widgets.com>", "Quote", {"Organization": "ACME Widgets B.V."}),
        ("Femke | Coolblue <femke@coolblue.nl>", "Je vraag", {}),
        ("Coolblue Klantenservice <klantenservice@coolblue.nl>", "Re: je vraag", {}),
    ]
    _import(kluis, _mbox(tmp_path, mails), "mbox")
    companies = _companies(kluis)
    assert {n: c["interactions"] for n, c in companies.items()} == {
        "Ibm": 2,
        "Arm": 1,
        "ACME Widgets": 1,
        "Coolblue": 2,
    }
    assert {c["kind"] for c in companies.values()} == {"company"}


def test_list_posts_of_many_people_are_one_list_and_never_fuse_the_posters(
    kluis: Kluis, tmp_path: Path
) -> None:
    lkml = {
        "List-Id": "<linux-kernel.vger.kernel.org>",
        "Sender": "linux-kernel-owner@vger.kernel.org",
        "List-Unsubscribe": "<mailto:majordomo@vger.kernel.org?body=unsubscribe%20linux-kernel>",
    }
    posters = [f"Poster {c} <p{c}-Xy1@public.gmane.org>" for c in "ABCDEFGH"]
    mails = [(p, f"[PATCH {n}/9] mm: fix", dict(lkml)) for n, p in enumerate(posters)]
    mails.append(("Ivan Suse <ivan@suse.de>", "[PATCH 9/9] mm: fix", dict(lkml)))
    mails += [
        (
            f"'{who}' via Kluis Users <kluis-users@googlegroups.com>",
            "Re: import",
            {"List-Id": "<kluis-users.googlegroups.com>", "X-Original-Sender": address},
        )
        for who, address in [("Bob Jones", "bob.jones@gmail.com"), ("Anna Kim", "anna@kim.example")]
    ]
    mails += [
        (
            who,
            "Re: sieve",
            {
                "List-Id": "Dovecot Mailing List <dovecot.dovecot.org>",
                "List-Post": "<mailto:dovecot@dovecot.org>",
                "Precedence": "list",
            },
        )
        for who in ["Timo Sirainen <tss@iki.fi>", "Aki Tuomi <aki.tuomi@open-xchange.com>"]
    ]
    mails.append(("Bob Jones <bob.jones@gmail.com>", "Koffie?", {}))  # Bob himself, not the list
    _import(kluis, _mbox(tmp_path, mails), "mbox")
    companies = _companies(kluis)
    assert {n: (c["kind"], c["interactions"]) for n, c in companies.items()} == {
        "linux-kernel": ("list", 9),
        "Kluis Users": ("list", 2),
        "Dovecot Mailing List": ("list", 2),
        "Bob Jones": ("person", 1),
    }
    # A list's unsubscribe link is the list's: no poster is anyone's marketing, and a list is
    # never a company to ask for erasure.
    consent = {row["company"]: row for row in _json(kluis, "consent")}
    assert not any(row["marketing"] or row["dormant"] for row in consent.values())
    assert consent["linux-kernel"]["unsubscribe"]


def test_an_internet_providers_role_mail_is_the_provider_and_its_customers_are_people(
    kluis: Kluis, tmp_path: Path
) -> None:
    mails = [
        (
            "Ziggo <noreply@ziggo.nl>",
            "Je nieuwe factuur",
            {"List-Unsubscribe": "<mailto:u@ziggo.nl>"},
        ),
        ("Ziggo Klantenservice <klantenservice@ziggo.nl>", "Re: monteur", {}),
        ("Ziggo <service@ziggo.nl>", "Storing opgelost", {}),
        ("Henk de Boer <henk.deboer@ziggo.nl>", "Verjaardag", {}),
        ("Gerrit Mulder <gerrit1957@kpnmail.nl>", "De tuin", {}),
        ("KPN <noreply@kpnmail.nl>", "Je factuur", {}),
    ]
    _import(kluis, _mbox(tmp_path, mails), "mbox")
    companies = _companies(kluis)
    assert {n: (c["kind"], c["interactions"]) for n, c in companies.items()} == {
        "Ziggo": ("company", 3),
        "KPN": ("company", 1),
        "Henk de Boer": ("person", 1),
        "Gerrit Mulder": ("person", 1),
    }
    assert "Ziggo — newest first" in _ok(kluis, "timeline", "Ziggo")
    assert "Ziggo" in {row["company"] for row in _json(kluis, "consent")}


def test_user_edits_win_over_every_rule_on_every_later_import(kluis: Kluis, tmp_path: Path) -> None:
    first = [
        ("KLM <noreply@klm.com>", "Je boeking", {}),
        ("Ziggo <noreply@ziggo.nl>", "Je factuur", {}),
        ("Ziggo Zakelijk <zakelijk@ziggo.nl>", "Je zakelijke factuur", {}),
        ("Transavia <news@transavia.com>", "Zon!", {}),
        ("Amazon <a@amazon.nl>", "Bestelling", {}),
    ]
    _import(kluis, _mbox(tmp_path, first, "first"), "mbox")
    _import(
        kluis,
        _whatsapp(tmp_path, "KLM", ["Hoe kunnen we helpen?", "Koffer kwijt"], business=True),
        "whatsapp",
    )
    ids = {n: c["id"] for n, c in _companies(kluis).items()}
    assert set(ids) == {"KLM", "Ziggo", "Ziggo Zakelijk", "Transavia", "Amazon"}
    _ok(kluis, "company", "rename", str(ids["KLM"]), "My airline")
    _ok(kluis, "company", "alias", str(ids["KLM"]), "klm.nl")
    _ok(kluis, "company", "merge", "Transavia", "--into", str(ids["KLM"]))
    _ok(kluis, "company", "alias", str(ids["Ziggo"]), "zakelijk@ziggo.nl")
    _ok(kluis, "company", "alias", str(ids["Ziggo"]), "ziggo.nl")
    _ok(kluis, "company", "alias", str(ids["Amazon"]), "b@amazon.nl")
    _ok(kluis, "company", "split", "Amazon", "b@amazon.nl", "--name", "Amazon seller")
    later = [
        ("KLM Royal Dutch Airlines <info@klm.com>", "Check in", {}),
        ("KLM <news@mail.klm.nl>", "Aanbieding", {}),
        ("Transavia <service@transavia.com>", "Je vlucht", {}),
        ("Ziggo Klantenservice <klantenservice@ziggo.nl>", "Re: storing", {}),
        ("Ziggo Zakelijk <zakelijk@ziggo.nl>", "Nog een factuur", {}),
        ("Henk de Boer <henk.deboer@ziggo.nl>", "Verjaardag", {}),
        ("Amazon <b@amazon.nl>", "Seller bericht", {}),
    ]
    _import(kluis, _mbox(tmp_path, later, "later"), "mbox")
    _import(
        kluis,
        _whatsapp(tmp_path, "KLM", ["Je koffer is er", "Dank!", "Graag"], business=True),
        "whatsapp",
    )
    bcbp = tmp_path / "pass.txt"
    bcbp.write_text(
        "M1DEVRIES/SANNE       E2KED9SZAMSVIEKL 1843 054Y012A0031 100", encoding="utf-8"
    )
    _import(kluis, bcbp, "bcbp")
    companies = _companies(kluis)
    assert {n: c["interactions"] for n, c in companies.items()} == {
        # mail, chat (two lines, two notices), Transavia's mail; three later mails, three
        # chat lines, the pass
        "My airline": 1 + 4 + 1 + 3 + 3 + 1,
        "Ziggo": 4,
        "Henk de Boer": 1,
        "Amazon": 1,
        "Amazon seller": 1,
    }
    assert companies["My airline"]["domains"] == ["klm.com", "klm.nl", "transavia.com"]


def test_chat_pages_bots_and_business_accounts_join_the_mail_company_or_are_suggested(
    kluis: Kluis, tmp_path: Path
) -> None:
    mails = [
        ("Coolblue Klantenservice <klantenservice@coolblue.nl>", "Je bestelling", {}),
        ("bol.com <automail@bol.com>", "Je pakket", {}),
        ("NS <noreply@ns.nl>", "Je e-ticket", {}),
        ("Gazelle <info@gazelle.nl>", "Onderhoud", {}),
    ]
    _import(kluis, _mbox(tmp_path, mails), "mbox")
    _import(
        kluis,
        _whatsapp(tmp_path, "Coolblue", ["Hoi!", "Waar is mijn pakket?"], business=True),
        "whatsapp",
    )
    chats = [
        ("bol.com Klantenservice", "bot_chat", 7100, ["Waar is mijn pakket?", "Vandaag."]),
        ("NS Reisinformatie", "public_channel", 7200, ["Storing Utrecht"]),
        ("Fietsservice Noord", "bot_chat", 7300, ["Je fiets kan opgehaald worden, zie gazelle.nl"]),
    ]
    _import(kluis, _telegram(tmp_path, chats), "telegram")
    companies = _companies(kluis)
    assert {n: c["interactions"] for n, c in companies.items()} == {
        "Coolblue": 5,  # the mail, two chat lines and WhatsApp's two notices
        "bol.com": 3,
        "NS": 2,
        "Gazelle": 1,
        "Fietsservice Noord": 1,
    }
    suggested = _json(kluis, "company", "suggest")
    assert [(s["source"], s["target"]) for s in suggested] == [("Fietsservice Noord", "Gazelle")]
    assert suggested[0]["evidence"] == ["the chat names gazelle.nl"]
    _ok(kluis, "company", "reject", suggested[0]["id"])
    assert _json(kluis, "company", "suggest") == []  # remembered
    more = [("Fietsservice Noord", "bot_chat", 7300, ["Je fiets is klaar, gazelle.nl/onderhoud"])]
    _import(kluis, _telegram(tmp_path, more), "telegram")
    assert _json(kluis, "company", "suggest") == []  # still remembered after an import


def test_accepting_a_suggestion_merges_and_undo_takes_it_back(kluis: Kluis, tmp_path: Path) -> None:
    _import(kluis, _mbox(tmp_path, [("Gazelle <info@gazelle.nl>", "Onderhoud", {})]), "mbox")
    chats = [("Fietsservice Noord", "bot_chat", 7300, ["Zie gazelle.nl voor de afspraak"])]
    _import(kluis, _telegram(tmp_path, chats), "telegram")
    suggestion = _json(kluis, "company", "suggest")[0]
    assert "Merged 'Fietsservice Noord' into 'Gazelle'" in _ok(
        kluis, "company", "accept", suggestion["id"]
    )
    assert {n: c["interactions"] for n, c in _companies(kluis).items()} == {"Gazelle": 2}
    _ok(kluis, "company", "undo")
    assert set(_companies(kluis)) == {"Gazelle", "Fietsservice Noord"}
    for wrong in ("banana", "999-998"):
        line = assert_clean_failure(run_in_process(kluis, "company", "accept", wrong), 2)
        assert "suggestion" in line


def test_bookings_are_filed_under_the_business_never_the_calendar_program(
    kluis: Kluis, tmp_path: Path
) -> None:
    _import(kluis, _mbox(tmp_path, [("KLM <noreply@klm.com>", "Je boeking", {})]), "mbox")
    no_organizer = tmp_path / "dinner.ics"
    no_organizer.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hacksw/handcal//NONSGML v1.0//EN\r\n"
        "BEGIN:VEVENT\r\nUID:19970610T172345Z-AF23B2@example.com\r\nDTSTAMP:19970610T172345Z\r\n"
        "DTSTART:19970714T170000Z\r\nDTEND:19970715T040000Z\r\nSUMMARY:Bastille Day Party\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    _import(kluis, no_organizer, "ics")
    organizer = tmp_path / "table.ics"
    organizer.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hacksw/handcal//NONSGML v1.0//EN\r\n"
        "BEGIN:VEVENT\r\nUID:dekas-77121@restaurantdekas.nl\r\nDTSTAMP:20240110T120000Z\r\n"
        "DTSTART:20240215T180000Z\r\nSUMMARY:Reservering Restaurant De Kas\r\n"
        "ORGANIZER;CN=Restaurant De Kas:mailto:reserveringen@restaurantdekas.nl\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    _import(kluis, organizer, "ics")
    uid_only = tmp_path / "again.ics"
    uid_only.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hacksw/handcal//NONSGML v1.0//EN\r\n"
        "BEGIN:VEVENT\r\nUID:dekas-80412@restaurantdekas.nl\r\nDTSTAMP:20240301T120000Z\r\n"
        "DTSTART:20240410T170000Z\r\nSUMMARY:Reservering Restaurant De Kas\r\n"
        "DESCRIPTION:Reserveringsnummer 7HK2QXR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    _import(kluis, uid_only, "ics")  # no ORGANIZER: the UID's host says who
    bcbp = tmp_path / "pass.txt"
    bcbp.write_text(
        "M1DEVRIES/SANNE       E2KED9SZAMSVIEKL 1843 054Y012A0031 100", encoding="utf-8"
    )
    _import(kluis, bcbp, "bcbp")
    order = tmp_path / "order.json"
    order.write_text(
        json.dumps(
            {
                "@context": "http://schema.org",
                "@type": "Order",
                "orderNumber": "BOL-8830-2291-7",
                "seller": {"@type": "Organization", "name": "Fietsplaats Utrecht"},
                "broker": {"@type": "Organization", "name": "bol.com"},
                "orderDate": "2024-03-01T10:00:00+01:00",
                "acceptedOffer": {"@type": "Offer", "itemOffered": {"name": "Fietsslot"}},
            }
        ),
        encoding="utf-8",
    )
    _import(kluis, order, "jsonld")
    names = {n: c["interactions"] for n, c in _companies(kluis).items()}
    assert "hacksw/handcal" not in names, names
    assert names.get("KLM") == 2, names  # the mail, and the pass whose code KL names the airline
    assert names["Restaurant De Kas"] == 2
    assert names["bol.com"] == 1  # the platform the user bought from
    with open_for_test(kluis.vault).reader() as conn:
        details = json.loads(
            conn.execute("SELECT details FROM booking WHERE kind='order'").fetchone()[0]
        )
    assert details["seller"] == "Fietsplaats Utrecht"  # and the seller is kept


def test_a_case_never_spans_companies_by_a_weak_reference(kluis: Kluis, tmp_path: Path) -> None:
    def reservation(name: str, provider: str, kind: str, when: str) -> Path:
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "@context": "http://schema.org",
                    "@type": kind,
                    "reservationNumber": "XXX007",
                    "reservationFor": {
                        "@type": "Event" if kind == "EventReservation" else "LodgingBusiness",
                        "name": provider,
                        "startDate": when,
                        "organizer" if kind == "EventReservation" else "provider": {
                            "@type": "Organization",
                            "name": provider,
                        },
                    },
                    "checkinTime": when,
                }
            ),
            encoding="utf-8",
        )
        return path

    _import(
        kluis,
        reservation("hotel.json", "Hilton", "LodgingReservation", "2024-05-01T15:00:00+02:00"),
        "jsonld",
    )
    _import(
        kluis,
        reservation("event.json", "Eventbrite", "EventReservation", "2024-06-01T20:00:00+02:00"),
        "jsonld",
    )
    _import(
        kluis,
        reservation("bare.json", "", "LodgingReservation", "2024-07-01T15:00:00+02:00"),
        "jsonld",
    )
    companies = _companies(kluis)
    # The reference alone is too weak to file a document naming no one under Hilton.
    assert {n: c["interactions"] for n, c in companies.items()} == {
        "Hilton": 1,
        "Eventbrite": 1,
        "Unknown": 1,
    }
    for company in companies.values():
        item = _json(kluis, "timeline", str(company["id"]))[0]
        assert _json(kluis, "show", str(item["id"]))["case"] == []


def test_people_are_one_contact_across_mail_and_chats(kluis: Kluis, tmp_path: Path) -> None:
    _import(
        kluis, _mbox(tmp_path, [("Lisa Bakker <lisa.bakker@gmail.com>", "Etentje?", {})]), "mbox"
    )
    _import(kluis, _whatsapp(tmp_path, "Lisa Bakker", ["Zie je morgen!", "Ja!"]), "whatsapp")
    chats = [
        ("Lisa Bakker", "personal_chat", 5551, ["Film vanavond?"]),
        ("Lisa", "personal_chat", 5552, ["Hoi"]),
    ]
    _import(kluis, _telegram(tmp_path, chats), "telegram")
    _import(kluis, _whatsapp(tmp_path, "+31 6 12345678", ["Nieuw nummer, Lisa"]), "whatsapp")
    people = {p["name"]: p for p in _json(kluis, "people")}
    assert set(people) == {"Lisa Bakker", "Lisa", "+31 6 12345678"}
    assert sorted(people["Lisa Bakker"]["channels"]) == ["email", "telegram", "whatsapp"]
    assert people["Lisa Bakker"]["addresses"] == ["lisa.bakker@gmail.com"]
    suggested = _json(kluis, "people", "suggest")
    assert [(s["source"], s["target"]) for s in suggested] == [("Lisa", "Lisa Bakker")]
    _ok(kluis, "people", "accept", suggested[0]["id"])
    # The user says the number is Lisa's: her next chat from that number joins her.
    _ok(kluis, "company", "alias", "Lisa Bakker", "+31 6 12345678")
    _import(kluis, _whatsapp(tmp_path, "+31 6 12345678", ["Nog een bericht", "Top"]), "whatsapp")
    people = {p["name"]: p for p in _json(kluis, "people")}
    assert people["Lisa Bakker"]["phones"] == ["+31612345678"]
    # mail, WhatsApp (two lines, a notice), Telegram, "Lisa" accepted, the new chat's lines
    assert people["Lisa Bakker"]["interactions"] == 1 + 3 + 1 + 1 + 2


def test_a_chat_the_user_split_off_stays_apart_on_later_imports(
    kluis: Kluis, tmp_path: Path
) -> None:
    _import(kluis, _mbox(tmp_path, [("Picnic <hallo@picnic.app>", "Je boodschappen", {})]), "mbox")
    _import(
        kluis,
        _whatsapp(tmp_path, "Picnic", ["Je bezorger komt", "Dank"], business=True),
        "whatsapp",
    )
    assert set(_companies(kluis)) == {"Picnic"}  # the business account joined the mail company
    _ok(kluis, "company", "split", "Picnic", "whatsapp:picnic", "--name", "Picnic bezorging")
    _import(
        kluis, _whatsapp(tmp_path, "Picnic", ["Morgen tussen 9 en 10"], business=True), "whatsapp"
    )
    companies = {n: c["interactions"] for n, c in _companies(kluis).items()}
    assert companies == {"Picnic": 1, "Picnic bezorging": 5}  # four then, one line now
