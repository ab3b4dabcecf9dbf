"""What a share package holds: the chosen fields, the chosen history, and its consent receipt.

The writers (vCard, JSON-LD, HTML, zip) read only a ``Package``, so nothing the user did not
choose can reach a file: what is not in the package does not exist for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_POSTCODE_LOCALITY = re.compile(
    r"^(?P<code>\d{4} ?[A-Za-z]{2}|\d{4,5}|[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2})"
    r"(?:\s+(?P<locality>.+))?$"
)
_LOCALITY_POSTCODE = re.compile(
    r"^(?P<locality>.+?)\s+(?P<code>[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2})$"
)


@dataclass(frozen=True, slots=True)
class SharedField:
    """One profile value as shared."""

    key: str
    value: str
    label: str
    category: str
    sensitivity: str


@dataclass(frozen=True, slots=True)
class SharedItem:
    """One interaction of the shared history (its title, never its body); the amount it
    states when the transaction history was chosen (``--history payments``)."""

    id: int
    occurred_at: str
    channel: str
    direction: str
    title: str
    amount: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class SharedBooking:
    """One booking of the shared history (travellers left out: they are names not chosen)."""

    id: int
    kind: str
    reference: str | None
    status: str
    number: str | None
    start: str | None
    end: str | None
    origin: str | None
    destination: str | None
    price: str | None
    currency: str | None


@dataclass(slots=True)
class Package:
    """Everything one share writes."""

    company: str
    created_at: str
    fields: list[SharedField]
    history: str
    items: list[SharedItem] = field(default_factory=list)
    bookings: list[SharedBooking] = field(default_factory=list)
    receipt: dict[str, Any] = field(default_factory=dict)

    def values(self, key: str) -> list[str]:
        """The shared values of ``key`` (or of every ``key.*`` when ``key`` ends with a dot)."""
        if key.endswith("."):
            return [f.value for f in self.fields if f.key.startswith(key)]
        return [f.value for f in self.fields if f.key == key]

    def first(self, key: str) -> str | None:
        """The first shared value of ``key``, if any."""
        found = self.values(key)
        return found[0] if found else None


@dataclass(frozen=True, slots=True)
class AddressParts:
    """A free-text address split the way vCard ADR and schema.org PostalAddress want it."""

    street: str
    postcode: str
    locality: str
    country: str


def split_address(value: str) -> AddressParts:
    """``Keizersgracht 1, 1015 CJ Amsterdam, NL`` → street, postcode, locality, country.

    Best effort on the comma-separated form people type; what cannot be placed stays in the
    street line, so nothing is lost.
    """
    parts = [p.strip() for p in value.split(",") if p.strip()]
    country = ""
    last = parts[-1] if len(parts) > 1 else ""
    # "…, NL" is a country; "Street 1, Town" is a town: a named country needs a third part.
    named_country = len(parts) > 2 and re.fullmatch(r"[A-Za-z][A-Za-z .'-]{3,}", last)
    if (re.fullmatch(r"[A-Za-z]{2}", last) or named_country) and not (
        _POSTCODE_LOCALITY.match(last) or _LOCALITY_POSTCODE.match(last)
    ):
        country = parts.pop()
    postcode = locality = ""
    if len(parts) > 1:
        match = _POSTCODE_LOCALITY.match(parts[-1]) or _LOCALITY_POSTCODE.match(parts[-1])
        if match:
            postcode, locality = match.group("code"), match.group("locality") or ""
            parts.pop()
        elif len(parts) > 1:
            locality = parts.pop()
    if len(parts) > 1 and not locality:
        locality = parts.pop()
    return AddressParts(", ".join(parts), postcode, locality, country)
