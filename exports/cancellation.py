"""A letter that ends a contract, the way ``kluis gdpr`` writes GDPR letters: in English or
Dutch, naming the contract as the user's bank statements show it (since when, what it costs,
how often, the SEPA mandate), the end date asked for (the first day the notice period
allows), a request to stop collecting under the mandate, and the user's identifying details.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from exports.letters import Letter, field_label, long_date

_PERIODS = {
    "en": {"weekly": "a week", "monthly": "a month", "quarterly": "a quarter", "yearly": "a year"},
    "nl": {
        "weekly": "per week",
        "monthly": "per maand",
        "quarterly": "per kwartaal",
        "yearly": "per jaar",
    },
}
_TEXT = {
    "en": {
        "subject": "Cancellation of my contract",
        "dear": "Dear {company},",
        "ends": "I hereby cancel my contract with you, in force since {since}, for which I pay "
        "{amount} {period}.",
        "when": "Please end it on {end}, or at the earliest date the contract allows after "
        "that, and confirm the end date to me in writing.",
        "mandate": "Please also stop collecting payments under SEPA mandate {mandate} from that "
        "date; I withdraw the mandate for any collection after it.",
        "identify": "To identify me:",
        "closing": "Kind regards,",
    },
    "nl": {
        "subject": "Opzegging van mijn overeenkomst",
        "dear": "Geachte heer/mevrouw van {company},",
        "ends": "Hierbij zeg ik mijn overeenkomst met u op, die loopt sinds {since} en waarvoor "
        "ik {amount} {period} betaal.",
        "when": "Ik verzoek u deze te beëindigen per {end}, of zo spoedig mogelijk daarna als "
        "de overeenkomst toestaat, en mij de einddatum schriftelijk te bevestigen.",
        "mandate": "Ik verzoek u vanaf die datum geen betalingen meer te incasseren onder "
        "SEPA-machtiging {mandate}; ik trek de machtiging in voor elke incasso daarna.",
        "identify": "Ter identificatie:",
        "closing": "Met vriendelijke groet,",
    },
}


def money_text(amount: Decimal, currency: str | None, language: str) -> str:
    """``€ 13,49`` (nl), ``EUR 13.49`` (en)."""
    if language == "nl":
        value = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
        return f"€ {value}" if currency == "EUR" else f"{currency or ''} {value}".strip()
    return f"{currency or ''} {amount:,.2f}".strip()


def cancellation_letter(
    language: str,
    *,
    company: str,
    since: date,
    amount: Decimal,
    currency: str | None,
    period: str,
    mandate: str | None,
    end: date,
    today: date,
    details: list[tuple[str, str, str]],
    signer: list[str] | None = None,
) -> Letter:
    """The letter ending the contract with ``company`` on ``end``.

    ``details`` are (profile key, English label, value) of the identifying details chosen;
    ``signer`` the lines under the closing (``exports.sharing.signer_lines``).
    """
    words = _TEXT[language]
    paragraphs = [
        words["ends"].format(
            since=long_date(since, language),
            amount=money_text(amount, currency, language),
            period=_PERIODS[language][period],
        ),
        words["when"].format(end=long_date(end, language)),
    ]
    if mandate:
        paragraphs.append(words["mandate"].format(mandate=mandate))
    rows = [(field_label(key, label, language), value) for key, label, value in details]
    names = [value for key, _label, value in details if key == "name"][:1]
    return Letter(
        date_line=long_date(today, language),
        company=company,
        subject=words["subject"],
        salutation=words["dear"].format(company=company),
        paragraphs=paragraphs,
        details_title=words["identify"] if rows else None,
        details=rows,
        closing=words["closing"],
        signature=signer or names,
    )
