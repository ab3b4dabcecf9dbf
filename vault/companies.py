"""Company resolution (DESIGN, "Company resolution"): which company or person an item is with.

``identify`` is a pure function from an interaction to a *claim*: the identifier that should
decide its company. ``CompanyResolver`` looks claims up in the vault (where user rules live,
so they always win), creating companies for identifiers never seen before, and names
companies by their most frequent clean display name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from vault.domains import address_domain, is_freemail, is_relay, registrable_domain
from vault.records import ImportOptions, Interaction, Party
from vault.store import RawConnection
from vault.text import strip_controls
from vault.timefmt import now_iso

UNKNOWN = ("name", "(unknown)")

# Display names that say nothing about who sent a mail.
_GENERIC_NAMES = frozenset(
    {
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "do not reply",
        "info",
        "support",
        "service",
        "customer service",
        "customerservice",
        "customer support",
        "klantenservice",
        "newsletter",
        "nieuwsbrief",
        "mailer-daemon",
        "mail delivery subsystem",
        "postmaster",
        "admin",
        "team",
        "notifications",
        "notification",
        "alerts",
        "hello",
        "contact",
        "sales",
        "billing",
        "accounts",
        "mail",
        "email",
        "news",
        "updates",
        "reply",
    }
)


def clean_display_name(name: str | None) -> str | None:
    """A display name fit to name a company, or None ("noreply", addresses, blanks)."""
    if not name:
        return None
    # Terminal escape sequences go whole (not just their ESC byte): see vault.text.
    cleaned = " ".join(strip_controls(name).split()).strip("\"'").strip()
    if not cleaned or "@" in cleaned or len(cleaned) > 80:
        return None
    if cleaned.casefold() in _GENERIC_NAMES:
        return None
    return cleaned


def name_from_domain(domain: str) -> str:
    """``klm.com`` → ``Klm``: the registrable domain's label, for companies with no name."""
    label = domain.split(".", 1)[0]
    return label[:1].upper() + label[1:] if label.islower() else label


def own_domains(me: ImportOptions) -> frozenset[str]:
    """Registrable domains of the user's own addresses, except freemail: never a company."""
    return _own_domains(me.me_addresses)


@cache
def _own_domains(addresses: frozenset[str]) -> frozenset[str]:
    found = {address_domain(a) for a in addresses}
    return frozenset(registrable_domain(d) for d in found if d and not is_freemail(d))


@dataclass(frozen=True, slots=True)
class Claim:
    """The identifier that decides an item's company, and what is known of that company."""

    kind: str
    value: str
    company_kind: str
    name: str | None = None
    exact_address: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(kind, value), as stored in the identifier table."""
        return (self.kind, self.value)


def counterpart_of(item: Interaction, me: ImportOptions) -> Party | None:
    """The other side: the sender of what came in, the first recipient not the user of what went
    out."""
    if item.direction == "out":
        others = [p for p in item.recipients if not me.is_me(p)]
        return others[0] if others else None
    return item.sender


def _brand_domain(item: Interaction, me: ImportOptions) -> str | None:
    candidates = list(item.hints.dkim_domains)
    candidates += [d for d in (address_domain(a) for a in item.hints.reply_to) if d]
    candidates += item.hints.list_domains
    for host in candidates:
        host = host.casefold().strip()
        if host and not is_relay(host) and not is_freemail(host):
            domain = registrable_domain(host)
            if domain not in own_domains(me):
                return domain
    return None


def _email_claim(item: Interaction, party: Party, me: ImportOptions) -> Claim:
    address = (party.address or "").casefold()
    name = clean_display_name(party.name)
    domain = address_domain(address)
    if domain is None:
        return Claim("name", (name or party.name or "(unknown)").casefold(), "unknown", name)
    if is_freemail(domain) or registrable_domain(domain) in own_domains(me):
        return Claim("email_address", address, "person", name or address, address)
    if is_relay(domain):
        brand = _brand_domain(item, me)
        if brand:
            return Claim("email_domain", brand, "company", name, address)
        if name:
            return Claim("name", name.casefold(), "company", name, address)
    return Claim("email_domain", registrable_domain(domain), "company", name, address)


_CHAT_COMPANY_KINDS = frozenset({"bot", "channel", "business", "page", "request"})


def _chat_claim(item: Interaction, party: Party | None) -> Claim:
    kind = "company" if item.hints.chat_kind in _CHAT_COMPANY_KINDS else "person"
    name = item.thread_title or (party.name if party else None)
    if item.thread_key:
        return Claim("chat_handle", item.thread_key, kind, name)
    handle = (party.address or party.name or "") if party else ""
    return Claim("chat_handle", handle.casefold() or "(unknown)", kind, name)


def identify(item: Interaction, me: ImportOptions) -> Claim:
    """The claim that decides ``item``'s company (rules 2–7 of DESIGN; rule 1 is the store's)."""
    party = counterpart_of(item, me)
    if item.channel == "chat":
        return _chat_claim(item, party)
    if party is not None and party.kind == "phone" and party.address:
        digits = re.sub(r"[^\d+]", "", party.address)
        return Claim("phone", digits, "person", party.name, None)
    if party is not None and party.address and "@" in party.address and not me.is_me(party):
        return _email_claim(item, party, me)
    organisation = clean_display_name(item.hints.organisation)
    if organisation:
        return Claim("name", organisation.casefold(), "company", organisation)
    if party is not None and party.name and not me.is_me(party):
        return Claim("name", party.name.casefold(), "unknown", clean_display_name(party.name))
    return Claim(*UNKNOWN, "unknown", "Unknown")


def _is_full_name(claim: Claim) -> bool:
    """A person's name of at least two words: specific enough to join chats and addresses."""
    return claim.company_kind == "person" and bool(claim.name) and " " in (claim.name or "").strip()


class CompanyResolver:
    """Resolves claims to company ids inside an ingest transaction, creating what is new."""

    def __init__(self, db: RawConnection, me: ImportOptions) -> None:
        self.db = db
        self.me = me
        # (kind, value) → (identifier id, company id), or None when the vault has none: the
        # batch's transaction is the only writer, and every insert goes through this class.
        # These caches and the votes hold only what the transaction did: see ``forget``.
        self._identifiers: dict[tuple[str, str], tuple[int, int] | None] = {}
        self._votes: Counter[tuple[int, str]] = Counter()
        self._kinds: dict[int, str] = {}

    def _lookup(self, kind: str, value: str) -> tuple[int, int] | None:
        key = (kind, value)
        if key in self._identifiers:
            return self._identifiers[key]
        row = self.db.execute(
            "SELECT id, company_id FROM identifier WHERE kind=:k AND value=:v",
            {"k": kind, "v": value},
        ).fetchone()
        hit = (int(row[0]), int(row[1])) if row is not None else None
        self._identifiers[key] = hit
        return hit

    def _add_identifier(self, kind: str, value: str, company_id: int) -> int:
        result = self.db.execute(
            "INSERT INTO identifier(kind, value, company_id, origin) VALUES (:k, :v, :c, 'rule')",
            {"k": kind, "v": value, "c": company_id},
        )
        identifier_id = int(result.lastrowid or 0)
        self._identifiers[(kind, value)] = (identifier_id, company_id)
        return identifier_id

    def _create_company(self, claim: Claim) -> int:
        if claim.name:
            name = claim.name
        elif claim.kind == "email_domain":
            name = name_from_domain(claim.value)
        else:
            name = claim.value
        result = self.db.execute(
            "INSERT INTO company(name, kind, created_at, user_named) VALUES (:n, :k, :t, 0)",
            {"n": name, "k": claim.company_kind, "t": now_iso()},
        )
        company_id = int(result.lastrowid or 0)
        # A name identifier lets a chat of the same name, an ESP mail known only by its display
        # name, or a person's other address under the same full name, find this company.
        findable = _is_full_name(claim) or (
            claim.company_kind == "company" and claim.kind != "name"
        )
        if findable and self._lookup("name", name.casefold()) is None:
            self._add_identifier("name", name.casefold(), company_id)
        self._kinds[company_id] = claim.company_kind
        return company_id

    def _kind(self, company_id: int) -> str:
        kind = self._kinds.get(company_id)
        if kind is None:
            kind = str(
                self.db.execute(
                    "SELECT kind FROM company WHERE id=:c", {"c": company_id}
                ).fetchone()[0]
            )
            self._kinds[company_id] = kind
        return kind

    def _by_name(self, claim: Claim) -> tuple[int, int] | None:
        """A known company or person this claim joins by name.

        A chat joins any company or person of its name (DESIGN rule 6); a new domain joins a
        company whose display name is the same (``klm.nl`` news and ``klm.com`` → one KLM); a
        person's new address joins the person of the same full name.
        """
        if not claim.name:
            return None
        domain_of_company = claim.kind == "email_domain" and claim.company_kind == "company"
        if not (claim.kind == "chat_handle" or domain_of_company or _is_full_name(claim)):
            return None
        hit = self._lookup("name", claim.name.casefold())
        if hit is None:
            return None
        if claim.kind != "chat_handle" and self._kind(hit[1]) != claim.company_kind:
            return None
        return self._add_identifier(*claim.key, hit[1]), hit[1]

    def resolve(self, item: Interaction) -> tuple[int, int]:
        """(company id, identifier id) for ``item``; votes for the company's display name."""
        claim = identify(item, self.me)
        hit = None
        if claim.exact_address and claim.kind != "email_address":
            hit = self._lookup("email_address", claim.exact_address)
        if hit is None:
            hit = self._lookup(*claim.key)
        if hit is None:
            hit = self._by_name(claim)
        if hit is None:
            company_id = self._create_company(claim)
            hit = (self._add_identifier(*claim.key, company_id), company_id)
        if claim.name and claim.kind != "chat_handle":
            self._votes[(hit[1], claim.name)] += 1
        return hit[1], hit[0]

    def forget(self) -> None:
        """Drop the caches and the votes not flushed yet: the rows they stand for, or the item
        that cast them, were rolled back (the ingest writer's savepoint)."""
        self._identifiers.clear()
        self._kinds.clear()
        self._votes.clear()

    def flush(self) -> None:
        """Store the display-name votes and rename companies the user has not named."""
        if not self._votes:
            return
        for (company_id, name), seen in self._votes.items():
            self.db.execute(
                (
                    "INSERT INTO displayname(company_id, name, seen) VALUES (:c, :n, :s) "
                    "ON CONFLICT(company_id, name) DO UPDATE SET seen = seen + excluded.seen"
                ),
                {"c": company_id, "n": name, "s": seen},
            )
        touched = {company_id for company_id, _ in self._votes}
        self._votes.clear()
        for company_id in touched:
            rename_from_votes(self.db, company_id)


def rename_from_votes(db: RawConnection, company_id: int) -> None:
    """Name a company after its most frequent display name, unless the user named it."""
    row = db.execute(
        (
            "SELECT name FROM displayname WHERE company_id=:c "
            "ORDER BY seen DESC, length(name) DESC, name LIMIT 1"
        ),
        {"c": company_id},
    ).fetchone()
    if row:
        top = row[0]
        db.execute(
            "UPDATE company SET name=:n WHERE id=:c AND user_named=0 AND name != :n",
            {"n": top, "c": company_id},
        )
