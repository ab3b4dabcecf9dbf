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

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from vault import b64
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
_SHAPES = 3
"""Line shapes (length, ending) an attachment's text is wrapped in to compare, at most: a
place whose first line matches and whose shape is a new one costs a wrapping of the whole
text. Places of a shape already wrapped cost a comparison up to their first difference, and
only where a line starts, so a mail is read about once per attachment."""
_EOLS = {"\n": b"\n", "\r\n": b"\r\n"}

Encoding = bytes | memoryview
"""An attachment's base64 as the mail has it (``vault.b64.lines``)."""
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


def form(raw: bytes, parts: Mapping[str, bytes]) -> bytes | None:
    """``raw`` as a skeleton, its encodings of ``parts`` (attachment bytes by SHA-256) cut
    out; None where none of them is found, or the skeleton would not rebuild ``raw``
    exactly."""
    cuts: list[tuple[int, int, _Part]] = []  # (start in raw, end in raw, part)
    encodings: dict[tuple[str, int, str], Encoding] = {}  # each cut's text, as the mail has it
    largest = sorted(parts.items(), key=lambda entry: -len(entry[1]))[:MAX_PARTS]
    for digest, data in largest:
        if len(data) < MIN_PART:
            break
        search = _Search(raw, digest, data)
        start = 0
        while len(cuts) < MAX_PARTS and (at := raw.find(search.probe, start)) >= 0:
            if at and raw[at - 1] != 0x0A:  # not where a line starts: nor is the rest of it
                start = raw.find(b"\n", at) + 1
                if not start:
                    break
                continue
            found = search.at(at)
            if found is None or any(at < end and begin < found[1] for begin, end, _ in cuts):
                start = at + 1
                continue
            cuts.append(found)
            encodings[(digest, found[2].line, found[2].eol)] = search.tried[
                found[2].line, found[2].eol
            ]
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


class _Search:
    """Where in a mail one attachment's canonical base64 is written whole."""

    def __init__(self, raw: bytes, digest: str, data: bytes) -> None:
        self.raw, self.digest, self.data = raw, digest, data
        self.text = b64.encoded(data)
        self.probe = self.text[:_PROBE]
        self.tried: dict[tuple[int, str], Encoding] = {}
        """The text wrapped in each shape tried (line length, line ending)."""

    def at(self, at: int) -> tuple[int, int, _Part] | None:
        """(start, end, part) if the text is written whole from ``at``, wrapped in lines of
        the length of the line there; None if not."""
        raw, text = self.raw, self.text
        newline = raw.find(b"\n", at, at + len(text) + 2)
        if newline < 0 or newline - at >= len(text):  # all on one line
            line, eol = len(text), "\n"
        else:
            eol = "\r\n" if newline > at and raw[newline - 1] == 0x0D else "\n"
            line = newline - at - len(eol) + 1
        if line < _PROBE or not raw.startswith(text[:line], at):  # its first line differs
            return None
        wrapped = self.tried.get((line, eol))
        if wrapped is None:
            if len(self.tried) == _SHAPES:
                return None
            wrapped = self.tried[line, eol] = b64.lines(self.data, line, _EOLS[eol])
        if not raw.startswith(wrapped, at):
            return None
        return at, at + len(wrapped), _Part(0, self.digest, len(self.data), line, eol)


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


def pieces(skeleton: bytes, encoded: Callable[[_Part], Encoding]) -> Iterator[Encoding]:
    """The mail a skeleton stands for, piece by piece: the rest between the cuts, and each
    attachment's encoding as ``encoded`` gives it."""
    parts, rest = _parsed(skeleton)
    taken = 0
    for part in parts:
        yield rest[taken : part.at]
        yield encoded(part)
        taken = part.at
    yield rest[taken:]


def _rebuilds(skeleton: bytes, raw: bytes, encodings: dict[tuple[str, int, str], Encoding]) -> bool:
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

    def encoded(part: _Part) -> Encoding:
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
        return b64.lines(data, part.line, _EOLS[part.eol])

    return b"".join(pieces(skeleton, encoded))
