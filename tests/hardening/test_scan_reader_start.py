"""The scan reader child starts light (issue 21): it loads the modules it runs and the decoder
the file needs, not kluis's record model nor the parent's side, and no PDF engine for a picture.

Each test starts the reader exactly as ``importers.scan.sandbox`` does (its command and
environment, with ``-X importtime`` added to see what it imports), hands it one file and reads
its answer through the same frames.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from importers.scan import Scan, sandbox
from importers.scan.frames import read_frame, write_frame

TICKETS = Path(__file__).parents[1] / "fixtures" / "tickets"
KLUIS_SIDE = ("vault.records", "vault.errors", "importers.scan.sandbox")
"""What the reader must not load: the record model (importers/__init__) and the parent's side."""


def reader_reads(kind: str, path: Path, log: Path) -> tuple[Scan, set[str]]:
    """What the reader found in ``path`` and which modules it imported."""
    command = [sandbox._CHILD[0], "-X", "importtime", *sandbox._CHILD[1:]]
    with (
        log.open("wb") as stderr,
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=sandbox._ENVIRONMENT,
        ) as child,
    ):
        assert child.stdin is not None and child.stdout is not None
        write_frame(child.stdin.fileno(), json.dumps({"kind": kind}).encode())
        write_frame(child.stdin.fileno(), path.read_bytes())
        reply = read_frame(child.stdout.fileno(), 1 << 20, time.monotonic() + 60)
        child.stdin.close()
        assert child.wait(timeout=30) == 0 and reply is not None
    imported = {
        line.rpartition("|")[2].strip()
        for line in log.read_text().splitlines()
        if line.startswith("import time:")
    }
    return Scan.from_json(json.loads(reply), path.name), imported


def test_a_reader_given_a_picture_loads_neither_the_pdf_engine_nor_kluis_s_record_model(
    tmp_path: Path,
) -> None:
    scan, imported = reader_reads("image", TICKETS / "boarding-pass.png", tmp_path / "log")
    assert [code.symbology for code in scan.barcodes] == ["PDF417"]
    assert "zxingcpp" in imported
    assert sorted(imported & {*KLUIS_SIDE, "pypdfium2"}) == []


def test_a_reader_given_a_pdf_loads_the_pdf_engine_but_not_kluis_s_record_model(
    tmp_path: Path,
) -> None:
    scan, imported = reader_reads("pdf", TICKETS / "boarding-pass.pdf", tmp_path / "log")
    assert scan.barcodes and "pypdfium2" in imported
    assert sorted(imported & set(KLUIS_SIDE)) == []
