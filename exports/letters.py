"""GDPR request letters (Art. 15, 16, 17, 20) in English and Dutch, as plain text or HTML.

Each letter names the article it relies on, the company, the identifying details the user
chose, and the Art. 12(3) deadline; an erasure letter written by ``kluis revoke`` also cites
the disclosure and its consent receipt and withdraws consent under Art. 7(3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

from vault.profile import MONTHS

SIGN_HERE = "_______________________"
"""Where a letter without the signer's name leaves room to sign by hand."""

KINDS = ("access", "erasure", "rectification", "portability")
LANGUAGES = ("en", "nl")

_LABELS_NL = {
    "name": "Naam",
    "email": "E-mailadres",
    "phone": "Telefoonnummer",
    "address.home": "Woonadres",
    "address.work": "Werkadres",
    "address.delivery": "Afleveradres",
    "birthdate": "Geboortedatum",
    "iban": "IBAN",
    "passport": "Paspoortnummer",
    "id_number": "Nummer identiteitskaart",
    "diet": "Dieetwens",
    "seating": "Stoelvoorkeur",
}

_TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "law": "GDPR",
        "dear": "Dear Data Protection Officer of {company},",
        "subject": {
            "access": "Request for access to personal data (Article 15 GDPR)",
            "erasure": "Request for erasure of personal data (Article 17 GDPR)",
            "rectification": "Request for rectification of personal data (Article 16 GDPR)",
            "portability": "Request for data portability (Article 20 GDPR)",
        },
        "body": {
            "access": [
                "Under Article 15 of the General Data Protection Regulation (GDPR) I ask you to "
                "confirm whether you process personal data concerning me and, if so, to give me "
                "access to those data and to the information listed in Article 15(1): the "
                "purposes, the categories of data, the recipients, the storage period, the "
                "source of any data not collected from me, and whether automated "
                "decision-making, including profiling, takes place.",
                "Please send me a copy of the data (Article 15(3) GDPR) in a commonly used "
                "electronic form.",
            ],
            "erasure": [
                "Under Article 17 of the General Data Protection Regulation (GDPR) I ask you to "
                "erase all personal data concerning me without undue delay.",
                "Please also tell every recipient to whom you disclosed these data about the "
                "erasure (Article 19 GDPR), and confirm to me in writing when it is done.",
            ],
            "rectification": [
                "Under Article 16 of the General Data Protection Regulation (GDPR) I ask you to "
                "rectify inaccurate personal data concerning me without undue delay. The "
                "correct details are listed below.",
                "Please also tell every recipient to whom you disclosed these data about the "
                "rectification (Article 19 GDPR).",
            ],
            "portability": [
                "Under Article 20(1) of the General Data Protection Regulation (GDPR) I ask you "
                "to provide the personal data concerning me that I have provided to you in a "
                "structured, commonly used and machine-readable format.",
            ],
        },
        "disclosure": (
            "On {shared} I provided you with the following data for the purpose "
            "\u201c{purpose}\u201d (consent receipt {receipt}, kluis disclosure {id}): {keys}. "
            "I hereby withdraw my consent (Article 7(3) GDPR) and ask you to erase these data "
            "and any other personal data concerning me (Article 17(1)(b) GDPR)."
        ),
        "identify": "To help you find my data, these are my details:",
        "correct": "The correct details:",
        "deadline": (
            "Article 12(3) GDPR requires you to answer without undue delay and in any event "
            "within one month of receiving this request, that is by {due}."
        ),
        "complaint": (
            "If you do not answer in time, I may lodge a complaint with a supervisory authority "
            "(Article 77 GDPR)."
        ),
        "closing": "Kind regards,",
    },
    "nl": {
        "law": "AVG",
        "dear": "Geachte functionaris voor gegevensbescherming van {company},",
        "subject": {
            "access": "Verzoek om inzage in persoonsgegevens (artikel 15 AVG)",
            "erasure": "Verzoek om wissing van persoonsgegevens (artikel 17 AVG)",
            "rectification": "Verzoek om rectificatie van persoonsgegevens (artikel 16 AVG)",
            "portability": "Verzoek om overdraagbaarheid van persoonsgegevens (artikel 20 AVG)",
        },
        "body": {
            "access": [
                "Op grond van artikel 15 van de Algemene verordening gegevensbescherming (AVG) "
                "verzoek ik u mij te laten weten of u persoonsgegevens over mij verwerkt en, zo "
                "ja, mij inzage te geven in die gegevens en in de informatie genoemd in artikel "
                "15, lid 1: de verwerkingsdoeleinden, de categorieën van gegevens, de ontvangers, "
                "de bewaartermijn, de bron van gegevens die niet bij mij zijn verzameld, en of "
                "er sprake is van geautomatiseerde besluitvorming, waaronder profilering.",
                "Ik ontvang graag een kopie van de gegevens (artikel 15, lid 3, AVG) in een "
                "gangbare elektronische vorm.",
            ],
            "erasure": [
                "Op grond van artikel 17 van de Algemene verordening gegevensbescherming (AVG) "
                "verzoek ik u alle persoonsgegevens over mij onverwijld te wissen.",
                "Wilt u ook iedere ontvanger aan wie u deze gegevens hebt verstrekt van de "
                "wissing op de hoogte brengen (artikel 19 AVG) en mij schriftelijk bevestigen "
                "dat de gegevens zijn gewist?",
            ],
            "rectification": [
                "Op grond van artikel 16 van de Algemene verordening gegevensbescherming (AVG) "
                "verzoek ik u onjuiste persoonsgegevens over mij onverwijld te rectificeren. De "
                "juiste gegevens staan hieronder.",
                "Wilt u ook iedere ontvanger aan wie u deze gegevens hebt verstrekt van de "
                "rectificatie op de hoogte brengen (artikel 19 AVG)?",
            ],
            "portability": [
                "Op grond van artikel 20, lid 1, van de Algemene verordening "
                "gegevensbescherming (AVG) verzoek ik u de persoonsgegevens over mij die ik aan "
                "u heb verstrekt, aan mij te verstrekken in een gestructureerde, gangbare en "
                "machineleesbare vorm.",
            ],
        },
        "disclosure": (
            "Op {shared} heb ik u de volgende gegevens verstrekt voor het doel "
            "\u201e{purpose}\u201d (toestemmingsbewijs {receipt}, kluis-verstrekking {id}): "
            "{keys}. Hierbij trek ik "
            "mijn toestemming in (artikel 7, lid 3, AVG) en verzoek ik u deze gegevens en alle "
            "andere persoonsgegevens over mij te wissen (artikel 17, lid 1, onder b, AVG)."
        ),
        "identify": "Om mijn gegevens te kunnen vinden, zijn dit mijn gegevens:",
        "correct": "De juiste gegevens:",
        "deadline": (
            "Volgens artikel 12, lid 3, AVG reageert u onverwijld en in ieder geval binnen een "
            "maand na ontvangst van dit verzoek, dus uiterlijk op {due}."
        ),
        "complaint": (
            "Als u niet op tijd reageert, kan ik een klacht indienen bij de Autoriteit "
            "Persoonsgegevens (artikel 77 AVG)."
        ),
        "closing": "Met vriendelijke groet,",
    },
}


def long_date(day: date, language: str) -> str:
    """``12 March 2025`` / ``12 maart 2025``."""
    month = MONTHS[language][day.month - 1]
    return f"{day.day} {month.capitalize() if language == 'en' else month} {day.year}"


def field_label(key: str, english: str, language: str) -> str:
    """The label of a profile key in the letter's language."""
    if language != "nl":
        return english
    if key.startswith("loyalty."):
        return f"Klantnummer ({key.removeprefix('loyalty.')})"
    if key.startswith("free."):
        return f"Notitie ({key.removeprefix('free.')})"
    return _LABELS_NL.get(key, english)


@dataclass(slots=True)
class Letter:
    """A letter as parts, rendered as text or HTML."""

    date_line: str
    company: str
    subject: str
    salutation: str
    paragraphs: list[str]
    details_title: str | None
    details: list[tuple[str, str]] = field(default_factory=list)
    closing_paragraphs: list[str] = field(default_factory=list)
    closing: str = ""
    signature: list[str] = field(default_factory=list)
    """The signer's lines: name, address, e-mail; empty leaves a line to sign by hand."""

    def text(self) -> str:
        """Plain text, one blank line between paragraphs."""
        out = [self.date_line, "", self.company, "", self.subject, "", self.salutation, ""]
        for paragraph in self.paragraphs:
            out += [paragraph, ""]
        if self.details_title:
            out.append(self.details_title)
            out += [f"  {label}: {value}" for label, value in self.details]
            out.append("")
        for paragraph in self.closing_paragraphs:
            out += [paragraph, ""]
        out += [self.closing, "", *(self.signature or [SIGN_HERE])]
        return "\n".join(out) + "\n"

    def html(self, language: str) -> str:
        """A minimal, escaped HTML document."""
        out = [
            "<!DOCTYPE html>",
            f'<html lang="{language}">',
            '<head><meta charset="utf-8">',
            f"<title>{escape(self.subject)}</title></head>",
            "<body>",
            f"<p>{escape(self.date_line)}</p>",
            f"<p>{escape(self.company)}</p>",
            f"<h1>{escape(self.subject)}</h1>",
            f"<p>{escape(self.salutation)}</p>",
        ]
        out += [f"<p>{escape(p)}</p>" for p in self.paragraphs]
        if self.details_title:
            out.append(f"<p>{escape(self.details_title)}</p>")
            out.append("<dl>")
            for label, value in self.details:
                out.append(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>")
            out.append("</dl>")
        out += [f"<p>{escape(p)}</p>" for p in self.closing_paragraphs]
        signed = "<br>".join(escape(line) for line in self.signature)
        out += [f"<p>{escape(self.closing)}</p>", f"<p>{signed}</p>"]
        out += ["</body>", "</html>"]
        return "\n".join(out) + "\n"


def build_letter(
    kind: str,
    language: str,
    *,
    company: str,
    details: list[tuple[str, str, str]],
    today: date,
    due: date,
    disclosure: dict[str, Any] | None = None,
    signer: list[str] | None = None,
) -> Letter:
    """The letter of ``kind`` to ``company``.

    Args:
        kind: access, erasure, rectification or portability.
        language: en or nl.
        company: the company's name.
        details: (key, English label, value) of each identifying detail the user chose.
        today: the letter's date.
        due: the Art. 12(3) deadline.
        disclosure: for an erasure after ``kluis revoke``, the disclosure it withdraws.
        signer: the lines under the closing (name, address, e-mail); without them the name
            among ``details``, else a line to sign by hand.
    """
    words = _TEXT[language]
    paragraphs = list(words["body"][kind])
    if disclosure is not None:
        shared = date.fromisoformat(str(disclosure["shared_at"])[:10])
        keys = ", ".join(field_label(key, key, language) for key in sorted(disclosure["fields"]))
        paragraphs.insert(
            1,
            words["disclosure"].format(
                shared=long_date(shared, language),
                purpose=disclosure["purpose"] or "",
                receipt=disclosure["receipt_id"] or "—",
                id=disclosure["id"],
                keys=keys,
            ),
        )
    rows = [(field_label(key, label, language), value) for key, label, value in details]
    names = [value for key, _label, value in details if key == "name"][:1]
    return Letter(
        date_line=long_date(today, language),
        company=company,
        subject=words["subject"][kind],
        salutation=words["dear"].format(company=company),
        paragraphs=paragraphs,
        details_title=(words["correct"] if kind == "rectification" else words["identify"])
        if rows
        else None,
        details=rows,
        closing_paragraphs=[
            words["deadline"].format(due=long_date(due, language)),
            words["complaint"],
        ],
        closing=words["closing"],
        signature=signer or names,
    )
