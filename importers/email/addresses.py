"""Address headers (From, To, Cc, Reply-To) to ``Party`` values, tolerant of real-world mail.

Python's own parsers misread common invalid forms: ``alice@example.com <bob@example.com>``
(``email.policy.default`` keeps alice, ``getaddresses`` finds two or none), and a comma inside
an encoded display name splits one address in two once it is decoded. So this splits the raw
header first and decodes each display name afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from importers.email.decode import decode_encoded_words, unfold_header
from vault.memo import short_text_cache
from vault.records import Party

_TOKEN = re.compile(
    r"""
      "(?:[^"\\]|\\.)*"?                  # quoted string (an unterminated one runs to the end)
    | \((?:[^()\\]|\\.)*\)?               # comment (not nested)
    | <[^<>]*>?                           # angle address
    | =\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=      # encoded word: may hold a raw comma
    | [,;:]
    | [^",;:(<=]+
    | .
    """,
    re.VERBOSE | re.DOTALL,
)
_LOOKS_LIKE_ADDRESS = re.compile(r"<?[^\s@<>]+@[^\s@<>]+>?")
_QUOTED_PAIR = re.compile(r"\\(.)")


def parse_addresses(value: str) -> list[Party]:
    """The parties named in one raw address header, in order; addresses lower-cased.

    Args:
        value: the header value as parsed from bytes (folded, 8-bit surrogate-escaped).

    Returns:
        One ``Party`` per address; a display name that is itself an address is dropped
        (it is never a name, and in phishing it impersonates the real sender). Entries with
        neither a name nor an address (``undisclosed-recipients:;``) are left out.
    """
    return list(_parties(value))


@short_text_cache(maxsize=4096, longest=1000)
def _parties(value: str) -> tuple[Party, ...]:
    """``parse_addresses``, remembered: the same few From and To values come back mail after
    mail (the owner's address, each sender's); a ``Party`` is frozen, so one tuple serves
    every caller."""
    parties = (_party(chunk) for chunk in _split(unfold_header(value)))
    return tuple(party for party in parties if party is not None)


def _split(text: str) -> list[list[str]]:
    """Tokens of each comma-separated entry, with group labels (``Team:``) removed."""
    chunks: list[list[str]] = [[]]
    for piece in _TOKEN.findall(text):
        if piece in (",", ";"):
            chunks.append([])
        elif piece == ":" and not any("@" in t or t.startswith("<") for t in chunks[-1]):
            chunks[-1] = []  # "Team: a@x, b@y;" — the label names no one
        else:
            chunks[-1].append(piece)
    return [chunk for chunk in chunks if "".join(chunk).strip()]


def _party(tokens: list[str]) -> Party | None:
    """One entry's tokens to a Party."""
    comments = [t[1:].removesuffix(")") for t in tokens if t.startswith("(")]
    words = [t for t in tokens if not t.startswith("(")]
    angles = [t for t in words if t.startswith("<")]
    if angles:
        address = _clean_address(angles[-1][1:].removesuffix(">"))
        phrase = _phrase(t for t in words if not t.startswith("<"))
    else:
        # No angle brackets: "bob@example.com", or a sloppy "Bob Smith bob@example.com".
        plain = _phrase(words).split()
        at = [i for i, word in enumerate(plain) if "@" in word]
        address = _clean_address(plain.pop(at[-1])) if at else None
        phrase = " ".join(plain)
    name = _clean_name(phrase) or (_clean_name(comments[0]) if comments else None)
    if name and (_LOOKS_LIKE_ADDRESS.fullmatch(name) or (address and name.casefold() == address)):
        name = None
    if address is None and name is None:
        return None
    return Party(name=name, address=address, kind="email_address" if address else "name")


def _phrase(tokens: Iterable[str]) -> str:
    """Join tokens, unquoting quoted strings (``"Doe, John"`` → ``Doe, John``)."""
    parts = []
    for token in tokens:
        if token.startswith('"'):
            inner = token[1:-1] if len(token) > 1 and token.endswith('"') else token[1:]
            token = _QUOTED_PAIR.sub(r"\1", inner)
        parts.append(token)
    return "".join(parts)


def _clean_address(text: str) -> str | None:
    """An address as stored: no spaces, quotes or ``mailto:``, lower-case."""
    address = "".join(text.split()).strip("\"'<>").lower()
    address = address.removeprefix("mailto:")
    return address or None


def _clean_name(phrase: str) -> str | None:
    """A display name: encoded words decoded, whitespace collapsed, stray quotes trimmed."""
    text = decode_encoded_words(phrase) if "=?" in phrase else phrase
    text = " ".join(text.split()).strip("'\"").strip()
    return text or None
