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
from dataclasses import dataclass, replace

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
"""Line shapes (length, ending) an attachment's text is compared in, at most. A place whose
first line matches costs a comparison up to its first difference (the text written a block
of lines at a time), and only where a line starts, so a mail is read about once per
attachment."""
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
    verified = {begin: (end, part) for begin, end, part in cuts}
    return skeleton if _rebuilds(skeleton, raw, verified) else None


class _Search:
    """Where in a mail one attachment's canonical base64 is written whole. The text is never
    written whole: its first line is, to find a place, then it is compared a block of lines
    at a time (``b64.written_at``)."""

    def __init__(self, raw: bytes, digest: str, data: bytes) -> None:
        self.raw, self.digest, self.data = raw, digest, data
        self.length = 4 * -(-len(data) // 3)  # of the text, unwrapped
        self.probe = _first(data, _PROBE)
        self.tried: set[tuple[int, str]] = set()
        """The shapes tried (line length, line ending)."""

    def at(self, at: int) -> tuple[int, int, _Part] | None:
        """(start, end, part) if the text is written whole from ``at``, wrapped in lines of
        the length of the line there; None if not."""
        raw = self.raw
        newline = raw.find(b"\n", at, at + self.length + 2)
        if newline < 0 or newline - at >= self.length:  # all on one line
            line, eol = self.length, "\n"
        else:
            eol = "\r\n" if newline > at and raw[newline - 1] == 0x0D else "\n"
            line = newline - at - len(eol) + 1
        if line < _PROBE or not raw.startswith(_first(self.data, line), at):  # its first line
            return None
        if (line, eol) not in self.tried:
            if len(self.tried) == _SHAPES:
                return None
            self.tried.add((line, eol))
        end = b64.written_at(self.data, raw, at, line, _EOLS[eol])
        if end is None:
            return None
        return at, end, _Part(0, self.digest, len(self.data), line, eol)


def _first(data: bytes, characters: int) -> bytes:
    """The first ``characters`` of ``data``'s base64 (a multiple of 4 of them is exact)."""
    return b64.encoded(memoryview(data)[: -(-characters // 4) * 3])[:characters]


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


def pieces(skeleton: bytes) -> Iterator[memoryview | _Part]:
    """The mail a skeleton stands for, piece by piece: the rest between the cuts, and each
    attachment that was cut out, for the caller to write again."""
    parts, rest = _parsed(skeleton)
    taken = 0
    for part in parts:
        yield rest[taken : part.at]
        yield part
        taken = part.at
    yield rest[taken:]


def _rebuilds(skeleton: bytes, raw: bytes, cuts: Mapping[int, tuple[int, _Part]]) -> bool:
    """Whether ``skeleton`` rebuilds ``raw`` byte for byte, through ``pieces``. An attachment
    must come where a cut of it starts (``cuts``: its end in ``raw`` and its part, by its
    start): ``_Search`` found the text there written as ``rebuilt`` writes it again."""
    done = 0
    for piece in pieces(skeleton):
        if isinstance(piece, _Part):
            end, part = cuts.get(done, (-1, None))
            if part != replace(piece, at=0):  # cut parts are found with at=0
                return False
            done = end
        elif raw.startswith(piece, done):
            done += len(piece)
        else:
            return False
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

    return b"".join(
        encoded(piece) if isinstance(piece, _Part) else piece for piece in pieces(skeleton)
    )
