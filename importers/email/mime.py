"""The MIME tree of a parsed mail to one plain-text body and a list of attachments.

What counts as what:

- The body is made of ``text/plain`` and ``text/html`` parts not marked as attachments (a text
  part with a filename counts only if it is explicitly ``inline``). In ``multipart/alternative``
  the plain version wins, unless it is blank; in ``multipart/related`` only the root part is the
  body; in any other multipart (mixed, report, signed, …) every body part is kept, in order.
- An attachment is every other leaf part that has ``Content-Disposition: attachment``, a
  filename, or a ``message/*`` type (delivery-status, rfc822, rfc822-headers), and every other
  non-text part outside ``multipart/related``. So the images of an HTML mail's
  ``multipart/related`` are attachments only when they have a filename: unnamed ones are
  pieces of the layout (logos, spacers), addressed by Content-ID.
- ``message/*`` parts are never opened: a forwarded mail or a bounced message's headers stay
  one attachment, and their From/Subject/Date never mix with the outer mail's.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from email.errors import InvalidBase64LengthDefect
from email.message import Message
from email.policy import Compat32
from typing import Any

from importers.email.decode import decode_bytes, decode_header_value, html_charset, html_to_text
from importers.email.multipart import MailParser
from vault.b64 import canonical_decoded
from vault.memo import short_text_cache
from vault.records import Attachment


class _RawHeaders(Compat32):
    """``compat32`` that returns header values exactly as parsed: we decode them ourselves.

    Measured on the public corpus, ``email.policy.default`` takes ~10x longer per mail (its
    header registry parses every Content-Type it is asked about) and misreads some invalid
    address headers, so kluis does not use it.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        """The raw value: folded, with 8-bit bytes surrogate-escaped."""
        return value

    def fold(self, name: str, value: str) -> str:
        """Write a header back as it was read (compat32 would re-fold it, slowly)."""
        return f"{name}: {value}{self.linesep}"

    def fold_binary(self, name: str, value: str) -> bytes:
        """Write a header back as the bytes it was read from."""
        return self.fold(name, value).encode("utf-8", "surrogateescape")


class _Message(Message):
    """A ``Message`` that parses each header's parameters once, and finds a header by name
    without reading them all.

    ``get_content_type``, ``get_filename``, ``get_boundary``, ``get_content_charset`` and
    ``get_param`` each parse the whole Content-Type or Content-Disposition value again (15 % of
    a mail's parse time); the parameters depend on the value alone, so they are kept per value.
    And each of them asks ``get``, which lower-cases every header name of the part (a mail's
    twenty, eleven times a mail: an eighth of its parse); here the first field of each name is
    looked up in a table made once, and made again whenever the fields change.
    """

    _first: tuple[list[tuple[str, Any]], int, dict[str, tuple[str, Any]]] | None = None

    def _first_fields(self) -> dict[str, tuple[str, Any]]:
        """The first field of each name, by lower-case name."""
        fields = self._headers  # type: ignore[attr-defined]
        index = self._first
        if index is None or index[0] is not fields or index[1] != len(fields):
            # reversed: the first field of a name is the last one written, and stays
            index = self._first = (fields, len(fields), {f[0].lower(): f for f in reversed(fields)})
        return index[2]

    def get(self, name: str, failobj: Any = None) -> Any:
        """The first field named ``name`` (any case), as ``Message.get`` gives it."""
        found = self._first_fields().get(name.lower())
        return failobj if found is None else self.policy.header_fetch_parse(*found)

    def __contains__(self, name: object) -> bool:
        """Whether a field is named ``name`` (any case); ``get_param`` asks first."""
        return isinstance(name, str) and name.lower() in self._first_fields()

    def replace_header(self, _name: str, _value: Any) -> None:
        """``Message.replace_header``, the one change of a field in place: the table goes."""
        self._first = None
        super().replace_header(_name, _value)

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        value = self.get(header)
        if not isinstance(value, str):
            return super()._get_params_preserve(failobj, header)  # type: ignore[misc]
        return _params(value)


@short_text_cache(maxsize=1024)
def _params(value: str) -> Any:
    """The parameters of a header ``value``, as ``Message`` reads them; shared, never changed
    (``Message`` copies them before any change)."""
    probe = Message(policy=RAW_HEADERS)
    probe.set_raw("Content-Type", value)
    return probe._get_params_preserve(None, "content-type")  # type: ignore[attr-defined]


RAW_HEADERS = _RawHeaders(message_factory=_Message)
"""The parsing policy: header values exactly as read (see ``_RawHeaders``), parameters parsed
once per value (``_Message``)."""
PARSER = MailParser(RAW_HEADERS)
"""Parses mail bytes as ``BytesParser`` does; stateless, so one instance serves every call."""

_DELIMITER = re.compile(r"^--([^\s\"]{1,200}?)[ \t]*\r?$", re.MULTILINE)
_BODY_TYPES = ("text/plain", "text/html")
_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/rfc822-headers": ".txt",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
}
_JSONLD_TYPES = ("application/ld+json", "application/json")
MAX_JSONLD_BYTES = 2_000_000
_UNSAFE_IN_FILENAME = re.compile(r"[\x00-\x1f\x7f]")
_BASE64_LINE = re.compile(rb"[A-Za-z0-9+/]+=*")


@dataclass(slots=True)
class Content:
    """What a mail shows: its body text and its attachments."""

    body: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    html: list[str] = field(default_factory=list)  # HTML parts that carry schema.org markup
    jsonld: list[str] = field(default_factory=list)  # JSON-LD sent as a part of its own


@dataclass(slots=True, eq=False)
class _Part:
    """One MIME part with the facts the rules need, each read from its headers once."""

    message: Message
    ctype: str
    disposition: str | None
    filename: str | None
    parent: str  # the enclosing multipart's subtype ("" at the top)
    children: list[_Part] | None  # None for a leaf

    @property
    def maintype(self) -> str:
        """``text`` of ``text/plain``."""
        return self.ctype.partition("/")[0]


def extract_content(message: Message) -> Content:
    """The body text and attachments of a parsed mail (rules in the module docstring)."""
    root = _tree(message)
    texts: dict[int, str] = {}
    body_parts = _body_parts(root, texts)
    body = "\n\n".join(text for part in body_parts if (text := _text(part, texts).strip()))
    used = {id(part) for part in body_parts}
    attachments = [
        _attachment(part, number)
        for number, part in enumerate(_leaves(root), start=1)
        if id(part) not in used and _is_attachment(part)
    ]
    return Content(
        body=body, attachments=attachments, html=_markup_pages(root), jsonld=_jsonld_parts(root)
    )


def _markup_pages(root: _Part) -> list[str]:
    """Decoded HTML parts that mention schema.org: where booking confirmations put markup."""
    pages = []
    for part in _leaves(root):
        if part.ctype != "text/html" or part.disposition == "attachment":
            continue
        data = _decoded(part.message)
        if b"schema.org" in data:
            pages.append(
                decode_bytes(data, part.message.get_content_charset() or html_charset(data))
            )
    return pages


def _jsonld_parts(root: _Part) -> list[str]:
    """Decoded JSON-LD parts, inline or attached: some senders put a confirmation's markup in
    an ``application/ld+json`` part (or a ``.jsonld`` file) rather than in the HTML."""
    found = []
    for part in _leaves(root):
        named = (part.filename or "").casefold().endswith((".jsonld", ".json"))
        if part.ctype not in _JSONLD_TYPES and not named:
            continue
        data = _decoded(part.message)
        if b"schema.org" in data and len(data) <= MAX_JSONLD_BYTES:
            found.append(decode_bytes(data, part.message.get_content_charset() or "utf-8"))
    return found


def _tree(message: Message) -> _Part:
    """The part tree of ``message``, built without recursion (nesting depth is untrusted)."""
    root = _node(message, "")
    stack = [root]
    while stack:
        node = stack.pop()
        if node.maintype != "multipart":
            continue
        payload = node.message.get_payload()
        if isinstance(payload, str):
            payload = _reparse(payload)
        if isinstance(payload, list):
            subtype = node.ctype.partition("/")[2]
            node.children = [
                _node(child, subtype) for child in payload if isinstance(child, Message)
            ]
            stack.extend(node.children)
    return root


def _node(message: Message, parent: str) -> _Part:
    """A ``_Part`` for one message part; children are filled in by ``_tree``."""
    return _Part(
        message=message,
        ctype=message.get_content_type(),
        disposition=message.get_content_disposition(),
        filename=message.get_filename(),
        parent=parent,
        children=None,
    )


def _reparse(payload: str) -> list[Message] | None:
    """The parts of a multipart whose declared boundary matches no delimiter line.

    Spam kits and broken mailers declare one boundary and use another; the parser then keeps
    the whole multipart as one string. The first ``--token`` line names the real boundary.
    """
    match = _DELIMITER.search(payload)
    if match is None:
        return None
    header = f'Content-Type: multipart/mixed; boundary="{match.group(1)}"\n\n'
    body = payload.encode("utf-8", "surrogateescape")
    children = PARSER.parsebytes(header.encode("ascii") + body).get_payload()
    if not isinstance(children, list):
        return None
    return [child for child in children if isinstance(child, Message)] or None


def _leaves(root: _Part) -> list[_Part]:
    """Every part without children, in document order.

    ``message/*`` parts are leaves: what they wrap belongs to another mail.
    """
    leaves: list[_Part] = []
    stack = [root]
    while stack:
        part = stack.pop()
        if part.children is None:
            leaves.append(part)
        else:
            stack.extend(reversed(part.children))
    return leaves


def _body_parts(part: _Part, texts: dict[int, str]) -> list[_Part]:
    """The parts that make up the body of ``part``, in reading order."""
    if part.children is None:
        return [part] if _is_body_candidate(part) else []
    if part.ctype == "multipart/alternative":
        return _pick_alternative(part.children, texts)
    if part.ctype == "multipart/related":
        return _body_parts(_related_root(part, part.children), texts) if part.children else []
    return [found for child in part.children for found in _body_parts(child, texts)]


def _pick_alternative(children: list[_Part], texts: dict[int, str]) -> list[_Part]:
    """The preferred version of a multipart/alternative: plain text unless it is blank."""
    options = [found for child in children if (found := _body_parts(child, texts))]
    for option in options:
        if all(p.ctype == "text/plain" for p in option) and any(
            _text(p, texts).strip() for p in option
        ):
            return option
    # RFC 2046 orders alternatives from plainest to richest: the last non-blank one.
    for option in reversed(options):
        if any(_text(p, texts).strip() for p in option):
            return option
    return options[0] if options else []


def _related_root(part: _Part, children: list[_Part]) -> _Part:
    """The root of a multipart/related: the ``start`` part (RFC 2387), else the first."""
    start = part.message.get_param("start")
    if isinstance(start, str):
        for child in children:
            if (child.message.get("Content-ID") or "").strip() == start.strip():
                return child
    return children[0]


def _is_body_candidate(part: _Part) -> bool:
    """A text part meant to be read in place, or a multipart left unsplit by broken MIME."""
    if part.maintype == "multipart":
        return True
    if part.ctype not in _BODY_TYPES or part.disposition == "attachment":
        return False
    return part.disposition == "inline" or part.filename is None


def _is_attachment(part: _Part) -> bool:
    """A leaf that is not part of the body but is kept as an attachment."""
    if part.disposition == "attachment" or part.filename is not None:
        return True
    if part.maintype == "message":
        return True
    if part.ctype in _BODY_TYPES or part.maintype == "multipart":
        return False  # an alternative version of the body, not a file
    return part.parent != "related"


def _text(part: _Part, texts: dict[int, str]) -> str:
    """The display text of one body part, decoded once and cached by part identity."""
    key = id(part)
    if key not in texts:
        texts[key] = _render(part.message, part.ctype)
    return texts[key]


def _render(part: Message, ctype: str) -> str:
    """Decode a body part's payload to text, converting HTML; never raises on bad charsets."""
    data = _decoded(part)
    charset = part.get_content_charset()
    if ctype == "text/html":
        text = html_to_text(decode_bytes(data, charset or html_charset(data)))
    else:
        text = decode_bytes(data, charset)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").lstrip("\ufeff")


def _attachment(part: _Part, number: int) -> Attachment:
    """An attachment record for a leaf part; ``number`` names parts that have no filename."""
    name = _clean_filename(part.filename) if part.filename else None
    filename = name or f"part-{number}{_EXTENSIONS.get(part.ctype, '.bin')}"
    return Attachment(filename=filename, mime=part.ctype, data=_payload_bytes(part.message))


def _clean_filename(raw: str) -> str | None:
    """A filename decoded, without any directory a sender may have put in it."""
    name = decode_header_value(raw)
    name = _UNSAFE_IN_FILENAME.sub("", re.split(r"[\\/]", name)[-1]).strip()
    return name or None


def _payload_bytes(part: Message) -> bytes:
    """The decoded bytes of a part; a ``message/*`` part is serialised back to text."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(sub.as_bytes() for sub in payload if isinstance(sub, Message))
    return _decoded(part)


def _decoded(part: Message) -> bytes:
    """A leaf part's payload with its Content-Transfer-Encoding undone."""
    fast = _canonical_base64(part)
    if fast is not None:
        return fast
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return b""
    if any(isinstance(defect, InvalidBase64LengthDefect) for defect in part.defects):
        # email gives up and returns the base64 text when junk (a mismatched delimiter,
        # a trailer) is glued to it: decode the lines that are base64 and drop the rest.
        raw = str(part.get_payload()).encode("utf-8", "surrogateescape")
        good = b"".join(
            line for line in map(bytes.strip, raw.splitlines()) if _BASE64_LINE.fullmatch(line)
        )
        if len(good) % 4 == 1:
            good = good[:-1]  # one stray character can never be decoded
        data = binascii.a2b_base64(good + b"=" * (-len(good) % 4))
    return data


def _canonical_base64(part: Message) -> bytes | None:
    """The bytes of a base64 part written canonically (as nearly every mailer writes an
    attachment), decoded without ``email``'s copies of the text; None for any other part,
    which ``get_payload`` decodes (the same bytes: ``vault.b64.canonical_decoded``)."""
    payload = part._payload  # type: ignore[attr-defined]  # get_payload(decode=False) copies
    if not isinstance(payload, str):
        return None
    if str(part.get("content-transfer-encoding", "")).lower() != "base64":
        return None
    try:
        text = payload.encode("ascii")
    except UnicodeEncodeError:  # 8-bit bytes (surrogate-escaped): not base64 text
        return None
    return canonical_decoded(text)
