"""schema.org markup out of HTML: JSON-LD script blocks and microdata, read leniently.

Real mail carries broken markup (trailing commas, two objects without a comma between them,
HTML entities inside JSON, microdata in invalid XHTML); what can be repaired is, and what
cannot is skipped: no booking rather than a wrong one.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_GLUED_OBJECTS = re.compile(r"}\s*{")
MAX_MARKUP_CHARS = 2_000_000
MAX_JSON_DEPTH = 64
"""Real JSON-LD nests a handful of levels; deeper documents are refused, so that no recursive
walk over them (``flatten``, KItinerary's time unwrapping) can exhaust the stack."""


def has_markup(page: str) -> bool:
    """A cheap test before parsing: does the page mention schema.org at all?"""
    return "schema.org" in page


def loads_leniently(text: str) -> Any:
    """JSON as found in mail markup, repaired where it can be; None when it cannot (or when
    it nests deeper than ``MAX_JSON_DEPTH``)."""
    text = text.strip().lstrip("\ufeff")
    if text.startswith("<!--"):
        text = text.removeprefix("<!--").removesuffix("-->")
    for candidate in (text, html.unescape(text)):
        repaired = _TRAILING_COMMA.sub(r"\1", candidate)
        glued = _GLUED_OBJECTS.sub("},{", repaired)
        for attempt in (candidate, repaired, glued, f"[{glued}]"):
            try:
                data = json.loads(attempt)
            except (ValueError, RecursionError):  # RecursionError: nested past the stack
                continue
            return data if _depth_at_most(data, MAX_JSON_DEPTH) else None
    return None


def _depth_at_most(data: Any, limit: int) -> bool:
    """True if ``data`` nests at most ``limit`` arrays and objects deep (walked iteratively)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return False
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return True


def jsonld_objects(page: str) -> list[Any]:
    """Every JSON-LD object of the page, arrays and ``@graph`` flattened."""
    if len(page) > MAX_MARKUP_CHARS:
        return []
    tree = LexborHTMLParser(page)
    found: list[Any] = []
    for script in tree.css('script[type="application/ld+json"]'):
        data = loads_leniently(script.text(deep=True) or "")
        found.extend(flatten(data))
    return found


def flatten(data: Any) -> list[Any]:
    """Objects of a JSON-LD document: arrays and ``@graph`` flattened."""
    if isinstance(data, list):
        return [obj for item in data for obj in flatten(item)]
    if isinstance(data, dict):
        graph = data.get("@graph")
        if isinstance(graph, list):
            return flatten(graph)
        return [data]
    return []


def _type_name(itemtype: str | None) -> str | None:
    if not itemtype:
        return None
    first = itemtype.split()[0]
    return first.rstrip("/").rsplit("/", 1)[-1] or None


def _prop_value(node: LexborNode) -> Any:
    attrs = node.attributes
    for name in ("content", "datetime", "href", "src", "value"):
        value = attrs.get(name)
        if value is not None:
            return value
    return (node.text(deep=True) or "").strip()


def microdata_objects(page: str) -> list[dict[str, Any]]:
    """Top-level microdata items as JSON-LD-like dicts (``@type`` plus properties).

    A property outside every item belongs to the last top-level item before it: a browser's
    parser closes an item's ``<p>`` at the first ``<div>`` inside it (Google's own Gmail
    markup example does this), leaving the rest of the item's properties after it.
    """
    if len(page) > MAX_MARKUP_CHARS or "itemscope" not in page:
        return []
    tree = LexborHTMLParser(page)
    items: dict[int, dict[str, Any]] = {}
    tops: list[dict[str, Any]] = []
    last_top: dict[str, Any] | None = None
    seen: set[int] = set()
    for node in tree.css("[itemscope], [itemprop]"):
        if id_of(node) in seen:  # lexbor lists a node once per selector it matches
            continue
        seen.add(id_of(node))
        attrs = node.attributes
        value: Any
        if "itemscope" in attrs:
            value = items[id_of(node)] = {"@type": _type_name(attrs.get("itemtype"))}
        else:
            value = _prop_value(node)
        owner = _owning_scope(node)
        target = items.get(id_of(owner)) if owner is not None else None
        if "itemprop" not in attrs:
            if "itemscope" in attrs:
                tops.append(value)
                last_top = value
            continue
        target = target if owner is not None else last_top
        if target is not None:
            _add(target, attrs.get("itemprop") or "", value)
        elif "itemscope" in attrs:
            tops.append(value)
    return tops


def id_of(node: LexborNode) -> int:
    """A stable identity for a node within one parse (selectolax makes new wrappers)."""
    return int(node.mem_id)


def _owning_scope(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None:
        if "itemscope" in parent.attributes:
            return parent
        parent = parent.parent
    return None


def _add(item: dict[str, Any], names: str, value: Any) -> None:
    for name in names.split():
        if name not in item:
            item[name] = value
        elif isinstance(item[name], list):
            item[name].append(value)
        else:
            item[name] = [item[name], value]


def schema_objects(page: str) -> list[Any]:
    """All schema.org objects of a page: JSON-LD first, then microdata."""
    if not has_markup(page):
        return []
    return jsonld_objects(page) + microdata_objects(page)
