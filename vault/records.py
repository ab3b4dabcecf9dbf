"""The neutral records that importers yield and the ingest pipeline stores.

Importers know formats; they never touch the store. They turn a source into a stream of
``Interaction``, ``Quarantined`` and ``Checkpoint`` items, and ``vault.ingest`` does the rest
(dedup, company resolution, booking merge, batched writes).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from vault.channels import Channel as Channel  # where importers have always found it

if TYPE_CHECKING:
    from vault.blobs import Packed

Direction = Literal["in", "out", "system"]
PartyKind = Literal["email_address", "phone", "chat_handle", "name", "iban"]
ChatKind = Literal["private", "group", "bot", "channel", "business", "page", "request"]
BookingKind = Literal[
    "flight",
    "train",
    "bus",
    "boat",
    "lodging",
    "rental_car",
    "restaurant",
    "event",
    "taxi",
    "order",
    "parcel",
]
BookingStatus = Literal["confirmed", "cancelled", "changed", "pending"]
BOOKING_LABELS: dict[str, str] = {
    "flight": "Flight",
    "train": "Train",
    "bus": "Bus",
    "boat": "Ferry",
    "lodging": "Stay",
    "rental_car": "Rental car",
    "taxi": "Taxi",
    "restaurant": "Table",
    "event": "Ticket",
    "order": "Order",
    "parcel": "Parcel",
}
"""How a person calls each kind of booking, in titles and calendar summaries."""
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mstr", "dr", "prof", "herr", "frau", "mme"})


@dataclass(frozen=True, slots=True)
class Party:
    """Someone on the other end of an interaction: a sender, a recipient, a chat member."""

    name: str | None = None
    address: str | None = None
    kind: PartyKind = "email_address"

    def display(self) -> str:
        """``Name <address>``, or whichever of the two is known."""
        if self.name and self.address and self.name != self.address:
            return f"{self.name} <{self.address}>"
        return self.address or self.name or ""


@dataclass(slots=True)
class Attachment:
    """A file that came with an interaction; its bytes are stored once per content hash."""

    filename: str
    mime: str
    data: bytes
    packed: Packed | None = field(default=None, compare=False, repr=False)
    """``data`` hashed and made ready for the blob table by a parse worker
    (``vault.pool.packed_ahead``)."""


@dataclass(frozen=True, slots=True)
class Place:
    """An origin, destination or venue: a name and, where known, an IATA/station code."""

    name: str | None = None
    code: str | None = None


@dataclass(slots=True)
class Booking:
    """One reservation segment, order or parcel found in a source.

    ``reference`` plus ``segment`` identify it within its company and kind, so a later
    change or cancellation of the same reference updates it instead of adding a row.

    ``start`` and ``end`` are as precise as the source: an aware datetime is an instant, a
    naive one a local time whose zone nobody stated (floating), a ``date`` a day with no time.
    ``travellers`` and ``seat`` cover everyone on the segment (seats joined with ", ").
    ``modified_at`` is when the source itself says it was written (schema.org
    ``modifiedTime``, a mail's date), so that documents apply in their own order.
    """

    kind: BookingKind
    reference: str | None
    status: BookingStatus = "confirmed"
    number: str | None = None
    segment: str | None = None
    start: datetime | date | None = None
    end: datetime | date | None = None
    origin: Place | None = None
    destination: Place | None = None
    travellers: list[str] = field(default_factory=list)
    seat: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    provider: str | None = None
    provider_domain: str | None = None
    modified_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


def person_key(name: str) -> frozenset[str]:
    """A traveller's name as a set of words, titles dropped: "KRAUSE/VOLKER MR", "Volker
    Krause" and "Dr Volker Krause" are the same person."""
    words = re.split(r"[\s/,.]+", unicodedata.normalize("NFKC", name).casefold())
    return frozenset(w for w in words if w and w not in _TITLES)


def join_people(names: list[str], others: list[str]) -> list[str]:
    """``names`` followed by each of ``others`` who is not already among them."""
    joined = list(names)
    keys = {person_key(n) for n in names}
    for name in others:
        key = person_key(name)
        if key and key not in keys:
            joined.append(name)
            keys.add(key)
    return joined


def seat_list(seat: str | None) -> list[str]:
    """The seats of a segment's ``seat`` text ("16E, 16F")."""
    return [s.strip() for s in (seat or "").split(",") if s.strip()]


def join_seats(seat: str | None, other: str | None) -> str | None:
    """Both seat texts as one, each seat once."""
    seats = seat_list(seat)
    seats += [s for s in seat_list(other) if s not in seats]
    return ", ".join(seats) or None


@dataclass(frozen=True, slots=True)
class Money:
    """An amount a source states, in the currency it states: never converted.

    ``value`` is positive; who paid whom is the interaction's direction (``out``: the user
    paid the company; ``in``: the company paid the user, a refund). ``guessed`` marks an
    amount read from a mail's words rather than from markup or a bank statement.
    """

    value: Decimal
    currency: str | None
    guessed: bool = False


@dataclass(frozen=True, slots=True)
class Payment:
    """A bank transaction's particulars: the evidence that ties it to a company, and the
    bank's own reference that makes an overlapping statement add nothing twice."""

    iban: str | None = None  # the counterparty's account
    creditor_id: str | None = None  # SEPA creditor identifier (a direct debit's collector)
    mandate: str | None = None  # SEPA mandate reference (one contract with that collector)
    reference: str | None = None  # the bank's entry reference or end-to-end id
    account: str | None = None  # the user's own account (IBAN) the statement is of
    kind: str | None = None  # direct debit, transfer, card payment, … as the bank says


@dataclass(slots=True)
class CompanyHints:
    """What a source says about who really sent an item (DESIGN, company resolution 4 and 6)."""

    dkim_domains: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    list_domains: list[str] = field(default_factory=list)
    chat_kind: ChatKind | None = None
    organisation: str | None = None
    # Mailing lists (RFC 2919 List-Id, RFC 2369 List-Post): a post is with the list, never
    # with the poster, when these show a list relayed it (DESIGN, company resolution 5).
    list_id: str | None = None  # "linux-kernel.vger.kernel.org"
    list_name: str | None = None  # the List-Id's phrase: "Dovecot Mailing List"
    list_post: bool = False  # a List-Post with an address: a list people write to
    precedence: str | None = None  # "list", "bulk", "junk"
    sender: str | None = None  # the Sender header's address (the list's owner address)
    original_sender: str | None = None  # X-Original-From / X-Original-Sender: the real poster
    # Domains a document gives as its own, e.g. the host of an iCalendar UID
    # ("dekas-77121@restaurantdekas.nl", RFC 5545 3.8.4.7): who wrote it when no one signs it.
    domains: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Interaction:
    """One contact with a company or person: a mail, a chat message, a booking document.

    ``occurred_at`` is timezone-aware and keeps the source's offset; ``tz_known`` is False
    where the offset was assumed (``--timezone`` for WhatsApp, floating calendar times).
    """

    channel: Channel
    direction: Direction
    occurred_at: datetime
    title: str
    body: str
    source_ref: str
    dedup_key: str
    sender: Party | None = None
    recipients: list[Party] = field(default_factory=list)
    raw: bytes | None = None
    thread_key: str | None = None
    thread_title: str | None = None
    tz_known: bool = True
    attachments: list[Attachment] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    money: Money | None = None  # what was paid or is due, where the source states it
    payment: Payment | None = None  # a bank transaction's particulars (channel "payment")
    hints: CompanyHints = field(default_factory=CompanyHints)
    extras: dict[str, Any] = field(default_factory=dict)
    raw_packed: Packed | None = field(default=None, compare=False, repr=False)
    """``raw`` hashed and compressed ahead by a parse worker (``vault.pool.packed_ahead``),
    as a skeleton (``vault.skeleton``) where its large attachments are stored beside it."""

    @property
    def counterpart(self) -> Party | None:
        """The other side: the sender of what came in, the first recipient of what went out."""
        if self.direction == "out":
            return self.recipients[0] if self.recipients else None
        return self.sender


@dataclass(slots=True)
class Quarantined:
    """An item that could not be parsed. It is kept with its raw bytes, never dropped."""

    source_ref: str
    raw: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class Position:
    """How far a source has been read: ``done`` of ``total`` ``unit`` (``bytes`` of a file,
    ``messages`` of a mail folder on a server, ``files`` of a folder), and of what (``where``:
    a folder's name, or empty)."""

    done: int
    total: int
    unit: str = "bytes"
    where: str = ""


@dataclass(slots=True)
class Checkpoint:
    """Everything before this point in ``source`` has been yielded; ``state`` resumes after it.

    Ingest stores the latest checkpoint of each source in the same transaction as the
    items before it, so a killed import resumes exactly there. ``position`` says how far that
    is, for progress, where the importer knows.
    """

    source: str
    state: dict[str, Any]
    position: Position | None = None


@dataclass(slots=True)
class Skipped:
    """A file of a source that was not read, and why ("an empty file", "not a format kluis
    reads"): nothing is stored for it, the import's summary names it."""

    path: str
    reason: str


@dataclass(slots=True)
class Note:
    """A sentence the user should hear about ``source`` (a close call the importer made), for
    the import summary; it stores nothing."""

    source_ref: str
    text: str


Item = Interaction | Quarantined | Checkpoint | Skipped | Note


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the user told the import: who they are and which zone zone-less times are in."""

    timezone: tzinfo
    me_addresses: frozenset[str] = frozenset()
    me_names: frozenset[str] = frozenset()
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns: tuple[tuple[str, str], ...] = ()
    """A bank CSV's columns as the user named them (``--columns date=Datum,…``)."""
    owner_sample: bool = False
    """The read is the owner detection's sample (``vault.me``): only whom each mail is to is
    looked at, so a mail importer may leave out what costs and does not tell it (the content,
    attachment scans, bookings); the items are not stored."""

    def is_me(self, party: Party | None) -> bool:
        """True if ``party`` is the user: by address (any case), or by name where it has none."""
        if party is None:
            return False
        if party.address and party.address.casefold() in self.me_addresses:
            return True
        return bool(
            party.name
            and party.name.casefold() in self.me_names
            and (not party.address or party.kind == "chat_handle")
        )


ItemStream = Iterator[Item]


def content_key(raw: bytes) -> str:
    """The dedup key of an item known only by its bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def message_id_key(message_id: str | None, raw: bytes) -> str:
    """The dedup key of a mail: its normalised Message-ID, else the hash of its bytes."""
    if message_id:
        normalised = message_id.strip().strip("<>").strip().casefold()
        if normalised:
            return "msgid:" + normalised
    return content_key(raw)


def chat_key(source: str, thread: str, when: datetime, sender: str, text: str, ordinal: int) -> str:
    """The dedup key of a chat message (DESIGN, ingest rules)."""
    text_hash = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    parts = [source, thread, when.isoformat(), sender, text_hash, str(ordinal)]
    return "chat:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
