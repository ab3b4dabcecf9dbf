"""Import progress says how far the source is: bytes of a file (or files of a Maildir, messages
of an IMAP folder) of its total, with a rate and the time left, not a bare counter."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

from tests.hardening.harness import Kluis, make_vault
from tests.support import options
from vault.ingest import Ingestor, Summary
from vault.progress import ProgressMeter, duration
from vault.records import Position
from vault.store import Store


def write_mbox(path: Path, count: int) -> None:
    """``count`` small order mails from one shop, as an mbox."""
    with path.open("wb") as out:
        for n in range(count):
            out.write(
                f"From shop@example.com Mon Jul  1 10:00:00 2024\n"
                f"From: Shop <shop@example.com>\nTo: me@example.org\n"
                f"Subject: Order {n}\nMessage-ID: <order-{n}@example.com>\n"
                f"Date: Mon, 01 Jul 2024 10:{n % 60:02d}:00 +0200\n\n"
                f"Thank you for order {n}.\n{'x' * 300}\n\n".encode()
            )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_reading_says_how_much_of_how_much_the_rate_and_the_time_left() -> None:
    clock = Clock()
    meter = ProgressMeter(clock)
    mb = 1024 * 1024
    first = meter.reading(Position(10 * mb, 100 * mb, "bytes", "inbox.mbox"))
    assert str(first) == "inbox.mbox: 10 MB of 100 MB (10%)"  # no rate from one reading
    clock.now += 5
    later = meter.reading(Position(30 * mb, 100 * mb, "bytes", "inbox.mbox"))
    assert str(later) == "inbox.mbox: 30 MB of 100 MB (30%) · 4 MB/s · 18 s left"
    clock.now += 1
    folder = meter.reading(Position(200, 1000, "messages", "INBOX"))  # a new folder: a new rate
    assert str(folder) == "INBOX: 200 messages of 1,000 messages (20%)"
    assert meter.reading(None) is None
    assert (duration(59.4), duration(200), duration(3900)) == ("59 s", "3 min 20 s", "1 h 05 min")


def test_an_mbox_import_reports_its_bytes_up_to_the_whole_file(
    store: Store, tmp_path: Path
) -> None:
    import importers

    mbox = tmp_path / "orders.mbox"
    write_mbox(mbox, 2500)
    seen: list[Position] = []

    def progress(summary: Summary) -> None:
        assert summary.position is not None
        seen.append(summary.position)

    items = importers.read(mbox, "mbox", options())
    Ingestor(store, options(), "mbox", str(mbox), batch_size=500, progress=progress).run(items)
    size = mbox.stat().st_size
    assert len(seen) >= 4
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1] == Position(size, size, "bytes", "orders.mbox")
    assert "position" not in Summary().to_json()  # the JSON contract is unchanged


def test_the_cli_shows_bytes_of_total_in_a_terminal(tmp_path: Path) -> None:
    kluis = Kluis(tmp_path / "vault", tmp_path, tmp_path)
    make_vault(kluis.vault)
    mbox = tmp_path / "orders.mbox"
    write_mbox(mbox, 3000)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            kluis.command("import", str(mbox)),
            env=kluis.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        shown = b""
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        stdout, _ = process.communicate(timeout=60)
    finally:
        os.close(controller)
    assert process.returncode == 0, shown
    text = shown.decode()
    total = f"of {mbox.stat().st_size / 1024 / 1024:.1f} MB"
    assert total in text and "(100%)" in text and "3,000 new" in text
    assert b"3,000 new" in stdout
