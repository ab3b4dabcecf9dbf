"""The channels an item can come by: a module of its own, so that reading the vault (a search,
the command line's help) need not load the records' model."""

from __future__ import annotations

from typing import Literal

Channel = Literal["email", "chat", "sms", "booking", "order", "call", "letter", "note", "payment"]

DAY_ONLY: frozenset[str] = frozenset({"payment"})
"""Channels whose items are known by their day alone: a bank states the day a payment was
booked, stored at noon in the user's zone so it stays that day. They are shown without a time
(a clock reading 12:00 would be made up)."""
