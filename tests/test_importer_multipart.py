"""The fast MIME cutter gives exactly the tree the standard library's parser gives."""

from __future__ import annotations

import random
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from importers.email.mbox import split
from importers.email.mime import PARSER, RAW_HEADERS
from tests.support import SHARED_CORPUS

FIXTURES = Path(__file__).parent / "fixtures"
STDLIB = BytesParser(policy=RAW_HEADERS)


def tree(message: Message) -> tuple[Any, ...]:
    """Everything a parsed message holds that kluis (or anyone) could read back."""
    payload = message._payload  # the raw payload: get_payload() would decode 8-bit text
    return (
        message._headers,
        message._unixfrom,
        message._default_type,
        message.preamble,
        message.epilogue,
        [type(defect).__name__ for defect in message.defects],
        [tree(part) for part in payload] if isinstance(payload, list) else payload,
    )


def fixture_mails() -> list[Any]:
    """Every mail in the test fixtures and, when it is beside this checkout, the shared corpus."""
    found: list[Any] = []
    for root in (FIXTURES, SHARED_CORPUS / "emails"):
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if not path.is_file() or path.suffix in (".py", ".json", ".md"):
                continue
            data = path.read_bytes()
            if data.startswith(b"From "):
                with path.open("rb") as handle:
                    for message in split(handle):
                        if message.raw is not None:
                            found.append(
                                pytest.param(message.raw, id=f"{path.name}#{message.start}")
                            )
            elif path.suffix in ("", ".eml") or "Maildir" in path.parts:
                found.append(pytest.param(data, id=path.name))
    return found


@pytest.mark.parametrize("raw", fixture_mails())
def test_every_fixture_mail_parses_to_the_standard_librarys_tree(raw: bytes) -> None:
    assert tree(PARSER.parsebytes(raw)) == tree(STDLIB.parsebytes(raw))


def _mail(
    eol: str, boundary: str, parts: list[str], *, preamble: str = "", epilogue: str = ""
) -> bytes:
    quoted = boundary.replace("\\", "\\\\").replace('"', '\\"')
    lines = ["From: KLM <noreply@klm.com>", "Subject: Boarding pass"]
    lines += [f'Content-Type: multipart/mixed; boundary="{quoted}"', "", preamble]
    for part in parts:
        lines += [f"--{boundary}", part]
    lines += [f"--{boundary}--", epilogue]
    return eol.join(lines).encode("utf-8", "surrogateescape")


TEXT = "Content-Type: text/plain; charset=utf-8\n\nYour seat is 12A.\n"
NESTED = (
    'Content-Type: multipart/alternative; boundary="inner"\n\n--inner\n'
    + TEXT
    + "--inner\nContent-Type: text/html\n\n<p>Your seat is <b>12A</b>.</p>\n"
    + "--inner--\nafter inner\n"
)
CASES = {
    "plain text and html": ("\n", "b1", [TEXT, TEXT.replace("plain", "html")], "", ""),
    "crlf line endings": ("\r\n", "b1", [TEXT.replace("\n", "\r\n")], "preamble", "epilogue"),
    "nested alternative": ("\n", "outer", [NESTED, TEXT], "", "\n"),
    "regex characters in the boundary": ("\n", "a.b*c+(d)?[e]$^|\\", [TEXT], "", ""),
    "spaces after the delimiter": ("\n", "b1 ", [TEXT], "", ""),
    "a body line that starts like a delimiter": ("\n", "b1", [TEXT + "--b1x\n-- b1\n"], "", ""),
    "repeated delimiter lines": ("\n", "b1", ["--b1\n" + TEXT], "", ""),
    "a part without a blank line": ("\n", "b1", ["Content-Type: text/plain\n"], "", ""),
    "a part with no headers": ("\n", "b1", ["\nJust text.\n"], "", ""),
    "a forwarded mail": (
        "\n",
        "b1",
        ["Content-Type: message/rfc822\n\nSubject: old\n\nhi\n"],
        "",
        "",
    ),
    "a header line with no colon": (
        "\n",
        "b1",
        ["Content-Type: text/plain\nnot a header\n\nhi\n"],
        "",
        "",
    ),
    "mixed line endings": ("\n", "b1", [TEXT.replace("\n", "\r\n")], "", ""),
    "8-bit bytes": ("\n", "b1", [TEXT.replace("12A", "12A \udcc3\udca9")], "", ""),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_well_formed_and_broken_multiparts_parse_as_the_standard_library_does(
    case: tuple[str, str, list[str], str, str],
) -> None:
    eol, boundary, parts, preamble, epilogue = case
    raw = _mail(eol, boundary, parts, preamble=preamble, epilogue=epilogue)
    assert tree(PARSER.parsebytes(raw)) == tree(STDLIB.parsebytes(raw))


def test_random_multiparts_parse_as_the_standard_library_does() -> None:
    rng = random.Random(20240601)
    alphabet = "abcXYZ0189'()+_,-./:=? \\*[]{}|^$"
    for _ in range(500):
        boundary = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))).strip() or "x"
        eol = rng.choice(["\n", "\r\n", "\r"])
        parts = []
        for number in range(rng.randint(0, 3)):
            body = f"part {number}" + rng.choice(["", eol + "--" + boundary + "x", eol + "-- "])
            extra = rng.choice(["", f"--{boundary}" + eol, f"--{boundary}--" + eol])
            parts.append(extra + "Content-Type: text/plain" + eol + eol + body)
        raw = _mail(
            eol,
            boundary,
            parts,
            preamble=rng.choice(["", "pre"]),
            epilogue=rng.choice(["", "post", eol]),
        )
        if rng.random() < 0.2:
            raw = raw.rsplit(b"--" + boundary.encode() + b"--", 1)[0]  # no close delimiter
        assert tree(PARSER.parsebytes(raw)) == tree(STDLIB.parsebytes(raw)), raw
