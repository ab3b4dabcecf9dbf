"""Nothing outside the chosen source is read, whatever a file in it names or links to.

Each case imports an export by the real CLI, beside a fake ``~/.ssh/id_rsa`` (and other files
with a canary) that the export tries to reach: a Messenger ``uri`` looked up above its thread,
``..``, an absolute path, a link inside the export pointing out, a Maildir whose ``cur/`` is a
link, links among a folder's mail files, a WhatsApp subfolder and media file leading out. Then
``kluis export`` writes everything the vault holds, and the canary must be in none of it; what
was refused is quarantined, or noted beside the message as a missing attachment, with a reason.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

from tests.hardening.generate import mail_bytes, meta_message, meta_thread, raw_zip, whatsapp_text
from tests.hardening.harness import IMPORTED, Kluis, count

CANARY = b"kluis-canary-" + secrets.token_hex(12).encode()
KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + CANARY + b"\n-----END OPENSSH PRIVATE KEY-----\n"
MESSENGER_HTML = Path(__file__).parents[1] / "fixtures" / "messenger_html" / "facebook-2020"


def secret_home(home: Path) -> Path:
    """A home folder with an SSH key and a mail of someone else's, beside ``Downloads``."""
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_bytes(KEY)
    (home / "Downloads").mkdir()
    return home / ".ssh" / "id_rsa"


def imported(kluis: Kluis, path: Path, *args: str) -> dict[str, Any]:
    """``kluis import PATH --json``, which must end with a summary and no error."""
    done = kluis.run("import", str(path), "--json", *args)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode in IMPORTED and "Traceback" not in stderr, stderr[-2000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    assert summary["errors"] == 0, summary
    return summary


def exported(kluis: Kluis, folder: Path) -> dict[str, bytes]:
    """Everything the vault holds, as ``kluis export`` writes it, with no canary anywhere."""
    done = kluis.run("export", "--out", str(folder))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    leaked = sorted(name for name, data in files.items() if CANARY in data)
    count("canary", "export of a confined import", len(leaked))
    assert not leaked, f"the canary from outside the source is in {leaked}"
    return files


def rows(files: dict[str, bytes], table: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in files.get(f"{table}.jsonl", b"").splitlines() if line]


def media_notes(files: dict[str, bytes]) -> list[dict[str, Any]]:
    """Every ``extras["media"]`` entry of the exported chat messages."""
    notes: list[dict[str, Any]] = []
    for row in rows(files, "interaction"):
        media = (row.get("extras") or {}).get("media")
        notes += media if isinstance(media, list) else [media] if media else []
    return notes


def quarantine_reasons(files: dict[str, bytes]) -> dict[str, str]:
    return {row["source_ref"]: row["reason"] for row in rows(files, "quarantine")}


def file_message(n: int, uri: str) -> dict[str, object]:
    return {**meta_message(n, f"see file {n}"), "files": [{"uri": uri}]}


# --- Messenger -----------------------------------------------------------------------------------


def test_a_messenger_uri_never_reaches_the_users_ssh_key(kluis: Kluis, tmp_path: Path) -> None:
    key = secret_home(tmp_path / "sanne")
    export = tmp_path / "sanne" / "Downloads" / "facebook-sanne-2024"
    thread = export / "messages" / "inbox" / "garagesmit_4fe2a"
    (thread / "photos").mkdir(parents=True)
    (thread / "photos" / "invoice.png").write_bytes(b"\x89PNG a real photo")
    (thread / "photos" / "key.png").symlink_to(key)
    uris = [
        ".ssh/id_rsa",  # found five folders above the thread until now
        "../../../../.ssh/id_rsa",
        str(key),
        f"file://{key}",
        "messages/inbox/garagesmit_4fe2a/photos/key.png",  # a link inside pointing out
    ]
    messages = [file_message(n, uri) for n, uri in enumerate(uris)]
    messages.append(file_message(9, "messages/inbox/garagesmit_4fe2a/photos/invoice.png"))
    (thread / "message_1.json").write_text(meta_thread(messages))

    summary = imported(kluis, export)

    assert summary["new"] == len(messages), summary
    files = exported(kluis, tmp_path / "export")
    attached = [row["filename"] for row in rows(files, "attachment")]
    assert attached == ["invoice.png"], attached
    notes = {note["uri"]: note for note in media_notes(files)}
    for uri in uris:
        assert notes[uri]["attached"] is False, notes[uri]
    # What exists but is refused says why (the URL is only described, as before).
    for uri in (uris[0], uris[1], uris[2], uris[4]):
        reason = notes[uri].get("missing", "")
        assert reason and "\n" not in reason, notes[uri]
    count("hostile", "paths leading out of a source", len(uris))


def test_an_export_unpacked_into_home_cannot_reach_home(kluis: Kluis, tmp_path: Path) -> None:
    home = tmp_path / "sanne"
    secret_home(home)
    thread = home / "messages" / "inbox" / "garagesmit_4fe2a"  # the export root is home itself
    thread.mkdir(parents=True)
    (thread / "message_1.json").write_text(meta_thread([file_message(1, ".ssh/id_rsa")]))

    assert imported(kluis, home / "messages")["new"] == 1
    files = exported(kluis, tmp_path / "export")
    [note] = media_notes(files)
    assert note["attached"] is False and note["missing"], note
    count("hostile", "paths leading out of a source")


def test_messenger_html_links_are_read_only_inside_the_export(kluis: Kluis, tmp_path: Path) -> None:
    secret_home(tmp_path / "sanne")
    export = tmp_path / "sanne" / "Downloads" / "facebook-2020"
    shutil.copytree(MESSENGER_HTML, export)
    page = next(export.rglob("message_1.html"))
    photo = "messages/inbox/kapsalonlotte_4fe2a/photos/10158227731_kapsel.png"
    page.write_text(page.read_text().replace(photo, ".ssh/id_rsa"))

    summary = imported(kluis, export, "--format", "messenger")

    assert summary["new"] > 0, summary
    files = exported(kluis, tmp_path / "export")
    assert all(row["filename"] != "id_rsa" for row in rows(files, "attachment"))
    assert any(note.get("missing") for note in media_notes(files))
    count("hostile", "paths leading out of a source")


def test_a_symbolic_link_member_of_a_messenger_zip_is_never_followed(
    kluis: Kluis, tmp_path: Path
) -> None:
    key = secret_home(tmp_path / "sanne")
    thread = "messages/inbox/garagesmit_4fe2a"
    page = meta_thread([file_message(1, f"{thread}/photos/key.png")])
    download = tmp_path / "sanne" / "Downloads" / "facebook-sanne-2024.zip"
    download.write_bytes(
        raw_zip(
            [(f"{thread}/message_1.json", page.encode()), (f"{thread}/photos/key.png", bytes(key))],
            symlinks=frozenset({f"{thread}/photos/key.png"}),
        )
    )

    summary = imported(kluis, download)

    assert (summary["new"], summary["quarantined"]) == (1, 1), summary
    files = exported(kluis, tmp_path / "export")
    assert rows(files, "attachment") == []
    [reason] = quarantine_reasons(files).values()
    assert "symbolic link" in reason
    count("hostile", "paths leading out of a source")


# --- mail ----------------------------------------------------------------------------------------


def test_a_maildir_whose_cur_is_a_link_elsewhere_reads_only_its_own_mail(
    kluis: Kluis, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "someone-else" / "Maildir" / "cur"
    elsewhere.mkdir(parents=True)
    (elsewhere / "1700000000.1.host:2,S").write_bytes(mail_bytes(1, body=CANARY.decode()))
    maildir = tmp_path / "sanne" / "Maildir"
    (maildir / "new").mkdir(parents=True)
    (maildir / "new" / "1700000001.2.host").write_bytes(mail_bytes(2))
    (maildir / "cur").symlink_to(elsewhere)

    summary = imported(kluis, maildir)

    assert (summary["new"], summary["quarantined"]) == (1, 1), summary
    reasons = quarantine_reasons(exported(kluis, tmp_path / "export"))
    assert list(reasons) == [str(maildir / "cur")], reasons
    assert "leads out of the source folder" in reasons[str(maildir / "cur")]
    count("hostile", "paths leading out of a source")


def test_links_among_a_folders_mail_files_and_mboxes_are_quarantined_unread(
    kluis: Kluis, tmp_path: Path
) -> None:
    outside = tmp_path / "someone-else"
    outside.mkdir()
    (outside / "secret.eml").write_bytes(mail_bytes(1, body=CANARY.decode()))
    (outside / "All mail.mbox").write_bytes(
        b"From x@y Mon Jan  1 12:00:00 2024\nX-GM-THRID: 1\n" + mail_bytes(3, body=CANARY.decode())
    )
    mail = tmp_path / "sanne" / "mail"
    mail.mkdir(parents=True)
    (mail / "good.eml").write_bytes(mail_bytes(2))
    (mail / "secret.eml").symlink_to(outside / "secret.eml")
    takeout = tmp_path / "sanne" / "Takeout" / "Mail"
    takeout.mkdir(parents=True)
    (takeout / "Inbox.mbox").write_bytes(
        b"From x@y Mon Jan  1 12:00:00 2024\nX-GM-THRID: 2\n" + mail_bytes(4)
    )
    (takeout / "All mail.mbox").symlink_to(outside / "All mail.mbox")

    eml = imported(kluis, mail)
    gmail = imported(kluis, takeout.parent.parent, "--format", "takeout")

    assert (eml["new"], eml["quarantined"]) == (1, 1), eml
    assert (gmail["new"], gmail["quarantined"]) == (1, 1), gmail
    reasons = quarantine_reasons(exported(kluis, tmp_path / "export"))
    assert set(reasons) == {str(mail / "secret.eml"), str(takeout / "All mail.mbox")}, reasons
    assert all("leads out of the source folder" in reason for reason in reasons.values())
    count("hostile", "paths leading out of a source", 2)


# --- WhatsApp and Telegram -----------------------------------------------------------------------


def test_whatsapp_and_telegram_media_and_folders_leading_out_are_not_read(
    kluis: Kluis, tmp_path: Path
) -> None:
    key = secret_home(tmp_path / "sanne")
    outside_chat = tmp_path / "someone-else" / "WhatsApp Chat with Bank"
    outside_chat.mkdir(parents=True)
    (outside_chat / "WhatsApp Chat with Bank.txt").write_text(
        whatsapp_text(2, contact="Bank").replace("message 1", CANARY.decode())
    )
    chats = tmp_path / "sanne" / "Downloads" / "whatsapp"
    chat = chats / "WhatsApp Chat with Jansen"
    chat.mkdir(parents=True)
    text = whatsapp_text(3, contact="Jansen")
    (chat / "WhatsApp Chat with Jansen.txt").write_text(
        text.replace("message 1 about", "IMG-1.jpg (file attached)\nmessage 1 about")
    )
    (chat / "IMG-1.jpg").symlink_to(key)
    (chats / "WhatsApp Chat with Bank").symlink_to(outside_chat)

    telegram = tmp_path / "sanne" / "Downloads" / "telegram"
    (telegram / "photos").mkdir(parents=True)
    (telegram / "photos" / "photo_1.jpg").symlink_to(key)
    messages = [
        {**telegram_photo(1), "photo": "photos/photo_1.jpg"},
        {**telegram_photo(2), "photo": "../../.ssh/id_rsa"},
        {**telegram_photo(3), "file": str(key), "media_type": "file"},
    ]
    (telegram / "result.json").write_text(
        json.dumps({"name": "KLM", "type": "personal_chat", "id": 42, "messages": messages})
    )

    whatsapp = imported(kluis, chats, "--format", "whatsapp")
    telegram_summary = imported(kluis, telegram, "--format", "telegram")

    assert (whatsapp["new"], whatsapp["quarantined"]) == (3, 1), whatsapp
    assert telegram_summary["new"] == 3, telegram_summary
    files = exported(kluis, tmp_path / "export")
    assert rows(files, "attachment") == []
    assert list(quarantine_reasons(files)) == [str(chats / "WhatsApp Chat with Bank")]
    missing = [note.get("missing") for note in media_notes(files)]
    assert len(missing) == 4 and all(missing), media_notes(files)
    count("hostile", "paths leading out of a source", 5)


def telegram_photo(n: int) -> dict[str, object]:
    return {
        "id": n,
        "type": "message",
        "date": f"2024-01-0{n}T10:00:00",
        "date_unixtime": str(1704103200 + n * 86400),
        "from": "KLM",
        "from_id": "user42",
        "text": f"your boarding pass {n}",
        "width": 10,
        "height": 10,
    }
