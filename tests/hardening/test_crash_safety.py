"""kill -9 at any moment of an import loses nothing, duplicates nothing, damages nothing and
leaves no process behind.

The real CLI imports a generated export in a subprocess that is killed with SIGKILL at random
moments; after every kill ``kluis doctor`` must find the vault whole and no process the import
started (its parse workers) may be left, and re-running the import until it finishes must leave
exactly one interaction per source item. A run that finishes before its kill counts no kill: the
round is checked and a fresh one starts, until enough kills landed. The mbox is big enough for
the parse pool (``POOL_MIN_BYTES``, over ``IN_PROCESS_FIRST`` mails), and only kills that hit
while the import had worker processes count toward its figure.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from importers.email.mbox import POOL_MIN_BYTES
from tests.hardening.generate import write_mbox, write_whatsapp_zip
from tests.hardening.harness import (
    LONG,
    MARK,
    Kluis,
    assert_exactly_once,
    children,
    count,
    make_vault,
    no_process_left,
)

MAIL_LINES = 180  # ~4.6 KB a mail
MAILS = 4700 if LONG else 1100  # an mbox of 20.6 MiB (4.9 MiB): the parse pool runs
POOL_KILLS = 50 if LONG else 3
CHAT_MESSAGES = 2500
SEED = int(os.environ.get("KLUIS_HARDENING_SEED", "0")) or random.randrange(1, 2**32)


def import_under_fire(
    kluis: Kluis,
    source: Path,
    format_name: str,
    expected: int,
    kills: int,
    window: float,
    *,
    pool_kills: int = 0,
) -> tuple[int, int]:
    """Import ``source`` while killing the CLI at random moments, until ``kills`` kills landed,
    ``pool_kills`` of them while the import had worker processes, and the last round finished;
    returns the kills and the kills with workers."""
    print(f"{format_name}: kill moments from seed {SEED} (KLUIS_HARDENING_SEED repeats them)")
    rng = random.Random(SEED)
    landed = with_workers = 0
    while True:
        done = False
        while not done:
            mark = secrets.token_hex(8)
            process = kluis.popen(
                "import", str(source), "--format", format_name, env=kluis.env(**{MARK: mark})
            )
            more = landed < kills or with_workers < pool_kills
            try:
                process.wait(timeout=rng.uniform(0.25, window) if more else None)
                done = True
            except subprocess.TimeoutExpired:
                with_workers += bool(children(process.pid))
                process.send_signal(signal.SIGKILL)
                process.wait()
                landed += 1
                no_process_left(mark)  # the parse workers died with it
                kluis.doctor()  # integrity_check and cipher_integrity_check after each kill
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            if done:
                assert process.returncode == 0, stderr
                no_process_left(mark)
        kluis.doctor()
        assert_exactly_once(kluis, expected)
        if landed >= kills and with_workers >= pool_kills:
            return landed, with_workers
        # Everything is in: a fresh vault for the next round of kills.
        shutil.rmtree(kluis.vault)
        make_vault(kluis.vault)


def test_killing_an_mbox_import_anywhere_loses_and_duplicates_nothing_and_leaves_no_worker(
    kluis: Kluis, tmp_path: Path
) -> None:
    mbox = write_mbox(tmp_path / "inbox.mbox", MAILS, lines=MAIL_LINES)
    assert mbox.stat().st_size >= (20 if LONG else 4) * 2**20 >= POOL_MIN_BYTES
    started = time.monotonic()
    kills, with_workers = import_under_fire(
        kluis, mbox, "mbox", MAILS, POOL_KILLS, 4.0, pool_kills=POOL_KILLS
    )
    print(
        f"mbox: {kills} kills survived, {with_workers} with the parse pool running (seed {SEED})"
        f" in {time.monotonic() - started:.1f} s"
    )
    megabytes = mbox.stat().st_size / 2**20
    count("kills", f"mbox ({MAILS:,} mails, {megabytes:.1f} MiB)", kills)
    count("kills", "… of them with the parse pool running", with_workers)
    assert with_workers >= POOL_KILLS
    # And once it is all in, importing again adds nothing.
    summary = kluis.json("import", str(mbox), "--format", "mbox")
    assert summary["new"] == 0
    assert_exactly_once(kluis, MAILS)


def test_killing_a_whatsapp_zip_import_anywhere_loses_and_duplicates_nothing(
    kluis: Kluis, tmp_path: Path
) -> None:
    chat = write_whatsapp_zip(
        tmp_path / "WhatsApp Chat with Fietsenwinkel Jansen.zip", CHAT_MESSAGES
    )
    kills, _ = import_under_fire(kluis, chat, "whatsapp", CHAT_MESSAGES, 20 if LONG else 3, 1.4)
    print(f"whatsapp: {kills} kills survived (seed {SEED})")
    count("kills", "WhatsApp zip (2,500 messages)", kills)
    assert kills >= (20 if LONG else 3)
