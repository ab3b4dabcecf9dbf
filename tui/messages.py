"""Messages widgets send up to the app: small typed classes, nothing else.

Attributes go down (the app calls methods on its widgets); what a widget noticed goes up as
one of these. Workers also deliver their results to their own widget as messages, because
``post_message`` is safe to call from a thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class CompanyHighlighted(Message):
    """The company list's cursor rests on a company (None: the list is empty)."""

    company_id: int | None


@dataclass
class CompanyChosen(Message):
    """The user pressed Enter (or clicked twice) on a company: go to its timeline."""

    company_id: int


@dataclass
class ItemHighlighted(Message):
    """The timeline's cursor rests on an item (None: nothing to show)."""

    item_id: int | None

    def can_replace(self, message: Message) -> bool:
        # Holding Down sends a burst: only the newest position matters.
        return isinstance(message, ItemHighlighted)


@dataclass
class ItemChosen(Message):
    """The user opened an item: show it in full."""

    item_id: int


@dataclass
class JumpTo(Message):
    """Search picked an item: show it in its company's timeline."""

    company_id: int
    item_id: int
