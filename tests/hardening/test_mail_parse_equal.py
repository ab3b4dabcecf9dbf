"""The fast mail path gives exactly the record the standard library's parser gives.

``parse_message`` cuts regular mail with ``importers.email.multipart`` (delimiters found with
``str.find``, header blocks read with one pattern, parameters parsed once per value) and leaves
anything irregular to the stdlib's ``BytesParser``, which ships as that fallback. Here every
mail is read both ways, the stdlib with a plain ``Message`` (no parameter cache), and every field
of the two ``Interaction`` records must agree: subject, sender, recipients, times, body,
attachments (names, types, bytes), bookings, hints, the headers kept, the dedup key.

The mails: both shapes of the benchmark's generator (1,000 each; 10,000 each with
``KLUIS_HARDENING_LONG=1``), every mail of the fixtures and the shared corpus, hostile mails
(MIME bombs, broken header blocks, odd line endings, long and RFC 2231 parameters) and random
mutations of all of these.
"""

from __future__ import annotations

import itertools
import random
import sys
from collections.abc import Iterable
from email.parser import BytesParser
from pathlib import Path

import pytest

from importers.email.addresses import _parties, parse_addresses
from importers.email.message import _BLANK_LINE, _HEAD_LIMIT, _header_block, parse_message
from importers.email.mime import PARSER, RAW_HEADERS
from tests.hardening.harness import LONG
from tests.hardening.test_hostile_inputs import headers, many_parts, nested_multipart
from tests.support import options
from tests.test_importer_multipart import fixture_mails, tree
from vault.records import Interaction, Quarantined

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import mailgen

REFERENCE = BytesParser(policy=RAW_HEADERS.clone(message_factory=None))
"""The stdlib's parser as it ships in the fallback, with the plain ``Message`` class."""
PER_SHAPE = 10_000 if LONG else 1_000
MUTATIONS = 5_000 if LONG else 400
OPTIONS = options(mailgen.OWNER)


def differences(raws: Iterable[bytes]) -> list[str]:
    """One line per mail whose fast record differs from the reference record (at most 5)."""
    found: list[str] = []
    for number, raw in enumerate(raws):
        fast = parse_message(raw, f"mail-{number}", OPTIONS)
        reference = parse_message(raw, f"mail-{number}", OPTIONS, parser=REFERENCE)
        if fast != reference:
            found.append(f"mail {number} ({raw[:60]!r}…): {_first_difference(fast, reference)}")
            if len(found) == 5:
                break
    return found


def _first_difference(fast: Interaction | Quarantined, reference: Interaction | Quarantined) -> str:
    """The name of the first field that differs, with both values (cut short)."""
    if type(fast) is not type(reference):
        return f"{type(fast).__name__} vs {type(reference).__name__}: {fast!r:.200}"
    for name in fast.__slots__:
        mine, theirs = getattr(fast, name), getattr(reference, name)
        if mine != theirs:
            return f"{name}: {mine!r:.200} vs {theirs!r:.200}"
    return "?"


def generated(shape: str) -> list[bytes]:
    """``PER_SHAPE`` mails of one of the benchmark's shapes."""
    return [raw for _, raw in mailgen.SHAPES[shape](mailgen.SEED, PER_SHAPE).messages()]


def fixtures() -> list[bytes]:
    """Every mail in tests/fixtures and, when it is beside this checkout, the shared corpus."""
    return [param.values[0] for param in fixture_mails()]


def hostile() -> list[bytes]:
    """Mails whose MIME or header blocks are of every shape the fast path must leave alone."""
    text = b"Content-Type: text/plain; charset=utf-8\n\nYour seat is 12A.\n"
    mixed = b'Content-Type: multipart/mixed; boundary="B"\n\n'
    bodies = [
        b"From sender@example.com Mon Jan  1 10:00:00 2024\n" + text,  # an envelope line
        b": a field without a name\n" + text,
        b"X-Broken header line\n" + text,
        b"X-\xc3\xa9t\xc3\xa9: 8-bit in a field name\n" + text,
        b"X-Folded:\n\tonly a continuation\n \n" + text,
        b"X-Trailing: spaces after   \t\n" + text,
        b"X-Tab:\tvalue after a tab\n" + text,
        b"Content-Type: text/plain\nContent-Type: text/html\n\n<p>two types</p>\n",
        b"Content-Type:\n\nan empty type\n",
        b"Content-Type: text/plain; charset=" + b"x" * 400 + b"\n\nlong label\n",
        b"Content-Type: text/plain;\n charset*=utf-8''%C3%A9;\n\tname*0*=utf-8''r%C3%A9;"
        b" name*1=sum\xc3\xa9.txt\nContent-Disposition: inline\n\nRFC 2231\n",
        mixed + b"--B\nFrom x\n" + text + b"--B--\n",
        mixed + b"--B\n\tcontinued first\n" + text + b"--B--\n",
        mixed + b"--B\nContent-Type: text/plain\n--B--\n",  # no blank line after the headers
        mixed + b"--B\n" + text + b"--B\nContent-Type: message/rfc822\n\n" + headers(9) + b"\n"
        b"inner\n--B--\n",
        mixed
        + b'--B\nContent-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64'
        b"\n\nJVBERi0xLjQK\n--B--\n",
        mixed + b"--B\n" + text + b"--B--",  # no newline after the close delimiter
        many_parts(200).split(b"\n", 1)[1],
        nested_multipart(60).split(b"\n", 1)[1],
    ]
    mails = [headers(n, body) for n, body in enumerate(bodies)]
    mails += [mail.replace(b"\n", b"\r\n") for mail in mails]
    mails += [mail.replace(b"\n", b"\r", 3) for mail in mails[:5]]
    return mails


def mutations(seeds: list[bytes], count: int) -> list[bytes]:
    """``count`` copies of the seeds with a slice replaced by noise, cut short or doubled."""
    rng = random.Random(20261207)
    noise = [b"\n", b"\r\n", b"--", b":", b" ", b"\t", b"=?utf-8?q?=C3?=", b"\xff", b"--B", b";"]
    out = []
    for _ in range(count):
        seed = rng.choice(seeds)
        start = rng.randrange(len(seed) + 1)
        end = min(len(seed), start + rng.randrange(64))
        how = rng.randrange(3)
        if how == 0:
            junk = b"".join(rng.choice(noise) for _ in range(rng.randrange(1, 6)))
            out.append(seed[:start] + junk + seed[end:])
        elif how == 1:
            out.append(seed[:start])
        else:
            out.append(seed[:end] + seed[start:])
    return out


@pytest.mark.parametrize("shape", sorted(mailgen.SHAPES))
def test_generated_mail_gives_the_standard_librarys_record(shape: str) -> None:
    assert differences(generated(shape)) == []


def test_every_fixture_mail_gives_the_standard_librarys_record() -> None:
    mails = fixtures()
    assert len(mails) > 20
    assert differences(mails) == []


def test_hostile_mail_gives_the_standard_librarys_record() -> None:
    assert differences(hostile()) == []


def test_mutated_mail_gives_the_standard_librarys_record() -> None:
    small = [mail for mail in generated("commercial")[:50] + fixtures() if len(mail) < 50_000]
    assert differences(mutations(small + hostile(), MUTATIONS)) == []


def test_hostile_and_mutated_mail_parse_to_the_standard_librarys_tree() -> None:
    # A stricter check than the records: a header the record never reads must match too.
    seeds = hostile()
    for raw in seeds + mutations(seeds, MUTATIONS):
        assert tree(PARSER.parsebytes(raw)) == tree(REFERENCE.parsebytes(raw)), raw


def test_address_headers_read_from_the_cache_are_those_read_afresh() -> None:
    # Both paths above share parse_addresses' cache: prove it against a fresh read.
    values = [
        value
        for raw in generated("commercial")[:300] + fixtures() + hostile()
        for name, value in REFERENCE.parsebytes(raw).items()
        if name.lower() in ("from", "to", "cc", "reply-to", "sender") and isinstance(value, str)
    ]
    assert len(values) > 600
    for value in values + values:  # the second round is answered by the cache
        found = parse_addresses(value)
        assert found == list(_parties(value))
        found.clear()  # a caller may change its list: the next caller's is its own
        assert parse_addresses(value) == list(_parties(value))


def test_the_header_block_ends_where_the_blank_line_pattern_says() -> None:
    # _header_block finds the first blank line with plain searches; the pattern is the spec.
    def by_pattern(data: bytes) -> bytes:
        head = data[:_HEAD_LIMIT]
        blank = _BLANK_LINE.search(head)
        return head[: blank.start()] if blank else head

    shapes = [bytes(p) for n in range(9) for p in itertools.product(b"\r\na", repeat=n)]
    edge = [b"a" * (_HEAD_LIMIT - k) + b"\r\n\r\n" for k in range(6)]
    for data in shapes + edge + hostile():
        assert _header_block(data) == by_pattern(data), data[-20:]
