"""A mail with large attachments is stored without their base64 (schema 9, ``vault.skeleton``):
its bytes once, as the attachment's blob, not a second time inside the raw mail.

Every raw mail reads back byte for byte: the fixtures and hostile mails (with the threshold
at one byte, so that every attachment that can be cut out is), and generated mails with
attachments written every way (CRLF/LF, lines of 76, 64 and other lengths, no final newline,
the same attachment twice in a mail and in two mails, whitespace oddities, non-canonical
padding, the base64 also elsewhere in the mail): each is either stored as a skeleton and
rebuilt exactly, or stored whole. A missing or altered attachment blob is one clear error
(``VaultCorrupt``; one line from the CLI; a ✗ from ``kluis doctor``), never other bytes; the
full export writes the identical raw file, and a salvage reads it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import tracemalloc
from pathlib import Path

import pytest

from importers.email.mbox import split
from importers.email.message import parse_message
from tests.hardening.harness import LONG, Kluis, assert_clean_failure, make_vault, open_for_test
from tests.hardening.test_mail_parse_equal import fixtures, hostile
from tests.support import options
from vault import blobs, skeleton
from vault.errors import VaultCorrupt
from vault.ingest import Ingestor
from vault.pool import packed_ahead
from vault.records import Interaction
from vault.store import Store, execute

OPTIONS = options("me@example.org")
RANDOM_MAILS = 2_000 if LONG else 60


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _noise(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _wrapped(data: bytes, line: int, eol: bytes = b"\n") -> bytes:
    text = base64.b64encode(data)
    return eol.join(text[i : i + line] for i in range(0, len(text), line))


def _mail(n: int, *parts: bytes, eol: bytes = b"\n", tail: bytes = b"\n--B--\n") -> bytes:
    """A multipart mail whose parts are given whole (headers, blank line, body)."""
    head = (
        f"From: Anna <anna@example.com>\nTo: me@example.org\nSubject: Scan {n}\n"
        f"Message-ID: <scan-{n}@example.com>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nHierbij de scan.\n"
    ).encode()
    body = b"".join(b"--B" + eol + part + eol for part in parts)
    return (head.replace(b"\n", eol) + body)[: -len(eol)] + tail.replace(b"\n", eol)


def _file(data: bytes, line: int = 76, eol: bytes = b"\n", name: str = "scan.pdf") -> bytes:
    headers = (
        f'Content-Type: application/pdf; name="{name}"\n'
        f'Content-Disposition: attachment; filename="{name}"\n'
        "Content-Transfer-Encoding: base64\n\n"
    ).encode()
    return headers.replace(b"\n", eol) + _wrapped(data, line, eol)


def _noncanonical(encoded: bytes) -> bytes:
    """``encoded`` (ending in one ``=``-padded group) with bits set that the padding drops:
    it decodes to the same bytes, and is not how base64 writes them."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert encoded.endswith(b"==")
    last = alphabet.index(encoded[-3])
    return encoded[:-3] + alphabet[last | 1 : (last | 1) + 1] + b"=="


def _blank_line_inside(encoded: bytes) -> bytes:
    at = encoded.index(b"\n", len(encoded) // 2)
    return encoded[:at] + b"\n" + encoded[at:]


def _alone(data: bytes) -> bytes:
    """A mail that is one base64 PDF, with no final newline."""
    return (
        b"From: Anna <anna@example.com>\nTo: me@example.org\nSubject: Alone\n"
        b"Message-ID: <alone@example.com>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
        b"Content-Type: application/pdf; name=a.pdf\n"
        b"Content-Transfer-Encoding: base64\n\n" + _wrapped(data, 76)
    )


SCAN = _noise(60_000, 1)
OTHER = _noise(45_001, 2)  # 45,001 bytes: a last line of one group with padding
FULL = _noise(57 * 400, 3)  # the last line full, no padding
CASES: dict[str, tuple[bytes, bool]] = {
    # name: (the mail, stored as a skeleton)
    "LF, 76": (_mail(1, _file(SCAN)), True),
    "CRLF, 76": (_mail(2, _file(SCAN, eol=b"\r\n"), eol=b"\r\n"), True),
    "LF, 64": (_mail(3, _file(OTHER, 64)), True),
    "CRLF, 64": (_mail(4, _file(OTHER, 64, b"\r\n"), eol=b"\r\n"), True),
    "LF, 72": (_mail(5, _file(OTHER, 72)), True),
    "LF, 100": (_mail(6, _file(FULL, 100)), True),
    "last line full": (_mail(7, _file(FULL)), True),
    "one line, unwrapped": (_mail(8, _file(OTHER, 10**9)), True),
    "lines of 40": (_mail(9, _file(OTHER, 40)), True),
    "lines of 39 (under the probe)": (_mail(10, _file(OTHER, 39)), False),
    "no final newline": (_mail(11, _file(SCAN), tail=b""), True),
    "a mail that is the attachment alone": (_alone(OTHER), True),
    "the same attachment twice": (
        _mail(13, _file(SCAN), _file(SCAN, name="copy.pdf")),
        True,
    ),
    "the same attachment twice, other line lengths": (
        _mail(14, _file(SCAN), _file(SCAN, 64, name="copy.pdf")),
        True,
    ),
    "two attachments": (_mail(15, _file(SCAN), _file(OTHER, 64, name="b.pdf")), True),
    "trailing spaces on its lines": (
        _mail(16, _file(SCAN).replace(b"\n", b" \n")),
        False,
    ),
    "a blank line inside": (_mail(17, _blank_line_inside(_file(SCAN))), False),
    "one line shorter mid-way": (
        _mail(18, _file(SCAN)[:2000] + b"\n" + _file(SCAN)[2000:]),
        False,
    ),
    "mixed line endings": (_mail(19, _file(SCAN).replace(b"\n", b"\r\n", 30)), False),
    "non-canonical padding": (_mail(20, _noncanonical(_file(OTHER))), False),
    "quoted-printable": (
        _mail(
            21,
            b"Content-Type: text/plain; name=a.txt\nContent-Disposition: attachment\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n" + (b"caf=C3=A9 " * 4000),
        ),
        False,
    ),
    "a small attachment": (_mail(22, _file(_noise(2_000, 4))), False),
    "its base64 also in the text": (
        _mail(23, b"Content-Type: text/plain\n\n" + _wrapped(SCAN, 76), _file(SCAN)),
        True,
    ),
    "its first line in the text many times": (
        _mail(
            24,
            b"Content-Type: text/plain\n\n" + (_wrapped(SCAN, 76)[:76] + b"\n") * 20,
            _file(SCAN),
        ),
        True,
    ),
    "PDFs that start alike": (
        _mail(26, *(_file(b"%PDF-1.7\n" + b"%" * 200 + _noise(30_000, n), 64) for n in range(12))),
        True,
    ),
    "its first lines elsewhere in many shapes": (
        _mail(
            27,
            *(
                b"Content-Type: text/plain\n\n" + _wrapped(SCAN[:3000], line)
                for line in range(40, 60)
            ),
            _file(SCAN),
        ),
        False,
    ),
    "its bytes as text elsewhere": (
        _mail(25, b"Content-Type: text/plain\n\n" + base64.b64encode(SCAN)[:3000], _file(SCAN)),
        True,
    ),
}


def _items(raws: list[bytes]) -> list[Interaction]:
    items = []
    for number, raw in enumerate(raws):
        item = packed_ahead(parse_message(raw, f"test/{number}.eml", OPTIONS))
        if isinstance(item, Interaction):
            items.append(item)
    return items


def _stored(folder: Path, items: list[Interaction]) -> Store:
    make_vault(folder)
    store = open_for_test(folder)
    Ingestor(store, OPTIONS, "test", "t").run(items)
    return store


def _codecs(store: Store) -> dict[str, str]:
    with store.read() as conn:
        rows = execute(conn, "SELECT sha256, codec FROM blob").all()
    return {str(sha): str(codec) for sha, codec in rows}


def _read_back(store: Store, raws: list[bytes]) -> dict[str, str]:
    """Every stored raw mail read back equal to the mail it was; their codecs."""
    originals = {_digest(raw): raw for raw in raws}
    with store.read() as conn:
        stored = [str(r[0]) for r in execute(conn, "SELECT raw_blob FROM interaction").all()]
        for digest in stored:
            assert blobs.get_blob(conn, digest) == originals[digest]
    codecs = _codecs(store)
    return {digest: codecs[digest] for digest in stored}


def test_a_mail_with_a_large_attachment_holds_its_bytes_once(tmp_path: Path) -> None:
    raw = _mail(1, _file(_noise(3_000_000, 9)))
    store = _stored(tmp_path / "vault", _items([raw]))
    try:
        assert _read_back(store, [raw]) == {_digest(raw): blobs.SKELETON}
        with store.read() as conn:
            stored = execute(conn, "SELECT sum(length(data)) FROM blob").scalar()
        assert stored < 3_000_000 + 10_000  # the attachment and a skeleton of a few hundred bytes
    finally:
        store.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_way_of_writing_an_attachment_is_cut_out_and_rebuilt_or_kept_whole(
    case: str,
) -> None:
    raw, cut = CASES[case]
    (item,) = _items([raw])
    files = {file.packed.sha256: file.data for file in item.attachments if file.packed}
    packed = item.raw_packed
    assert packed is not None and packed.sha256 == _digest(raw) and packed.size == len(raw)
    assert (packed.codec == blobs.SKELETON) is cut
    assert blobs.decoded(packed.data, packed.codec, packed.sha256, files.get) == raw


def test_every_case_reads_back_from_a_vault(tmp_path: Path) -> None:
    raws = [raw for raw, _ in CASES.values()]
    store = _stored(tmp_path / "vault", _items(raws))
    try:
        codecs = _read_back(store, raws)
        assert len(codecs) == len(CASES)
        for name, (raw, cut) in CASES.items():
            assert (codecs[_digest(raw)] == blobs.SKELETON) is cut, name
    finally:
        store.close()


def test_every_fixture_and_hostile_mail_reads_back_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(skeleton, "MIN_PART", 1)  # cut out every attachment that can be
    raws = fixtures() + hostile()
    store = _stored(tmp_path / "vault", _items(raws))
    try:
        codecs = _read_back(store, raws)
        assert len(codecs) > 50 and list(codecs.values()).count(blobs.SKELETON) >= 3
    finally:
        store.close()


def _random_mail(rng: random.Random, n: int, shared: bytes) -> bytes:
    parts = []
    for number in range(rng.randrange(1, 4)):
        data = shared if rng.random() < 0.3 else rng.randbytes(rng.randrange(1, 40_000))
        line = rng.choice((76, 76, 64, 72, 60, rng.randrange(1, 200)))
        eol = rng.choice((b"\n", b"\r\n"))
        encoded = _file(data, line, eol, name=f"f{number}.bin")
        if rng.random() < 0.2:  # whitespace oddities: a space, a tab, a blank line
            at = rng.randrange(len(encoded))
            encoded = encoded[:at] + rng.choice((b" ", b"\t", b"\n", b"\r\n")) + encoded[at:]
        parts.append(encoded)
    tail = rng.choice((b"\n--B--\n", b"\n--B--", b"", b"\n"))
    return _mail(n, *parts, eol=rng.choice((b"\n", b"\r\n")), tail=tail)


def test_generated_mails_of_every_shape_read_back_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(skeleton, "MIN_PART", 1_000)
    rng = random.Random(20261207)
    shared = rng.randbytes(30_000)
    raws = [_random_mail(rng, 100 + n, shared) for n in range(RANDOM_MAILS)]
    store = _stored(tmp_path / "vault", _items(raws))
    try:
        codecs = _read_back(store, raws)
        assert list(codecs.values()).count(blobs.SKELETON) > RANDOM_MAILS // 3
    finally:
        store.close()


def _planted(tmp_path: Path, fault: str) -> tuple[Kluis, bytes]:
    """A vault with a mail stored as a skeleton, its attachment blob then ``fault``."""
    raw = _mail(1, _file(SCAN))
    store = _stored(tmp_path / "vault", _items([raw]))
    try:
        with store.begin() as conn:
            if fault == "deleted":
                execute(conn, "DELETE FROM attachment")
                execute(conn, "DELETE FROM blob WHERE sha256 = :s", {"s": _digest(SCAN)})
            else:  # the same size, other bytes
                execute(
                    conn,
                    "UPDATE blob SET data = :d, codec = 'raw' WHERE sha256 = :s",
                    {"d": _noise(len(SCAN), 99), "s": _digest(SCAN)},
                )
    finally:
        store.close()
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    return Kluis(tmp_path / "vault", home, home / "tmp"), raw


@pytest.mark.parametrize(
    ("fault", "said"),
    [("deleted", "is missing"), ("altered", "is not the mail stored")],
)
def test_a_missing_or_altered_attachment_is_one_clear_error_never_other_bytes(
    tmp_path: Path, fault: str, said: str
) -> None:
    kluis, raw = _planted(tmp_path, fault)
    store = open_for_test(kluis.vault)
    try:
        with store.read() as conn, pytest.raises(VaultCorrupt, match=said):
            blobs.get_blob(conn, _digest(raw))
    finally:
        store.close()
    stderr = assert_clean_failure(kluis.run("export", "--out", str(kluis.home / "out")), 1)
    assert said in stderr
    done = kluis.run("doctor")
    assert done.returncode == 1, done.stdout.decode()
    assert "✗ raw mails: 1 of 1 stored without their attachments' bytes cannot be rebuilt" in (
        done.stdout.decode()
    )


def test_export_writes_the_identical_raw_file_and_a_salvage_reads_it(tmp_path: Path) -> None:
    raws = [raw for raw, _ in CASES.values()]
    store = _stored(tmp_path / "vault", _items(raws))
    store.close()
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    kluis = Kluis(tmp_path / "vault", home, home / "tmp")
    doctor = kluis.run("doctor")
    assert doctor.returncode == 0, doctor.stdout.decode()
    cut = sum(1 for _, skeletonised in CASES.values() if skeletonised)
    assert f"✓ raw mails: {cut} stored without their attachments' bytes" in doctor.stdout.decode()
    for command in (["export", "--out"], ["doctor", "--salvage"]):
        out = home / command[0]
        done = kluis.run(*command, str(out))
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        items = [json.loads(line) for line in (out / "interaction.jsonl").read_text().splitlines()]
        written = {(out / item["raw_file"]).read_bytes() for item in items}
        assert written == set(raws), command


def test_a_skeleton_that_does_not_read_is_one_clear_error() -> None:
    text = binascii.b2a_base64(SCAN, newline=False)
    good = skeleton.form(b"x\n" + text + b"\n", {_digest(SCAN): SCAN})
    assert good is not None
    for broken in (b"not a skeleton", good.replace(b"[[", b"[{", 1), good[:20]):
        with pytest.raises(VaultCorrupt):
            skeleton.rebuilt(broken, {_digest(SCAN): SCAN}.get)
    with pytest.raises(VaultCorrupt, match="another skeleton"):
        blobs.decoded(
            blobs.pack_mail(b"x\n" + text + b"\n", [(SCAN, blobs.pack(SCAN))]).data, blobs.SKELETON
        )


def test_a_mail_of_many_attachments_is_made_in_bounded_work() -> None:
    files = [_noise(5_000, seed) for seed in range(300)]
    raw = _mail(1, *(_file(data, name=f"{n}.bin") for n, data in enumerate(files)))
    raw += _mail(2, *[_file(files[0])] * 300)
    form = skeleton.form(raw, {_digest(data): data for data in files})
    assert form is not None
    assert len(json.loads(form.split(b"\n")[1])) == skeleton.MAX_PARTS
    assert skeleton.rebuilt(form, {_digest(data): data for data in files}.get) == raw


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_a_skeleton_is_made_without_writing_the_attachment_s_text_whole(eol: bytes) -> None:
    # It wrote the text whole twice (unwrapped, then in lines): 2.7 times a 4 MB scan, the
    # largest moment of a parse worker's packing.
    data = _noise(4 * 2**20, 7)
    raw = _mail(1, _file(data, eol=eol), eol=eol)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        form = skeleton.form(raw, {_digest(data): data})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert form is not None and len(form) < 4096
    assert peak - before < 2**20
    assert skeleton.rebuilt(form, {_digest(data): data}.get) == raw


def test_an_mbox_imported_by_the_pool_exports_every_raw_mail_identical(tmp_path: Path) -> None:
    # 310 small mails, then 10 with a 400 KB scan: past the 300 parsed before the pool
    # starts, and over the 4 MB from which an mbox is parsed in worker processes.
    scans = [_mail(1_000 + n, _file(_noise(400_000, n))) for n in range(10)]
    small = [_mail(n, b"Content-Type: text/plain\n\nGeen bijlage.") for n in range(310)]
    mbox = tmp_path / "in.mbox"
    envelope = b"From anna@example.com Mon Jan  1 10:00:00 2024\n"
    mbox.write_bytes(b"".join(envelope + raw + b"\n" for raw in small + scans))
    make_vault(tmp_path / "vault")
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    kluis = Kluis(tmp_path / "vault", home, home / "tmp")
    done = kluis.run("import", str(mbox), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["new"] == 320, done.stderr
    store = open_for_test(tmp_path / "vault")
    try:
        assert list(_codecs(store).values()).count(blobs.SKELETON) == 10
    finally:
        store.close()
    with mbox.open("rb") as handle:
        expected = {message.raw for message in split(handle)}
    assert kluis.run("export", "--out", str(home / "out")).returncode == 0
    assert {path.read_bytes() for path in (home / "out" / "raw").iterdir()} == expected


def test_attachments_that_start_alike_are_each_cut_out() -> None:
    files = [b"%PDF-1.7\n" + b"%" * 200 + _noise(30_000, n) for n in range(12)]
    raw = _mail(1, *(_file(data, 64) for data in files))
    form = skeleton.form(raw, {_digest(data): data for data in files})
    assert form is not None and len(json.loads(form.split(b"\n")[1])) == 12
