"""Bytes and header values to faithful text: charsets, RFC 2047 encoded words, HTML.

Mail lies about its charset often enough that decoding never trusts a label alone and never
raises: the worst case is a few U+FFFD replacement characters, never a lost body.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from functools import partial

from selectolax.lexbor import LexborHTMLParser, LexborNode

from importers.html_text import Stack, push_children, walk_text
from vault.memo import short_text_cache

# Labels that mail software writes for one charset while meaning its superset.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
}
# Codecs whose text is (or may be) pure 7-bit bytes that are not ASCII text.
_NOT_ASCII_COMPATIBLE = ("iso2022", "utf-7", "utf-16", "utf-32", "hz")
_NON_ASCII_BYTES = bytes(range(128, 256))

_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


@short_text_cache(maxsize=256)
def _codec(label: str | None) -> str | None:
    """Python's codec name for a MIME charset label, or None if it names no text codec."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _SUPERSETS.get(name, name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    # "base64", "rot13" and friends are codecs too, but not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` whose label claims ``declared``, without raising or losing the text.

    Valid UTF-8 wins over the label: text in any other charset almost never happens to be
    valid UTF-8, while UTF-8 labelled Latin-1 or GB2312 is a common mistake. Then the label,
    then the label or UTF-8 with a few replaced bytes, then ``charset_normalizer``'s guess.
    """
    codec = _codec(declared)
    if codec is not None and codec.startswith(_NOT_ASCII_COMPATIBLE):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            codec = None
    elif data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None and codec != "utf-8":
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    return _decode_damaged(data, codec)


def _decode_damaged(data: bytes, codec: str | None) -> str:
    """Decode bytes that are invalid in both the declared charset and UTF-8."""
    non_ascii = len(data) - len(data.translate(None, _NON_ASCII_BYTES))
    for candidate in (codec, "utf-8"):
        if candidate is None:
            continue
        text = data.decode(candidate, "replace")
        # One broken sequence in a long text is damage, not a wrong label: keep the rest.
        if text.count("\ufffd") * 100 <= non_ascii:
            return text
    # Imported here: charset_normalizer costs ~0.1 s to import and is rarely needed.
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return data.decode("utf-8", "replace")
    for match in matches:
        # On short texts charset_normalizer cannot tell the Latin code pages apart
        # ("compañía" or "compańía"); unlabelled 8-bit mail is mostly windows-1252.
        if match.chaos <= best.chaos and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", "replace")
    return str(best)


def html_charset(data: bytes) -> str | None:
    """The charset an HTML document declares in a ``<meta>`` tag near its start, if any."""
    match = _META_CHARSET.search(data, 0, 4096)
    return match.group(1).decode("ascii") if match else None


def unfold_header(value: str) -> str:
    """Unfold a raw header value and decode any raw 8-bit bytes in it (not encoded words).

    ``value`` is a header as ``email`` parses it from bytes: 8-bit bytes surrogate-escaped.
    Mailers put raw UTF-8 (sometimes Latin-1) in headers despite RFC 5322.
    """
    text = _FOLD.sub("", value)
    if not text.isascii():
        text = decode_bytes(text.encode("utf-8", "surrogateescape"))
    return text.replace("\x00", "")


def decode_header_value(value: str) -> str:
    """Unfold and decode a raw header value: raw 8-bit bytes, then RFC 2047 encoded words."""
    text = unfold_header(value)
    return decode_encoded_words(text) if "=?" in text else text


def decode_encoded_words(text: str) -> str:
    """Decode the RFC 2047 encoded words in ``text``.

    Adjacent words of one charset are decoded together, since senders split multi-byte
    characters across words; whitespace between encoded words is dropped (RFC 2047 6.2).
    A word that does not decode is kept literally.
    """
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    position = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        position = match.end()
        data = _word_bytes(match.group(2), match.group(3))
        if not (after_word and data is not None and (not between or between.isspace())):
            out.append(_flush(pending, pending_charset))
            out.append(between)
        if data is None:
            out.append(match.group(0))
            after_word = False
            continue
        charset = match.group(1).lower()
        if charset != pending_charset:
            out.append(_flush(pending, pending_charset))
            pending_charset = charset
        pending += data
        after_word = True
    out.append(_flush(pending, pending_charset))
    out.append(text[position:])
    return "".join(out)


def _flush(pending: bytearray, charset: str | None) -> str:
    """Decode and empty the buffered bytes of adjacent encoded words."""
    if not pending:
        return ""
    text = decode_bytes(bytes(pending), charset)
    pending.clear()
    return text


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    """The bytes of one encoded word's payload, or None if it does not decode."""
    raw = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in "bB":
            # Postel: senders drop the padding; a length of 4n+1 cannot be fixed.
            return base64.b64decode(raw + b"=" * (-len(raw) % 4))
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return None


# Block elements end a line; paragraph-like ones also leave a blank line.
# fmt: off
_PARAGRAPHS = frozenset({
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "dl", "table", "pre",
    "hr", "figure", "address",
})
_BLOCKS = _PARAGRAPHS | {
    "div", "li", "dt", "dd", "tr", "section", "article", "header", "footer", "nav", "aside",
    "main", "center", "form", "fieldset", "figcaption", "details", "summary", "caption",
    "tbody", "thead", "tfoot", "body",
}
# fmt: on
_CELLS = frozenset({"td", "th"})
_SKIPPED = frozenset({"head", "script", "style", "noscript", "template", "title", "svg", "object"})
_HTML_SPACE = re.compile(r"[ \t\r\n\f\xa0]+")
_SPACES = re.compile(r"[ \t]{2,}")
_AROUND_NEWLINE = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail body: block elements on their own lines.

    Drops ``head``, ``script``, ``style`` and the like; never fetches anything (lexbor only
    parses). Walks the tree with an explicit stack, so deeply nested markup cannot overflow.
    """
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    walked = walk_text(root, _visit_element, partial(_HTML_SPACE.sub, " "))
    text = _AROUND_NEWLINE.sub("\n", _SPACES.sub(" ", walked))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _visit_element(node: LexborNode, parts: list[str], stack: Stack) -> None:
    """Emit what an element starts with and schedule its children and its end."""
    tag = node.tag or ""
    if tag in _SKIPPED:
        return
    if tag == "br":
        parts.append("\n")
        return
    if tag == "pre":
        # Its line breaks are content (its indentation is lost with the space collapsing).
        parts.append("\n\n" + (node.text(deep=True) or "").replace("\xa0", " ") + "\n\n")
        return
    end = "\n\n" if tag in _PARAGRAPHS else "\n" if tag in _BLOCKS else ""
    if tag in _CELLS:
        end = " "
    parts.append(end)
    if end:
        stack.append(end)
    push_children(node, stack)
