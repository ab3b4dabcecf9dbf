"""Merge suggestions: companies or people kluis is not sure enough to join, with the evidence.

``vault.companies`` joins what agrees after normalisation; what only may be the same is offered
here for the user to decide (DESIGN, company resolution 6-7): a chat page or bot whose name
shares a brand word with a mail company, a chat that names a company's domain, one booking
reference under two companies, one brand on two top-level domains; people under the same name
that were not joined, a first name that only one full name in the vault starts with, one phone
number under two people. Accepting is ``company_edits.merge`` (so it is undone like any merge);
accepting or rejecting is remembered, and a decided pair is never offered again.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from vault import company_edits
from vault.bookings import is_weak_reference
from vault.errors import UsageError
from vault.names import brand_key, domain_label, fold, person_key
from vault.store import Conn, execute
from vault.text import one_line

MAX_CHAT_MESSAGES = 400  # per company chat, read for the domains it names
_DOMAIN_IN_TEXT = re.compile(r"\b(?:www\.)?([a-z0-9][a-z0-9-]*\.[a-z]{2,})\b", re.IGNORECASE)
# Words many unrelated businesses share: never evidence on their own.
_STOP = frozenset(
    {
        "the", "de", "het", "van", "and", "en", "bot", "chat", "app", "info", "official",
        "hotel", "restaurant", "shop", "store", "winkel", "bank", "group", "groep", "air",
        "airlines", "airways", "travel", "reizen", "online", "mail", "news", "com",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Entity:
    """A company, person or list as the suggestions compare it."""

    id: int
    name: str
    kind: str
    items: int
    domains: tuple[str, ...]
    names: tuple[str, ...]  # name identifiers (brand or person keys)
    handles: tuple[str, ...]
    phones: tuple[str, ...]


@dataclass
class Suggestion:
    """Merge ``source`` into ``target``, for the reasons in ``evidence``."""

    source_id: int
    source: str
    target_id: int
    target: str
    kind: str  # company | person
    evidence: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Stable while both exist: ``"12-34"`` merges 12 into 34."""
        return f"{self.source_id}-{self.target_id}"

    def to_json(self) -> dict[str, Any]:
        """The contract's object: id, kind, source, target, evidence."""
        data = asdict(self)
        data["id"] = self.id
        data["source"] = one_line(self.source)
        data["target"] = one_line(self.target)
        return data


def _entities(conn: Conn) -> dict[int, Entity]:
    rows = execute(
        conn,
        (
            "SELECT c.id, c.name, c.kind, count(i.id) AS n FROM company c "
            "JOIN interaction i ON i.company_id = c.id GROUP BY c.id"
        ),
    ).all()
    idents: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for company_id, kind, value in execute(
        conn, ("SELECT company_id, kind, value FROM identifier ORDER BY value")
    ):
        idents[int(company_id)][str(kind)].append(str(value))
    return {
        int(r.id): Entity(
            int(r.id),
            str(r.name),
            str(r.kind),
            int(r.n),
            tuple(idents[int(r.id)]["email_domain"]),
            tuple(idents[int(r.id)]["name"]),
            tuple(idents[int(r.id)]["chat_handle"]),
            tuple(idents[int(r.id)]["phone"]),
        )
        for r in rows
    }


def _words(entity: Entity) -> set[str]:
    """The brand words of a company: of its name keys, its name, its domains' labels."""
    words: set[str] = set()
    for key in (*entity.names, brand_key(entity.name) or ""):
        words.update(w for w in key.split() if len(w) >= 3 and w not in _STOP)
    words.update(domain_label(d) for d in entity.domains)
    return words


class _Found:
    """Suggestions being collected: one per pair, evidence added up."""

    def __init__(self, entities: dict[int, Entity]) -> None:
        self.entities = entities
        self.pairs: dict[tuple[int, int], Suggestion] = {}

    def add(self, a: int, b: int, evidence: str) -> None:
        if a == b:
            return
        first, second = self.entities[a], self.entities[b]
        # Into the one with mail domains, else the one with more items: that one has the name.
        source, target = sorted((first, second), key=lambda e: (bool(e.domains), e.items, -e.id))
        pair = (min(a, b), max(a, b))
        kind = "person" if first.kind == second.kind == "person" else "company"
        found = self.pairs.setdefault(
            pair, Suggestion(source.id, source.name, target.id, target.name, kind)
        )
        if evidence not in found.evidence:
            found.evidence.append(evidence)


def _company_evidence(conn: Conn, found: _Found) -> None:
    companies = [e for e in found.entities.values() if e.kind == "company"]
    mail = [e for e in companies if e.domains]
    chats = [e for e in companies if e.handles and not e.domains]
    by_word: dict[str, list[Entity]] = defaultdict(list)
    for entity in mail:
        for word in _words(entity):
            by_word[word].append(entity)
    for chat in chats:
        for word in sorted(_words(chat)):
            for company in by_word.get(word, []):
                found.add(
                    chat.id,
                    company.id,
                    f"the chat {one_line(chat.name)!r} and {one_line(company.name)!r} "
                    f"share the name {word!r}",
                )
    by_domain = {d: e for e in mail for d in e.domains}
    for chat in chats:
        bodies = execute(
            conn,
            (
                "SELECT body FROM interaction WHERE company_id=:c "
                f"ORDER BY occurred_at DESC LIMIT {MAX_CHAT_MESSAGES}"
            ),
            {"c": chat.id},
        ).all()
        for (body,) in bodies:
            for match in _DOMAIN_IN_TEXT.finditer(str(body)):
                named = by_domain.get(match.group(1).casefold())
                if named is not None:
                    found.add(chat.id, named.id, f"the chat names {match.group(1).casefold()}")
    by_label: dict[str, list[Entity]] = defaultdict(list)
    for entity in mail:
        for domain in entity.domains:
            by_label[domain_label(domain)].append(entity)
    for label, entities in by_label.items():
        for other in entities[1:]:
            if len(label) >= 3:
                found.add(other.id, entities[0].id, f"both write from a {label}.* domain")
    shared = execute(
        conn,
        (
            "SELECT reference, group_concat(DISTINCT company_id) FROM booking "
            "WHERE reference != '' GROUP BY reference HAVING count(DISTINCT company_id) > 1"
        ),
    ).all()
    for reference, ids in shared:
        if is_weak_reference(str(reference)):
            continue  # "XXX007" in two companies is a coincidence, not evidence
        members = [int(i) for i in str(ids).split(",") if int(i) in found.entities]
        for member in members[1:]:
            found.add(member, members[0], f"the booking reference {reference} is in both")


def _person_evidence(found: _Found) -> None:
    people = [e for e in found.entities.values() if e.kind == "person"]
    by_key: dict[str, list[Entity]] = defaultdict(list)
    by_first: dict[str, list[Entity]] = defaultdict(list)
    for person in people:
        key = person_key(person.name)
        if key:
            by_key[key].append(person)
            if " " in key:
                by_first[key.split()[0]].append(person)
    for key, same in by_key.items():
        for other in same[1:]:
            found.add(other.id, same[0].id, f"both are called {one_line(same[0].name)!r}")
        if " " not in key and len(by_first.get(key, [])) == 1:
            full = by_first[key][0]
            for person in same:
                found.add(
                    person.id,
                    full.id,
                    f"{one_line(person.name)!r} is the first name of {one_line(full.name)!r} "
                    "and of no one else here",
                )
    by_phone: dict[str, list[Entity]] = defaultdict(list)
    for person in people:
        for phone in person.phones:
            digits = re.sub(r"\D", "", phone)
            if len(digits) >= 9:
                by_phone[digits[-9:]].append(person)
    for tail, same in by_phone.items():
        for other in same[1:]:
            found.add(other.id, same[0].id, f"the same phone number (…{tail[-4:]})")


def _decided(conn: Conn) -> set[tuple[int, int]]:
    rows = execute(conn, ("SELECT source_id, target_id FROM suggestion_decision")).all()
    return {(min(int(a), int(b)), max(int(a), int(b))) for a, b in rows}


def suggestions(conn: Conn, kind: str | None = None) -> list[Suggestion]:
    """Every open suggestion (``kind`` "company" or "person" narrows), strongest first."""
    found = _Found(_entities(conn))
    if kind in (None, "company"):
        _company_evidence(conn, found)
    if kind in (None, "person"):
        _person_evidence(found)
    decided = _decided(conn)
    open_ones = [
        s
        for pair, s in found.pairs.items()
        if pair not in decided and (kind is None or s.kind == kind)
    ]
    open_ones.sort(key=lambda s: (-len(s.evidence), fold(s.target), s.source_id))
    return open_ones


def _find(conn: Conn, suggestion_id: str) -> Suggestion:
    match = re.fullmatch(r"\s*(\d+)-(\d+)\s*", suggestion_id)
    if match is None:
        raise UsageError(f"{suggestion_id!r} is no suggestion id (see `kluis company suggest`)")
    for suggestion in suggestions(conn):
        if suggestion.id == f"{int(match.group(1))}-{int(match.group(2))}":
            return suggestion
    raise UsageError(f"no open suggestion {suggestion_id!r} (see `kluis company suggest`)")


def _remember(conn: Conn, suggestion: Suggestion, decision: str) -> None:
    execute(
        conn,
        (
            "INSERT OR REPLACE INTO suggestion_decision"
            "(source_id, target_id, decision, evidence, decided_at) VALUES (:s, :t, :d, :e, :at)"
        ),
        {
            "s": suggestion.source_id,
            "t": suggestion.target_id,
            "d": decision,
            "e": json.dumps(suggestion.evidence, ensure_ascii=False),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


def accept(conn: Conn, suggestion_id: str) -> str:
    """Merge the suggestion's source into its target (a merge the user can undo)."""
    suggestion = _find(conn, suggestion_id)
    _remember(conn, suggestion, "accepted")
    return company_edits.merge(conn, str(suggestion.source_id), str(suggestion.target_id))


def reject(conn: Conn, suggestion_id: str) -> str:
    """Never offer this pair again."""
    suggestion = _find(conn, suggestion_id)
    _remember(conn, suggestion, "rejected")
    return (
        f"{one_line(suggestion.source)!r} and {one_line(suggestion.target)!r} stay apart; "
        "this suggestion will not come back"
    )
