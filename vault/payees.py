"""Who a bank transaction is with: the company rule for ``payment`` items.

Evidence, strongest first: the SEPA creditor identifier of a direct debit (one per collecting
company, on every collection), the counterparty's IBAN, then the name the bank shows. The name
joins a company already known from mail or chat ("NETFLIX INTERNATIONAL B.V." → the Netflix of
netflix.com) by the same name prefixes chats and documents use. A card payment's name is the
terminal's ("ALBERT HEIJN 1234 AMSTERDAM"): store numbers, places and payment-provider prefixes
("CCV*", "SumUp *", "Mollie*") are dropped before it is compared.
"""

from __future__ import annotations

import re

from vault.claims import UNKNOWN, Claim
from vault.names import brand_key, clean_display_name, name_prefixes, strip_tokens
from vault.records import Interaction, Party

_PROVIDER_PREFIX = re.compile(
    r"^(?:CCV|SumUp|SUMUP|Mollie|iZ|Zettle|ZTL|PAY\.nl|PAYNL|Adyen|Buckaroo|MSP|SQ|Payvision|"
    r"Worldline|BCK|TIKKIE|Tikkie)\s*\*\s*",
    re.IGNORECASE,
)
_VIA = re.compile(r"^(.+?)\s+(?:via|by|door)\s+.+$", re.IGNORECASE)
_PERSON = re.compile(r"^(?:[A-Z]\.\s*)+[A-Z][a-z]|^(?:Hr|Mw|Mevr|Dhr)\.?\s", re.UNICODE)
_LEGAL_FORM = re.compile(r"\b(B\.?V\.?|N\.?V\.?|GmbH|AG|SA|SAS|Ltd|Limited|Inc|LLC|VOF|SE)\b", re.I)


def payee_name(name: str | None) -> str | None:
    """The name of the business behind a bank's counterparty name, fit to show."""
    cleaned = clean_display_name(name)
    if cleaned is None:
        return None
    cleaned = _PROVIDER_PREFIX.sub("", cleaned)
    via = _VIA.match(cleaned)
    if via:
        cleaned = via.group(1)
    words = cleaned.split()
    numbered = next((n for n, w in enumerate(words) if n and any(c.isdigit() for c in w)), None)
    if numbered is not None:  # a terminal's name: the store number and the place go
        words = words[:numbered]
    cleaned = strip_tokens(" ".join(words)) or " ".join(words)
    if cleaned.isupper() and len(cleaned) > 3:
        cleaned = " ".join(w if len(w) <= 2 else w.capitalize() for w in cleaned.split())
    return cleaned


def _looks_like_person(name: str) -> bool:
    return bool(_PERSON.match(name)) and not _LEGAL_FORM.search(name)


def payment_claim(item: Interaction, party: Party | None) -> Claim:
    """The claim of a payment: its creditor id, IBAN and name, most specific first."""
    payment = item.payment
    creditor = (payment.creditor_id or "").replace(" ", "").upper() if payment else ""
    iban = party.address if party is not None and party.kind == "iban" else None
    shown = party.name if party is not None else None
    name = payee_name(shown)
    key = brand_key(name)
    keys = [k for k in (("creditor_id", creditor), ("iban", iban or "")) if k[1]]
    person = bool(shown) and _looks_like_person(str(shown)) and not creditor
    if key:
        keys.append(("name", key))
    if not keys:
        return Claim(*UNKNOWN, "unknown", fallback="Unknown")
    return Claim(
        keys[0][0],
        keys[0][1],
        "unknown" if person else "company",
        weak_name=name,
        fallback=name or iban or creditor,
        keys=tuple(keys),
        links=tuple(("name", p) for p in name_prefixes(key)) if key and not person else (),
        also=tuple(keys[1:]),
    )
