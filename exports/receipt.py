"""Consent receipts modelled on the Kantara Initiative Consent Receipt Specification v1.1.

One receipt goes into every share package: who received what, why, until when, and how to
take it back. ``exports/schemas/consent-receipt.schema.json`` describes it; the tests hold
every receipt written to that schema.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from exports.package import SharedField

VERSION = "KI-CR-v1.1.0"
TRANSACTIONS = "Transaction history (payments, orders, invoices: date, amount, currency, what)"
"""The PII category of ``--history payments``: the receipt names it among what was shared."""
SCHEMA_PATH = Path(__file__).parent / "schemas" / "consent-receipt.schema.json"

# Kantara's sensitive-PI categories, for the keys whose values can reveal them.
_SPI_CATEGORIES = {
    "diet": "Religious or philosophical beliefs; health (a diet can reveal either)",
    "passport": "Government identifier",
    "id_number": "Government identifier",
    "iban": "Financial account",
    "birthdate": "Date of birth",
}


@dataclass(frozen=True, slots=True)
class Controller:
    """The company receiving the data, as far as the vault knows it."""

    name: str
    email: str = ""
    url: str = ""


def new_receipt_id() -> str:
    """A random (version 4) UUID: it links nothing across shares."""
    return str(uuid.uuid4())


def principal_id(fields: list[SharedField], receipt_id: str) -> str:
    """Who consented, by a value already being shared (email, phone, name), else a pseudonym.

    Using an unshared value here would leak it through the receipt itself.
    """
    for key in ("email", "phone", "name"):
        for shared in fields:
            if shared.key == key:
                return shared.value
    return f"urn:uuid:{receipt_id}"


def build_receipt(
    *,
    receipt_id: str,
    disclosure_id: int,
    timestamp: datetime,
    controller: Controller,
    purpose: str,
    fields: list[SharedField],
    history: str,
    interactions: int,
    bookings: int,
    expires_at: datetime | None,
    language: str = "en",
) -> dict[str, Any]:
    """The receipt as a JSON-ready dict."""
    sensitive = [f for f in fields if f.sensitivity in ("sensitive", "special")]
    termination = (
        f"Consent ends on {expires_at.date().isoformat()}"
        if expires_at
        else "Consent has no end date"
    ) + (
        f"; the person may withdraw it at any time (GDPR Art. 7(3)) and ask for erasure "
        f"(Art. 17) - in kluis: `kluis revoke {disclosure_id}`"
    )
    return {
        "version": VERSION,
        "jurisdiction": "EU (GDPR)",
        "consentTimestamp": int(timestamp.timestamp()),
        "collectionMethod": "Package written by the person with kluis, a personal data store",
        "consentReceiptID": receipt_id,
        "language": language,
        "piiPrincipalId": principal_id(fields, receipt_id),
        "piiControllers": [
            {
                "piiController": controller.name,
                "contact": controller.name,
                "address": "",
                "email": controller.email,
                "phone": "",
                "piiControllerUrl": controller.url,
            }
        ],
        "policyUrl": "",
        "services": [
            {
                "service": f"Data shared with {controller.name}",
                "purposes": [
                    {
                        "purpose": purpose,
                        "purposeCategory": ["Provided by the person for the stated purpose"],
                        "consentType": "EXPLICIT",
                        "piiCategory": sorted(
                            {f.category for f in fields}
                            | ({TRANSACTIONS} if history == "payments" else set())
                        ),
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": bool(sensitive),
        "spiCat": sorted({_SPI_CATEGORIES.get(f.key, f.category) for f in sensitive}),
        "expiry": expires_at.isoformat() if expires_at else None,
        "revocation": {
            "disclosureId": disclosure_id,
            "how": f"Withdraw consent with `kluis revoke {disclosure_id}`, which writes an "
            "erasure request (GDPR Art. 17) citing this receipt",
        },
        "sharedFields": [
            {"key": f.key, "category": f.category, "sensitivity": f.sensitivity} for f in fields
        ],
        "history": {"scope": history, "interactions": interactions, "bookings": bookings},
    }
