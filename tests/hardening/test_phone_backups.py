"""Android phone backups ("SMS Backup & Restore" XML) through ``kluis import`` into a real vault.

Texts, MMS and calls arrive as the user's phone showed them; organisations that text (``PostNL``,
``ING``, short codes) are companies and join the same company's mail; hostile backups end in a
quarantine entry with the reason, never a traceback, a hang or unbounded memory.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.hardening.harness import (
    LONG,
    Kluis,
    assert_clean_failure,
    count,
    open_for_test,
    record_peak,
    run_in_process,
)
from vault.store import execute

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sms"
SMS = FIXTURES / "sms-20241205201433.xml"
CALLS = FIXTURES / "calls-20241205201435.xml"
HEAD = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
    "<!--File Created By SMS Backup &amp; Restore v10.20.002 on 05/12/2024 20:14:33-->\n"
)


def sms(address: str, when_ms: int, body: str, kind: int = 1, contact: str = "(Unknown)") -> str:
    """One ``<sms>`` element as the app writes it."""
    return (
        f'  <sms protocol="0" address="{address}" date="{when_ms}" type="{kind}" subject="null" '
        f'body="{body}" toa="null" sc_toa="null" service_center="null" read="1" status="-1" '
        f'locked="0" date_sent="0" sub_id="1" readable_date="" contact_name="{contact}" />\n'
    )


def backup(*elements: str, root: str = "smses") -> bytes:
    """A whole backup file of ``elements``."""
    return f'{HEAD}<{root} count="{len(elements)}">\n{"".join(elements)}</{root}>\n'.encode()


def imported(kluis: Kluis, *paths: Path | str) -> dict[str, int]:
    done = run_in_process(kluis, "import", *map(str, paths), "--json")
    assert done.returncode in (0, 3), done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()
    summary: dict[str, int] = json.loads(done.stdout)
    return summary


def reasons(kluis: Kluis) -> str:
    """Every quarantine reason in the vault, one a line."""
    store = open_for_test(kluis.vault)
    try:
        with store.reader() as conn:
            rows = execute(conn, "SELECT reason FROM quarantine ORDER BY id").all()
    finally:
        store.close()
    return "\n".join(str(row[0]) for row in rows)


def companies(kluis: Kluis) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in kluis.json("companies")}


def timeline(kluis: Kluis, company: str, *args: str) -> list[dict[str, object]]:
    done = run_in_process(kluis, "timeline", company, *args, "--json")
    assert done.returncode == 0, done.stderr.decode()
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


def test_texts_from_postnl_join_postnl_mail_and_people_stay_people(kluis: Kluis) -> None:
    assert imported(kluis, FIXTURES / "postnl-mail.eml")["new"] == 1
    assert imported(kluis, SMS)["new"] == 7
    found = companies(kluis)
    assert found["PostNL"]["kind"] == "company"
    assert found["PostNL"]["domains"] == ["postnl.nl"]
    assert found["PostNL"]["interactions"] == 2  # the mail and the text
    assert found["ING"]["kind"] == "company"
    assert found["Sanne de Vries"]["kind"] == "person"
    texts = timeline(kluis, "PostNL", "--channel", "sms")
    assert [t["direction"] for t in texts] == ["in"]
    assert texts[0]["occurred_at"] == "2024-12-03T09:15:00+00:00"


def test_sent_received_and_failed_texts_keep_their_direction_and_local_time(kluis: Kluis) -> None:
    done = run_in_process(kluis, "import", str(SMS), "--timezone", "Europe/Amsterdam")
    assert done.returncode == 0, done.stderr.decode()
    items = timeline(kluis, "Sanne de Vries", "--channel", "sms")
    by_title = {str(i["title"]): i for i in items}
    assert by_title["Hoi! Zijn we morgen nog om 8 uur bij het station?"]["direction"] == "in"
    sent = by_title["Ja, tot morgen!"]
    assert sent["direction"] == "out"
    assert sent["occurred_at"] == "2024-12-04T12:02:00+01:00"  # epoch ms, in the user's zone
    assert by_title["(failed) Vergeten: neem jij de kaartjes?"]["direction"] == "out"


def test_mms_photos_and_vcards_are_attachments_and_group_mms_is_one_thread(kluis: Kluis) -> None:
    imported(kluis, SMS)
    group = timeline(kluis, "Sanne de Vries, Pieter Jansen")
    assert len(group) == 1
    shown = kluis.json("show", str(group[0]["id"]))
    assert shown["body"] == "Kijk, de treinkaartjes voor morgen"
    assert [(a["filename"], a["mime"]) for a in shown["attachments"]] == [
        ("IMG_20241205_125912.png", "image/png")
    ]
    sanne = timeline(kluis, "Sanne de Vries")
    vcard = next(i for i in sanne if i["title"] == "[Pieter Jansen.vcf]")
    attachments = kluis.json("show", str(vcard["id"]))["attachments"]
    assert [(a["filename"], a["mime"], a["size"]) for a in attachments] == [
        ("Pieter Jansen.vcf", "text/x-vcard", 95)
    ]


def test_the_apps_backup_folder_imports_texts_and_calls(kluis: Kluis, tmp_path: Path) -> None:
    folder = tmp_path / "SMSBackupRestore"
    folder.mkdir()
    for source in (SMS, CALLS):
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "outside.xml").symlink_to(SMS)  # a link leading out of the folder: not read
    summary = imported(kluis, folder)
    assert (summary["new"], summary["quarantined"]) == (10, 1)
    assert "leads out of the source folder" in reasons(kluis)


def test_call_log_joins_the_person_texted(kluis: Kluis) -> None:
    imported(kluis, SMS)
    assert imported(kluis, CALLS)["new"] == 3
    calls = timeline(kluis, "Sanne de Vries", "--channel", "call")
    assert sorted(str(c["title"]) for c in calls) == ["Incoming call, 0:42", "Outgoing call, 3:05"]


def test_calls_from_hidden_numbers_are_no_one_and_no_company(kluis: Kluis, tmp_path: Path) -> None:
    calls = tmp_path / "calls.xml"
    hidden = (
        f'  <call number="{n}" duration="0" date="{1733313600000 + i}" type="3" '
        'presentation="2" readable_date="" contact_name="(Unknown)" />\n'
        for i, n in enumerate(("-2", "-1", ""))
    )
    calls.write_bytes(backup(*hidden, root="calls"))
    assert imported(kluis, calls)["new"] == 3
    assert [c["name"] for c in companies(kluis).values()] == ["Unknown"]


def test_reimport_and_an_overlapping_second_backup_add_nothing_twice(
    kluis: Kluis, tmp_path: Path
) -> None:
    first = tmp_path / "sms-1.xml"
    second = tmp_path / "sms-2.xml"
    one = sms("KLM", 1733000000000, "Uw vlucht KL1234 vertrekt om 10:05 van gate D7.")
    two = sms("+31612345678", 1733000060000, "ok", contact="Sanne")
    three = sms("+31612345678", 1733000120000, "ok", contact="Sanne")  # same text, new message
    first.write_bytes(backup(one, two))
    second.write_bytes(backup(one, two, three))
    assert imported(kluis, first)["new"] == 2
    assert imported(kluis, first)["new"] == 0
    summary = imported(kluis, second)
    assert (summary["new"], summary["duplicate"]) == (1, 2)


def test_sniffed_without_format_and_with_format_sms(kluis: Kluis, tmp_path: Path) -> None:
    renamed = tmp_path / "backup"  # no .xml: the content tells
    renamed.write_bytes(backup(sms("3669", 1733000000000, "Uw code is 1234")))
    assert imported(kluis, renamed)["new"] == 1
    assert companies(kluis)["3669"]["kind"] == "company"  # a short code is an organisation
    other = tmp_path / "notes.xml"
    other.write_text("<?xml version='1.0'?><notes><note/></notes>")
    done = run_in_process(kluis, "import", str(other))
    assert "does not recognise" in assert_clean_failure(done, 2)


# --- hostile backups -----------------------------------------------------------------------------


def hostile(kluis: Kluis, tmp_path: Path, name: str, data: bytes) -> tuple[dict[str, int], str]:
    """Import ``data`` by the real CLI in a subprocess (timeout, memory limit): the summary and
    the quarantine's reasons."""
    path = tmp_path / name
    path.write_bytes(data)
    done = kluis.run("import", str(path), "--format", "sms", "--json")
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr[-2000:]
    assert done.returncode in (0, 3), (done.returncode, stderr[-2000:])
    count("hostile", "sms backup")
    return json.loads(done.stdout), reasons(kluis)


def test_billion_laughs_is_refused_unexpanded(kluis: Kluis, tmp_path: Path) -> None:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    data = (
        f"<?xml version='1.0'?>\n<!DOCTYPE smses [{entities}]>\n"
        f'<smses count="1">{sms("ING", 1733000000000, "&a9;")}</smses>'
    ).encode()
    path = tmp_path / "laughs.xml"
    path.write_bytes(data)
    done = kluis.run("import", str(path), "--format", "sms", "--json")
    # Nothing in it is an SMS kluis reads: exit 2, one line that says the DTD was refused.
    assert "DTD" in assert_clean_failure(done, 2)
    count("hostile", "sms backup")


def test_external_entity_is_never_read(kluis: Kluis, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-7f3e")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE smses [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        f'<smses count="1">{sms("ING", 1733000000000, "&x;")}</smses>'
    ).encode()
    path = tmp_path / "xxe.xml"
    path.write_bytes(data)
    done = kluis.run("import", str(path), "--format", "sms", "--json")
    assert "DTD" in assert_clean_failure(done, 2)
    assert "CANARY" not in done.stdout.decode() + done.stderr.decode()
    assert "CANARY" not in json.dumps(kluis.json("search", "CANARY"))


def test_truncated_backup_keeps_the_messages_before_the_cut(kluis: Kluis, tmp_path: Path) -> None:
    whole = backup(*(sms("PostNL", 1733000000000 + i * 1000, f"Bericht {i}") for i in range(5)))
    summary, why = hostile(kluis, tmp_path, "cut.xml", whole[: whole.index(b"Bericht 3") - 40])
    assert summary["new"] == 3 and summary["quarantined"] == 1
    assert "malformed XML at line" in why


def test_bad_values_quarantine_only_their_message(kluis: Kluis, tmp_path: Path) -> None:
    garbage = (
        '  <mms date="1733000300000" msg_box="1" address="+31612345678" contact_name="Sanne">'
        '<parts><part seq="0" ct="text/plain" text="Foto"/>'
        '<part seq="0" ct="image/jpeg" name="a.jpg" data="%%%not base64%%%"/></parts></mms>\n'
    )
    data = backup(
        sms("ING", 1733000000000, "goed"),
        sms("ING", "morgen", "datum kapot"),  # type: ignore[arg-type]
        sms("ING", 99999999999999999999999, "ver weg"),
        garbage,
    )
    summary, why = hostile(kluis, tmp_path, "values.xml", data)
    assert (summary["new"], summary["quarantined"]) == (2, 2)
    assert "date is not a number" in why and "out of range" in why
    photo = timeline(kluis, "Sanne")[0]
    shown = kluis.json("show", str(photo["id"]))
    assert "a.jpg: its data is not valid base64" in shown["body"]


def test_one_endless_element_is_refused_in_bounded_memory(kluis: Kluis, tmp_path: Path) -> None:
    size = (200 if LONG else 40) * 1024 * 1024
    path = tmp_path / "endless.xml"
    with path.open("wb") as out:
        out.write(backup(sms("ING", 1733000000000, "eerst")).rsplit(b"</smses>", 1)[0])
        out.write(b'  <sms address="ING" date="1733000001000" type="1" body="')
        chunk = base64.b64encode(b"x" * 3 * 1024 * 1024)
        for _ in range(size // len(chunk) + 1):
            out.write(chunk)
        out.write(b'" />\n</smses>\n')
    measured = kluis.measure("import", str(path), "--json")
    assert measured.done.returncode in (0, 3), measured.done.stderr.decode()[-2000:]
    summary = json.loads(measured.done.stdout)
    assert (summary["new"], summary["quarantined"]) == (1, 1)
    assert "over the 32 MB limit" in reasons(kluis)


def test_a_large_backup_streams_in_flat_memory(kluis: Kluis, tmp_path: Path) -> None:
    messages = 200_000 if LONG else 2_000
    path = tmp_path / "sms-large.xml"
    with path.open("wb") as out:
        out.write(backup().rsplit(b"</smses>", 1)[0])
        for i in range(messages):
            text = f"Bericht {i}: " + "tot straks bij het station " * 4
            out.write(
                sms(f"+316{i % 500:08d}", 1700000000000 + i * 60_000, text, 1 + i % 2).encode()
            )
        out.write(b"</smses>\n")
    measured = kluis.measure("import", str(path), "--json", timeout=1800)
    assert measured.done.returncode == 0, measured.done.stderr.decode()[-2000:]
    assert json.loads(measured.done.stdout)["new"] == messages
    record_peak(f"sms backup of {messages:,} texts", measured.peak_mb)
    assert measured.peak_mb < 250, measured.peak_mb  # 75 MB of XML at 200,000: never held whole


def test_a_sender_id_joins_the_company_of_its_mail_domain(kluis: Kluis, tmp_path: Path) -> None:
    senders = {
        "klm": "KLM Royal Dutch Airlines <noreply@info.klm.com>",  # named otherwise: by domain
        "dhl-1": "DHL Parcel <noreply@dhlparcel.nl>",
        "dhl-2": "DHL Express <noreply@dhl.com>",
    }
    for name, sender in senders.items():
        (tmp_path / f"{name}.eml").write_text(
            f"From: {sender}\nTo: me@example.org\nSubject: {name}\n"
            f"Date: Mon, 02 Dec 2024 18:00:00 +0100\nMessage-ID: <{name}@test>\n\nHallo\n"
        )
        imported(kluis, tmp_path / f"{name}.eml")
    texts = tmp_path / "sms.xml"
    texts.write_bytes(
        backup(
            sms("KLM", 1733000000000, "Uw vlucht KL1234 vertrekt om 10:05."),
            sms("DHLParcel", 1733000001000, "Je pakket komt vandaag."),
            sms("DHL", 1733000002000, "Uw zending is onderweg."),
        )
    )
    assert imported(kluis, texts)["new"] == 3
    found = companies(kluis)
    assert found["KLM Royal Dutch Airlines"]["interactions"] == 2
    assert found["DHL Parcel"]["interactions"] == 2
    # "DHL" is the label of dhl.com only: DHL Express. Never two companies' mail at once.
    assert found["DHL Express"]["interactions"] == 2
