"""Plain text out of an HTML tree, for mail bodies and Messenger's HTML export.

The tree is walked with an explicit stack, never by recursion, so deeply nested markup cannot
overflow. What text a node gives is the caller's rule: how a text node's spaces are treated,
and for an element what it begins with, what follows its children, or that it is left out.
"""

from __future__ import annotations

from collections.abc import Callable

from selectolax.lexbor import LexborNode

Stack = list[LexborNode | str]
"""Nodes still to walk, and strings to emit when the walk gets back to them (an element's end)."""

ElementRule = Callable[[LexborNode, list[str], Stack], None]
"""What an element adds: it appends what the element begins with to the parts, then pushes
what must follow its children and the children themselves (``push_children``); an element it
leaves out pushes nothing."""


def walk_text(
    root: LexborNode, element: ElementRule, text: Callable[[str], str] | None = None
) -> str:
    """The text of ``root`` and everything below it: text nodes as they are (or as ``text``
    makes them), elements as ``element`` says; comments and the like give nothing."""
    parts: list[str] = []
    stack: Stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif item.is_text_node:
            content = item.text_content or ""
            parts.append(text(content) if text is not None else content)
        elif item.is_element_node:
            element(item, parts, stack)
    return "".join(parts)


def push_children(node: LexborNode, stack: Stack) -> None:
    """Schedule ``node``'s children (text included), the first on top."""
    stack.extend(reversed(list(node.iter(include_text=True))))
