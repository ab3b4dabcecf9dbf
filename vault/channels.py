"""The channels an item can come by: a module of its own, so that reading the vault (a search,
the command line's help) need not load the records' model."""

from __future__ import annotations

from typing import Literal

Channel = Literal["email", "chat", "sms", "booking", "order", "call", "letter", "note", "payment"]
