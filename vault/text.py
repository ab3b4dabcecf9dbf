"""Untrusted text made safe to show: no terminal control sequences, no hidden characters, no
runaway length.

One place decides how text from a source (a subject, a sender's name, a file name, a chat
message) may reach a screen, in three forms:

- ``strip_controls`` / ``one_line``: the values the views return (also with ``--json``): ESC
  sequences and C0/C1 controls removed, so a subject can never move the cursor or set the
  clipboard.
- ``visible`` / ``visible_line``: what the CLI's human output and the app show. In addition,
  every character that draws as nothing or reorders the text around it is shown as its code
  point, ``⟨U+202E⟩``: bidirectional controls (a right-to-left override makes
  ``invoice⟨U+202E⟩fdp.exe`` look like ``invoiceexe.pdf``), zero-width and other default
  ignorable characters, line separators, tag characters and lone surrogates. Where such a
  character does a real job it is kept: a joiner between two emoji (👩‍💻) or between two
  letters of a script that joins (Persian, Indic), one variation selector after a visible
  character (✈️, 1️⃣), tag characters inside a subdivision flag (🏴 of Scotland). A second
  variation selector in a row is shown (runs of them smuggle hidden data). The soft hyphen
  stays as it is: HTML mail is full of them, and it hides or reorders nothing.
- ``escaped``: a value inside a message (a file name in an error): one line, every character
  a terminal would not draw as itself written the way Python's ``repr`` writes it (``\\n``,
  ``\\x1b``, ``\\u202e``).

``--json`` keeps the hidden characters exactly, written as JSON escapes (``\\u202e``) that
no terminal obeys (``cli.render.print_json`` escapes ``HIDDEN`` with the controls).
"""

from __future__ import annotations

import re
import unicodedata

# ESC-introduced sequences (CSI, OSC up to BEL or ST, and two-byte ones), then any other C0/C1
# control except tab and newline: a mail subject must never move the cursor or set the clipboard.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")

# Unicode's Default_Ignorable_Code_Point set (but the soft hyphen), plus the line and paragraph
# separators, the interlinear annotation marks and lone surrogates (which cannot even be printed).
_HIDDEN_CHARS = (
    "\u034f"  # combining grapheme joiner
    "\u061c"  # Arabic letter mark
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers: letters that draw as nothing
    "\u17b4\u17b5"  # Khmer inherent vowels
    "\u180b-\u180f"  # Mongolian variation selectors and vowel separator
    "\u200b-\u200f"  # zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # bidirectional embeddings and overrides
    "\u2060-\u206f"  # word joiner, invisible operators, bidirectional isolates
    "\ufe00-\ufe0f"  # variation selectors
    "\ufeff"  # zero-width no-break space (byte order mark)
    "\ufff0-\ufffb"  # unassigned specials, interlinear annotation
    "\ud800-\udfff"  # lone surrogates
    "\U0001bca0-\U0001bca3"  # shorthand format controls
    "\U0001d173-\U0001d17a"  # musical format controls
    "\U000e0000-\U000e0fff"  # tag characters, variation selectors supplement
)
HIDDEN = re.compile(f"[{_HIDDEN_CHARS}]")
"""One character that draws as nothing or changes how the text around it is drawn."""

# A subdivision flag: black flag, tag letters, cancel tag (🏴 of England, Scotland, Wales).
_TAG_FLAG = "\U0001f3f4[\U000e0020-\U000e007e]{1,32}\U000e007f"
_TO_SHOW = re.compile(f"({_TAG_FLAG})|{HIDDEN.pattern}")
_ZWJ, _ZWNJ = "\u200d", "\u200c"
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180d\u180f]")
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_FIRST_JOINING_SCRIPT = 0x0590  # Hebrew; Latin, Greek and Cyrillic never need a joiner
_MARKER_OPEN, _MARKER_CLOSE = "⟨U+", "⟩"
_ELLIPSIS = "…"


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (tabs, newlines kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str, limit: int = 200) -> str:
    """Safe text on a single line, whitespace collapsed, cut to ``limit`` characters."""
    flat = _SPACES.sub(" ", strip_controls(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + _ELLIPSIS


def _pictographic(char: str) -> bool:
    return unicodedata.category(char) == "So" or ord(char) in _SKIN_TONES


def _joining_letter(char: str) -> bool:
    return ord(char) >= _FIRST_JOINING_SCRIPT and unicodedata.category(char)[0] in "LM"


def _does_a_job(text: str, at: int) -> bool:
    """Whether the hidden character at ``text[at]`` is one a reader's text needs."""
    char = text[at]
    before = text[at - 1] if at > 0 else ""
    if _SELECTORS.match(char):
        return bool(before) and not before.isspace() and not HIDDEN.match(before)
    if char not in (_ZWJ, _ZWNJ) or at + 1 >= len(text) or not before:
        return False
    after = text[at + 1]
    if char == _ZWJ:
        # 🏳️‍🌈: the joiner comes after the flag's variation selector or a skin tone.
        base = text[at - 2] if at > 1 and _SELECTORS.match(before) else before
        if _pictographic(base) and _pictographic(after):
            return True
    return _joining_letter(before) and _joining_letter(after)


def _show(match: re.Match[str]) -> str:
    if match.group(1) or _does_a_job(match.string, match.start()):
        return match.group()
    return f"{_MARKER_OPEN}{ord(match.group()):04X}{_MARKER_CLOSE}"


def visible(text: str) -> str:
    """``text`` as a terminal may show it: control sequences removed, hidden characters shown
    as ``⟨U+202E⟩`` (tabs and newlines kept; see the module's docstring for what is kept)."""
    return _TO_SHOW.sub(_show, strip_controls(text))


def visible_line(text: str, limit: int = 200) -> str:
    """``visible`` on a single line, whitespace collapsed, cut to ``limit`` characters (never
    inside a ``⟨U+…⟩`` marker)."""
    shown = _TO_SHOW.sub(_show, one_line(text, limit))
    if len(shown) <= limit:
        return shown
    cut = shown[: limit - 1]
    marker = cut.rfind(_MARKER_OPEN)
    if marker >= 0 and _MARKER_CLOSE not in cut[marker:]:
        cut = cut[:marker]
    return cut.rstrip() + _ELLIPSIS


def _escape(char: str) -> str:
    if char.isprintable() and not HIDDEN.match(char):
        return char
    written = repr(char)[1:-1]
    if written != char:
        return written  # \n, \x1b, \x9b, \u202e, \udcff
    point = ord(char)  # printable to Python but hidden: a variation selector, a Hangul filler
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def escaped(text: str) -> str:
    """``text`` for a message (a file name in an error): one line, every control, hidden or
    unprintable character written as ``repr`` writes it (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return "".join(_escape(char) for char in text)


def byte_size(count: int) -> str:
    """A byte count for people: ``3.2 GB``, ``100 MB``, ``870.5 KB``."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            whole, rest = divmod(count, scale)
            return f"{whole} {unit}" if not rest else f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def capitalised(text: str) -> str:
    """``text`` with its first word capitalised when that is a plain word (``renamed …`` →
    ``Renamed …``), never a value it starts with (``klm.nl now belongs …`` stays)."""
    first = text.split(" ", 1)[0].rstrip(":,")
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text
