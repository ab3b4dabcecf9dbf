"""What an import could not read is visible from the CLI: listed with its reason, shown,
saved as its raw bytes (0600, never over a file) and read again after an upgrade."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.hardening.harness import Kluis, open_for_test
from tests.support import options
from vault.ingest import Ingestor
from vault.records import Quarantined

UNDATED = (
    b"From: Bol.com <shop@bol.com>\nTo: me@example.org\nSubject: no date here\n"
    b"Message-ID: <undated@bol.com>\n\nbody\n"
)
GOOD = (
    b"From: KLM <noreply@klm.com>\nTo: me@example.org\nSubject: Your boarding pass\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0100\nMessage-ID: <ok@klm.com>\n\nHave a good flight.\n"
)


def import_undated(kluis: Kluis) -> int:
    """Import an mbox with one mail that has no date; the id of its quarantine entry."""
    mbox = kluis.tmp / "mail.mbox"
    mbox.write_bytes(b"From x Mon Jan  1 00:00:00 2024\n" + UNDATED)
    done = kluis.run("import", str(mbox), "--me", "me@example.org")
    assert done.returncode == 3, done.stderr  # done, but an item went to quarantine
    assert "kluis quarantine" in done.stderr.decode()
    [entry] = kluis.json("quarantine")
    return int(entry["id"])


def test_quarantine_lists_source_reason_size_and_when(kluis: Kluis) -> None:
    item = import_undated(kluis)
    [entry] = kluis.json("quarantine")
    assert set(entry) == {"id", "source", "ref", "format", "reason", "size", "at"}
    assert entry["id"] == item and entry["format"] == "mbox"
    assert entry["source"].endswith("mail.mbox") and "no usable date" in entry["reason"]
    assert entry["size"] == len(UNDATED) and entry["at"][:2] == "20"
    table = kluis.run("quarantine").stdout.decode()
    assert "no usable date" in table and "ID" in table


def test_quarantine_show_tells_why_and_shows_the_bytes(kluis: Kluis) -> None:
    item = import_undated(kluis)
    shown = kluis.run("quarantine", "show", str(item))
    text = shown.stdout.decode()
    assert shown.returncode == 0 and "Reason: no usable date" in text and "no date here" in text
    assert kluis.json("quarantine", "show", str(item))["id"] == item
    # --json before the action's name counts as much as after it
    before = kluis.run("quarantine", "--json", "show", str(item))
    assert json.loads(before.stdout)["id"] == item, before.stdout


def test_quarantine_save_writes_the_raw_bytes_private_and_never_over_a_file(
    kluis: Kluis, tmp_path: Path
) -> None:
    item = import_undated(kluis)
    folder = tmp_path / "saved" / "here"
    done = kluis.run("quarantine", "save", str(item), str(folder))
    assert done.returncode == 0, done.stderr
    [saved] = folder.iterdir()
    assert saved.read_bytes() == UNDATED
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    saved.write_bytes(b"mine")
    again = kluis.run("quarantine", "save", str(item), str(folder))
    assert again.returncode == 2 and "already exists" in again.stderr.decode()
    assert len(again.stderr.splitlines()) == 1 and saved.read_bytes() == b"mine"
    onto_file = kluis.run("quarantine", "save", str(item), str(saved))
    assert onto_file.returncode == 2 and "not a folder" in onto_file.stderr.decode()


def test_an_unknown_quarantine_id_is_a_one_line_usage_error(kluis: Kluis) -> None:
    for action in (["show", "999"], ["save", "999", str(kluis.tmp)], ["retry", "999"]):
        done = kluis.run("quarantine", *action)
        err = done.stderr.decode()
        assert done.returncode == 2 and len(err.splitlines()) == 1 and "999" in err, err


def test_retry_keeps_what_still_fails_with_the_new_reason(kluis: Kluis) -> None:
    item = import_undated(kluis)
    done = kluis.run("quarantine", "retry", "--json")
    assert done.returncode == 3, done.stderr
    result = json.loads(done.stdout)
    assert result["stored"] == [] and result["kept"][0]["id"] == item
    assert "no usable date" in kluis.json("quarantine")[0]["reason"]


def test_retry_stores_what_parses_now_and_it_leaves_the_quarantine(kluis: Kluis) -> None:
    # As an older kluis would have left it: a good mail quarantined by a parser that failed.
    store = open_for_test(kluis.vault)
    try:
        Ingestor(store, options("me@example.org"), "mbox", str(kluis.tmp / "old.mbox")).run(
            [Quarantined("old.mbox#0", GOOD, "cannot parse mail: an old bug")]
        )
    finally:
        store.close()
    [entry] = kluis.json("quarantine")
    done = kluis.run("quarantine", "retry", str(entry["id"]), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"stored": [entry["id"]], "kept": []}
    assert kluis.json("quarantine") == []
    [hit] = kluis.json("search", "boarding")
    assert hit["title"] == "Your boarding pass"
    again = kluis.run("quarantine", "retry")
    assert again.returncode == 0 and b"0 read and stored now" in again.stdout
