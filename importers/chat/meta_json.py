"""Meta message JSON pages read the way people have them: defects tolerated or named.

A ``message_N.json`` that strict JSON refuses is not lost for one stray character. Tolerated:

- a UTF-8 byte order mark (editors add one), and ``NaN``/``Infinity`` (Python's ``json`` reads
  them; a time that is not a number is then the message's own quarantine reason);
- trailing commas before ``]`` or ``}`` (hand-edited or merged files);
- a page cut off (an interrupted download or copy): the messages before the cut are read, and
  the rest is handed back with the reason, for quarantine (Instagram's 2019 ``messages.json``:
  the chats before the cut).

Anything else is refused with a reason a user understands: where the JSON breaks, and what was
expected there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from importers.chat.base import Malformed

_STRING_OR_TRAILING_COMMA = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|,(\s*[\]}])')
_MESSAGES = re.compile(r'"messages"\s*:\s*\[')
_SPACE_OR_COMMA = frozenset(" \t\r\n,")


@dataclass(slots=True)
class Loaded:
    """A page's JSON value, and the unreadable tail of a page that was cut off (with why)."""

    document: Any
    cut: bytes = b""
    cut_reason: str = ""


def load(data: bytes) -> Loaded:
    """The JSON value of a page, tolerating the defects above.

    Raises:
        Malformed: the page is not JSON, even so; its text is the one-line reason.
    """
    try:
        return Loaded(json.loads(data))
    except RecursionError as exc:
        raise Malformed("not valid JSON: nested too deeply to be a message export") from exc
    except UnicodeDecodeError as exc:
        raise Malformed(f"not valid JSON: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        first = exc
    except ValueError as exc:
        raise Malformed(f"not valid JSON: {exc}") from exc
    text = first.doc
    cleaned = _STRING_OR_TRAILING_COMMA.sub(lambda m: m[1] or m[2], text)
    try:
        return Loaded(json.loads(cleaned))
    except (json.JSONDecodeError, RecursionError):
        pass
    salvaged = _salvage(cleaned, _reason(first))
    if salvaged is None:
        raise Malformed(_reason(first))
    return salvaged


def _reason(error: json.JSONDecodeError) -> str:
    """Where and why strict JSON stopped, in words."""
    # An unterminated string runs to the end of the file: it breaks off there too.
    if error.msg.startswith("Unterminated string") or not error.doc[error.pos :].strip():
        return (
            f"not valid JSON: the file breaks off at line {error.lineno} "
            "(an incomplete download or copy?)"
        )
    return (
        f"not valid JSON at line {error.lineno}, column {error.colno}: "
        f"{error.msg[:1].lower()}{error.msg[1:]}"
    )


def _salvage(text: str, why: str) -> Loaded | None:
    """What comes before the cut of a file cut off inside its list of messages (a page's
    ``messages``, or the top list of Instagram's 2019 ``messages.json``), and the rest."""
    start = len(text) - len(text.lstrip())
    if text.startswith("[", start):
        items, rest = _items(text, start + 1)
        if not items or rest.lstrip().startswith("]"):
            return None  # the defect is elsewhere: the strict reason says where
        reason = f"the rest of the file after chat {len(items)}: {why}"
        return Loaded(items, rest.encode("utf-8", "surrogatepass"), reason)
    found = _MESSAGES.search(text)
    if found is None:
        return None
    try:
        head = json.loads(text[: found.start()].rstrip().rstrip(",") + ', "messages": []}')
    except (json.JSONDecodeError, RecursionError):
        head = {"messages": []}
    if not isinstance(head, dict):
        return None
    messages, rest = _items(text, found.end())
    if not messages or rest.lstrip().startswith("]"):
        return None
    head["messages"] = messages
    reason = f"the rest of the page after message {len(messages)}: {why}"
    return Loaded(head, rest.encode("utf-8", "surrogatepass"), reason)


def _items(text: str, position: int) -> tuple[list[Any], str]:
    """The whole JSON values of a list from ``position`` on, and the text after the last."""
    decoder = json.JSONDecoder()
    items: list[Any] = []
    while True:
        while position < len(text) and text[position] in _SPACE_OR_COMMA:
            position += 1
        if position >= len(text) or text[position] == "]":
            break
        try:
            item, position = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError):
            break
        items.append(item)
    return items, text[position:]
