"""A raw mail without its attachments' bytes: the *skeleton* of a mail whose large attachments
are stored once, as their own blobs, and not a second time as base64 inside the mail.

A skeleton is the mail's bytes with each large attachment's base64 text cut out, and a list
of where each was cut and how to write it again: the attachment's SHA-256 and size, its line
length and line ending (the last line is whatever is left of the text, so its shape follows).
Only the canonical encoding is cut out (RFC 2045 base64, padded, lines of one length, one
line ending, nothing else between them): anything else stays in the skeleton as it is.

``form`` makes a skeleton and returns it only after rebuilding the mail from it, through the
very code that reads it back (``pieces``), and finding every byte equal; ``rebuilt`` is the
reading side. The blob that holds a skeleton keeps the SHA-256 of the whole mail, and
``vault.blobs`` checks the rebuilt bytes against it: a skeleton never reads back as other
bytes, and a missing attachment is a ``VaultCorrupt`` error.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from vault.errors import VaultCorrupt

MIN_PART = 4 * 1024
"""Attachments smaller than this stay in the mail. Measured here (``bench/raw_mail.py
--parts``): at 4 KB a skeleton costs as much CPU to make and to read (with its one more blob
lookup, 7 µs) as compressing and inflating the whole mail, and saves its bytes on disk; at
1 KB it costs twice the CPU to save 1 KB; from 16 KB it is cheaper both ways."""
MAGIC = b"kluis-skeleton 1\n"
_PROBE = 40
"""Characters of an attachment's base64 searched for in the mail: lines at least this long."""
MAX_PARTS = 32
"""Attachments looked for in one mail, the largest first, and cuts made in it: each search
reads the mail once, so a mail of ten thousand small attachments (or one attachment ten
thousand times) costs 32 reads of it, not ten thousand."""
_MISSES = 8
"""Places per attachment where its probe matched and its encoding did not, before giving up
(an attachment of zeros matches at many places; each miss costs a line's comparison)."""
_EOLS = {"\n": b"\n", "\r\n": b"\r\n"}

Fetch = Callable[[str], "bytes | None"]
"""Gives an attachment's bytes by SHA-256, or None if the vault has none."""


@dataclass(frozen=True, slots=True)
class _Part:
    """One attachment's base64 text cut out of the mail at ``at`` (an offset in the rest)."""

    at: int
    sha256: str
    size: int
    line: int
    eol: str


def _wrapped(text: bytes, line: int, eol: str) -> bytes:
    """Base64 ``text`` in lines of ``line`` characters ended by ``eol``, the last one not."""
    if line >= len(text):
        return text
    return _EOLS[eol].join([text[i : i + line] for i in range(0, len(text), line)])


def form(raw: bytes, parts: Mapping[str, bytes]) -> bytes | None:
    """``raw`` as a skeleton, its encodings of ``parts`` (attachment bytes by SHA-256) cut
    out; None where none of them is found, or the skeleton would not rebuild ``raw``
    exactly."""
    cuts: list[tuple[int, int, _Part]] = []  # (start in raw, end in raw, part)
    encodings: dict[tuple[str, int, str], bytes] = {}
    largest = sorted(parts.items(), key=lambda entry: -len(entry[1]))[:MAX_PARTS]
    for digest, data in largest:
        if len(data) < MIN_PART:
            break
        text = binascii.b2a_base64(data, newline=False)
        start, misses = 0, 0
        while (
            misses < _MISSES
            and len(cuts) < MAX_PARTS
            and (at := raw.find(text[:_PROBE], start)) >= 0
        ):
            found = _place(raw, at, text, digest, len(data), encodings)
            if found is None or any(at < end and begin < found[1] for begin, end, _ in cuts):
                misses += 1
                start = at + 1
                continue
            cuts.append(found)
            start = found[1]
    if not cuts:
        return None
    cuts.sort(key=lambda cut: cut[0])
    rest: list[bytes] = []
    placed: list[_Part] = []
    taken, offset = 0, 0
    for begin, end, part in cuts:
        rest.append(raw[taken:begin])
        offset += begin - taken
        placed.append(_Part(offset, part.sha256, part.size, part.line, part.eol))
        taken = end
    rest.append(raw[taken:])
    header = json.dumps([[p.at, p.sha256, p.size, p.line, p.eol] for p in placed])
    skeleton = MAGIC + header.encode() + b"\n" + b"".join(rest)
    return skeleton if _rebuilds(skeleton, raw, encodings) else None


def _place(
    raw: bytes,
    at: int,
    text: bytes,
    digest: str,
    size: int,
    encodings: dict[tuple[str, int, str], bytes],
) -> tuple[int, int, _Part] | None:
    """Where the canonical encoding ``text`` (wrapped as the line at ``at`` is) is written
    whole at ``at``: (start, end, part), its wrapped form kept in ``encodings``."""
    newline = raw.find(b"\n", at, at + len(text) + 2)
    if newline < 0 or newline - at >= len(text):  # all on one line
        line, eol = len(text), "\n"
    else:
        eol = "\r\n" if newline > at and raw[newline - 1] == 0x0D else "\n"
        line = newline - at - len(eol) + 1
        if line < _PROBE:
            return None
    key = (digest, line, eol)
    wrapped = encodings.get(key)
    if wrapped is None:
        wrapped = _wrapped(text, line, eol)
    if not raw.startswith(wrapped, at):
        return None
    encodings[key] = wrapped
    return at, at + len(wrapped), _Part(0, digest, size, line, eol)


def _parsed(skeleton: bytes) -> tuple[list[_Part], memoryview]:
    """The parts a skeleton lists and the rest of the mail.

    Raises:
        VaultCorrupt: it is not a skeleton this kluis wrote.
    """
    end = skeleton.find(b"\n", len(MAGIC))
    if not skeleton.startswith(MAGIC) or end < 0:
        raise VaultCorrupt("a raw mail stored as a skeleton has no skeleton header")
    rest = memoryview(skeleton)[end + 1 :]
    try:
        listed = json.loads(skeleton[len(MAGIC) : end])
        parts = [_Part(int(a), str(s), int(n), int(w), str(e)) for a, s, n, w, e in listed]
    except (ValueError, TypeError) as exc:
        raise VaultCorrupt(f"a raw mail's skeleton header does not read: {exc}") from None
    offsets = [p.at for p in parts]
    if (
        offsets != sorted(offsets)
        or any(not 0 <= o <= len(rest) for o in offsets)
        or any(p.line <= 0 or p.eol not in _EOLS or p.size < 0 for p in parts)
    ):
        raise VaultCorrupt("a raw mail's skeleton header lists parts it cannot have")
    return parts, rest


def pieces(skeleton: bytes, encoded: Callable[[_Part], bytes]) -> Iterator[bytes | memoryview]:
    """The mail a skeleton stands for, piece by piece: the rest between the cuts, and each
    attachment's encoding as ``encoded`` gives it."""
    parts, rest = _parsed(skeleton)
    taken = 0
    for part in parts:
        yield rest[taken : part.at]
        yield encoded(part)
        taken = part.at
    yield rest[taken:]


def _rebuilds(skeleton: bytes, raw: bytes, encodings: dict[tuple[str, int, str], bytes]) -> bool:
    """Whether ``skeleton`` rebuilds ``raw`` byte for byte, through ``pieces``."""
    done = 0
    for piece in pieces(skeleton, lambda p: encodings[(p.sha256, p.line, p.eol)]):
        if not raw.startswith(piece, done):
            return False
        done += len(piece)
    return done == len(raw)


def rebuilt(skeleton: bytes, fetch: Fetch) -> bytes:
    """The mail a skeleton stands for, its attachments' bytes from ``fetch``.

    Raises:
        VaultCorrupt: the skeleton does not read, or an attachment it needs is missing or of
            another size.
    """

    def encoded(part: _Part) -> bytes:
        data = fetch(part.sha256)
        if data is None:
            raise VaultCorrupt(
                f"a raw mail cannot be rebuilt: its attachment {part.sha256[:12]}… is missing"
            )
        if len(data) != part.size:
            raise VaultCorrupt(
                f"a raw mail cannot be rebuilt: its attachment {part.sha256[:12]}… "
                f"has {len(data):,} bytes, not {part.size:,}"
            )
        return _wrapped(binascii.b2a_base64(data, newline=False), part.line, part.eol)

    return b"".join(pieces(skeleton, encoded))
