"""Company resolution (DESIGN, "Company resolution"): which company, person or list an item is with.

``identify`` is a pure function from an interaction to a *claim*: the identifier that should
decide its company, the identifiers a user rule may hold, and the names that may join or name
it. ``CompanyResolver`` looks claims up in the vault, in DESIGN's order:

1. a user rule (an identifier the user aliased, merged or split: origin ``user``) for any of
   the item's identifiers, the most specific first, wins over every rule below;
2. the exact known address or phone;
3. the registrable domain of the sender (inbound) or recipient (outbound), never the user's own;
4. ESP and relay domains unwrapped by DKIM ``d=``, Reply-To, List-Unsubscribe/List-Id domain,
   then the display name;
5. freemail addresses are people; at an internet provider's domain role addresses are the
   provider and the rest people; a mailing list's post is with the list (kind ``list``), never
   with its poster, so different posters never fuse;
6. chats: bots, channels, business accounts, pages and message requests are companies and
   join the mail company whose name they share (after ``vault.names.brand_key``), by a domain
   they name, or by their leading brand words; private chats join a person or company of their
   name; the uncertain rest are suggestions (``vault.suggestions``);
7. names: brand evidence only (``vault.names.company_name``), the domain's label as fallback.

Bookings: a document that names no one joins the company that holds its booking's reference
(a weak reference needs the company's name to agree, a second signal); a boarding pass names
its airline by its IATA code; a platform's order is the platform's (schema.org ``broker``),
the seller kept in the booking's details.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import cache

from vault.bookings import existing_company, is_weak_reference
from vault.claims import UNKNOWN, Claim, Key
from vault.domains import (
    address_domain,
    domain_of_sender_id,
    is_calendar_host,
    is_freemail,
    is_isp,
    is_list_host,
    is_personal_provider,
    is_relay,
    registrable_domain,
)
from vault.memo import short_text_cache
from vault.names import (
    airline_name,
    brand_key,
    clean_display_name,
    company_name,
    domain_label,
    is_role_address,
    name_from_domain,
    name_prefixes,
    organisation_name,
    person_key,
    strip_tokens,
)
from vault.payees import payment_claim
from vault.records import ImportOptions, Interaction, Party
from vault.store import Conn, execute
from vault.timefmt import now_iso

__all__ = [
    "Claim",
    "CompanyResolver",
    "clean_display_name",
    "counterpart_of",
    "identify",
    "is_list_post",
    "own_domains",
    "rename_from_votes",
]

COMPANY_CHATS = frozenset({"bot", "channel", "business", "page", "request"})
_NAMED_DOMAIN = re.compile(r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
_SUBJECT_TAG = re.compile(r"^\s*(?:(?:re|fwd?|aw|antw)\s*:\s*)*\[([^\]\s]{2,40})\]", re.I)


def own_domains(me: ImportOptions) -> frozenset[str]:
    """Registrable domains of the user's own addresses, except providers': never a company."""
    return _own_domains(me.me_addresses)


@cache
def _own_domains(addresses: frozenset[str]) -> frozenset[str]:
    found = {address_domain(a) for a in addresses}
    return frozenset(registrable_domain(d) for d in found if d and not is_personal_provider(d))


def counterpart_of(item: Interaction, me: ImportOptions) -> Party | None:
    """The other side: the sender of what came in, the first recipient not the user of what went
    out."""
    if item.direction == "out":
        others = [p for p in item.recipients if not me.is_me(p)]
        return others[0] if others else None
    return item.sender


# --- rule 5: mailing lists -----------------------------------------------------------------------


def _list_domain(list_id: str) -> str:
    """``linux-kernel.vger.kernel.org`` → ``kernel.org``: who runs the list."""
    _, _, rest = list_id.partition(".")
    return registrable_domain(rest if "." in rest else list_id)


def is_list_post(item: Interaction) -> bool:
    """True for a post a mailing list relayed to the user: a List-Id (not an ESP's) with a sign
    that someone other than the list's own domain wrote it (List-Post, Precedence: list, a
    Sender at the list's domain, X-Original-From, a list host's or "via" From, a personal
    address)."""
    hints = item.hints
    if item.channel != "email" or item.direction != "in" or not hints.list_id:
        return False
    list_domain = _list_domain(hints.list_id)
    if is_relay(list_domain):
        return False  # an ESP's campaign id: marketing of the brand that sent it
    address = (item.sender.address or "") if item.sender else ""
    domain = address_domain(address) or ""
    name = (item.sender.name or "") if item.sender else ""
    rewritten = (bool(domain) and is_list_host(domain)) or " via " in f" {name.casefold()} "
    if domain and registrable_domain(domain) == list_domain and not rewritten:
        return False  # the list's own domain writes: a brand's announcement list, not a post
    sender_domain = address_domain(hints.sender or "")
    return bool(
        rewritten
        or hints.list_post
        or hints.precedence == "list"
        or hints.original_sender
        or (sender_domain and registrable_domain(sender_domain) == list_domain)
        or (domain and is_personal_provider(domain))
    )


def _list_name(item: Interaction) -> str:
    """The list's name: the subject tag that names it ("[woodworkers]"), the List-Id's phrase,
    the group of a "Name via Group" From, else the List-Id's first label."""
    hints = item.hints
    ident = hints.list_id or ""
    labels = ident.casefold().split(".")
    tag = _SUBJECT_TAG.match(item.title or "")
    if tag and tag.group(1).casefold() in labels:
        return tag.group(1)
    phrase = clean_display_name(hints.list_name)
    if phrase:
        return phrase
    name = (item.sender.name or "") if item.sender else ""
    via = re.match(r"^.+?\s+via\s+(.+)$", name, re.IGNORECASE)
    if via and clean_display_name(via.group(1)):
        return via.group(1).strip()
    return labels[0] if labels and labels[0] else ident


def _list_claim(item: Interaction) -> Claim:
    ident = item.hints.list_id or ""
    return Claim(
        "list_id",
        ident,
        "list",
        name=_list_name(item),
        keys=(("list_id", ident),),
        link_kinds=frozenset(),
    )


# --- rules 3-5: mail -----------------------------------------------------------------------------


def _brand_domain(item: Interaction, me: ImportOptions) -> str | None:
    candidates = list(item.hints.dkim_domains)
    candidates += [d for d in (address_domain(a) for a in item.hints.reply_to) if d]
    candidates += item.hints.list_domains
    for host in candidates:
        host = host.casefold().strip()
        if host and not is_relay(host) and not is_personal_provider(host):
            domain = registrable_domain(host)
            if domain not in own_domains(me):
                return domain
    return None


@short_text_cache(maxsize=1024)  # one sender's mails make the same claim
def _person_claim(address: str, display: str | None) -> Claim:
    name = clean_display_name(display)
    full = person_key(name) if name and " " in name.strip() else None
    return Claim(
        "email_address",
        address,
        "person",
        name=name,
        fallback=address,
        keys=(("email_address", address),),
        exact=("email_address", address),
        links=(("name", full),) if full else (),
        link_kinds=frozenset({"person"}),
    )


@short_text_cache(maxsize=1024)  # one sender's mails make the same claim
def _domain_claim(
    domain: str, address: str, display: str | None, organisation: str | None = None
) -> Claim:
    name, brand = company_name(display, address, domain)
    if not brand and organisation_name(organisation):
        name, brand = organisation_name(organisation), True  # the Organization header
    key = brand_key(name) if brand else None
    return Claim(
        "email_domain",
        domain,
        "company",
        name=name if brand else None,
        weak_name=clean_display_name(display) if name and not brand else None,
        fallback=name_from_domain(domain),
        keys=(("email_address", address), ("email_domain", domain)),
        exact=("email_address", address),
        links=(("name", key),) if key else (),
    )


def _email_claim(item: Interaction, party: Party, me: ImportOptions) -> Claim:
    address = (party.address or "").casefold()
    domain = address_domain(address)
    if domain is None:
        name = clean_display_name(party.name)
        return Claim("name", person_key(name or party.name) or "(unknown)", "unknown", name)
    if is_freemail(domain) or registrable_domain(domain) in own_domains(me):
        return _person_claim(address, party.name)
    if is_isp(domain):
        if is_role_address(address):
            return _domain_claim(registrable_domain(domain), address, party.name)
        return _person_claim(address, party.name)
    if is_relay(domain):
        brand = _brand_domain(item, me)
        if brand:
            return _domain_claim(brand, address, party.name, item.hints.organisation)
        name = clean_display_name(party.name)
        key = brand_key(name)
        if name and key:
            name = strip_tokens(re.sub(r"^.+?\s+via\s+", "", name, flags=re.I)) or name
            return Claim(
                "name",
                key,
                "company",
                name=name,
                keys=(("email_address", address), ("name", key)),
                exact=("email_address", address),
            )
    return _domain_claim(registrable_domain(domain), address, party.name, item.hints.organisation)


# --- rule 6: chats -------------------------------------------------------------------------------


def _named_domains(text: str) -> tuple[Key, ...]:
    found: list[Key] = []
    for match in _NAMED_DOMAIN.finditer(text):
        domain = registrable_domain(match.group(0))
        if "." in domain and not is_personal_provider(domain) and not is_relay(domain):
            found.append(("email_domain", domain))
    return tuple(dict.fromkeys(found))


def _chat_claim(item: Interaction, party: Party | None) -> Claim:
    title = item.thread_title or (party.name if party else None) or ""
    handle = item.thread_key or ((party.address or party.name or "") if party else "").casefold()
    handle = handle or "(unknown)"
    keys: list[Key] = [("chat_handle", handle)]
    if party is not None and party.kind == "phone" and party.address:
        keys.append(("phone", re.sub(r"[^\d+]", "", party.address)))
    if item.hints.chat_kind in COMPANY_CHATS:
        name = strip_tokens(title) or title or None
        links = _named_domains(title) + tuple(("name", p) for p in name_prefixes(brand_key(title)))
        links += (("sender_id", party.address or ""),) if item.channel == "sms" and party else ()
        return Claim(
            "chat_handle",
            handle,
            "company",
            fallback=name,
            keys=tuple(keys),
            links=links,
        )
    links_list: list[Key] = []
    if item.hints.chat_kind != "group":
        for key in (person_key(title), brand_key(title)):
            if key and ("name", key) not in links_list:
                links_list.append(("name", key))
    return Claim(
        "chat_handle",
        handle,
        "person",
        fallback=title or None,
        keys=tuple(keys),
        links=tuple(links_list),
        link_kinds=frozenset({"company", "person"}),
        also=tuple(keys[1:]),
    )


# --- documents: bookings without a sender --------------------------------------------------------


def _named_claim(name: str, *, airline: bool = False) -> Claim:
    key = brand_key(name) or name.casefold()
    prefixes = name_prefixes(key)
    # An airline's name from the code table names a new company, but never outvotes the
    # names the airline's own mail uses.
    return Claim(
        "name",
        key,
        "company",
        name=None if airline else name,
        fallback=name,
        keys=(("name", key),),
        links=tuple(("name", p) for p in prefixes[1:]) if airline else (),
        document=True,
    )


def _document_claim(item: Interaction) -> Claim:
    broker = next(
        (str(b.details["broker"]) for b in item.bookings if b.details.get("broker")), None
    )
    organisation = organisation_name(broker) or organisation_name(item.hints.organisation)
    if organisation:
        return _named_claim(organisation)
    for host in item.hints.domains:
        domain = registrable_domain(host)
        if "." in domain and not (
            is_personal_provider(domain) or is_relay(domain) or is_calendar_host(domain)
        ):
            return replace(_domain_claim(domain, "", None), exact=None, document=True)
    carriers = (
        str(b.details.get("carrier") or b.details.get("marketing_carrier") or "")
        for b in item.bookings
        if b.kind == "flight"
    )
    airline = next((n for n in map(airline_name, carriers) if n), None)
    if airline:
        return _named_claim(airline, airline=True)
    return Claim(*UNKNOWN, "unknown", fallback="Unknown", document=True)


def identify(item: Interaction, me: ImportOptions) -> Claim:
    """The claim that decides ``item``'s company (rules 2–7 of DESIGN; rule 1 is the store's)."""
    party = counterpart_of(item, me)
    if item.channel in ("chat", "sms"):
        return _chat_claim(item, party)
    if item.channel == "payment":
        return payment_claim(item, party)
    if is_list_post(item):
        return _list_claim(item)
    if party is not None and party.kind == "phone" and party.address:
        digits = re.sub(r"[^\d+]", "", party.address)
        name = clean_display_name(party.name)
        return Claim(
            "phone", digits, "person", name=name, keys=(("phone", digits),), exact=("phone", digits)
        )
    if party is not None and party.address and "@" in party.address and not me.is_me(party):
        return _email_claim(item, party, me)
    if party is None or me.is_me(party):
        return _document_claim(item)
    organisation = organisation_name(item.hints.organisation)
    if organisation:
        return _named_claim(organisation)
    name = clean_display_name(party.name)
    key = person_key(name)
    if key:
        return Claim("name", key, "unknown", name=name, keys=(("name", key),))
    return Claim(*UNKNOWN, "unknown", fallback="Unknown")


@dataclass(frozen=True, slots=True)
class _Hit:
    identifier: int
    company: int
    origin: str


class CompanyResolver:
    """Resolves claims to company ids inside an ingest transaction, creating what is new."""

    def __init__(self, db: Conn, me: ImportOptions) -> None:
        self.db = db
        self.me = me
        # (kind, value) → the identifier row, or None when the vault has none: the batch's
        # transaction is the only writer, and every insert goes through this class. These
        # caches and the votes hold only what the transaction did: see ``forget``.
        self._identifiers: dict[Key, _Hit | None] = {}
        self._votes: Counter[tuple[int, str, bool]] = Counter()
        self._kinds: dict[int, str] = {}

    def _lookup(self, kind: str, value: str) -> _Hit | None:
        key = (kind, value)
        if key in self._identifiers:
            return self._identifiers[key]
        row = execute(
            self.db,
            "SELECT id, company_id, origin FROM identifier WHERE kind=:k AND value=:v",
            {"k": kind, "v": value},
        ).first()
        hit = _Hit(int(row[0]), int(row[1]), str(row[2])) if row is not None else None
        self._identifiers[key] = hit
        return hit

    def _add_identifier(self, kind: str, value: str, company_id: int) -> int:
        result = execute(
            self.db,
            "INSERT INTO identifier(kind, value, company_id, origin) VALUES (:k, :v, :c, 'rule')",
            {"k": kind, "v": value, "c": company_id},
        )
        identifier_id = int(result.lastrowid or 0)
        self._identifiers[(kind, value)] = _Hit(identifier_id, company_id, "rule")
        return identifier_id

    def _add_if_free(self, kind: str, value: str | None, company_id: int) -> None:
        if value and self._lookup(kind, value) is None:
            self._add_identifier(kind, value, company_id)

    def _create_company(self, claim: Claim) -> int:
        name = claim.name or claim.fallback or claim.value
        result = execute(
            self.db,
            "INSERT INTO company(name, kind, created_at, user_named) VALUES (:n, :k, :t, 0)",
            {"n": name, "k": claim.company_kind, "t": now_iso()},
        )
        company_id = int(result.lastrowid or 0)
        self._kinds[company_id] = claim.company_kind
        for kind, value in claim.also:
            self._add_if_free(kind, value, company_id)
        # A name identifier lets a chat of the same name, a document naming the company, or a
        # person's other address under the same full name, find this company.
        self._add_if_free("name", self._name_key(claim.company_kind, name), company_id)
        return company_id

    @staticmethod
    def _name_key(company_kind: str, name: str | None) -> str | None:
        if company_kind == "company":
            return brand_key(name)
        if company_kind == "person" and name and " " in name.strip():
            return person_key(name)
        return None

    def _kind(self, company_id: int) -> str:
        kind = self._kinds.get(company_id)
        if kind is None:
            kind = str(
                execute(self.db, "SELECT kind FROM company WHERE id=:c", {"c": company_id}).scalar()
            )
            self._kinds[company_id] = kind
        return kind

    def _user_rule(self, claim: Claim) -> _Hit | None:
        """Rule 1: an identifier of the item that the user aliased, merged or split."""
        for kind, value in claim.keys:
            hit = self._lookup(kind, value)
            if hit is not None and hit.origin == "user":
                return hit
        return None

    def _linked(self, claim: Claim) -> int | None:
        """A known company or person this claim joins by a name or a domain it shares."""
        for kind, value in claim.links:
            if kind == "sender_id":  # a text's sender id: "KLM" is the company of klm.com
                kind, value = "email_domain", domain_of_sender_id(self.db, value) or ""
            hit = self._lookup(kind, value)
            if hit is not None and self._kind(hit.company) in claim.link_kinds:
                return hit.company
        return None

    def _booking_company(self, item: Interaction, claim: Claim) -> int | None:
        """A document naming no one joins the company that holds its booking's reference; a
        weak reference ("XXX007") only where that company's name agrees with the document's."""
        for booking in item.bookings:
            company_id = existing_company(self.db, booking)
            if company_id is None:
                continue
            if not is_weak_reference(booking.reference) or self._agrees(company_id, claim):
                return company_id
        return None

    def _agrees(self, company_id: int, claim: Claim) -> bool:
        if claim.kind != "name" or claim.value == UNKNOWN[1]:
            return False
        wanted = {claim.value, *(value for _, value in claim.links)}
        rows = execute(
            self.db,
            "SELECT value FROM identifier WHERE company_id=:c AND kind IN ('name', 'email_domain')",
            {"c": company_id},
        ).all()
        return any(str(r[0]) in wanted or domain_label(str(r[0])) in wanted for r in rows)

    def resolve(self, item: Interaction) -> tuple[int, int | None]:
        """(company id, identifier id or None) for ``item``; votes for the company's name."""
        claim = identify(item, self.me)
        hit = self._user_rule(claim)
        if hit is None and claim.exact is not None:
            hit = self._lookup(*claim.exact)  # rule 2
        if hit is None and claim.document:
            company_id = self._booking_company(item, claim)
            if company_id is not None:
                return company_id, None
        if hit is None:
            hit = self._lookup(*claim.key)
        if hit is None:
            linked = self._linked(claim)
            company_id = linked if linked is not None else self._create_company(claim)
            hit = self._lookup(*claim.key)  # a new company's name may be the claim's key
            if hit is None:
                hit = _Hit(self._add_identifier(*claim.key, company_id), company_id, "rule")
        if claim.kind != "chat_handle":
            if claim.name:
                self._votes[(hit.company, claim.name, True)] += 1
            elif claim.weak_name:
                self._votes[(hit.company, claim.weak_name, False)] += 1
        return hit.company, hit.identifier

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
        for (company_id, name, brand), seen in self._votes.items():
            execute(
                self.db,
                (
                    "INSERT INTO displayname(company_id, name, seen, brand) "
                    "VALUES (:c, :n, :s, :b) ON CONFLICT(company_id, name) "
                    "DO UPDATE SET seen = seen + excluded.seen, brand = max(brand, excluded.brand)"
                ),
                {"c": company_id, "n": name, "s": seen, "b": int(brand)},
            )
            if brand:
                self._add_if_free("name", self._name_key(self._kind(company_id), name), company_id)
        touched = {company_id for company_id, _, _ in self._votes}
        self._votes.clear()
        for company_id in touched:
            rename_from_votes(self.db, company_id)


def rename_from_votes(db: Conn, company_id: int) -> None:
    """Name a company after its most frequent brand name, unless the user named it.

    A name that is not brand evidence counts only once several senders share it.
    """
    row = execute(
        db,
        (
            "SELECT name FROM displayname WHERE company_id=:c AND brand=1 "
            "ORDER BY seen DESC, length(name) DESC, name LIMIT 1"
        ),
        {"c": company_id},
    ).first()
    if row is None:
        row = execute(
            db,
            (
                "SELECT d.name FROM displayname d WHERE d.company_id=:c AND d.brand=0 AND ("
                "SELECT count(DISTINCT lower(i.counterpart)) FROM interaction i "
                "WHERE i.company_id=:c AND substr(i.counterpart, 1, length(d.name) + 2) "
                "= d.name || ' <') >= 2 ORDER BY d.seen DESC, d.name LIMIT 1"
            ),
            {"c": company_id},
        ).first()
    if row:
        execute(
            db,
            "UPDATE company SET name=:n WHERE id=:c AND user_named=0 AND name != :n",
            {"n": row[0], "c": company_id},
        )
