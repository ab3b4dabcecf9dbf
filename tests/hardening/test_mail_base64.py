"""An attachment's base64 is decoded without the stdlib's copies of its text, and to the very
bytes the stdlib gives: written canonically (nearly every mailer) it takes the fast way, and
any other way of writing it (a shorter line, junk, missing padding, 8-bit bytes) the
stdlib's."""

from __future__ import annotations

import email
import tracemalloc
from datetime import UTC
from email.message import Message

import pytest

from importers.email.message import parse_message
from tests.hardening.test_mail_skeletons import (
    CASES,
    OTHER,
    SCAN,
    _file,
    _mail,
    _noise,
    _wrapped,
)
from vault.b64 import canonical_decoded, written_at
from vault.records import ImportOptions, Interaction

OPTIONS = ImportOptions(timezone=UTC)


def _line_end(text: bytes, eol: bytes, nth: int) -> int:
    """Where ``text``'s ``nth`` line ending (from 1; the headers' counted) starts."""
    at = -len(eol)
    for _ in range(nth):
        at = text.index(eol, at + len(eol))
    return at


def _moved(text: bytes, eol: bytes, nth: int, by: int) -> bytes:
    """``text`` with its ``nth`` line ending moved ``by`` letters (-1 or 1)."""
    at = _line_end(text, eol, nth)
    end = at + len(eol)
    if by < 0:
        return text[: at - 1] + eol + text[at - 1 : at] + text[end:]
    return text[:at] + text[end : end + 1] + eol + text[end + 1 :]


def _replaced(text: bytes, eol: bytes, nth: int, put: bytes) -> bytes:
    """``text`` with its ``nth`` line ending and the letter after it replaced by ``put``."""
    at = _line_end(text, eol, nth)
    return text[:at] + put + text[at + len(eol) + 1 :]


ODD_SHAPES: dict[str, bytes] = {
    "no padding": _mail(40, _file(OTHER).rstrip(b"=")),
    "junk after the text": _mail(41, _file(SCAN) + b"\n-- \nsent from my phone"),
    "padding mid-way (two texts glued)": _mail(
        43, _file(OTHER) + _wrapped(_noise(1000, 5), 76).rstrip(b"=")
    ),
    "8-bit bytes in a line": _mail(44, _file(SCAN).replace(b"A", b"\xe9", 1)),
    "tabs at line ends": _mail(45, _file(SCAN).replace(b"\n", b"\t\n")),
    "a blank line at the end": _mail(46, _file(SCAN) + b"\n"),
    "two blank lines at the end": _mail(47, _file(SCAN) + b"\n\n"),
    "lone CRs as line endings": _mail(48, _file(SCAN).replace(b"\n", b"\r")),
    "a first line of 4": _mail(49, _file(OTHER, 4)),
    "an empty body": _mail(50, _file(b"")),
    "one group": _mail(51, _file(b"abc")),
    "base64 with a space in its encoding's name": _mail(
        52, _file(SCAN).replace(b"base64", b"base64 ", 1)
    ),
    "upper-case encoding name": _mail(53, _file(SCAN).replace(b"base64", b"BASE64", 1)),
    # Every line ending where it must be is checked, and none may be anywhere else:
    "a line ending moved one letter back": _mail(54, _moved(_file(SCAN), b"\n", 9, -1)),
    "a bare LF in CRLF text": _mail(
        55, _replaced(_file(SCAN, eol=b"\r\n"), b"\r\n", 12, b"\nQ"), eol=b"\r\n"
    ),
    "a CR for a letter in CRLF text": _mail(
        56, _replaced(_file(SCAN, eol=b"\r\n"), b"\r\n", 12, b"\r\n\r"), eol=b"\r\n"
    ),
    "an LF for a letter in LF text": _mail(57, _replaced(_file(SCAN), b"\n", 7, b"\n\n")),
}


def _stdlib_attachments(raw: bytes) -> list[bytes]:
    """What ``email``'s own ``get_payload(decode=True)`` gives for each non-text leaf."""
    found = []
    for part in email.message_from_bytes(raw).walk():
        if not part.is_multipart() and part.get_content_maintype() != "text":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            found.append(data)
    return found


@pytest.mark.parametrize("name", [*CASES, *ODD_SHAPES])
def test_an_attachment_decodes_to_the_bytes_the_stdlib_gives(name: str) -> None:
    raw = CASES[name][0] if name in CASES else ODD_SHAPES[name]
    item = parse_message(raw, name, OPTIONS)
    assert isinstance(item, Interaction)
    ours = [file.data for file in item.attachments if not file.mime.startswith("text/")]
    assert ours == _stdlib_attachments(raw)


def test_a_text_part_in_base64_reads_as_the_stdlib_decodes_it() -> None:
    text = "Beste Sanne,\n\nde scan staat in de bijlage. Groet, Anna\n" * 30
    raw = _mail(
        60,
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + _wrapped(text.encode(), 76, b"\n"),
    )
    item = parse_message(raw, "text", OPTIONS)
    assert isinstance(item, Interaction)
    assert text.strip() in item.body
    parts = email.message_from_bytes(raw).get_payload()
    assert isinstance(parts, list) and isinstance(parts[1], Message)
    part = parts[1]
    assert part.get_payload(decode=True) == text.encode()


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_a_mail_with_a_4_mb_scan_is_parsed_in_less_than_three_times_its_size(eol: bytes) -> None:
    # The stdlib's decoding copied the attachment's text four times (a check for 8-bit
    # bytes, bytes, its lines, their join): the parse peaked at 5.5 times the mail. Checking
    # the text against its bytes written again held a second copy of it (3.7 times the mail,
    # 4.7 with CRLF line endings); it is now written again a block of lines at a time.
    raw = _mail(61, _file(_noise(4 << 20, 6))).replace(b"\n", eol)
    parse_message(raw, "warm-up", OPTIONS)
    tracemalloc.start()
    try:
        item = parse_message(raw, "scan", OPTIONS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(item, Interaction) and len(item.attachments[0].data) == 4 << 20
    assert peak < 3 * len(raw), f"{peak / len(raw):.1f} times the mail"


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_only_canonical_lines_take_the_fast_way(eol: bytes) -> None:
    # The fast way checks each line ending where it must be and the letters without them:
    # a line ending anywhere else, one moved, or one of the other kind is refused.
    text = _wrapped(SCAN, 76, eol)
    assert canonical_decoded(text) == SCAN
    assert canonical_decoded(text + eol) == SCAN
    other = b"\n" if eol == b"\r\n" else b"\r\n"
    refused = {
        "moved back": _moved(text, eol, 40, -1),
        "moved on": _moved(text, eol, 40, 1),
        "a CR for a letter": _replaced(text, eol, 40, eol + b"\r"),
        "an LF for a letter": _replaced(text, eol, 40, eol + b"\n"),
        "one of the other kind": _replaced(text, eol, 40, other + b"Q"),
        "a line ending more": _replaced(text, eol, 40, eol + eol + b"Q"),
    }
    for name, changed in refused.items():
        assert changed != text, name
        assert canonical_decoded(changed) is None, name
        assert written_at(SCAN, b"x" + changed, 1, 76, eol) is None, name
    assert canonical_decoded(text + eol + eol) is None
    assert written_at(SCAN, b"x" + text + eol, 1, 76, eol) == 1 + len(text)
