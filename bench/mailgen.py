"""A deterministic synthetic commercial mailbox, as an mbox and as its Maildir twin.

``python bench/mailgen.py --mails 20000 --out DIR`` writes ``DIR/mailbox.mbox`` and
``DIR/Maildir/{cur,new,tmp}``: the same messages, byte for byte (an mbox adds only its
``From `` separator lines). The same seed and count always give the same bytes.

What is in it (the shape of a consumer's mailbox, ~6.7 KB a mail on average):

- several hundred sender companies (Zipf-like volumes), Dutch and English, each with a sending
  subdomain; about a third send through an ESP (SendGrid, Mailchimp/mcsv.net, Amazon SES,
  Mailgun, SparkPost), so the From, Return-Path, DKIM ``d=`` and List-Unsubscribe domains differ;
- newsletters (List-Id, List-Unsubscribe), orders, parcels, invoices, account notices;
- every mail ``multipart/alternative`` text + HTML (quoted-printable HTML with inline styles);
- 5% with schema.org JSON-LD booking markup in the HTML part (flights, stays, orders, parcels);
- 5% with a small PDF attachment (``multipart/mixed``);
- customer-service threads (the owner writes, the company answers: In-Reply-To/References),
  and mail from persons at freemail domains.

``--shape plain`` is the second, differently shaped set (``_PlainGen``, ~23 KB a mail on
average, most of it in a few big files): other senders (another company seed, 3,000 persons),
most mail small ``text/plain`` (notes from persons, one-line notices, plain service threads),
only ~20% with an HTML part, 2% with a 50–400 KB image and 0.4% with a 1–5 MB scan (JPEG or
PDF), so one generator's mix cannot flatter a tool that is cheap or dear on one kind of part.

Only the standard library; nothing from ``vault`` or ``importers``, so it also serves the
search benchmark (``text_for``) without touching the code under test.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

SEED = 20240601
OWNER_NAME = "Sanne de Vries"
OWNER = "sanne.devries@ziggo.example"
START = datetime(2016, 1, 1, tzinfo=UTC)
END = datetime(2025, 6, 1, tzinfo=UTC)

_PREFIXES = (
    "Blauw",
    "Groen",
    "Nord",
    "Holland",
    "Zon",
    "Euro",
    "Smart",
    "Prime",
    "Vers",
    "Casa",
    "Polder",
    "Delta",
    "Kaap",
    "Tulp",
    "Molen",
    "Gracht",
    "Noord",
    "Zuid",
    "Oost",
    "West",
    "Royal",
    "Urban",
    "Nova",
    "Metro",
)
_SUFFIXES = (
    ("shop", "shop"),
    ("air", "airline"),
    ("bank", "bank"),
    ("tel", "telecom"),
    ("energie", "utility"),
    ("mode", "shop"),
    ("reizen", "travel"),
    ("hotels", "hotel"),
    ("verzekeringen", "insurance"),
    ("media", "media"),
    ("fiets", "shop"),
    ("pakket", "parcel"),
    ("zorg", "health"),
    ("tickets", "events"),
    ("wonen", "shop"),
    ("bezorgd", "food"),
    ("rail", "train"),
)
_TLDS = ("nl", "nl", "nl", "com", "com", "de", "be", "eu", "co.uk", "fr")
_ESPS = (
    ("sendgrid.net", "bounces+{n}-{h}@em{n}.sendgrid.net"),
    ("mcsv.net", "bounce-mc.us{n}_{h}@mail{n}.mcsv.net"),
    ("amazonses.com", "0102{h}@eu-west-1.amazonses.com"),
    ("mailgun.org", "bounce+{h}@mg.mailgun.org"),
    ("sparkpostmail.com", "msprvs1={h}@bounces.sparkpostmail.com"),
)
_FREEMAIL = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "live.nl")
_FIRST = (
    "Jan",
    "Emma",
    "Daan",
    "Sophie",
    "Lucas",
    "Julia",
    "Sem",
    "Tess",
    "Noah",
    "Mila",
    "Finn",
    "Anna",
    "Levi",
    "Sara",
    "Bram",
    "Eva",
    "Thijs",
    "Lotte",
    "Ruben",
    "Fleur",
)
_LAST = (
    "Jansen",
    "de Jong",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "de Boer",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "van Dijk",
    "Kok",
)
# Words people search for, and filler; a few with diacritics (remove_diacritics 2 folds them).
WORDS = [
    "factuur",
    "bestelling",
    "pakket",
    "bezorging",
    "levering",
    "korting",
    "aanbieding",
    "nieuwsbrief",
    "abonnement",
    "retour",
    "terugbetaling",
    "refund",
    "invoice",
    "order",
    "delivery",
    "shipping",
    "account",
    "wachtwoord",
    "password",
    "bevestiging",
    "afspraak",
    "storing",
    "onderhoud",
    "hotel",
    "vlucht",
    "boarding",
    "pass",
    "reservering",
    "boeking",
    "klantenservice",
    "vraag",
    "antwoord",
    "betaling",
    "incasso",
    "rekening",
    "tegoed",
    "cadeaubon",
    "privé",
    "één",
    "zomer",
    "winter",
    "actie",
    "gratis",
    "verzending",
    "week",
    "maand",
    "jaar",
    "nieuw",
    "collectie",
    "uitverkoop",
    "vandaag",
    "morgen",
    "graag",
    "groet",
    "bedankt",
    "welkom",
    "informatie",
    "wijziging",
    "annulering",
    "geannuleerd",
    "ticket",
    "stoel",
    "trein",
    "station",
    "vertrek",
    "aankomst",
    "koffer",
    "check-in",
    "pas",
    "contract",
    "energie",
    "meter",
    "stand",
    "verbruik",
    "termijnbedrag",
    "jaarafrekening",
    "polis",
    "schade",
    "claim",
    "premie",
    "verlenging",
    "internet",
    "tv",
    "mobiel",
    "bundel",
    "data",
    "sim",
    "nummer",
    "overstappen",
    "modem",
    "storingen",
    "monteur",
    "recept",
    "tandarts",
    "huisarts",
    "verzekerd",
    "vergoeding",
    "eigen",
    "risico",
    "declaratie",
    "the",
    "your",
    "our",
    "with",
    "for",
    "this",
    "that",
    "have",
    "more",
    "about",
    "new",
    "sale",
    "free",
    "today",
    "offer",
    "update",
    "security",
    "sign-in",
    "verify",
    "device",
    "receipt",
    "payment",
    "statement",
    "subscription",
    "renewal",
    "de",
    "het",
    "een",
    "en",
    "van",
    "in",
    "op",
    "te",
    "dat",
    "is",
    "voor",
    "met",
    "aan",
    "niet",
    "zijn",
    "er",
    "om",
    "ook",
    "als",
    "bij",
    "uw",
    "je",
    "we",
    "u",
    "wij",
    "ons",
    "naar",
    "tot",
    "nog",
    "over",
    "dan",
    "maar",
    "door",
    "wel",
    "kunt",
    "kan",
    "zal",
    "worden",
    "heeft",
    "hebben",
]
_QUOTE = re.compile(rb"\n(>*From )")
_COMMON = WORDS[-70:]  # function words: most frequent, as in real text
_TOPICAL = WORDS[:-70]


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    domain: str
    category: str
    lang: str
    sender: str  # the sending subdomain: mail.x.nl, news.x.nl, x.nl
    esp: int  # index into _ESPS, or -1
    weight: float


def companies(seed: int = SEED, count: int = 400) -> list[Company]:
    """``count`` fictional companies with domains, categories and Zipf-like weights."""
    rng = random.Random(seed)
    pairs = [(p, s) for p in _PREFIXES for s in _SUFFIXES]
    rng.shuffle(pairs)
    found: list[Company] = []
    for rank, (prefix, (suffix, category)) in enumerate(pairs[:count], start=1):
        label = f"{prefix}{suffix}".lower()
        domain = f"{label}.{rng.choice(_TLDS)}"
        sender = rng.choice((f"mail.{domain}", f"news.{domain}", domain, f"e.{domain}"))
        esp = rng.randrange(len(_ESPS)) if rng.random() < 0.33 else -1
        lang = "en" if domain.endswith((".com", ".co.uk")) and rng.random() < 0.6 else "nl"
        name = f"{prefix}{suffix.capitalize()}" if rng.random() < 0.5 else f"{prefix} {suffix}"
        found.append(Company(name, domain, category, lang, sender, esp, 1.0 / rank**0.9))
    return found


def sentence(rng: random.Random, words: int) -> str:
    """A sentence of ``words`` words: mostly function words, a few topical ones."""
    chosen = [
        rng.choice(_TOPICAL) if rng.random() < 0.35 else rng.choice(_COMMON) for _ in range(words)
    ]
    chosen[0] = chosen[0].capitalize()
    return " ".join(chosen) + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(6, 16)) for _ in range(sentences))


def text_for(rng: random.Random, chars: int) -> str:
    """Plain text of about ``chars`` characters, in paragraphs (also used by bench/search.py)."""
    parts: list[str] = []
    size = 0
    while size < chars:
        part = paragraph(rng, rng.randint(2, 5))
        parts.append(part)
        size += len(part) + 2
    return "\n\n".join(parts)


def _wrap(text: str, width: int = 76) -> str:
    """Hard-wrap at ``width`` (mail bodies are line-based)."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "\n".join(lines)


def _encoded_word(text: str) -> str:
    """RFC 2047: a header with non-ASCII text is sent as an encoded word."""
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def _b64_lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _tiny_pdf(rng: random.Random, title: str) -> bytes:
    """A small, valid one-page PDF (2–4 KB) whose text names ``title``."""
    lines = [title] + [sentence(rng, 8) for _ in range(rng.randint(20, 45))]
    ops = (
        "BT /F1 10 Tf 50 800 Td "
        + " ".join(
            "("
            + line.encode("ascii", "replace").decode().replace("(", "").replace(")", "")
            + ") Tj 0 -14 Td"
            for line in lines
        )
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = "%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


_STYLE = (
    'style="font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;'
    'color:#333333;margin:0 0 16px 0"'
)


def _html(company: Company, subject: str, paragraphs: list[str], data: object | None) -> str:
    """An ESP-style HTML part: tables, inline styles, a footer; JSON-LD in the head if given."""
    head = f"<title>{subject}</title>"
    if data is not None:
        head += (
            f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
        )
    body = "".join(f"<p {_STYLE}>{p}</p>" for p in paragraphs)
    link = f"https://{company.sender}/c/"
    return (
        '<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width">{head}</head>'
        '<body style="margin:0;padding:0;background:#f4f4f4">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
        '<tr><td align="center"><table width="600" style="background:#ffffff">'
        f'<tr><td style="padding:24px"><img src="{link}logo.png" alt="{company.name}" '
        'width="120" height="40"></td></tr>'
        f'<tr><td style="padding:0 24px">{body}</td></tr>'
        f'<tr><td style="padding:24px;font-size:12px;color:#999999">{company.name} · '
        f'<a href="{link}unsubscribe">Afmelden</a> · <a href="{link}privacy">Privacy</a>'
        f'<img src="{link}open.gif" width="1" height="1"></td></tr>'
        "</table></td></tr></table></body></html>"
    )


def _booking(rng: random.Random, company: Company, when: datetime, ref: str) -> tuple[str, object]:
    """(subject, JSON-LD) of a reservation, order or parcel, by the company's category."""
    day = when + timedelta(days=rng.randint(7, 90))
    iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:00+01:00")  # noqa: E731
    person = {"@type": "Person", "name": OWNER_NAME}
    if company.category in ("airline", "travel"):
        dep = day.replace(hour=rng.randint(6, 20), minute=rng.choice((5, 20, 35, 50)))
        dest = rng.choice(
            (
                ("BCN", "Barcelona"),
                ("LIS", "Lisboa"),
                ("CPH", "Kastrup"),
                ("ATH", "Athens"),
                ("FCO", "Fiumicino"),
                ("NCE", "Nice"),
            )
        )
        return f"Boekingsbevestiging {ref}: Amsterdam – {dest[1]}", {
            "@context": "https://schema.org",
            "@type": "FlightReservation",
            "reservationNumber": ref,
            "reservationStatus": "https://schema.org/ReservationConfirmed",
            "underName": person,
            "reservationFor": {
                "@type": "Flight",
                "flightNumber": str(rng.randint(100, 1999)),
                "airline": {"@type": "Airline", "iataCode": "HV", "name": company.name},
                "departureAirport": {"@type": "Airport", "iataCode": "AMS", "name": "Schiphol"},
                "arrivalAirport": {"@type": "Airport", "iataCode": dest[0], "name": dest[1]},
                "departureTime": iso(dep),
                "arrivalTime": iso(dep + timedelta(hours=2, minutes=25)),
            },
            "totalPrice": f"{rng.randint(59, 480)}.00",
            "priceCurrency": "EUR",
        }
    if company.category == "hotel":
        return f"Your booking is confirmed: {ref}", {
            "@context": "https://schema.org",
            "@type": "LodgingReservation",
            "reservationNumber": ref,
            "reservationStatus": "https://schema.org/ReservationConfirmed",
            "underName": person,
            "reservationFor": {
                "@type": "LodgingBusiness",
                "name": f"{company.name} Centrum",
                "address": {
                    "@type": "PostalAddress",
                    "addressLocality": "Utrecht",
                    "addressCountry": "NL",
                },
            },
            "checkinTime": iso(day.replace(hour=15, minute=0)),
            "checkoutTime": iso(day.replace(hour=11, minute=0) + timedelta(days=2)),
            "totalPrice": f"{rng.randint(89, 690)}.00",
            "priceCurrency": "EUR",
        }
    if company.category == "parcel":
        return f"Je pakket {ref} wordt vandaag bezorgd", {
            "@context": "https://schema.org",
            "@type": "ParcelDelivery",
            "trackingNumber": ref,
            "carrier": {"@type": "Organization", "name": company.name},
            "expectedArrivalFrom": iso(when + timedelta(hours=3)),
            "partOfOrder": {"@type": "Order", "orderNumber": ref},
        }
    return f"Bevestiging van je bestelling {ref}", {
        "@context": "https://schema.org",
        "@type": "Order",
        "orderNumber": ref,
        "orderStatus": "https://schema.org/OrderProcessing",
        "orderDate": iso(when),
        "merchant": {"@type": "Organization", "name": company.name},
        "price": f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
        "priceCurrency": "EUR",
        "customer": person,
    }


_SUBJECTS = {
    "news": (
        "{name} nieuwsbrief: {w} en {w2}",
        "Alleen deze week: {w} met korting",
        "Nieuw bij {name}: {w}",
        "Your {w} update from {name}",
        "{w2}? Ontdek de {w}",
    ),
    "order": (
        "Bevestiging van je bestelling {ref}",
        "Je bestelling {ref} is verzonden",
        "Order {ref} confirmed",
        "Je pakket is onderweg ({ref})",
    ),
    "invoice": (
        "Je factuur {ref} van {name}",
        "Invoice {ref}",
        "Nieuwe factuur beschikbaar",
        "Je jaarafrekening {ref}",
    ),
    "account": (
        "Wachtwoord opnieuw instellen",
        "Nieuwe inlog op je {name}-account",
        "Security alert: sign-in from a new device",
        "Wijziging van je gegevens",
        "Je abonnement wordt verlengd",
    ),
    "service": (
        "Vraag over {w}",
        "Storing {w} bij mij thuis",
        "Retour bestelling {ref}",
        "Refund for order {ref}",
        "Klacht over {w}",
    ),
}


class _Gen:
    """The mailbox as a stream of (epoch, raw bytes), in time order."""

    def __init__(self, seed: int, mails: int) -> None:
        self.rng = random.Random(seed)
        self.mails = mails
        self.companies = companies(seed)
        self.weights = [c.weight for c in self.companies]
        self.persons = [
            (
                f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}",
                f"{self.rng.choice(_FIRST).lower()}.{i}@{self.rng.choice(_FREEMAIL)}",
            )
            for i in range(300)
        ]
        self.open_threads: list[tuple[Company, str, str, list[str], int]] = []
        self.serial = 0

    def _msgid(self, domain: str) -> str:
        self.serial += 1
        return f"<{self.rng.getrandbits(64):016x}.{self.serial}@{domain}>"

    def messages(self) -> Iterator[tuple[int, bytes]]:
        span = (END - START).total_seconds()
        step = span / max(1, self.mails)
        for n in range(self.mails):
            when = START + timedelta(seconds=n * step + self.rng.random() * step)
            yield int(when.timestamp()), self._one(n, when)

    def _one(self, n: int, when: datetime) -> bytes:
        rng = self.rng
        roll = rng.random()
        if self.open_threads and roll < 0.06:
            return self._reply(when)
        if roll < 0.10:
            return self._person(when)
        company = rng.choices(self.companies, self.weights)[0]
        if roll < 0.13:
            return self._service(company, when)
        kind = rng.choices(("news", "order", "invoice", "account"), (55, 25, 10, 10))[0]
        return self._commercial(
            company,
            when,
            kind,
            booking=rng.random() < 0.05,
            pdf=rng.random() < (0.05 if kind != "invoice" else 0.0)
            or (kind == "invoice" and rng.random() < 0.45),
        )

    def _headers(
        self,
        *,
        when: datetime,
        sender: str,
        to: str,
        subject: str,
        msgid: str,
        domain: str,
        extra: list[str],
    ) -> list[str]:
        rng = self.rng
        offset = timezone(timedelta(hours=rng.choice((1, 2, 0))))
        local = when.astimezone(offset)
        date = local.strftime("%a, %d %b %Y %H:%M:%S %z")
        relay = f"mx{rng.randint(1, 9)}.ziggo.example"
        return [
            f"Return-Path: <bounce@{domain}>",
            f"Received: from {relay} (mx.ziggo.example [10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}])\n"
            f"\tby imap.ziggo.example with LMTP id {rng.getrandbits(48):012x}\n\tfor <{OWNER}>; {date}",
            f"Received: from out{rng.randint(1, 40)}.{domain} (out.{domain} "
            f"[192.0.2.{rng.randint(1, 254)}])\n\tby {relay} (Postfix) with ESMTPS id "
            f"{rng.getrandbits(40):010X}\n\tfor <{OWNER}>; {date}",
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s{rng.randint(1, 3)};\n"
            f"\tt={int(when.timestamp())}; h=from:to:subject:date:message-id:mime-version;\n"
            f"\tbh={base64.b64encode(rng.randbytes(32)).decode()};\n"
            f"\tb={_b64_lines(rng.randbytes(128)).replace(chr(10), chr(10) + chr(9) + ' ')}",
            f"From: {sender}",
            f"To: {to}",
            f"Subject: {_encoded_word(subject)}",
            f"Date: {date}",
            f"Message-ID: {msgid}",
            "MIME-Version: 1.0",
            *extra,
        ]

    def _assemble(
        self, headers: list[str], text: str, html: str | None, pdf: tuple[str, bytes] | None
    ) -> bytes:
        rng = self.rng
        alt = f"----=_alt_{rng.getrandbits(64):016x}"
        text_part = (
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            + _wrap(text)
            + "\n"
        )
        if html is None:
            body_type = "text/plain; charset=utf-8"
            if pdf is None:
                return (
                    "\n".join(headers) + "\nContent-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: 8bit\n\n" + _wrap(text) + "\n"
                ).encode()
            inner = text_part
        else:
            qp = binascii.b2a_qp(html.encode(), header=False).decode("ascii")
            inner = (
                f"--{alt}\n{text_part}\n--{alt}\n"
                "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
                f"{qp}\n--{alt}--\n"
            )
            body_type = f'multipart/alternative; boundary="{alt}"'
        if pdf is None:
            return (
                "\n".join(headers) + f"\nContent-Type: {body_type}\n\n"
                "This is a multi-part message in MIME format.\n\n" + inner
            ).encode()
        mixed = f"----=_mix_{rng.getrandbits(64):016x}"
        name, data = pdf
        return (
            "\n".join(headers) + f'\nContent-Type: multipart/mixed; boundary="{mixed}"\n\n'
            f"--{mixed}\nContent-Type: {body_type}\n\n{inner}\n"
            f'--{mixed}\nContent-Type: application/pdf; name="{name}"\n'
            f'Content-Disposition: attachment; filename="{name}"\n'
            f"Content-Transfer-Encoding: base64\n\n{_b64_lines(data)}\n--{mixed}--\n"
        ).encode()

    def _commercial(
        self, company: Company, when: datetime, kind: str, *, booking: bool, pdf: bool
    ) -> bytes:
        rng = self.rng
        ref = f"{rng.choice('ABCDEFGHKLMNPRSTXZ')}{rng.randint(10**6, 10**7 - 1)}"
        w, w2 = rng.choice(_TOPICAL), rng.choice(_TOPICAL)
        subject = rng.choice(_SUBJECTS[kind]).format(name=company.name, ref=ref, w=w, w2=w2)
        data = None
        if booking:
            subject, data = _booking(rng, company, when, ref)
        local = {
            "news": "nieuwsbrief",
            "order": "bestellingen",
            "invoice": "facturen",
            "account": "no-reply",
        }[kind]
        esp_domain = ""
        if company.esp >= 0 and kind == "news" and rng.random() < 0.5:
            # An ESP mail known only by its display name and the ESP's address.
            esp_domain, _ = _ESPS[company.esp]
            address = (
                f"{company.name.split()[0].lower()}@{company.sender.split('.')[0]}.{esp_domain}"
            )
        else:
            address = f"{local}@{company.sender}"
        sender = f'"{company.name}" <{address}>'
        extra = [f"Reply-To: {company.name} <service@{company.domain}>"] if kind != "news" else []
        if kind == "news":
            list_host = company.sender
            extra += [
                f"List-Id: {company.name} nieuws <news.{list_host}>",
                f"List-Unsubscribe: <https://{list_host}/u/{rng.getrandbits(80):020x}>,\n"
                f" <mailto:unsubscribe-{rng.getrandbits(32):08x}@{list_host}>",
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                "Precedence: bulk",
            ]
        if company.esp >= 0:
            esp, pattern = _ESPS[company.esp]
            extra.append(f"X-Mailer: {esp.split('.')[0]} relay")
            extra.append(f"X-Feedback-ID: {rng.getrandbits(32)}:{company.domain}:{esp}")
            bounce = pattern.format(n=rng.randint(1, 9), h=f"{rng.getrandbits(40):010x}")
        else:
            bounce = f"bounce@{company.sender}"
        extra.append(f"X-Campaign: {kind}-{when:%Y%m}")
        dkim_domain = company.domain if not esp_domain or rng.random() < 0.7 else esp_domain
        headers = self._headers(
            when=when,
            sender=sender,
            to=f"{OWNER_NAME} <{OWNER}>",
            subject=subject,
            msgid=self._msgid(company.sender),
            domain=dkim_domain,
            extra=extra,
        )
        headers[0] = f"Return-Path: <{bounce}>"
        size = (
            rng.choice((1000, 1500, 2000, 2800))
            if kind == "news"
            else rng.choice((600, 1000, 1500))
        )
        intro = f"Beste {OWNER_NAME}," if company.lang == "nl" else f"Hi {OWNER_NAME.split()[0]},"
        paragraphs = [intro, *text_for(rng, size).split("\n\n")]
        if data is not None:
            paragraphs.insert(1, f"Referentie: {ref}")
        paragraphs.append(f"Met vriendelijke groet, {company.name}")
        text = "\n\n".join(paragraphs)
        html = _html(company, subject, paragraphs, data)
        attachment = (
            (f"factuur-{ref}.pdf", _tiny_pdf(rng, f"Factuur {ref} {company.name}")) if pdf else None
        )
        return self._assemble(headers, text, html, attachment)

    def _service(self, company: Company, when: datetime) -> bytes:
        """The owner writes to a company's service desk; replies follow later (a thread)."""
        rng = self.rng
        ref = f"{rng.randint(10**5, 10**6 - 1)}"
        subject = rng.choice(_SUBJECTS["service"]).format(
            ref=ref, w=rng.choice(_TOPICAL), w2="", name=""
        )
        msgid = self._msgid("ziggo.example")
        headers = self._headers(
            when=when,
            sender=f"{OWNER_NAME} <{OWNER}>",
            to=f"{company.name} Klantenservice <service@{company.domain}>",
            subject=subject,
            msgid=msgid,
            domain="ziggo.example",
            extra=["User-Agent: Thunderbird/115.8"],
        )
        self.open_threads.append((company, subject, msgid, [msgid], rng.randint(1, 4)))
        return self._assemble(
            headers, f"Hallo,\n\n{text_for(rng, 600)}\n\nGroet,\nSanne", None, None
        )

    def _reply(self, when: datetime) -> bytes:
        rng = self.rng
        index = rng.randrange(len(self.open_threads))
        company, subject, _, refs, left = self.open_threads[index]
        ours = rng.random() < 0.4 and len(refs) > 1
        domain = "ziggo.example" if ours else company.domain
        msgid = self._msgid(domain)
        sender = (
            f"{OWNER_NAME} <{OWNER}>"
            if ours
            else f'"{company.name} Klantenservice" <service@{company.domain}>'
        )
        to = f"service@{company.domain}" if ours else f"{OWNER_NAME} <{OWNER}>"
        extra = [
            f"In-Reply-To: {refs[-1]}",
            "References: " + "\n ".join(refs[-8:]),
            f"X-Ticket: #{rng.randint(10**6, 10**7)}",
        ]
        headers = self._headers(
            when=when,
            sender=sender,
            to=to,
            subject=f"Re: {subject}",
            msgid=msgid,
            domain=domain,
            extra=extra,
        )
        quoted = "\n".join("> " + line for line in _wrap(text_for(rng, 500)).split("\n"))
        body = f"{text_for(rng, 700)}\n\nOp een eerdere datum schreef u:\n{quoted}"
        if left <= 1:
            self.open_threads.pop(index)
        else:
            self.open_threads[index] = (company, subject, refs[0], [*refs, msgid], left - 1)
        html = None if ours else _html(company, f"Re: {subject}", body.split("\n\n"), None)
        return self._assemble(headers, body, html, None)

    def _person(self, when: datetime) -> bytes:
        rng = self.rng
        name, address = rng.choice(self.persons)
        domain = address.rpartition("@")[2]
        subject = rng.choice(
            (
                "Etentje zaterdag?",
                "Foto's van de verjaardag",
                "Re: weekend",
                "Vraagje",
                "Tickets voor het concert",
                "Fwd: factuur",
            )
        )
        headers = self._headers(
            when=when,
            sender=f"{name} <{address}>",
            to=f"{OWNER_NAME} <{OWNER}>",
            subject=subject,
            msgid=self._msgid(domain),
            domain=domain,
            extra=[],
        )
        return self._assemble(
            headers, f"Hoi Sanne,\n\n{text_for(rng, 500)}\n\n{name.split()[0]}", None, None
        )


def _big_file(rng: random.Random, size: int) -> tuple[str, str, bytes]:
    """(name, content type, bytes) of a scan or photo of ``size`` bytes (random body: it does
    not compress, as real JPEG and scanned PDF data does not)."""
    if rng.random() < 0.5:
        body = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size) + b"\xff\xd9"
        return f"IMG_{rng.randint(1000, 9999)}.jpg", "image/jpeg", body
    head = b"%%PDF-1.4\n1 0 obj\n<< /Length %d >>\nstream\n" % size
    return f"scan-{rng.randint(1000, 9999)}.pdf", "application/pdf", head + rng.randbytes(size)


class _PlainGen(_Gen):
    """The second shape: mostly small plain mails, few HTML parts, some large attachments."""

    def __init__(self, seed: int, mails: int) -> None:
        super().__init__(seed, mails)
        self.companies = companies(seed + 1)  # other names and domains than the first shape
        self.weights = [c.weight for c in self.companies]
        self.persons = [
            (
                f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}",
                f"{self.rng.choice(_FIRST).lower()}{i}@{self.rng.choice(_FREEMAIL)}",
            )
            for i in range(3000)
        ]

    def _one(self, n: int, when: datetime) -> bytes:
        rng = self.rng
        roll = rng.random()
        if roll < 0.004:
            return self._attached(when, rng.randint(1 << 20, 5 << 20))
        if roll < 0.024:
            return self._attached(when, rng.randint(50 << 10, 400 << 10))
        if self.open_threads and roll < 0.12:
            return self._reply(when)
        if roll < 0.50:
            return self._person(when)
        company = rng.choices(self.companies, self.weights)[0]
        if roll < 0.55:
            return self._service(company, when)
        if roll < 0.85:
            return self._notice(company, when)
        kind = rng.choices(("news", "order", "invoice", "account"), (55, 25, 10, 10))[0]
        return self._commercial(company, when, kind, booking=rng.random() < 0.05, pdf=False)

    def _notice(self, company: Company, when: datetime) -> bytes:
        """A short plain notice (a code, a reminder, a statement is ready): no HTML part."""
        rng = self.rng
        ref = f"{rng.randint(10**5, 10**6 - 1)}"
        subject = rng.choice(_SUBJECTS["account"]).format(name=company.name)
        headers = self._headers(
            when=when,
            sender=f'"{company.name}" <no-reply@{company.sender}>',
            to=OWNER,
            subject=subject,
            msgid=self._msgid(company.sender),
            domain=company.domain,
            extra=[],
        )
        text = f"Je code is {ref}.\n\n{text_for(rng, rng.choice((120, 250, 400)))}"
        return self._assemble(headers, f"{text}\n\n{company.name}", None, None)

    def _attached(self, when: datetime, size: int) -> bytes:
        """A person sends a photo or a scan: a short note and one large base64 part."""
        rng = self.rng
        name, address = rng.choice(self.persons)
        domain = address.rpartition("@")[2]
        headers = self._headers(
            when=when,
            sender=f"{name} <{address}>",
            to=f"{OWNER_NAME} <{OWNER}>",
            subject=rng.choice(("Foto's", "Scan van het contract", "De bon", "Hierbij")),
            msgid=self._msgid(domain),
            domain=domain,
            extra=[],
        )
        filename, content_type, data = _big_file(rng, size)
        mixed = f"----=_mix_{rng.getrandbits(64):016x}"
        return (
            "\n".join(headers) + f'\nContent-Type: multipart/mixed; boundary="{mixed}"\n\n'
            f"--{mixed}\nContent-Type: text/plain; charset=utf-8\n\n{text_for(rng, 150)}\n"
            f'--{mixed}\nContent-Type: {content_type}; name="{filename}"\n'
            f'Content-Disposition: attachment; filename="{filename}"\n'
            f"Content-Transfer-Encoding: base64\n\n{_b64_lines(data)}\n--{mixed}--\n"
        ).encode()


SHAPES: dict[str, type[_Gen]] = {"commercial": _Gen, "plain": _PlainGen}
"""The generated sets: ``commercial`` (the first, HTML-heavy) and ``plain`` (the second)."""


def generate(
    out: Path, mails: int, seed: int = SEED, *, maildir: bool = True, shape: str = "commercial"
) -> dict[str, float]:
    """Write ``out/mailbox.mbox`` and (if ``maildir``) ``out/Maildir``; returns figures."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    box = out / "Maildir"
    if maildir:
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
    total = 0
    with (out / "mailbox.mbox").open("wb", buffering=1 << 20) as mbox:
        for number, (epoch, raw) in enumerate(SHAPES[shape](seed, mails).messages()):
            stamp = datetime.fromtimestamp(epoch, UTC).strftime("%a %b %d %H:%M:%S %Y")
            mbox.write(f"From bench@mailgen {stamp}\n".encode())
            # mboxrd: a body line starting "From " is quoted (the generator avoids writing one).
            mbox.write(
                _QUOTE.sub(rb"\n>\1", raw) if b"\nFrom " in raw or b"\n>From " in raw else raw
            )
            mbox.write(b"\n")
            total += len(raw)
            if maildir:
                (box / "cur" / f"{epoch}.M{number}P{seed}.mailgen:2,S").write_bytes(raw)
    figures = {"mails": mails, "seed": seed, "bytes": total, "maildir": maildir, "shape": shape}
    (out / "MANIFEST.json").write_text(json.dumps(figures))
    return {"mails": mails, "bytes": total, "seconds": time.perf_counter() - started}


def ensure(
    out: Path, mails: int, seed: int = SEED, *, maildir: bool = True, shape: str = "commercial"
) -> dict[str, float]:
    """``generate`` unless ``out`` already holds this exact mailbox (the figures are then cached).

    Without ``maildir`` only the mbox is needed: at 200,000 mails the Maildir twin is as many
    files, which only the Maildir tools (mu, notmuch) read.
    """
    manifest = out / "MANIFEST.json"
    if manifest.exists():
        known = json.loads(manifest.read_text())
        has_maildir = known.get("maildir", True)  # manifests before the flag always had one
        same = (known.get("mails"), known.get("seed"), known.get("shape", "commercial"))
        if same == (mails, seed, shape) and has_maildir >= maildir:
            return {"mails": mails, "bytes": known["bytes"], "seconds": float("nan")}
    if out.exists():
        import shutil

        shutil.rmtree(out)
    return generate(out, mails, seed, maildir=maildir, shape=shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-maildir", action="store_true")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="commercial")
    args = parser.parse_args()
    figures = generate(
        args.out, args.mails, args.seed, maildir=not args.no_maildir, shape=args.shape
    )
    print(
        f"{figures['mails']:,} mails, {figures['bytes'] / 2**20:.1f} MiB "
        f"(avg {figures['bytes'] / figures['mails'] / 1024:.2f} KiB) in {figures['seconds']:.1f} s "
        f"→ {args.out}"
    )


if __name__ == "__main__":
    main()
