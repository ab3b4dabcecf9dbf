"""Mail bytes to an ``email.message.Message`` tree, cutting well-formed MIME without a line loop.

``email``'s feedparser reads every line of every body part in Python and compiles a regular
expression for each multipart's boundary: together half of a mail's parse time on the
benchmark mailbox (0.59 → 0.30–0.38 ms a mail with this module).
``parse_mail`` finds delimiter lines with ``str.find`` instead and reads each header block
with one pattern (the feedparser's line loop was a quarter of the rest), then builds the tree
exactly as the feedparser would (header values as ``compat32`` stores them, payloads, preamble,
epilogue, the newline before a delimiter belonging to the delimiter, RFC 2046). It takes this
path only for the common shape: one line-ending style, every part with a header block ended by
a blank line and made only of fields and their continuation lines, every multipart with a
boundary, a 7bit/8bit/binary encoding, at least one part and a close delimiter, no repeated
delimiter lines, no ``message/*`` or ``multipart/digest`` part. Anything else is parsed by the
stdlib from the start, so the result is always the stdlib's tree (tests/test_importer_multipart.py
and tests/hardening/test_mail_parse_equal.py compare both, trees and records).

Not a compiled parser: fast-mail-parser 0.10 (Rust ``mailparse``; Apache-2.0, wheels for
CPython 3.11 x86_64 and aarch64) cuts the benchmark mail in 0.019 ms against 0.051 ms here, but
it hands back header values already unfolded (a fold becomes a space) and decoded (RFC 2047
words, 8-bit bytes as Latin-1) and quoted-printable with bare LFs turned into CRLF, so kluis
would have to read every header block again in Python to keep its records: the 0.03 ms left
is a tenth of a mail's parse, for a second MIME reading to keep equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32

_AFTER_DELIMITER = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
"""The feedparser's delimiter pattern after the literal ``--boundary`` (python 3.8–3.13)."""
_PLAIN_ENCODINGS = ("7bit", "8bit", "binary")
_HEADER_FIELD = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*(.*(?:\n[ \t].*)*)\n")
"""One header field and its continuation lines, as the feedparser's ``headerRE`` reads them:
a name of printable ASCII without ``:``, then the value (its first line's leading blanks
dropped, the folding kept); ``.`` takes a ``\r`` too, so CRLF fields match and are stripped."""


class _Irregular(Exception):
    """The mail is not of the shape this module cuts; the stdlib parses it instead."""


class MailParser:
    """Parses mail bytes as ``BytesParser(policy=policy).parsebytes`` does, faster."""

    def __init__(self, policy: Compat32) -> None:
        self._full = BytesParser(policy=policy)
        self._policy = policy
        self._factory: Callable[..., Message] = policy.message_factory or Message

    def parsebytes(self, data: bytes) -> Message:
        """The message tree of ``data``; the same tree ``BytesParser.parsebytes`` gives."""
        text = data.decode("ascii", "surrogateescape")  # as BytesParser does
        eol = _line_ending(text)
        if eol is not None:
            try:
                return self._part(text, 0, len(text), eol, nested=False)
            except _Irregular:
                pass
        return self._full.parsebytes(data)

    def _part(self, text: str, start: int, end: int, eol: str, *, nested: bool) -> Message:
        """The message in ``text[start:end]``: its header block, then its body.

        In a ``nested`` part the line ending before the next delimiter belongs to the
        delimiter: it is not in the payload (or the epilogue, for a multipart).
        """
        if text.startswith(eol, start, end):
            head_end = start  # no headers, only the separating blank line
        else:
            head_end = text.find(eol + eol, start, end)
            if head_end < 0:
                raise _Irregular
            head_end += len(eol)
        body = head_end + len(eol)
        message = self._header_block(text, start, head_end)
        maintype = message.get_content_maintype()
        if maintype == "message" or message.get_content_type() == "multipart/digest":
            raise _Irregular
        if maintype == "multipart":
            self._multipart(message, text, body, end, eol)
            if nested:
                epilogue = message.epilogue
                message.epilogue = epilogue.removesuffix(eol) if epilogue else None
        else:
            if nested and text.endswith(eol, body, end):
                end -= len(eol)  # cut before the copy: a part can be megabytes of base64
            message.set_payload(text[body:end])
        return message

    def _header_block(self, text: str, start: int, end: int) -> Message:
        """A message holding the header fields of ``text[start:end]`` (whole lines).

        The common block, every line a field or a continuation, is cut with one pattern into
        what the feedparser would store (``header_source_parse``: value without its line
        ending); any other (a ``From `` line, a nameless field, a line that is no header) is
        irregular, as the feedparser's defects would say.
        """
        message = self._factory(policy=self._policy)
        position = start
        for field in _HEADER_FIELD.finditer(text, start, end):
            if field.start() != position:
                raise _Irregular  # a line in the header block that is no header
            message.set_raw(field.group(1), field.group(2).rstrip("\r\n"))
            position = field.end()
        if position != end:
            raise _Irregular
        return message

    def _multipart(self, message: Message, text: str, start: int, end: int, eol: str) -> None:
        """Fill in the parts, preamble and epilogue of ``message`` from ``text[start:end]``."""
        boundary = message.get_boundary()
        encoding = str(message.get("content-transfer-encoding", "8bit")).lower()
        if boundary is None or encoding not in _PLAIN_ENCODINGS:
            raise _Irregular
        lines = _delimiter_lines(text, start, end, "--" + boundary, eol)
        first_start, first_end, closes = next(lines, (start, start, True))
        if closes:
            raise _Irregular  # no part at all
        if first_start > start:
            message.preamble = text[start : first_start - len(eol)]
        parts: list[Message | str] = []  # the type set_payload takes
        part_start = first_end
        for line_start, line_end, closes in lines:
            # Repeated delimiter lines leave an empty part, which has no header block.
            parts.append(self._part(text, part_start, line_start, eol, nested=True))
            if closes:
                message.set_payload(parts)
                message.epilogue = text[line_end:end]
                return
            part_start = line_end
        raise _Irregular  # no close delimiter


def _delimiter_lines(
    text: str, start: int, end: int, delimiter: str, eol: str
) -> Iterator[tuple[int, int, bool]]:
    """(line start, line end, is the close delimiter) of each line of ``text[start:end]``
    that the feedparser takes for a delimiter line of ``delimiter`` (``--boundary``)."""
    needle = eol + delimiter
    line_start = start
    if not text.startswith(delimiter, start):
        found = text.find(needle, start, end)
        if found < 0:
            return
        line_start = found + len(eol)
    while True:
        newline = text.find(eol, line_start, end)
        line_end = end if newline < 0 else newline + len(eol)
        match = _AFTER_DELIMITER.match(text, line_start + len(delimiter), line_end)
        if match is not None:
            yield line_start, line_end, bool(match.group("end"))
        found = text.find(needle, line_end - len(eol), end)
        if found < 0:
            return
        line_start = found + len(eol)


def _line_ending(text: str) -> str | None:
    """``"\\n"`` or ``"\\r\\n"`` if every line of ``text`` ends so, else None."""
    carriage_returns = text.count("\r")
    if not carriage_returns:
        return "\n"
    if carriage_returns == text.count("\r\n") == text.count("\n"):
        return "\r\n"
    return None
