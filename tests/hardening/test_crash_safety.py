"""kill -9 at any moment of an import loses nothing, duplicates nothing and damages nothing.

The real CLI imports a generated export in a subprocess that is killed with SIGKILL at random
moments; after every kill ``kluis doctor`` must find the vault whole, and re-running the import
until it finishes must leave exactly one interaction per source item. A run that finishes before
its kill counts no kill: the round is checked and a fresh one starts, until enough kills landed.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import text

from tests.hardening.generate import write_mbox, write_whatsapp_zip
from tests.hardening.harness import LONG, Kluis, count, make_vault, open_for_test

MAILS = 2000
CHAT_MESSAGES = 2500
SEED = int(os.environ.get("KLUIS_HARDENING_SEED", "0")) or random.randrange(1, 2**32)


def assert_exactly_once(kluis: Kluis, expected: int) -> None:
    """``expected`` interactions, each source item once."""
    store = open_for_test(kluis.vault)
    try:
        with store.read() as conn:
            total, keys, refs = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT dedup_key), count(DISTINCT source_ref) "
                    "FROM interaction"
                )
            ).one()
    finally:
        store.close()
    assert (total, keys, refs) == (expected, expected, expected)


def import_under_fire(
    kluis: Kluis, source: Path, format_name: str, expected: int, kills: int, window: float
) -> int:
    """Import ``source`` while killing the CLI at random moments, until ``kills`` kills landed
    and the last round finished; returns the number of kills."""
    print(f"{format_name}: kill moments from seed {SEED} (KLUIS_HARDENING_SEED repeats them)")
    rng = random.Random(SEED)
    landed = 0
    while True:
        done = False
        while not done:
            process = kluis.popen("import", str(source), "--format", format_name)
            try:
                process.wait(timeout=rng.uniform(0.25, window) if landed < kills else None)
                done = True
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                landed += 1
                kluis.doctor()  # integrity_check and cipher_integrity_check after each kill
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            if done:
                assert process.returncode == 0, stderr
        kluis.doctor()
        assert_exactly_once(kluis, expected)
        if landed >= kills:
            return landed
        # Everything is in: a fresh vault for the next round of kills.
        shutil.rmtree(kluis.vault)
        make_vault(kluis.vault)


def test_killing_an_mbox_import_anywhere_loses_and_duplicates_nothing(
    kluis: Kluis, tmp_path: Path
) -> None:
    mbox = write_mbox(tmp_path / "inbox.mbox", MAILS)
    started = time.monotonic()
    kills = import_under_fire(kluis, mbox, "mbox", MAILS, 50 if LONG else 10, 1.4)
    print(f"mbox: {kills} kills survived (seed {SEED}) in {time.monotonic() - started:.1f} s")
    count("kills", "mbox (2,000 mails)", kills)
    assert kills >= (50 if LONG else 10)
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
    kills = import_under_fire(kluis, chat, "whatsapp", CHAT_MESSAGES, 20 if LONG else 3, 1.4)
    print(f"whatsapp: {kills} kills survived (seed {SEED})")
    count("kills", "WhatsApp zip (2,500 messages)", kills)
    assert kills >= (20 if LONG else 3)
