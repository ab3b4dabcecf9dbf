"""A damaged vault.db: ``kluis doctor`` names the damage and counts what is still readable,
``kluis doctor --salvage DIR`` saves it in the export format, and every other command says so
in one line instead of a traceback or SQLCipher's own log.

The damage is what a disk or a careless copy does: one byte flipped, a page zeroed, the file
cut short, another vault's vault.db beside our keys.json. Every run is the real CLI in a
subprocess, so lines that SQLCipher's C code writes to fd 2 would show. What counts as readable
comes from an oracle that reads each item alone on a fresh connection, independent of the
salvage's own skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from cli import exits
from tests.hardening.harness import (
    LONG,
    Kluis,
    assert_clean_failure,
    make_vault,
    open_for_test,
    run_in_process,
    snapshot,
)
from tests.support import PASSPHRASE, mail, options
from vault import ingest
from vault import keys as keymod
from vault.errors import VaultCorrupt
from vault.records import Attachment
from vault.store import PAGE_SIZE, connect_raw, db_path

ITEMS = 300
DAMAGED = exits.DAMAGED  # the documented exit status of a damaged vault


def _fill(folder: Path, items: int) -> None:
    make_vault(folder)
    store = open_for_test(folder)
    try:
        records = []
        for n in range(items):
            record = mail(
                n,
                f"Shop {n % 12} <info@shop{n % 12}.example>",
                body=f"item{n + 1}x " + "your order was shipped today " * 50,
            )
            if n % 25 == 0:
                record.attachments = [Attachment(f"invoice {n}.pdf", "application/pdf", b"%PDF")]
            records.append(record)
        ingest.Ingestor(store, options(), "test", "t").run(records)
    finally:
        store.close()


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault of ITEMS mails from twelve shops, some with an attachment."""
    folder = tmp_path_factory.mktemp("filled") / "vault"
    _fill(folder, ITEMS)
    return folder


@pytest.fixture
def kluis(tmp_path: Path, filled: Path) -> Kluis:
    """The CLI against a fresh copy of the filled vault."""
    vault = tmp_path / "vault"
    shutil.copytree(filled, vault)
    for name in ("home", "tmp"):
        (tmp_path / name).mkdir()
    return Kluis(vault, tmp_path / "home", tmp_path / "tmp")


def readable_ids(folder: Path, items: int = ITEMS) -> set[int]:
    """The oracle: each item read alone, on a new connection after every failure."""
    dek = keymod.unwrap_with_passphrase(keymod.load_keys(folder), PASSPHRASE)
    found: set[int] = set()
    conn = None
    for item in range(1, items + 1):
        try:
            conn = conn or connect_raw(db_path(folder), dek, salvage=True)
            if conn.execute("SELECT * FROM interaction WHERE id = ?", (item,)).fetchall():
                found.add(item)
        except VaultCorrupt:
            return set()  # not even the first pages open
        except sqlcipher3.DatabaseError:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()
    return found


def flip_byte(folder: Path, offset: int) -> None:
    """Invert one byte of vault.db, as a failing disk sector would."""
    with db_path(folder).open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def _middle_of_page(page: int) -> int:
    return (page - 1) * PAGE_SIZE + PAGE_SIZE // 2


def page_holding_items(folder: Path) -> int:
    """The page nearest the middle of vault.db whose damage costs some items, but few."""
    pages = db_path(folder).stat().st_size // PAGE_SIZE
    original = db_path(folder).read_bytes()
    for page in sorted(range(2, pages + 1), key=lambda p: abs(p - pages // 2)):
        flip_byte(folder, _middle_of_page(page))
        lost = ITEMS - len(readable_ids(folder))
        db_path(folder).write_bytes(original)
        if 0 < lost < ITEMS // 20:
            return page
    raise AssertionError("no page of vault.db holds items")


def _no_library_lines(done: Any) -> str:
    stderr = str(done.stderr.decode("utf-8", "replace"))
    assert "ERROR CORE" not in stderr and "sqlcipher" not in stderr.lower(), stderr[-2000:]
    return stderr


def _report(kluis: Kluis) -> dict[str, Any]:
    done = kluis.run("doctor", "--json")
    assert done.returncode == DAMAGED, (done.returncode, done.stderr[-2000:])
    assert _no_library_lines(done) == ""
    report = json.loads(done.stdout)
    assert isinstance(report, dict) and report["damaged"] is True and report["ok"] is False
    return report


def _salvaged(kluis: Kluis, out: Path) -> list[dict[str, Any]]:
    done = kluis.run("doctor", "--salvage", str(out))
    assert done.returncode in (0, DAMAGED), (done.returncode, done.stderr[-2000:])
    assert _no_library_lines(done) == ""
    lines = (out / "interaction.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_doctor_names_the_damaged_page_and_counts_the_readable_items(kluis: Kluis) -> None:
    page = page_holding_items(kluis.vault)
    flip_byte(kluis.vault, _middle_of_page(page))
    readable = readable_ids(kluis.vault)
    before = snapshot(kluis.vault)

    done = kluis.run("doctor")
    assert done.returncode == DAMAGED and _no_library_lines(done) == ""
    text = done.stdout.decode()
    assert f"page {page} fails its check" in text
    assert f"interaction: {len(readable):,} readable, not ids" in text
    assert "kluis doctor --salvage DIR" in text and "kluis init" in text

    report = _report(kluis)
    assert report["damaged_pages"] == [page]
    assert report["readable"]["interaction"]["rows"] == len(readable)
    assert report["counts"]["interaction"] == len(readable)
    checks = {check["name"]: check for check in report["checks"]}
    assert not checks["cipher_integrity_check"]["ok"] and not checks["readable rows"]["ok"]
    assert "interaction" in checks["integrity_check"]["detail"]
    assert report["next_steps"]
    assert snapshot(kluis.vault) == before, "the doctor changed a file of the damaged vault"


def test_salvage_saves_every_readable_item_in_the_export_format(kluis: Kluis) -> None:
    flip_byte(kluis.vault, _middle_of_page(page_holding_items(kluis.vault)))
    readable = readable_ids(kluis.vault)
    out = kluis.home / "salvaged"

    rows = _salvaged(kluis, out)
    assert {row["id"] for row in rows} == readable
    assert len(readable) >= 0.95 * ITEMS
    for row in rows:
        assert (out / row["raw_file"]).read_bytes().startswith(b"Subject: Mail")
    attachments = [json.loads(line) for line in (out / "attachment.jsonl").read_text().splitlines()]
    assert all((out / a["file"]).read_bytes() == b"%PDF" for a in attachments)
    schema = json.loads((out / "schema.json").read_text())
    assert schema["format"] == "kluis-export"
    assert schema["tables"]["interaction"]["rows"] == len(readable)
    assert schema["tables"]["interaction"]["unreadable_ids"]
    assert "could not be read" in (out / "README.md").read_text()
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_reading_a_damaged_item_is_one_line_that_points_to_doctor(kluis: Kluis) -> None:
    """A backup too: it copies every page, so it stops rather than carry the damage along."""
    flip_byte(kluis.vault, _middle_of_page(page_holding_items(kluis.vault)))
    lost = min(set(range(1, ITEMS + 1)) - readable_ids(kluis.vault))
    shop = f"Shop {(lost - 1) % 12}"
    for args in (
        ("show", str(lost)),
        ("timeline", shop, "--limit", str(ITEMS)),
        ("search", f"item{lost}x"),
        ("backup", "--out", str(kluis.home / "backup.kluis")),
    ):
        line = assert_clean_failure(kluis.run(*args), DAMAGED)
        assert "vault.db is damaged" in line and "kluis doctor" in line, (args, line)
    companies = kluis.run("companies")
    if companies.returncode:
        assert_clean_failure(companies, DAMAGED)


def _cut_short(folder: Path) -> None:
    path = db_path(folder)
    os.truncate(path, path.stat().st_size * 3 // 5 + 1000)


def _zero_middle_page(folder: Path) -> None:
    page = db_path(folder).stat().st_size // PAGE_SIZE // 2
    with db_path(folder).open("r+b") as handle:
        handle.seek(page * PAGE_SIZE)
        handle.write(bytes(PAGE_SIZE))


def _flip_at(share: float) -> Callable[[Path], None]:
    return lambda folder: flip_byte(folder, int(db_path(folder).stat().st_size * share))


DAMAGES: dict[str, tuple[Callable[[Path], None], float]] = {
    # how, and the share of the items a salvage must keep at least
    "a byte flipped at 30%": (_flip_at(0.3), 0.95),
    "a byte flipped at 50%": (_flip_at(0.5), 0.95),
    "a byte flipped at 70%": (_flip_at(0.7), 0.95),
    "a byte flipped at 90%": (_flip_at(0.9), 0.95),
    "a page zeroed": (_zero_middle_page, 0.95),
    "the file cut short": (_cut_short, 0.0),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_any_damage_gives_a_report_and_a_salvage_of_every_readable_item(
    kluis: Kluis, damage: str
) -> None:
    how, keep = DAMAGES[damage]
    how(kluis.vault)
    readable = readable_ids(kluis.vault)

    report = _report(kluis)
    if "interaction" in report["readable"]:
        assert report["readable"]["interaction"]["rows"] == len(readable)
    rows = _salvaged(kluis, kluis.home / "salvaged")
    assert {row["id"] for row in rows} == readable
    assert len(readable) >= keep * ITEMS


@pytest.mark.parametrize("damage", ["another vault's vault.db", "a byte flipped in page 1"])
def test_an_unreadable_vault_db_is_one_line_without_the_library_log(
    kluis: Kluis, tmp_path: Path, damage: str
) -> None:
    if damage == "another vault's vault.db":
        make_vault(tmp_path / "other")
        shutil.copy2(tmp_path / "other" / "vault.db", db_path(kluis.vault))
    else:
        flip_byte(kluis.vault, 2000)

    # keys.json records which vault.db it was made for, so a swapped vault.db is named as
    # such before anything is decrypted; a damaged first page cannot be opened at all.
    foreign = damage == "another vault's vault.db"
    expected = "keys.json does not belong to this vault" if foreign else "cannot be opened"
    commands: tuple[tuple[str, ...], ...] = (
        ("companies",),
        ("search", "order"),
        ("doctor", "--salvage", str(tmp_path / "s")),
    )
    for args in commands:
        done = kluis.run(*args)
        _no_library_lines(done)
        assert expected in assert_clean_failure(done, 1)
    done = kluis.run("doctor")
    if foreign:
        assert done.returncode == DAMAGED and _no_library_lines(done) == ""
        assert expected in done.stdout.decode()
        return
    assert done.returncode == DAMAGED and _no_library_lines(done) == ""
    assert "nothing in it can be read" in done.stdout.decode()
    report = _report(kluis)
    assert report["readable"] == {} and report["next_steps"]


def test_a_healthy_vault_salvages_exactly_what_export_writes(kluis: Kluis) -> None:
    report = json.loads(kluis.run("doctor", "--json").stdout)
    assert report["ok"] is True and report["damaged"] is False
    salvaged, exported = kluis.home / "salvaged", kluis.home / "exported"
    assert kluis.run("doctor", "--salvage", str(salvaged)).returncode == 0
    assert kluis.run("export", "--out", str(exported)).returncode == 0
    files = sorted(p.relative_to(salvaged) for p in salvaged.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(exported) for p in exported.rglob("*") if p.is_file())
    for name in files:
        if name.suffix == ".jsonl" or name.parts[0] in ("raw", "attachments"):
            assert (salvaged / name).read_bytes() == (exported / name).read_bytes(), name


@pytest.mark.skipif(not LONG, reason="every page of the vault: make hardening")
def test_damage_to_any_page_is_reported_and_every_readable_item_salvaged(kluis: Kluis) -> None:
    original = db_path(kluis.vault).read_bytes()
    pages = len(original) // PAGE_SIZE
    kept = []
    for page in range(1, pages + 1):
        db_path(kluis.vault).write_bytes(original)
        flip_byte(kluis.vault, _middle_of_page(page))
        readable = readable_ids(kluis.vault)
        done = run_in_process(kluis, "doctor", "--json")
        assert done.returncode == DAMAGED and json.loads(done.stdout)["damaged"], page
        out = kluis.home / f"salvaged-{page}"
        done = run_in_process(kluis, "doctor", "--salvage", str(out))
        if page == 1:
            assert done.returncode == 1 and not readable  # the first page: nothing opens
            continue
        assert done.returncode in (0, DAMAGED), page  # 0: the damage cost no row
        lines = (out / "interaction.jsonl").read_text().splitlines()
        assert {json.loads(line)["id"] for line in lines} == readable, page
        kept.append(len(readable) / ITEMS)
    print(f"\nsalvaged per damaged page: min {min(kept):.1%}, mean {sum(kept) / len(kept):.1%}")


@pytest.mark.skipif(not LONG, reason="a 10,000-item vault: make hardening")
def test_doctor_on_ten_thousand_items_takes_seconds(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    _fill(vault, 10_000)
    for name in ("home", "tmp"):
        (tmp_path / name).mkdir()
    kluis = Kluis(vault, tmp_path / "home", tmp_path / "tmp")
    started = time.perf_counter()
    assert kluis.run("doctor").returncode == 0
    healthy = time.perf_counter() - started
    flip_byte(vault, db_path(vault).stat().st_size // 2)
    started = time.perf_counter()
    assert kluis.run("doctor").returncode == DAMAGED
    damaged = time.perf_counter() - started
    print(f"\ndoctor on 10,000 items: {healthy:.1f} s healthy, {damaged:.1f} s damaged")
    assert healthy < 30 and damaged < 30
