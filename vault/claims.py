"""A claim: the identifier that decides an item's company, and what is known of that company.

Each company rule (``vault.companies`` for mail, chats and documents, ``vault.payees`` for bank
payments) turns an item into a claim; the resolver files the item by it.
"""

from __future__ import annotations

from dataclasses import dataclass

Key = tuple[str, str]
"""(kind, value) of an identifier: ``("email_domain", "klm.com")``."""

UNKNOWN = ("name", "(unknown)")
"""The claim of an item that names no one."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The identifier that decides an item's company, and what is known of that company.

    ``name`` votes for the company's name (brand evidence, or a person's or list's own name);
    ``weak_name`` votes only once several senders share it; ``fallback`` names a new company
    no name voted for yet. ``keys`` are the item's identifiers a user rule may hold, most
    specific first; ``exact`` is rule 2's address or phone. ``links`` are identifiers by which
    the claim may join a known company of one of ``link_kinds``; ``also`` are identifiers a
    new company gets besides ``key``.
    """

    kind: str
    value: str
    company_kind: str  # company | person | list | unknown
    name: str | None = None
    weak_name: str | None = None
    fallback: str | None = None
    keys: tuple[Key, ...] = ()
    exact: Key | None = None
    links: tuple[Key, ...] = ()
    link_kinds: frozenset[str] = frozenset({"company"})
    also: tuple[Key, ...] = ()
    document: bool = False  # an item that names no one: its booking's company may decide

    @property
    def key(self) -> Key:
        """(kind, value), as stored in the identifier table."""
        return (self.kind, self.value)
