"""A labelled identity set: realistic sources, and who each item is truly with.

Every item carries a marker ``idset-NNNN`` (in its body or message text; for a file that is
one item, in its file name) so the scorer finds it in the vault again. Each entity has the
names a user would accept on the company list. The sources are the shapes the resolver
meets in real mail and chats: brands writing from several addresses and display names,
mail sent through ESPs and unwrapped by DKIM or Reply-To, employees of a company writing as
themselves, mailing lists and relays (gmane, Google Groups, groups.io, Mailman) that must
never fuse their posters, internet providers whose domain is both their own and their
customers', friends on free mail, outbound mail, and chats with pages, business accounts,
bots and people; bookings whose calendar file or barcode names the company indirectly.
"""

from __future__ import annotations

import json
import mailbox
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

ME = "Sanne de Vries <sanne.devries@example.org>"
ME_ADDRESS = "sanne.devries@example.org"
START = datetime(2024, 1, 8, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Entity:
    """Who an item is truly with, and the names a user would accept for it."""

    key: str
    names: tuple[str, ...]
    kind: str = "company"  # company | person | list


@dataclass
class LabelledSet:
    """Every item's true entity, by marker, and the source files to import."""

    truth: dict[str, Entity] = field(default_factory=dict)
    sources: list[tuple[str, Path]] = field(default_factory=list)  # (format, path)
    _next: int = 0

    def marker(self, entity: Entity) -> str:
        """A new item's marker, labelled with ``entity``."""
        self._next += 1
        marker = f"idset-{self._next:04d}"
        self.truth[marker] = entity
        return marker


# The entities ------------------------------------------------------------------------------

COOLBLUE = Entity("coolblue", ("Coolblue",))
BOL = Entity("bol", ("bol.com", "Bol", "Bol.com"))
KLM = Entity("klm", ("KLM", "KLM Royal Dutch Airlines"))
NS = Entity("ns", ("NS", "Nederlandse Spoorwegen", "NS Klantenservice"))
AH = Entity("ah", ("Albert Heijn", "AH"))
PICNIC = Entity("picnic", ("Picnic",))
THUISBEZORGD = Entity("thuisbezorgd", ("Thuisbezorgd.nl", "Thuisbezorgd"))
SPOTIFY = Entity("spotify", ("Spotify",))
IBM = Entity("ibm", ("IBM", "Ibm"))
ARM = Entity("arm", ("Arm", "ARM"))
HARVARD = Entity("harvard", ("Harvard", "Harvard University"))
GNOME = Entity("gnome", ("GNOME", "Gnome", "The GNOME Project"))
VDBERG = Entity(
    "vdberg", ("Vandenbergadvocaten", "Van den Berg Advocaten", "vandenbergadvocaten.nl")
)
ACME = Entity("acme", ("ACME Widgets", "ACME Widgets B.V.", "Acme-Widgets", "Acme Widgets"))
ENECO = Entity("eneco", ("Eneco",))
ZIGGO = Entity("ziggo", ("Ziggo",))
XS4ALL = Entity("xs4all", ("XS4ALL", "Xs4all", "XS4ALL Internet"))
KPN = Entity("kpn", ("KPN", "Kpn", "Kpnmail"))
MARKTPLAATS = Entity("marktplaats", ("Marktplaats",))
DEKAS = Entity("dekas", ("Restaurant De Kas", "De Kas", "Restaurantdekas"))
LKML = Entity(
    "lkml", ("linux-kernel", "Linux Kernel", "LKML", "linux-kernel.vger.kernel.org"), "list"
)
KLUIS_USERS = Entity("kluis-users", ("kluis-users", "Kluis Users"), "list")
WOODWORKERS = Entity("woodworkers", ("woodworkers", "Woodworkers", "main@woodworkers"), "list")
DOVECOT_LIST = Entity("dovecot-list", ("dovecot", "Dovecot", "Dovecot mailing list"), "list")


def person(key: str, name: str) -> Entity:
    """A person, accepted under their own name."""
    return Entity(f"person:{key}", (name,), "person")


ZALANDO = Entity("zalando", ("Zalando",))
AMAZON = Entity("amazon", ("Amazon", "Amazon.nl"))
TIKKIE = Entity("tikkie", ("Tikkie",))
VINTED = Entity("vinted", ("Vinted",))
GEMEENTE = Entity("utrecht", ("Gemeente Utrecht", "Utrecht"))
BELASTING = Entity("belastingdienst", ("Belastingdienst",))
BOOKING = Entity("booking", ("Booking.com", "Booking"))
LINKEDIN = Entity("linkedin", ("LinkedIn",))
MOLLIE = Entity("mollie", ("Mollie",))
IKEA = Entity("ikea", ("IKEA", "Ikea", "IKEA Nederland"))
LISA = person("lisa", "Lisa Bakker")
PIET = person("piet", "Piet Kramer")
FIETSCLUB = Entity("fietsclub", ("fietsclub", "Fietsclub", "Fietsclub Utrecht"), "list")
HILTON = Entity("hilton", ("Hilton", "Hilton Vienna"))
EVENTBRITE = Entity("eventbrite", ("Eventbrite",))
SNCF = Entity("sncf", ("SNCF",))
AIRBERLIN = Entity("airberlin", ("airberlin", "Air Berlin"))
NASCHMARKT = Entity("naschmarkt", ("Hotel Am Naschmarkt",))
CONTINUITY = Entity("continuity", ("Continuity Insights",))
BBVA = Entity("bbva", ("BBVA", "Bbva", "BBVA México"))
CSC = Entity(
    "csc", ("Centro Studi Commercialisti", "Centro Studi Commercialisti s.r.l.", "Voidstudicom")
)
SGIS = Entity("sgis", ("Sgis",))
RANDTELEKOM = Entity("randtelekom", ("Randtelekom", "Rand Telekom"))
GGG = Entity("ggg", ("Ggg", "GGG"))


def unknown(key: str) -> Entity:
    """A document that names no one: only its own entity, which a user calls Unknown."""
    return Entity(f"unknown:{key}", ("Unknown",), "unknown")


TOM = person("tom", "Tom Hendriks")
HENK = person("henk", "Henk de Boer")
ANS = person("ans", "Ans Visser")
GERRIT = person("gerrit", "Gerrit Mulder")
JAN = person("jan", "Jan Smit")
MARJA = person("marja", "Marja Kok")
FEMKE_FRIEND = person("femke", "Femke Jansen")
KEES = person("kees", "Kees de Wit")
NOOR = person("noor", "Noor El Amrani")
DAAN = person("daan", "Daan Vermeulen")
SOPHIE = person("sophie", "Sophie Martin")


# Mail -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailSpec:
    """One mail: headers beyond the basics, and its true entity."""

    sender: str
    entity: Entity
    subject: str
    headers: tuple[tuple[str, str], ...] = ()
    to: str = ME
    outbound: bool = False


def _mails() -> list[MailSpec]:
    specs: list[MailSpec] = []

    def brand(entity: Entity, senders: list[str], subjects: list[str], **extra: object) -> None:
        for n, subject in enumerate(subjects):
            specs.append(MailSpec(senders[n % len(senders)], entity, subject, **extra))  # type: ignore[arg-type]

    brand(
        COOLBLUE,
        [
            "Coolblue Klantenservice <klantenservice@coolblue.nl>",
            "Femke | Coolblue <femke@coolblue.nl>",
            "Coolblue <noreply@coolblue.nl>",
            "Coolblue <nieuwsbrief@email.coolblue.nl>",
            "Ruben van Coolblue <ruben@coolblue.nl>",
        ],
        [
            "Je bestelling 90109443 is onderweg",
            "Re: Wasmachine lekt",
            "Bevestiging van je bestelling",
            "Alles voor een warme winter",
            "Je retour is ontvangen",
            "Factuur 90109443",
            "Hoe beoordeel je onze hulp?",
            "Je bezorgmoment: morgen tussen 9 en 13 uur",
            "Black Friday bij Coolblue",
            "Re: Re: Wasmachine lekt",
            "Je garantie loopt bijna af",
            "Nieuw: de Coolblue-app",
        ],
    )
    brand(
        BOL,
        [
            "bol.com <automail@bol.com>",
            "bol.com klantenservice <klantenservice@bol.com>",
            "Bol <service@mail.bol.com>",
        ],
        [
            "Bedankt voor je bestelling",
            "Je pakket komt vandaag",
            "Je retourzending",
            "Aanbevolen voor jou",
            "Re: vraag over bestelling 4829103",
            "Factuur van je bestelling",
            "Je review wordt gewaardeerd",
            "Dagdeals",
            "Je bestelling is geannuleerd",
            "Je terugbetaling is onderweg",
        ],
    )
    brand(
        KLM,
        [
            "KLM Royal Dutch Airlines <klm@info.klm.com>",
            "KLM <noreply@klm.com>",
            "KLM Customer Care <customercare@klm.com>",
        ],
        [
            "Ontdek Lissabon vanaf € 49",
            "Je boekingsbevestiging 2KED9S",
            "Check nu in voor je vlucht naar Wenen",
            "Je instapkaart",
            "Wijziging in je reis",
            "Flying Blue: je miles",
            "Re: compensatie vertraagde vlucht",
            "Vakantie in de zon",
        ],
    )
    brand(
        NS,
        [
            "NS <noreply@ns.nl>",
            "NS Klantenservice <klantenservice@ns.nl>",
            "NS International <info@nsinternational.com>",
        ],
        [
            "Je e-ticket",
            "Reisbevestiging",
            "Je abonnement",
            "Storing op je traject",
            "Re: restitutie",
            "Je reishistorie",
        ],
    )
    # nsinternational.com is NS's international arm: a user accepts either under NS.
    brand(
        AH,
        [
            "Albert Heijn <nieuwsbrief@ah.nl>",
            "AH <bestellingen@ah.nl>",
            "Albert Heijn Klantenservice <klantenservice@ah.nl>",
        ],
        [
            "Bonus deze week",
            "Je bestelling komt morgen",
            "Je kassabon",
            "Nieuw in het assortiment",
            "Re: ontbrekend product",
        ],
    )
    # ESPs: the From domain says nothing, DKIM, Reply-To and List-Unsubscribe do.
    for n in range(6):
        specs.append(
            MailSpec(
                "Picnic <picnic@mcsv.net>",
                PICNIC,
                [
                    "Je boodschappen komen eraan",
                    "Bezorgtijd gewijzigd",
                    "Je bon",
                    "Nieuw: verse vis",
                    "Welkom bij Picnic",
                    "Je rit is onderweg",
                ][n],
                (
                    (
                        "DKIM-Signature",
                        "v=1; a=rsa-sha256; d=picnic.app; s=k1; h=from:to; bh=abc=; b=def=",
                    ),
                    ("Reply-To", "Picnic Klantenservice <support@picnic.app>"),
                ),
            )
        )
    for n in range(5):
        specs.append(
            MailSpec(
                "Thuisbezorgd.nl <noreply@sendgrid.net>",
                THUISBEZORGD,
                [
                    "Je bestelling bij Pizzeria Napoli",
                    "Je eten is onderweg",
                    "Beoordeel je bestelling",
                    "€5 korting",
                    "Je bestelling is bezorgd",
                ][n],
                (("DKIM-Signature", "v=1; a=rsa-sha256; d=thuisbezorgd.nl; s=s1; bh=x=; b=y="),),
            )
        )
    for n in range(5):
        specs.append(
            MailSpec(
                "Spotify <no-reply@amazonses.com>",
                SPOTIFY,
                [
                    "Je Wrapped is er",
                    "Nieuwe releases",
                    "Je betaling",
                    "Premium voor 3 maanden",
                    "Je playlist",
                ][n],
                (
                    (
                        "List-Unsubscribe",
                        "<mailto:unsubscribe@spotify.com>, <https://www.spotify.com/unsub>",
                    ),
                    ("DKIM-Signature", "v=1; a=rsa-sha256; d=amazonses.com; s=ug7; bh=x=; b=y="),
                ),
            )
        )
    # Employees writing as themselves: the company is their employer, never one of them.
    employees = [
        (
            IBM,
            [
                "Nicoletta Bernasconi <nicoletta.bernasconi@ibm.com>",
                "John Smith <jsmith@us.ibm.com>",
                "Priya Raman <priya.raman@ibm.com>",
                "Nicoletta Bernasconi <nicoletta.bernasconi@ibm.com>",
            ],
        ),
        (
            ARM,
            [
                "Richard Earnshaw <richard.earnshaw@arm.com>",
                "Szabolcs Nagy <szabolcs.nagy@arm.com>",
                "Richard Earnshaw <richard.earnshaw@arm.com>",
            ],
        ),
        (
            HARVARD,
            [
                "Jane Doe <jdoe@fas.harvard.edu>",
                "Mark Lee <mlee@harvard.edu>",
                "Admissions Office <admissions@harvard.edu>",
            ],
        ),
        (GNOME, ["Emmanuele Bassi <ebassi@gnome.org>", "Emmanuele Bassi <ebassi@gnome.org>"]),
        (
            VDBERG,
            [
                "Pieter Jansen <p.jansen@vandenbergadvocaten.nl>",
                "Pieter Jansen <p.jansen@vandenbergadvocaten.nl>",
            ],
        ),
    ]
    for entity, senders in employees:
        for n, sender in enumerate(senders):
            specs.append(MailSpec(sender, entity, f"Re: our meeting, part {n + 1}"))
    for n in range(3):
        specs.append(
            MailSpec(
                "Sarah Lin <slin@acme-widgets.com>",
                ACME,
                f"Quote {n + 1} for your order",
                (("Organization", "ACME Widgets B.V."),),
            )
        )
    # Mailing lists and relays: the list is the entity, never one person, never fused people.
    lkml_posters = [
        "Alice Example <alice-Xyz1Ab@public.gmane.org>",
        "Bob Kernel <bob-Qq7Zt2@public.gmane.org>",
        "Carol Driver <carol-8hJk2L@public.gmane.org>",
        "Dan Maint <dan-Lm3nB4@public.gmane.org>",
        "Eve Review <eve-Pp0oQ9@public.gmane.org>",
        "Frank Patch <frank-Rr5sT6@public.gmane.org>",
        "Grace Test <grace-Uu7vW8@public.gmane.org>",
        "Heidi Build <heidi-Xx9yZ0@public.gmane.org>",
        "Ivan Suse <ivan@suse.de>",
    ]
    for n in range(18):
        specs.append(
            MailSpec(
                lkml_posters[n % len(lkml_posters)],
                LKML,
                f"[PATCH v{n % 3 + 1} {n}/18] mm: fix the thing",
                (
                    ("List-Id", "<linux-kernel.vger.kernel.org>"),
                    (
                        "List-Unsubscribe",
                        "<mailto:majordomo@vger.kernel.org?body=unsubscribe%20linux-kernel>",
                    ),
                    ("Sender", "linux-kernel-owner@vger.kernel.org"),
                ),
                to="linux-kernel@vger.kernel.org",
            )
        )
    gg_posters = [
        ("Bob Jones", "bob.jones@gmail.com"),
        ("Anna Kim", "anna.kim@outlook.com"),
        ("Chris Wu", "chris@wu.example"),
    ]
    for n in range(9):
        name, address = gg_posters[n % 3]
        specs.append(
            MailSpec(
                f"'{name}' via Kluis Users <kluis-users@googlegroups.com>",
                KLUIS_USERS,
                f"Re: importing Takeout ({n})",
                (
                    ("List-Id", "<kluis-users.googlegroups.com>"),
                    ("Reply-To", f"{name} <{address}>"),
                    ("X-Original-Sender", address),
                    ("List-Unsubscribe", "<mailto:kluis-users+unsubscribe@googlegroups.com>"),
                ),
            )
        )
    io_posters = [
        ("Carol Smith", "carol=example.com"),
        ("Dirk Hout", "dirk=hout.example"),
        ("Ellen Zaag", "ellen=zaag.example"),
    ]
    for n in range(6):
        name, local = io_posters[n % 3]
        real = local.replace("=", "@")
        specs.append(
            MailSpec(
                f"{name} via groups.io <{local}@groups.io>",
                WOODWORKERS,
                f"[woodworkers] Dovetail jig question {n}",
                (
                    ("List-Id", "<main.woodworkers.groups.io>"),
                    ("X-Original-From", f"{name} <{real}>"),
                    ("Sender", "main@woodworkers.groups.io"),
                ),
            )
        )
    mm_posters = [
        "Timo Sirainen <tss@iki.fi>",
        "Aki Tuomi <aki.tuomi@open-xchange.com>",
        "Marc Noll <marc@noll.example>",
        "Aki Tuomi <aki.tuomi@open-xchange.com>",
    ]
    for n in range(8):
        specs.append(
            MailSpec(
                mm_posters[n % 4],
                DOVECOT_LIST,
                f"Re: sieve and imapsieve ({n})",
                (
                    ("List-Id", "Dovecot Mailing List <dovecot.dovecot.org>"),
                    (
                        "List-Unsubscribe",
                        "<https://dovecot.org/mailman3/lists/dovecot.dovecot.org/>",
                    ),
                    ("List-Post", "<mailto:dovecot@dovecot.org>"),
                    ("Precedence", "list"),
                ),
                to="dovecot@dovecot.org",
            )
        )
    # A Mailman list with List-Unsubscribe whose posters write from their employers' domains:
    # the list is the entity, never a poster's company, and its unsubscribe is the list's.
    for n, poster in enumerate(
        [
            "Jan Peters <jan.peters@bouwbedrijf-peters.nl>",
            "Karin Smits <k.smits@fietsenmaker.nl>",
            "Jan Peters <jan.peters@bouwbedrijf-peters.nl>",
            "Ruud Wouters <ruud@wouters-advies.nl>",
        ]
    ):
        specs.append(
            MailSpec(
                poster,
                FIETSCLUB,
                f"[Fietsclub] Rit zondag {n}",
                (
                    ("List-Id", "Fietsclub Utrecht <fietsclub.lists.fietsclub-utrecht.nl>"),
                    (
                        "List-Unsubscribe",
                        "<https://lists.fietsclub-utrecht.nl/mailman/options/fietsclub>, "
                        "<mailto:fietsclub-request@lists.fietsclub-utrecht.nl?subject=unsubscribe>",
                    ),
                    ("List-Post", "<mailto:fietsclub@lists.fietsclub-utrecht.nl>"),
                    ("Precedence", "list"),
                    ("Sender", "fietsclub-bounces@lists.fietsclub-utrecht.nl"),
                ),
                to="fietsclub@lists.fietsclub-utrecht.nl",
            )
        )
    for subject in ["Fietstocht zaterdag?", "Re: Fietstocht zaterdag?"]:
        specs.append(MailSpec("Piet Kramer <piet.kramer@outlook.com>", PIET, subject))
    # Internet providers: role addresses are the company, personal ones are people.
    brand(
        ZIGGO,
        [
            "Ziggo <noreply@ziggo.nl>",
            "Ziggo Klantenservice <klantenservice@ziggo.nl>",
            "Ziggo <service@ziggo.nl>",
            "Ziggo <nieuwsbrief@ziggo.nl>",
        ],
        [
            "Je nieuwe factuur",
            "Storing in je wijk opgelost",
            "Je Ziggo-abonnement",
            "Nieuw: sneller internet",
            "Re: monteur afspraak",
            "Je factuur staat klaar",
        ],
    )
    brand(
        XS4ALL,
        ["XS4ALL <info@xs4all.nl>", "XS4ALL Klantenservice <support@xs4all.nl>"],
        ["Je factuur", "Onderhoud aan ons netwerk", "Re: glasvezel"],
    )
    brand(
        KPN,
        ["KPN <noreply@kpnmail.nl>", "KPN Klantenservice <klantenservice@kpnmail.nl>"],
        ["Je KPN factuur", "Je verbruik deze maand"],
    )
    for sender, entity, subjects in [
        (
            "Henk de Boer <henk.deboer@ziggo.nl>",
            HENK,
            ["Verjaardag zaterdag", "Re: Verjaardag zaterdag", "Foto's"],
        ),
        ("Ans Visser <ansvisser@ziggo.nl>", ANS, ["Buurtfeest", "Re: Buurtfeest"]),
        ("Gerrit Mulder <gerrit1957@kpnmail.nl>", GERRIT, ["De tuin", "Re: De tuin"]),
        ("Jan Smit <jan@xs4all.nl>", JAN, ["Fietstocht", "Re: Fietstocht"]),
        ("Marja Kok <marja.k@planet.nl>", MARJA, ["Recept", "Re: Recept"]),
        (
            "Lisa Bakker <lisa.bakker@gmail.com>",
            LISA,
            ["Etentje?", "Re: Etentje?", "Vakantiefoto's", "Re: verhuizing"],
        ),
        (
            "Tom Hendriks <tom.hendriks@hotmail.com>",
            TOM,
            ["Squash dinsdag", "Re: Squash dinsdag", "Boek terug"],
        ),
        (
            "Femke Jansen <femke.jansen@outlook.com>",
            FEMKE_FRIEND,
            ["Verhuisdozen", "Re: Verhuisdozen"],
        ),
    ]:
        for subject in subjects:
            specs.append(MailSpec(sender, entity, subject))
    # Outbound: the recipient is who the mail is with.
    for n, subject in enumerate(
        ["Opzegging contract", "Vraag over mijn jaarafrekening", "Re: meterstanden"]
    ):
        specs.append(
            MailSpec(
                ME,
                ENECO,
                subject,
                to=["Eneco Klantenservice <klantenservice@eneco.nl>", "Eneco <service@eneco.nl>"][
                    n % 2
                ],
                outbound=True,
            )
        )
    for subject in ["Re: Re: Wasmachine lekt", "Vraag over retour"]:
        specs.append(
            MailSpec(
                ME,
                COOLBLUE,
                subject,
                to="Coolblue Klantenservice <klantenservice@coolblue.nl>",
                outbound=True,
            )
        )
    brand(
        MARKTPLAATS,
        ["Marktplaats <noreply@marktplaats.nl>", "Marktplaats <berichten@mail.marktplaats.nl>"],
        [
            "Nieuw bericht over je advertentie",
            "Je advertentie is geplaatst",
            "Iemand reageerde op: fiets",
            "Je advertentie verloopt",
        ],
    )
    brand(
        ZALANDO,
        ["Zalando <info@service.zalando.nl>", "Zalando Klantenservice <service@zalando.nl>"],
        [
            "Je bestelling is verzonden",
            "Nieuwe collectie",
            "Je retour is verwerkt",
            "Sale tot 50%",
            "Je bestelling is onderweg",
            "Betaalherinnering",
        ],
    )
    brand(
        AMAZON,
        [
            "Amazon.nl <auto-confirm@amazon.nl>",
            "Amazon.nl <shipment-tracking@amazon.nl>",
            "Amazon Marketplace <marketplace-messages@amazon.nl>",
        ],
        [
            "Je bestelling van boeken",
            "Verzonden: 1 artikel",
            "Bericht van verkoper BoekenBV",
            "Je Amazon.nl-bestelling",
            "Bezorgd: je pakket",
            "Retour ontvangen",
            "Je Prime-lidmaatschap",
            "Aanbevelingen voor jou",
            "Verzonden: 2 artikelen",
            "Bericht van verkoper Gadgetshop",
            "Je cadeaubon",
            "Betaling geweigerd",
        ],
    )
    brand(
        BOOKING,
        ["Booking.com <noreply@booking.com>", "Booking.com <customer.service@mail.booking.com>"],
        [
            "Je boeking is bevestigd",
            "Bereid je voor op je reis",
            "Hoe was je verblijf?",
            "Aanbiedingen voor het weekend",
            "Je boeking is geannuleerd",
            "Je boeking in Wenen",
            "Check-in informatie",
            "Genius-korting",
            "Bericht van Hotel Am Naschmarkt",
        ],
    )
    for subject in ["Betaalverzoek van Lisa", "Je hebt betaald", "Betaalverzoek verlopen"]:
        specs.append(
            MailSpec(
                "Tikkie <tikkie@mailgun.org>",
                TIKKIE,
                subject,
                (
                    ("DKIM-Signature", "v=1; a=rsa-sha256; d=tikkie.me; s=mg; bh=x=; b=y="),
                    ("Reply-To", "support@tikkie.me"),
                ),
            )
        )
    for subject in ["Je item is verkocht", "Verstuur je pakket", "Je hebt een nieuw bericht"]:
        specs.append(
            MailSpec(
                "Vinted <no-reply@sparkpostmail.com>",
                VINTED,
                subject,
                (
                    ("Reply-To", "Vinted <no-reply@vinted.nl>"),
                    (
                        "List-Unsubscribe",
                        "<https://www.vinted.nl/unsubscribe>, <mailto:unsub@vinted.nl>",
                    ),
                ),
            )
        )
    brand(
        GEMEENTE,
        ["Gemeente Utrecht <noreply@utrecht.nl>", "Gemeente Utrecht <belastingen@utrecht.nl>"],
        ["Je aanvraag paspoort", "Aanslag gemeentelijke belastingen", "Afspraak bevestigd"],
    )
    brand(
        BELASTING,
        ["Belastingdienst <noreply@belastingdienst.nl>"],
        ["Er staat een bericht voor u klaar", "Uw voorlopige aanslag", "Herinnering aangifte"],
    )
    for sender, entity, subjects in [
        (
            "Kees de Wit <kees.dewit@gmail.com>",
            KEES,
            ["Voetbal zondag", "Re: Voetbal zondag", "Uitslag"],
        ),
        ("Noor El Amrani <noor.elamrani@icloud.com>", NOOR, ["Verjaardag", "Re: Cadeau", "Foto's"]),
        ("Daan Vermeulen <daan.v@yahoo.com>", DAAN, ["Huurauto", "Re: Huurauto", "Planning"]),
        ("Sophie Martin <sophie.martin@gmx.fr>", SOPHIE, ["Paris", "Re: Paris", "Le train"]),
    ]:
        for subject in subjects:
            specs.append(MailSpec(sender, entity, subject))
    brand(
        LINKEDIN,
        [
            "Jan Jansen via LinkedIn <messages-noreply@linkedin.com>",
            "LinkedIn <notifications-noreply@linkedin.com>",
            "Anna de Groot via LinkedIn <invitations@linkedin.com>",
        ],
        [
            "Jan Jansen sent you a message",
            "You appeared in 9 searches",
            "Anna de Groot wants to connect",
            "New jobs for you",
            "Jan Jansen commented on your post",
        ],
    )
    brand(
        MOLLIE,
        [
            "Mollie <info@mollie.com>",
            "Team Mollie <support@mollie.com>",
            "Mollie Payments <noreply@mollie.com>",
        ],
        [
            "Je betaling aan Fietsplaats",
            "Betaalbewijs",
            "Je betaling is gelukt",
            "Terugbetaling verwerkt",
        ],
    )
    brand(
        IKEA,
        [
            "IKEA <noreply@ikea.nl>",
            "IKEA Nederland <klantenservice@ikea.com>",
            "IKEA Family <family@email.ikea.nl>",
        ],
        [
            "Je bestelling is bevestigd",
            "Je levering komt eraan",
            "IKEA Family voordeel",
            "Re: ontbrekende schroeven",
            "Je factuur",
            "Montage-afspraak",
        ],
    )
    return specs


def _write_mbox(labelled: LabelledSet, folder: Path) -> None:
    path = folder / "mail.mbox"
    box = mailbox.mbox(str(path), create=True)
    for n, spec in enumerate(_mails()):
        marker = labelled.marker(spec.entity)
        message = EmailMessage()
        message["From"] = spec.sender
        message["To"] = spec.to
        message["Subject"] = spec.subject
        message["Date"] = format_datetime(START + timedelta(hours=7 * n))
        message["Message-ID"] = make_msgid(idstring=marker, domain="idset.example")
        for name, value in spec.headers:
            message[name] = value
        message.set_content(f"{spec.subject}\n\nReferentie {marker}.\n\nMet vriendelijke groet\n")
        box.add(message)
    box.close()
    labelled.sources.append(("mbox", path))


# Chats ------------------------------------------------------------------------------------


def _write_whatsapp(labelled: LabelledSet, folder: Path) -> None:
    chats = [
        (
            "Coolblue",
            COOLBLUE,
            True,
            [
                "Hoi! Waarmee kunnen we je helpen?",
                "Je wasmachine wordt vrijdag bezorgd.",
                "Fijn dat het gelukt is!",
                "Nog een fijne dag",
            ],
        ),
        (
            "Lisa Bakker",
            LISA,
            False,
            [
                "Zie je morgen!",
                "Neem jij de wijn mee?",
                "Haha ja",
                "Tot straks",
                "Leuk was het!",
                "Volgende week weer?",
                "Goed plan",
                "Ik app je",
                "Slaap lekker",
                "Jij ook",
            ],
        ),
        (
            "Kees de Wit",
            KEES,
            False,
            ["Voetbal?", "Ja, om 10", "Ik rij", "Top", "Tot zo", "Gewonnen!"],
        ),
        (
            "Sophie Martin",
            SOPHIE,
            False,
            [
                "Salut!",
                "On se voit à Paris?",
                "Oui, en mars",
                "Super",
                "Je réserve le train",
                "Merci!",
            ],
        ),
        ("Piet Kramer", PIET, False, ["Ben je er zaterdag?", "Ja, om 9 uur", "Top"]),
        (
            "IKEA",
            IKEA,
            True,
            [
                "Hallo! Waarmee kunnen we helpen?",
                "Er ontbreken schroeven",
                "We sturen ze vandaag op.",
                "Dank jullie",
            ],
        ),
        (
            "Picnic",
            PICNIC,
            True,
            ["Je bezorger is onderweg", "We zijn er over 10 minuten", "Bedankt!"],
        ),
    ]
    for title, entity, business, lines in chats:
        text = [
            "08/01/2024, 09:00 - Messages and calls are end-to-end encrypted. No one outside of "
            "this chat, not even WhatsApp, can read or listen to them. Tap to learn more."
        ]
        if business:
            text.append(
                f"08/01/2024, 09:00 - {title} uses a secure service from Meta to manage this chat. "
                "Tap to learn more."
            )
        for n, line in enumerate(lines):
            marker = labelled.marker(entity)
            who = title if n % 2 == 0 else "Sanne de Vries"
            text.append(f"{8 + n:02d}/01/2024, 10:{n:02d} - {who}: {line} ({marker})")
        path = folder / f"WhatsApp Chat with {title}.txt"
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        labelled.sources.append(("whatsapp", path))


def _write_telegram(labelled: LabelledSet, folder: Path) -> None:
    chats_spec = [
        (
            "bol.com Klantenservice",
            "bot_chat",
            7100,
            BOL,
            ["/start", "Waar is mijn pakket?", "Je pakket wordt vandaag bezorgd.", "Dank je"],
        ),
        (
            "Tom Hendriks",
            "personal_chat",
            5551,
            TOM,
            [
                "Squash om 8?",
                "Prima",
                "Ik reserveer de baan",
                "Top",
                "Tot dan",
                "Goed gespeeld",
                "Revanche?",
                "Volgende week",
                "Deal",
                "Neem ballen mee",
            ],
        ),
        (
            "Zalando",
            "bot_chat",
            7300,
            ZALANDO,
            ["/start", "Je pakket is onderweg", "Bedankt", "Graag gedaan"],
        ),
        ("Piet Kramer", "personal_chat", 5553, PIET, ["Zaterdag fietsen?", "Goed plan", "9 uur"]),
        (
            "Noor El Amrani",
            "personal_chat",
            5552,
            NOOR,
            ["Ben je thuis?", "Ja", "Ik kom langs", "Leuk!"],
        ),
        (
            "NS Reisinformatie",
            "public_channel",
            7200,
            NS,
            [
                "Storing tussen Utrecht en Amersfoort",
                "De storing is voorbij",
                "Werkzaamheden in het weekend",
            ],
        ),
    ]
    chats = []
    for name, kind, chat_id, entity, lines in chats_spec:
        messages = []
        for n, line in enumerate(lines):
            marker = labelled.marker(entity)
            mine = kind != "public_channel" and n % 2 == 1
            when = START + timedelta(days=20, minutes=n)
            messages.append(
                {
                    "id": n + 1,
                    "type": "message",
                    "date": when.strftime("%Y-%m-%dT%H:%M:%S"),
                    "date_unixtime": str(int(when.timestamp())),
                    "from": "Sanne de Vries" if mine else name,
                    "from_id": "user5550001" if mine else f"user{chat_id}",
                    "text": f"{line} ({marker})",
                    "text_entities": [{"type": "plain", "text": f"{line} ({marker})"}],
                }
            )
        chats.append({"name": name, "type": kind, "id": chat_id, "messages": messages})
    export = {
        "personal_information": {
            "user_id": 5550001,
            "first_name": "Sanne",
            "last_name": "de Vries",
            "phone_number": "+31 6 12345678",
            "username": "@sannedv",
        },
        "chats": {"about": "", "list": chats},
    }
    target = folder / "telegram"
    target.mkdir()
    (target / "result.json").write_text(
        json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    labelled.sources.append(("telegram", target))


def _write_messenger(labelled: LabelledSet, folder: Path) -> None:
    root = folder / "facebook-sannedevries-2024-04-02-Id01"
    messages_root = root / "your_facebook_activity" / "messages"
    threads = [
        (
            "inbox",
            "klmroyaldutchairlines_1001",
            "KLM Royal Dutch Airlines",
            KLM,
            [
                "Hoe kunnen we helpen?",
                "Mijn koffer is niet aangekomen",
                "We zoeken het voor je uit.",
                "Dank je",
                "Je koffer wordt morgen bezorgd.",
                "Hij is er!",
                "Fijn om te horen",
                "Nog een compensatie?",
                "Je krijgt een voucher van 50 euro.",
            ],
        ),
        (
            "inbox",
            "bookingcom_1004",
            "Booking.com",
            BOOKING,
            [
                "Vraag over je reservering",
                "Kan ik later inchecken?",
                "Dat hebben we doorgegeven aan het hotel.",
            ],
        ),
        (
            "inbox",
            "daanvermeulen_1005",
            "Daan Vermeulen",
            DAAN,
            ["Huurauto geregeld", "Top", "Tot vrijdag"],
        ),
        (
            "message_requests",
            "marktplaats_1002",
            "Marktplaats",
            MARKTPLAATS,
            ["Je advertentie kreeg een reactie", "Ok"],
        ),
        ("inbox", "lisabakker_1003", "Lisa Bakker", LISA, ["Hey!", "Hoi", "Zin in een film?"]),
    ]
    for box, folder_name, title, entity, lines in threads:
        msgs = []
        for n, line in enumerate(lines):
            marker = labelled.marker(entity)
            who = title if n % 2 == 0 else "Sanne de Vries"
            when = START + timedelta(days=40, minutes=n)
            msgs.append(
                {
                    "sender_name": who,
                    "timestamp_ms": int(when.timestamp() * 1000),
                    "content": f"{line} ({marker})",
                    "is_geoblocked_for_viewer": False,
                }
            )
        msgs.reverse()  # Messenger lists the newest first
        thread = messages_root / box / folder_name
        thread.mkdir(parents=True)
        (thread / "message_1.json").write_text(
            json.dumps(
                {
                    "participants": [{"name": title}, {"name": "Sanne de Vries"}],
                    "title": title,
                    "is_still_participant": True,
                    "thread_path": f"{box}/{folder_name}",
                    "messages": msgs,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    profile = root / "personal_information" / "profile_information"
    profile.mkdir(parents=True)
    (profile / "profile_information.json").write_text(
        json.dumps(
            {
                "profile_v2": {
                    "name": {
                        "full_name": "Sanne de Vries",
                        "first_name": "Sanne",
                        "middle_name": "",
                        "last_name": "de Vries",
                    }
                }
            }
        )
    )
    labelled.sources.append(("messenger", root))


# Bookings ---------------------------------------------------------------------------------


def _write_bookings(labelled: LabelledSet, folder: Path) -> None:
    marker = labelled.marker(DEKAS)
    ics = folder / f"{marker}.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hacksw/handcal//NONSGML v1.0//EN\r\n"
        "BEGIN:VEVENT\r\nUID:dekas-77121@restaurantdekas.nl\r\nDTSTAMP:20240110T120000Z\r\n"
        "DTSTART;TZID=Europe/Amsterdam:20240215T190000\r\nDTEND;TZID=Europe/Amsterdam:20240215T220000\r\n"
        f"SUMMARY:Reservering Restaurant De Kas ({marker})\r\n"
        "ORGANIZER;CN=Restaurant De Kas:mailto:reserveringen@restaurantdekas.nl\r\n"
        "LOCATION:Kamerlingh Onneslaan 3\\, Amsterdam\r\nSTATUS:CONFIRMED\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    labelled.sources.append(("ics", ics))
    marker = labelled.marker(KLM)
    bcbp = folder / f"{marker}.txt"
    bcbp.write_text(
        "M1DEVRIES/SANNE       E2KED9SZAMSVIEKL 1843 054Y012A0031 100\n", encoding="utf-8"
    )
    labelled.sources.append(("bcbp", bcbp))


def _reservation(kind: str, reference: str, place: dict[str, object], **extra: object) -> dict:
    return {
        "@context": "http://schema.org",
        "@type": kind,
        "reservationNumber": reference,
        "reservationFor": place,
        **extra,
    }


def _write_documents(labelled: LabelledSet, folder: Path) -> None:
    """Saved confirmations: weak references shared by unrelated companies (KItinerary's
    "XXX007"), a platform's order sold by another shop, a calendar file and a reservation that
    name no one."""
    target = folder / "documents"
    target.mkdir()
    documents: list[tuple[Entity, object, str]] = [
        (
            HILTON,
            _reservation(
                "LodgingReservation",
                "XXX007",
                {"@type": "LodgingBusiness", "name": "Hilton Vienna"},
                provider={"@type": "Organization", "name": "Hilton"},
                checkinTime="2024-05-01T15:00:00+02:00",
                checkoutTime="2024-05-03T11:00:00+02:00",
            ),
            "json",
        ),
        (
            EVENTBRITE,
            _reservation(
                "EventReservation",
                "XXX007",
                {
                    "@type": "Event",
                    "name": "Concert",
                    "startDate": "2024-06-01T20:00:00+02:00",
                    "organizer": {"@type": "Organization", "name": "Eventbrite"},
                },
            ),
            "json",
        ),
        (
            SNCF,
            _reservation(
                "TrainReservation",
                "1234567",
                {
                    "@type": "TrainTrip",
                    "provider": {"@type": "Organization", "name": "SNCF"},
                    "departureTime": "2024-07-01T08:00:00+02:00",
                    "departureStation": {"@type": "TrainStation", "name": "Paris Gare de Lyon"},
                    "arrivalStation": {"@type": "TrainStation", "name": "Lyon Part-Dieu"},
                },
            ),
            "json",
        ),
        (
            AIRBERLIN,
            _reservation(
                "FlightReservation",
                "1234567",
                {
                    "@type": "Flight",
                    "flightNumber": "8588",
                    "airline": {"@type": "Airline", "name": "airberlin", "iataCode": "AB"},
                    "departureTime": "2024-07-02T10:00:00+02:00",
                    "departureAirport": {"@type": "Airport", "iataCode": "TXL"},
                    "arrivalAirport": {"@type": "Airport", "iataCode": "MUC"},
                },
            ),
            "json",
        ),
        (
            BOL,
            {
                "@context": "http://schema.org",
                "@type": "Order",
                "orderNumber": "BOL-8830-2291-7",
                "seller": {"@type": "Organization", "name": "Fietsplaats Utrecht"},
                "broker": {"@type": "Organization", "name": "bol.com"},
                "orderDate": "2024-03-01T10:00:00+01:00",
                "acceptedOffer": {"@type": "Offer", "itemOffered": {"name": "Fietsslot"}},
            },
            "json",
        ),
    ]
    for entity, document, suffix in documents:
        marker = labelled.marker(entity)
        path = target / f"{marker}.{suffix}"
        path.write_text(json.dumps(document), encoding="utf-8")
        labelled.sources.append(("jsonld", path))
    # A reservation with the weak reference and no provider, only the hotel's own name: the
    # reference alone must not file it under Hilton.
    marker = labelled.marker(NASCHMARKT)
    bare = _reservation(
        "LodgingReservation",
        "XXX007",
        {"@type": "LodgingBusiness", "name": "Hotel Am Naschmarkt"},
        checkinTime="2024-08-01T15:00:00+02:00",
    )
    path = target / f"{marker}.json"
    path.write_text(json.dumps(bare), encoding="utf-8")
    labelled.sources.append(("jsonld", path))
    # De Kas again, from a calendar program that writes no ORGANIZER: its UID's host says who.
    marker = labelled.marker(DEKAS)
    ics = folder / f"{marker}.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hacksw/handcal//NONSGML v1.0//EN\r\n"
        "BEGIN:VEVENT\r\nUID:dekas-80412@restaurantdekas.nl\r\nDTSTAMP:20240301T120000Z\r\n"
        "DTSTART:20240410T170000Z\r\nSUMMARY:Reservering Restaurant De Kas\r\n"
        "DESCRIPTION:Reserveringsnummer 7HK2QXR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    labelled.sources.append(("ics", ics))
    # The RFC 5545 example: no ORGANIZER, only the calendar program's PRODID.
    marker = labelled.marker(unknown("rfc5545-party"))
    ics = folder / f"{marker}.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hacksw/handcal//NONSGML v1.0//EN\r\n"
        "BEGIN:VEVENT\r\nUID:19970610T172345Z-AF23B2@example.com\r\n"
        "DTSTAMP:19970610T172345Z\r\nDTSTART:19970714T170000Z\r\nDTEND:19970715T040000Z\r\n"
        "SUMMARY:Bastille Day Party\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    labelled.sources.append(("ics", ics))


PUBLIC = Path(__file__).with_name("public")
PUBLIC_MAILS = {
    "mail_test_10": IBM,  # an IBM employee in Italy (it.ibm.com): the issue's own example
    "mail_test_13": CONTINUITY,  # a newsletter
    "mail_test_17": BBVA,  # phishing: the display name is an address at bbva.mx
    "mail_test_7": CSC,  # an employee under her company's Organization header
    "mail_test_9": SGIS,  # spam with a random display name
    "mail_test_3": RANDTELEKOM,  # spam from a person at a company domain
    "mail_test_6": GGG,  # a Russian newsletter with a List-Id of its own domain
}


def _write_public(labelled: LabelledSet, folder: Path) -> None:
    """mail-parser's real test mails (``public/README.md``), one .eml each."""
    target = folder / "public"
    target.mkdir()
    for name, entity in PUBLIC_MAILS.items():
        marker = labelled.marker(entity)
        (target / f"{marker}-{name}.eml").write_bytes((PUBLIC / name).read_bytes())
    labelled.sources.append(("eml", target))


def build(folder: Path) -> LabelledSet:
    """Write every source of the set into ``folder``; returns the labels and the sources."""
    folder.mkdir(parents=True, exist_ok=True)
    labelled = LabelledSet()
    _write_mbox(labelled, folder)
    _write_whatsapp(labelled, folder)
    _write_telegram(labelled, folder)
    _write_messenger(labelled, folder)
    _write_bookings(labelled, folder)
    _write_documents(labelled, folder)
    _write_public(labelled, folder)
    return labelled
