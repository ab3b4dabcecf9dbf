"""Canonical base64 (RFC 2045: padded, in lines of one length ended by one line ending), made
and read at the speed of memory: an attachment of a mail is its largest part, and its base64
is read once by the parser, checked by the raw mail's skeleton (``vault.skeleton``) as it
is stored (a block of lines at a time, never whole), and written as it is read.

pybase64 (BSD-2-Clause, SIMD) decodes a 4 MB attachment's lines in 1.6 ms where the stdlib's
``email`` path (a copy to check for surrogates, another to bytes, ``splitlines`` into 75,000
lines, a join and ``binascii``) takes 40 ms; it encodes 76-column lines in 4 ms where a join
of slices took 15. Anything it reads is checked against what it writes, so only canonical
text takes this path, and for that text any decoder gives the same bytes.
"""

from __future__ import annotations

import binascii

import pybase64

_MIME_LINE = 76
"""The line length ``encodebytes`` writes (RFC 2045's largest, and most mailers')."""


def encoded(data: bytes | memoryview) -> bytes:
    """``data`` in base64, one line without line ending."""
    return pybase64.b64encode(data)


def lines(data: bytes | memoryview, line: int, eol: bytes) -> bytes | memoryview:
    """``data`` in base64, in lines of ``line`` characters ended by ``eol``, the last one not
    (all on one line if ``line`` is its length or more)."""
    if line == _MIME_LINE and 4 * -(-len(data) // 3) > line:
        text = pybase64.encodebytes(data)  # every line ended by \n, the last one too
        if eol != b"\n":
            text = text.replace(b"\n", eol)
        return memoryview(text)[: -len(eol)]
    return wrapped(encoded(data), line, eol)


def wrapped(text: bytes, line: int, eol: bytes) -> bytes:
    """Base64 ``text`` in lines of ``line`` characters ended by ``eol``, the last one not."""
    if line >= len(text):
        return text
    return eol.join([text[i : i + line] for i in range(0, len(text), line)])


def canonical_decoded(text: bytes) -> bytes | None:
    """The bytes ``text`` encodes if it is their canonical base64 (in lines of the length of
    its first, ended by ``\\n`` or ``\\r\\n``, the last line's ending optional); None if not.

    A text this returns bytes for has only base64 letters and line endings, and the letters
    are the padded encoding of those bytes, so the stdlib (``email``'s ``get_payload``,
    ``base64.b64decode(validate=True)``) reads exactly these bytes from it, with no defect.
    """
    try:
        data = pybase64.b64decode(text)
    except (binascii.Error, ValueError):
        return None
    newline = text.find(b"\n")
    if newline < 0:
        return data if encoded(data) == text else None
    eol = b"\r\n" if newline and text[newline - 1] == 0x0D else b"\n"
    line = newline + 1 - len(eol)
    if line <= 0:
        return None
    return data if _written_in_lines(data, text, line, eol) else None


_CHECKED_LINES = 1024
"""Lines checked at a time (a multiple of 4, so a block of them ends where a base64 group
does): the check never holds a second copy of a large attachment's text."""


def _written_in_lines(data: bytes, text: bytes, line: int, eol: bytes) -> bool:
    """Whether ``text`` is ``lines(data, line, eol)``, its last line's ending optional."""
    end = written_at(data, text, 0, line, eol)
    if end is None:
        return False
    rest = len(text) - end
    return rest == 0 or (rest == len(eol) and text.endswith(eol))


def written_at(data: bytes | memoryview, text: bytes, at: int, line: int, eol: bytes) -> int | None:
    """Where ``lines(data, line, eol)`` ends in ``text`` if ``text`` holds it from ``at`` on;
    None if not. Checked ``_CHECKED_LINES`` lines at a time: a large attachment's text is
    never held twice."""
    source = memoryview(data)
    step = _CHECKED_LINES * line // 4 * 3  # the bytes a block of lines encodes
    position = at
    for start in range(0, len(source), step):
        end = _lines_end(source[start : start + step], text, position, line, eol)
        if end is None:
            return None
        position = end
        if start + step < len(source):  # a block before the last: its last line's ending
            if not text.startswith(eol, position):
                return None
            position += len(eol)
    return position


def _lines_end(data: memoryview, text: bytes, at: int, line: int, eol: bytes) -> int | None:
    """Where ``lines(data, line, eol)`` ends in ``text`` if ``text`` holds it from ``at`` on.

    Three times as fast as writing the lines and comparing (``encodebytes`` makes 76-column
    lines at a third of the speed of one line): the letters are written on one line, every
    line ending is checked where it must be, and the text without its line endings must be
    those letters. That last comparison also refuses any line ending elsewhere: deleting it
    would leave the text shorter than the letters.
    """
    letters = encoded(data)
    count = -(-len(letters) // line)  # lines
    end = at + len(letters) + (count - 1) * len(eol)
    region = text[at:end]
    if len(region) != end - at:
        return None
    stride = line + len(eol)
    for offset, byte in enumerate(eol):
        if region[line + offset :: stride] != bytes((byte,)) * (count - 1):
            return None
    # bytes.replace of one byte runs at memory speed; of two (\r\n), slower than translate
    letters_read = region.replace(eol, b"") if len(eol) == 1 else region.translate(None, eol)
    return end if letters_read == letters else None
