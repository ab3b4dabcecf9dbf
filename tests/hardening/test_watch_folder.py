"""`kluis watch DIR`: an export dropped into a folder is imported once, after it is complete.

The watcher runs as a subprocess, as a user service runs it; files arrive as a browser or a
copy writes them: growing in place, or under a partial name that is renamed at the end.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tests.hardening.generate import write_whatsapp_zip
from tests.hardening.harness import Kluis
from tests.hardening.watching import running, stop, titles, wait_for
from vault.watching import SettledFiles, is_partial

SETTLE = "1"
WATCH = ("--settle", SETTLE, "--interval", "0.2")


def copy_slowly(source: Path, target: Path, pieces: int = 6, pause: float = 0.4) -> None:
    """Write ``source`` to ``target`` a piece at a time, as a slow download does."""
    data = source.read_bytes()
    step = len(data) // pieces + 1
    with target.open("wb") as out:
        for start in range(0, len(data), step):
            out.write(data[start : start + step])
            out.flush()
            os.fsync(out.fileno())
            time.sleep(pause)


def test_a_zip_copied_in_slowly_is_imported_once_and_never_again(
    kluis: Kluis, tmp_path: Path
) -> None:
    drop = tmp_path / "Downloads"
    drop.mkdir()
    export = write_whatsapp_zip(tmp_path / "export.zip", 12)
    log = tmp_path / "watch.log"
    with running(kluis, log, "watch", str(drop), *WATCH) as process:
        wait_for(lambda: "watching" in log.read_text(), 30, "the watcher started")
        copy_slowly(export, drop / "WhatsApp Chat.zip")  # pauses shorter than --settle
        assert "imported" not in log.read_text()  # never while it grows
        wait_for(lambda: "imported as" in log.read_text(), 30, "the zip imported")
        stored = len(titles(kluis))
        assert stored == 12
        shutil.copy(export, drop / "WhatsApp Chat (1).zip")  # the same export downloaded again
        wait_for(lambda: "already imported" in log.read_text(), 30, "the copy recognised")
        status, err = stop(process)
    assert status == 0, err
    assert log.read_text().count("imported as") == 1
    with running(kluis, log, "watch", str(drop), *WATCH) as process:  # a restart
        wait_for(lambda: log.read_text().count("already imported") == 2, 30, "both recognised")
        status, err = stop(process)
    assert status == 0, err
    assert "imported as" not in log.read_text()
    assert len(titles(kluis)) == stored


def test_a_partial_download_waits_for_its_rename_and_an_unreadable_file_is_named_once(
    kluis: Kluis, tmp_path: Path
) -> None:
    drop = tmp_path / "Downloads"
    drop.mkdir()
    export = write_whatsapp_zip(tmp_path / "export.zip", 5)
    partial = drop / "chat.zip.crdownload"
    shutil.copy(export, partial)
    (drop / "holiday.jpg").write_bytes(b"\xff\xd8\xff\xe0 not an export")
    log = tmp_path / "watch.log"
    with running(kluis, log, "watch", str(drop), *WATCH) as process:
        wait_for(lambda: "holiday.jpg: not imported" in log.read_text(), 30, "the jpg named")
        time.sleep(2 * float(SETTLE))  # several scans: the partial stays alone
        assert "chat.zip" not in log.read_text()
        partial.rename(drop / "chat.zip")  # the browser finished
        wait_for(lambda: "chat.zip: imported as" in log.read_text(), 30, "the renamed zip")
        status, _err = stop(process)
    assert status == 0
    named = [line for line in log.read_text().splitlines() if "holiday.jpg" in line]
    assert len(named) == 1 and "holiday.jpg: not imported" in named[0]
    with running(kluis, log, "watch", str(drop), *WATCH) as process:  # a restart: not again
        wait_for(lambda: "chat.zip: already imported" in log.read_text(), 30, "restart")
        stop(process)
    assert "holiday.jpg" not in log.read_text()
    assert len(titles(kluis)) == 5


def test_watching_something_that_is_not_a_folder_is_one_line_and_exit_2(
    kluis: Kluis, tmp_path: Path
) -> None:
    done = kluis.run("watch", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stderr.decode().startswith("kluis: ") and b"\n" not in done.stderr.strip()


def test_seconds_that_are_not_a_sensible_wait_are_one_line_and_exit_2(
    kluis: Kluis, tmp_path: Path
) -> None:
    for option, value in (("--settle", "inf"), ("--interval", "0"), ("--settle", "nan")):
        done = kluis.run("watch", str(tmp_path), option, value)
        assert done.returncode == 2, (option, value)
        assert done.stderr.decode().startswith("kluis: ") and b"\n" not in done.stderr.strip()
    done = kluis.run("sync", "imap", "--watch", "--poll", "-5")
    assert done.returncode == 2 and b"--poll" in done.stderr


def test_download_names_and_hidden_files_are_partial() -> None:
    for name in ("a.zip.crdownload", "a.zip.part", "a.zip.download", "x.TMP", ".hidden.zip"):
        assert is_partial(name), name
    assert not is_partial("takeout-20240101T000000Z-001.zip")


def test_a_file_is_handed_out_once_per_size_and_mtime_after_it_settles(tmp_path: Path) -> None:
    files = SettledFiles(tmp_path, settle=5)
    (tmp_path / "a.ics").write_text("BEGIN:VCALENDAR\n")
    assert files.scan(now=0) == []
    assert files.scan(now=4) == []
    assert files.scan(now=5) == [tmp_path / "a.ics"]
    assert files.scan(now=60) == []  # once
    (tmp_path / "a.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")  # changed again
    assert files.scan(now=61) == []
    assert files.scan(now=66) == [tmp_path / "a.ics"]
