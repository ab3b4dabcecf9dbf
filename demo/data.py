"""Source material of the demo vault: six years of one Dutch consumer's mail and chats.

``kluis demo`` feeds what :func:`demo_sources` yields through the real importers, so the demo
shows exactly what an import of real data would. Everything here is generated, deterministically,
from a seed: RFC 822 messages (``format == "eml"``) in time order, then one Telegram Desktop
full-account export (``format == "telegram"``).

The people and their addresses are fictional; companies appear under their real names and
domains, the way they would in a real mailbox. The tables at the top say who mails the demo
user, how often and about what; the functions below them turn one row into mails.

Only the standard library is used, and nothing from ``importers``, ``tui`` or ``exports``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import heapq
import html
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

__all__ = [
    "BRANDS",
    "DEMO_ANCHOR",
    "DEMO_OWNER",
    "DEMO_START",
    "PERSONS",
    "Brand",
    "DemoOwner",
    "DemoSource",
    "Person",
    "demo_sources",
]

AMS: Final = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True, slots=True)
class DemoSource:
    """One importable file of the demo: a mail or the Telegram export."""

    format: str  # "eml" or "telegram"
    ref: str  # a readable name, e.g. "demo/mail/2021/klm-0042.eml"
    data: bytes  # an RFC 822 message, or a Telegram Desktop result.json


@dataclass(frozen=True, slots=True)
class DemoOwner:
    """The demo user: the vault's owner, whose own addresses never count as a company."""

    name: str
    email: str  # the mailbox at a provider, used from the start
    own_domain_email: str  # her own domain, used more and more from OWN_DOMAIN_SINCE
    telegram_id: int
    phone: str

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every mail address of the owner."""
        return (self.email, self.own_domain_email)

    @property
    def first_name(self) -> str:
        """The given name, as Telegram stores it."""
        return self.name.split(" ", 1)[0]

    @property
    def last_name(self) -> str:
        """The family name, as Telegram stores it."""
        return self.name.split(" ", 1)[1]


DEMO_OWNER: Final = DemoOwner(
    name="Sanne de Vries",
    email="sanne.devries@example.nl",
    own_domain_email="sanne@devries.example",
    telegram_id=5_120_000_017,
    phone="+31 6 00000000",
)
DEMO_ANCHOR: Final[datetime] = datetime(2026, 11, 20, 10, 0, tzinfo=AMS)
"""The demo's fixed "today": no mail is dated after it, only future bookings' content."""
DEMO_START: Final[datetime] = datetime(2020, 11, 2, 8, 0, tzinfo=AMS)
"""The first day of the demo's history, a little over six years before DEMO_ANCHOR."""
OWN_DOMAIN_SINCE: Final = date(2023, 9, 1)

_MAANDEN: Final = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

# --------------------------------------------------------------------------------------------
# Who mails the demo user
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Brand:
    """A company as it appears in mail: the name and domain a correct resolver should find."""

    key: str  # short slug: file names and Message-IDs
    name: str  # the display name on (most of) its mail
    domain: str  # the registrable domain
    kind: str  # what it is, for the reader of this table
    sender: str  # the address transactional mail comes from
    lang: str = "nl"
    own_domain: bool = False  # mails the owner's own domain from OWN_DOMAIN_SINCE


BRANDS: Final[tuple[Brand, ...]] = (
    Brand("klm", "KLM Royal Dutch Airlines", "klm.com", "airline", "noreply@klm.com"),
    Brand("transavia", "Transavia", "transavia.com", "airline", "noreply@transavia.com"),
    Brand("ns", "NS", "ns.nl", "rail", "noreply@ns.nl"),
    Brand("booking", "Booking.com", "booking.com", "booking site", "noreply@booking.com", "en"),
    Brand("airbnb", "Airbnb", "airbnb.com", "booking site", "automated@airbnb.com", "en"),
    Brand("valk", "Van der Valk Hotels", "valk.com", "hotel", "reserveringen@valk.com"),
    Brand("bol", "bol.com", "bol.com", "web shop", "no-reply@bol.com", own_domain=True),
    Brand("coolblue", "Coolblue", "coolblue.nl", "web shop", "no-reply@coolblue.nl"),
    Brand(
        "zalando",
        "Zalando",
        "zalando.nl",
        "web shop",
        "info@service-mail.zalando.nl",
        own_domain=True,
    ),
    Brand("ikea", "IKEA", "ikea.com", "web shop", "noreply@ikea.com"),
    Brand(
        "thuisbezorgd",
        "Thuisbezorgd.nl",
        "thuisbezorgd.nl",
        "food delivery",
        "noreply@thuisbezorgd.nl",
        own_domain=True,
    ),
    Brand("ing", "ING", "ing.nl", "bank", "noreply@ing.nl"),
    Brand("kpn", "KPN", "kpn.com", "telecom", "noreply@kpn.com"),
    Brand("vattenfall", "Vattenfall", "vattenfall.nl", "energy", "klantenservice@vattenfall.nl"),
    Brand("eneco", "Eneco", "eneco.nl", "energy", "noreply@eneco.nl"),
    Brand(
        "centraalbeheer",
        "Centraal Beheer",
        "centraalbeheer.nl",
        "insurer",
        "noreply@centraalbeheer.nl",
    ),
    Brand(
        "zilverenkruis",
        "Zilveren Kruis",
        "zilverenkruis.nl",
        "health insurer",
        "noreply@zilverenkruis.nl",
    ),
    Brand("utrecht", "Gemeente Utrecht", "utrecht.nl", "municipality", "noreply@utrecht.nl"),
    Brand(
        "mijnoverheid",
        "MijnOverheid",
        "mijnoverheid.nl",
        "government inbox",
        "noreply@mijnoverheid.nl",
    ),
    Brand("netflix", "Netflix", "netflix.com", "streaming", "info@account.netflix.com"),
    Brand("spotify", "Spotify", "spotify.com", "streaming", "no-reply@spotify.com", "en"),
    Brand("ah", "Albert Heijn", "ah.nl", "supermarket loyalty", "bonus@ah.nl", own_domain=True),
    Brand("postnl", "PostNL", "postnl.nl", "parcel carrier", "noreply@notificatie.postnl.nl"),
    Brand(
        "correspondent",
        "De Correspondent",
        "decorrespondent.nl",
        "newsletter",
        "nieuwsbrief@decorrespondent.nl",
    ),
    Brand("fietsersbond", "Fietsersbond", "fietsersbond.nl", "newsletter", "info@fietsersbond.nl"),
    Brand(
        "natuurmonumenten",
        "Natuurmonumenten",
        "natuurmonumenten.nl",
        "newsletter",
        "leden@natuurmonumenten.nl",
    ),
)
_BRAND: Final = {b.key: b for b in BRANDS}


@dataclass(frozen=True, slots=True)
class Person:
    """A friend or relative on freemail; a resolver should make each one a person."""

    key: str
    name: str
    email: str
    lang: str
    relation: str
    threads_per_year: float
    telegram_id: int


PERSONS: Final[tuple[Person, ...]] = (
    Person(
        "lotte", "Lotte Jansen", "lotte.jansen.demo@gmail.com", "nl", "friend", 9, 5_300_000_101
    ),
    Person(
        "daan", "Daan de Vries", "daan.devries.demo@hotmail.com", "nl", "brother", 6, 5_300_000_102
    ),
    Person(
        "ingrid",
        "Ingrid de Vries",
        "ingrid.devries.demo@outlook.com",
        "nl",
        "mother",
        8,
        5_300_000_103,
    ),
    Person("mark", "Mark Ellison", "mark.ellison.demo@gmail.com", "en", "friend", 5, 5_300_000_104),
)
_PERSON: Final = {p.key: p for p in PERSONS}
_FATHER: Final = ("Kees de Vries", 5_300_000_105)


@dataclass(frozen=True, slots=True)
class Esp:
    """An email service provider that sends a brand's bulk mail from its own domains."""

    return_path: str  # local@domain template; {t} is a per-mail token
    dkim_domain: str  # the ESP also signs, after the brand
    sender: bool = False  # Mailchimp puts itself in Sender:


ESPS: Final = {
    "mailchimp": Esp("bounce-mc.us7_{t}@mail{n}.atl21.mcsv.net", "mcsv.net", sender=True),
    "sendgrid": Esp("bounces+{t}@bounce.sendgrid.net", "sendgrid.net"),
    "ses": Esp("0102018c{t}-000000@eu-west-1.amazonses.com", "amazonses.com"),
}

_SHOP_SEASON: Final = (1.4, 0.9, 0.9, 1.0, 1.0, 0.9, 1.1, 0.8, 0.9, 1.0, 2.4, 1.8)
_TRAVEL_SEASON: Final = (1.9, 1.5, 1.2, 1.0, 0.9, 1.0, 0.8, 0.7, 0.8, 0.9, 1.1, 1.2)
_FLAT: Final = (1.0,) * 12


@dataclass(frozen=True, slots=True)
class Newsletter:
    """A mailing list the owner is on; ``per_week`` times the month's season factor."""

    brand: str
    sender: str  # From address; on the brand's domain unless the ESP sends as itself
    per_week: float
    subjects: tuple[str, ...]
    topics: tuple[str, ...]
    style: str = "alt"  # "text", "alt" (text + HTML) or "html" (HTML only)
    esp: str | None = None
    season: tuple[float, ...] = _FLAT
    hour: int = 9
    since: date = date(2020, 1, 1)
    reply_to: str | None = None


NEWSLETTERS: Final[tuple[Newsletter, ...]] = (
    Newsletter(
        "ah",
        "nieuwsbrief@mail.ah.nl",
        1.0,
        (
            "Je Bonus-aanbiedingen van week {week}",
            "🛒 Nieuwe Bonus: {pct}% korting",
            "Persoonlijke Bonus voor jou, {voornaam}",
        ),
        (
            "1+1 gratis op alle pasta",
            "Verse aardbeien 2e halve prijs",
            "Koffiebonen {pct}% korting",
            "Recept: snelle ovenschotel",
            "Allerhande nieuw",
        ),
        style="html",
        hour=7,
    ),
    Newsletter(
        "zalando",
        "info@mail.zalando.nl",
        1.8,
        (
            "Nieuwe collectie: {seizoen} is binnen",
            "Tot -{pct}% op sneakers 👟",
            "{voornaam}, deze items zijn bijna uitverkocht",
            "Exclusief voor jou: extra korting",
            "Black Friday: tot -{pct}% 🖤",
        ),
        (
            "Sneakers van Nike en adidas",
            "Jassen voor het nieuwe seizoen",
            "Duurzame merken uitgelicht",
            "Gratis retourneren binnen 100 dagen",
            "Trends van deze week",
        ),
        style="html",
        esp="ses",
        season=_SHOP_SEASON,
        hour=18,
    ),
    Newsletter(
        "bol",
        "nieuwsbrief@mail.bol.com",
        1.4,
        (
            "Deals van de dag: tot {pct}% korting",
            "Jouw aanbevelingen van week {week}",
            "🎁 Sinterklaas- en kerstcadeaus",
            "Nieuw: boeken die je leuk vindt",
        ),
        (
            "Boeken top 10",
            "Elektronica met korting",
            "Speelgoed voor elke leeftijd",
            "Select: gratis verzending",
            "Huis en tuin deals",
        ),
        season=_SHOP_SEASON,
        hour=10,
    ),
    Newsletter(
        "coolblue",
        "nieuwsbrief@mail.coolblue.nl",
        1.2,
        (
            "Alles voor een glimlach: deals van week {week}",
            "Black Friday bij Coolblue 🔥",
            "Tweedekans-producten met {pct}% korting",
            "Nieuw binnen: {product}",
        ),
        (
            "Wasmachines met 5 jaar garantie",
            "Laptops voor thuiswerken",
            "Koptelefoons getest",
            "Tweedekans: als nieuw, minder prijs",
        ),
        esp="sendgrid",
        season=_SHOP_SEASON,
        hour=11,
    ),
    Newsletter(
        "ikea",
        "nieuwsbrief@news.ikea.com",
        0.5,
        (
            "IKEA Family: je voordeel van {maand}",
            "Nieuw: de {seizoen}collectie",
            "Opbergideeën voor kleine ruimtes",
        ),
        (
            "KALLAX in nieuwe kleuren",
            "Workshop: slim opbergen",
            "Gratis koffie voor leden",
            "Tuinmeubelen in de aanbieding",
        ),
        style="html",
        season=_SHOP_SEASON,
        hour=8,
    ),
    Newsletter(
        "klm",
        "klm@info.klm.com",
        1.0,
        (
            "Ontdek {stad} vanaf € {prijs}",
            "✈️ Flying Blue: je Miles-overzicht van {maand}",
            "Nieuwe bestemmingen voor {jaar}",
            "Last-minute naar {stad}",
        ),
        (
            "Retourtickets vanaf € 99",
            "Flying Blue Miles sparen",
            "Meer beenruimte in Economy",
            "Stedentrips door Europa",
        ),
        season=_TRAVEL_SEASON,
        hour=14,
    ),
    Newsletter(
        "transavia",
        "nieuwsbrief@mail.transavia.com",
        0.9,
        (
            "Zon nodig? Vlieg naar {stad} ☀️",
            "Flash sale: {pct}% korting op tickets",
            "Je volgende vakantie begint hier",
        ),
        (
            "Tickets vanaf € 49",
            "Zomer {jaar} al te boeken",
            "Extra bagage voordelig",
            "Nieuwe route naar {stad}",
        ),
        esp="ses",
        season=_TRAVEL_SEASON,
        hour=16,
    ),
    Newsletter(
        "booking",
        "email.campaign@sg.booking.com",
        1.0,
        (
            "{voornaam}, deals in {stad} for your next trip",
            "Save {pct}% with Genius",
            "Last-minute stays this weekend",
            "Your {maand} travel inspiration",
        ),
        (
            "Genius level 2 discounts",
            "Top-rated stays in {stad}",
            "Free cancellation",
            "Weekend getaways nearby",
        ),
        season=_TRAVEL_SEASON,
        hour=12,
    ),
    Newsletter(
        "airbnb",
        "discover@airbnb.com",
        0.3,
        (
            "Unique stays for {seizoen}",
            "Your wishlist: prices dropped in {stad}",
            "Experiences hosted by locals",
        ),
        ("Cabins in the woods", "Homes with a view", "Stays with a pool"),
        style="html",
        season=_TRAVEL_SEASON,
        hour=19,
    ),
    Newsletter(
        "valk",
        "nieuwsbrief@news.valk.com",
        0.4,
        (
            "Er even tussenuit? Arrangementen vanaf € {prijs}",
            "Het Toekan-weekend van {maand}",
            "Kerstdiner bij Van der Valk 🎄",
        ),
        ("Wellness-arrangement", "Fietsen in Drenthe", "2 nachten incl. diner"),
        esp="mailchimp",
        hour=15,
    ),
    Newsletter(
        "ns",
        "nieuwsbrief@mail.ns.nl",
        0.25,
        ("Op pad met NS: {maand}", "Dagkaart voor € {prijs}", "Werkzaamheden in {maand}"),
        ("Dal Voordeel: 40% korting", "Met de trein naar Parijs", "OV-fiets nu € 4,45"),
        hour=10,
    ),
    Newsletter(
        "netflix",
        "info@members.netflix.com",
        0.9,
        (
            "Nieuw op Netflix: {serie}",
            "{voornaam}, we denken dat je dit leuk vindt",
            "Deze week populair in Nederland 🍿",
        ),
        ("Nieuwe serie: {serie}", "Top 10 in Nederland", "Documentaires die je niet mag missen"),
        style="html",
        hour=20,
    ),
    Newsletter(
        "spotify",
        "no-reply@alerts.spotify.com",
        0.4,
        ("Your {maand} mix is here 🎧", "New releases for you", "Your Wrapped {jaar} is here"),
        ("Release Radar", "Discover Weekly", "Podcasts you might like"),
        style="html",
        hour=17,
        since=date(2022, 5, 1),
    ),
    Newsletter(
        "correspondent",
        "nieuwsbrief@decorrespondent.nl",
        2.2,
        (
            "Het verhaal van de week: {onderwerp}",
            "Waarom {onderwerp} ons allemaal raakt",
            "Leestips voor het weekend",
            "Wat we deze week leerden over {onderwerp}",
        ),
        ("Klimaat", "Onderwijs", "Technologie", "Zorg", "Wonen", "Democratie"),
        style="text",
        esp="mailchimp",
        hour=7,
    ),
    Newsletter(
        "fietsersbond",
        "fietsersbond@bounce.sendgrid.net",
        0.25,
        (
            "Fietsnieuws van {maand}",
            "Doe mee aan de Fietstelweek {jaar}",
            "Nieuwe fietsroutes in Utrecht",
        ),
        ("Fietstelweek", "Veilige schoolroutes", "Ledenvoordeel fietsverlichting"),
        esp="sendgrid",
        hour=19,
        reply_to="info@fietsersbond.nl",
    ),
    Newsletter(
        "natuurmonumenten",
        "nieuws@natuurmonumenten.nl",
        0.5,
        (
            "Wandelen in de {seizoen}",
            "Natuurnieuws van {maand}",
            "🦉 Uilen spotten: excursies in {maand}",
        ),
        ("Wandelroute van de maand", "Vrijwilligers gezocht", "Ledenmagazine online"),
        esp="ses",
        hour=8,
    ),
    Newsletter(
        "thuisbezorgd",
        "nieuws@mail.thuisbezorgd.nl",
        0.7,
        (
            "Honger? {pct}% korting vanavond 🍕",
            "Nieuwe restaurants in Utrecht",
            "Je favorieten bezorgen gratis",
        ),
        ("Pizza", "Sushi", "Burgers", "Thais"),
        style="html",
        hour=16,
    ),
    Newsletter(
        "vattenfall",
        "nieuwsbrief@mail.vattenfall.nl",
        0.2,
        ("Energie besparen in de {seizoen}", "Uw energienieuws van {maand}"),
        ("Bespaartips", "Zonnepanelen", "Slimme thermostaat"),
        since=date(2020, 1, 1),
    ),
    Newsletter(
        "eneco",
        "nieuws@mail.eneco.nl",
        0.2,
        ("Samen naar duurzaam: {maand}", "Tips om energie te besparen"),
        ("Warmtepomp", "Toon thermostaat", "Groene stroom uit Nederland"),
        since=date(2023, 4, 1),
    ),
    Newsletter(
        "zilverenkruis",
        "nieuws@mail.zilverenkruis.nl",
        0.25,
        ("Gezond leven: tips voor {maand}", "Uw voordeel als verzekerde"),
        ("Fysiotherapie vergoed?", "Gratis online coach", "Zorgverzekering {jaar}"),
    ),
    Newsletter(
        "kpn",
        "nieuwsbrief@mail.kpn.com",
        0.25,
        ("Nieuw bij KPN: {product}", "Sneller internet voor hetzelfde geld"),
        ("Glasvezel", "KPN TV+", "Extra mobiel data"),
    ),
)


@dataclass(frozen=True, slots=True)
class Periodic:
    """A bill or letter that comes every month (or only in ``months``) on about ``day``."""

    brand: str
    day: int
    subject: str
    text: str
    amount: tuple[float, float] = (0.0, 0.0)
    pdf: str = ""  # attachment file name template; empty for none
    months: tuple[int, ...] = tuple(range(1, 13))
    since: date = date(2020, 1, 1)
    until: date = date(2099, 1, 1)


PERIODICS: Final[tuple[Periodic, ...]] = (
    Periodic(
        "kpn",
        6,
        "Je KPN factuur van {maand} staat klaar",
        "Je factuur van {maand} {jaar} is € {bedrag}. We schrijven het bedrag rond de 20e af.",
        (54.5, 61.0),
        pdf="KPN-factuur-{jaar}{mm}.pdf",
    ),
    Periodic(
        "vattenfall",
        3,
        "Uw factuur van {maand}",
        "Uw termijnbedrag voor {maand} {jaar} is € {bedrag}. Dit wordt automatisch afgeschreven.",
        (96.0, 118.0),
        pdf="Vattenfall-factuur-{jaar}{mm}.pdf",
        until=date(2023, 3, 31),
    ),
    Periodic(
        "vattenfall",
        12,
        "Uw jaarafrekening {jaar}",
        "Uw jaarafrekening is klaar. Het verschil met uw termijnbedragen is € {bedrag}.",
        (-80.0, 140.0),
        pdf="Jaarafrekening-{jaar}.pdf",
        months=(3,),
        until=date(2023, 3, 31),
    ),
    Periodic(
        "eneco",
        4,
        "Je termijnfactuur van {maand}",
        "Je termijnbedrag voor {maand} {jaar} is € {bedrag}.",
        (128.0, 152.0),
        pdf="Eneco-{jaar}{mm}.pdf",
        since=date(2023, 4, 1),
    ),
    Periodic(
        "eneco",
        20,
        "Je jaarnota {jaar} staat klaar",
        "Je jaarnota is klaar. Je krijgt € {bedrag} terug.",
        (12.0, 95.0),
        pdf="Eneco-jaarnota-{jaar}.pdf",
        months=(4,),
        since=date(2024, 1, 1),
    ),
    Periodic(
        "ing",
        2,
        "Je rekeningoverzicht van {maand} staat klaar",
        "Het overzicht van je betaalrekening over {maand} {jaar} staat in de app en Mijn ING.",
    ),
    Periodic(
        "netflix",
        14,
        "Je Netflix-factuur voor {maand}",
        "Bedankt voor je betaling van € {bedrag} voor Netflix Standaard.",
        (11.99, 13.99),
    ),
    Periodic(
        "spotify",
        22,
        "Your Spotify Premium receipt",
        "Thanks for your payment of € {bedrag} for Spotify Premium Individual.",
        (10.99, 11.99),
        since=date(2022, 5, 1),
    ),
    Periodic(
        "zilverenkruis",
        24,
        "Uw premienota van {maand}",
        "De premie voor {maand} {jaar} is € {bedrag}. Wij schrijven dit bedrag af op de 1e.",
        (138.0, 158.0),
        pdf="Premienota-{jaar}{mm}.pdf",
    ),
    Periodic(
        "zilverenkruis",
        12,
        "Uw nieuwe polis voor {volgend_jaar}",
        "Uw polis voor {volgend_jaar} staat klaar. De maandpremie wordt € {bedrag}.",
        (140.0, 162.0),
        pdf="Polisblad-{volgend_jaar}.pdf",
        months=(11,),
    ),
    Periodic(
        "ns",
        9,
        "Je NS-factuur van {maand}",
        "Je reizen met NS Flex in {maand} {jaar} kosten € {bedrag}.",
        (18.0, 96.0),
    ),
    Periodic(
        "centraalbeheer",
        8,
        "Uw polisblad {jaar}",
        "Uw inboedel- en aansprakelijkheidsverzekering loopt door. Premie per maand: € {bedrag}.",
        (21.0, 27.0),
        pdf="Polisblad-{jaar}.pdf",
        months=(1,),
    ),
    Periodic(
        "utrecht",
        27,
        "Aanslag gemeentelijke belastingen {jaar}",
        "De aanslag gemeentelijke belastingen en de WOZ-beschikking {jaar} staan in uw "
        "Berichtenbox. Totaal: € {bedrag}.",
        (612.0, 744.0),
        months=(2,),
    ),
    Periodic(
        "mijnoverheid",
        28,
        "Nieuw bericht in uw Berichtenbox",
        "Er staat een nieuw bericht in uw Berichtenbox op MijnOverheid.nl.",
        months=(2, 3, 5, 7, 10),
    ),
    Periodic(
        "natuurmonumenten",
        15,
        "Bedankt voor uw lidmaatschap in {jaar}",
        "Dankzij uw bijdrage van € {bedrag} beschermen we de natuur in Nederland.",
        (39.0, 42.5),
        months=(1,),
    ),
    Periodic(
        "ah",
        5,
        "Je Bonuskaart-spaaroverzicht van {maand}",
        "Je spaarde {punten} koopzegels en € {bedrag} Bonusvoordeel deze maand.",
        (8.0, 31.0),
    ),
)


@dataclass(frozen=True, slots=True)
class Notice:
    """A one-off account notice that comes ``per_year`` times at random."""

    brand: str
    subject: str
    text: str
    per_year: float


NOTICES: Final[tuple[Notice, ...]] = (
    Notice(
        "ing",
        "Je hebt een nieuw apparaat gekoppeld",
        "Je hebt de ING App geactiveerd op een nieuw apparaat. Was jij dit niet? Bel ons.",
        0.6,
    ),
    Notice(
        "ing",
        "Je betaalpas verloopt binnenkort",
        "Je nieuwe betaalpas komt binnen 2 weken met de post.",
        0.2,
    ),
    Notice(
        "netflix",
        "Nieuwe aanmelding bij je account",
        "Iemand heeft zich aangemeld bij je account op een nieuw apparaat.",
        0.8,
    ),
    Notice(
        "bol",
        "Je wachtwoord is gewijzigd",
        "Het wachtwoord van je bol.com-account is gewijzigd.",
        0.3,
    ),
    Notice(
        "kpn",
        "Storing in jouw regio opgelost",
        "De storing op het internet in Utrecht is opgelost. Excuses voor het ongemak.",
        0.5,
    ),
    Notice(
        "zilverenkruis",
        "Uw declaratie is verwerkt",
        "Wij hebben uw declaratie verwerkt. Bekijk het overzicht in Mijn Zilveren Kruis.",
        3.0,
    ),
    Notice(
        "postnl",
        "Je hebt een brief in je digitale brievenbus",
        "Bekijk vast welke post er vandaag bij je wordt bezorgd.",
        4.0,
    ),
    Notice(
        "utrecht",
        "Uw melding openbare ruimte is afgehandeld",
        "Uw melding over een kapotte lantaarnpaal in de Twijnstraat is afgehandeld.",
        0.5,
    ),
)


@dataclass(frozen=True, slots=True)
class Shop:
    """A web shop the owner orders from, with what she buys there."""

    brand: str
    orders_per_year: float
    products: tuple[tuple[str, float], ...]
    order_prefix: str
    carrier: str = "postnl"  # "postnl" or "" (brings it itself)


SHOPS: Final[tuple[Shop, ...]] = (
    Shop(
        "bol",
        14,
        (
            ("Philips Hue White starterkit", 89.99),
            ("Het Diner – Herman Koch", 12.50),
            ("JBL Flip 6 speaker", 119.00),
            ("Brabantia pedaalemmer 30 l", 59.95),
            ("LEGO Creator 3-in-1 31120", 34.99),
            ("Nespresso capsules, 100 stuks", 39.90),
            ("Tefal Ingenio pannenset", 79.99),
            ("Jip en Janneke voorleesboek", 17.99),
        ),
        "40",
    ),
    Shop(
        "coolblue",
        4,
        (
            ("Philips Airfryer XL", 149.00),
            ("Sony WH-1000XM5", 329.00),
            ("Logitech MX Master 3S", 99.00),
            ("Bosch waterkoker", 49.99),
            ("Samsung Galaxy Tab A9", 179.00),
        ),
        "9",
    ),
    Shop(
        "zalando",
        7,
        (
            ("Nike Air Max 90", 149.95),
            ("Levi's 501 jeans", 109.95),
            ("Rains regenjas", 99.95),
            ("adidas hardloopjack", 69.95),
            ("Vila blouse", 34.99),
            ("Björn Borg sokken 5-pack", 29.95),
        ),
        "10",
    ),
    Shop(
        "ikea",
        2.5,
        (
            ("KALLAX kast 77x147", 69.00),
            ("BILLY boekenkast", 59.00),
            ("POÄNG fauteuil", 129.00),
            ("LACK bijzettafel", 12.99),
            ("MALM ladekast", 149.00),
        ),
        "1",
    ),
)
_RESTAURANTS: Final = (
    ("Pizzeria Napoli", "Pizza margherita", 11.50),
    ("Sushi Yama", "Sushi box 24 stuks", 27.90),
    ("Thai Orchid", "Pad thai met kip", 14.75),
    ("Burgerbar Utrecht", "Classic burger menu", 16.95),
)


@dataclass(frozen=True, slots=True)
class Airport:
    """A destination airport, and how the airline flies there from Schiphol."""

    code: str
    name: str
    city: str
    tz: str
    minutes: int
    airline: str
    out: tuple[str, int, int]  # flight number, departure hour and minute (Schiphol time)
    back: tuple[str, int, int]  # flight number, departure hour and minute (local time)


AIRPORTS: Final = {
    a.code: a
    for a in (
        Airport(
            "LIS",
            "Humberto Delgado Airport",
            "Lissabon",
            "Europe/Lisbon",
            175,
            "klm",
            ("1691", 9, 35),
            ("1692", 13, 45),
        ),
        Airport(
            "AGP",
            "Málaga-Costa del Sol Airport",
            "Málaga",
            "Europe/Madrid",
            170,
            "transavia",
            ("5131", 6, 45),
            ("5132", 11, 30),
        ),
        Airport(
            "CPH",
            "Copenhagen Airport",
            "Kopenhagen",
            "Europe/Copenhagen",
            80,
            "klm",
            ("1125", 9, 50),
            ("1126", 12, 40),
        ),
        Airport(
            "HER",
            "Heraklion International Airport",
            "Heraklion",
            "Europe/Athens",
            215,
            "transavia",
            ("6861", 7, 5),
            ("6862", 12, 15),
        ),
        Airport(
            "EDI",
            "Edinburgh Airport",
            "Edinburgh",
            "Europe/London",
            85,
            "klm",
            ("1275", 8, 55),
            ("1286", 14, 20),
        ),
        Airport(
            "FCO",
            "Rome Fiumicino Airport",
            "Rome",
            "Europe/Rome",
            140,
            "klm",
            ("1605", 10, 15),
            ("1606", 14, 5),
        ),
        Airport(
            "FAO",
            "Faro Airport",
            "Faro",
            "Europe/Lisbon",
            185,
            "transavia",
            ("6181", 6, 30),
            ("6182", 11, 50),
        ),
        Airport(
            "BCN",
            "Barcelona–El Prat Airport",
            "Barcelona",
            "Europe/Madrid",
            130,
            "klm",
            ("1673", 7, 20),
            ("1674", 10, 55),
        ),
        Airport(
            "PMI",
            "Palma de Mallorca Airport",
            "Palma",
            "Europe/Madrid",
            140,
            "transavia",
            ("5271", 7, 0),
            ("5272", 12, 30),
        ),
        Airport(
            "NAP",
            "Naples International Airport",
            "Napels",
            "Europe/Rome",
            145,
            "transavia",
            ("6937", 10, 30),
            ("6938", 14, 20),
        ),
        Airport(
            "VIE",
            "Vienna International Airport",
            "Wenen",
            "Europe/Vienna",
            105,
            "klm",
            ("1841", 7, 15),
            ("1842", 10, 20),
        ),
    )
}
_SCHIPHOL: Final = ("AMS", "Amsterdam Airport Schiphol")
_AIRLINE_CODES: Final = {"klm": "KL", "transavia": "HV"}


@dataclass(frozen=True, slots=True)
class Station:
    """A destination station of an international train from Amsterdam Centraal."""

    key: str
    name: str
    city: str
    minutes: int
    out: tuple[str, int, int]
    back: tuple[str, int, int]


STATIONS: Final = {
    s.key: s
    for s in (
        Station("koeln", "Köln Hbf", "Keulen", 160, ("ICE 123", 8, 38), ("ICE 126", 17, 44)),
        Station(
            "paris",
            "Paris Nord",
            "Parijs",
            200,
            ("Eurostar 9318", 9, 16),
            ("Eurostar 9351", 17, 25),
        ),
        Station("berlin", "Berlin Hbf", "Berlijn", 380, ("IC 145", 7, 1), ("IC 148", 10, 29)),
        Station(
            "brussel",
            "Brussel-Zuid",
            "Brussel",
            110,
            ("Eurostar 9316", 8, 16),
            ("Eurostar 9367", 18, 52),
        ),
    )
}
_AMSTERDAM_CS: Final = "Amsterdam Centraal"

# Fictional places to stay: (name, street, city, country code).
_STAYS: Final = {
    "Lissabon": ("Hotel Alfama Azul", "Rua dos Remédios 41", "Lisboa", "PT"),
    "Málaga": ("Apartamento Soho Málaga", "Calle Tomás Heredia 12", "Málaga", "ES"),
    "Kopenhagen": ("Hotel Nyhavn Lys", "Nyhavn 23", "København", "DK"),
    "Heraklion": ("Villa Eleni", "Odos Chandakos 8", "Heraklion", "GR"),
    "Edinburgh": ("The Canongate Rooms", "Canongate 112", "Edinburgh", "GB"),
    "Rome": ("Hotel Trastevere Sole", "Via della Lungaretta 90", "Roma", "IT"),
    "Faro": ("Casa da Ria Formosa", "Rua do Castelo 5", "Faro", "PT"),
    "Barcelona": ("Hotel Gràcia Verd", "Carrer de Verdi 31", "Barcelona", "ES"),
    "Palma": ("Finca Ses Oliveres", "Camí de Son Rapinya 14", "Palma", "ES"),
    "Napels": ("B&B Spaccanapoli", "Via dei Tribunali 210", "Napoli", "IT"),
    "Wenen": ("Hotel Am Naschmarkt", "Linke Wienzeile 20", "Wien", "AT"),
    "Keulen": ("Hotel am Dom", "Trankgasse 5", "Köln", "DE"),
    "Parijs": ("Hôtel du Canal Saint-Martin", "Quai de Valmy 47", "Paris", "FR"),
    "Berlijn": ("Hotel Kreuzberg Hof", "Oranienstraße 61", "Berlin", "DE"),
    "Brussel": ("Hôtel Sablon", "Rue de Rollebeek 9", "Bruxelles", "BE"),
    "Texel": ("Van der Valk Hotel Texel", "Pontweg 2", "Den Burg", "NL"),
    "Maastricht": ("Van der Valk Hotel Maastricht", "Nijverheidsweg 35", "Maastricht", "NL"),
}


@dataclass(frozen=True, slots=True)
class Trip:
    """One journey: how the owner gets there and where she stays, with its booking story."""

    booked: date
    depart: date
    nights: int
    via: str  # "klm", "transavia", "ns" (international train) or "" (no booking)
    to: str  # airport code, station key, or city for trips without transport
    stay: str  # "booking", "airbnb" or "valk"
    event: str = ""  # "cancelled" or "changed"
    event_on: date | None = None


TRIPS: Final[tuple[Trip, ...]] = (
    Trip(
        date(2020, 12, 8),
        date(2021, 2, 12),
        4,
        "klm",
        "LIS",
        "booking",
        "cancelled",
        date(2021, 1, 22),
    ),
    Trip(date(2021, 5, 20), date(2021, 6, 18), 2, "", "Texel", "valk"),
    Trip(date(2021, 6, 2), date(2021, 8, 14), 8, "transavia", "AGP", "airbnb"),
    Trip(date(2021, 10, 1), date(2021, 11, 26), 2, "ns", "koeln", "booking"),
    Trip(date(2022, 1, 15), date(2022, 3, 18), 3, "klm", "CPH", "booking"),
    Trip(date(2022, 4, 10), date(2022, 7, 23), 10, "transavia", "HER", "airbnb"),
    Trip(date(2022, 9, 5), date(2022, 10, 21), 3, "ns", "paris", "booking"),
    Trip(date(2023, 2, 1), date(2023, 4, 6), 4, "klm", "EDI", "booking"),
    Trip(
        date(2023, 3, 20),
        date(2023, 7, 29),
        9,
        "transavia",
        "AGP",
        "airbnb",
        "changed",
        date(2023, 6, 14),
    ),
    Trip(date(2023, 11, 10), date(2023, 12, 15), 1, "", "Maastricht", "valk"),
    Trip(date(2024, 1, 20), date(2024, 4, 25), 5, "klm", "FCO", "booking"),
    Trip(date(2024, 5, 5), date(2024, 8, 10), 10, "transavia", "FAO", "airbnb"),
    Trip(date(2024, 9, 10), date(2024, 10, 18), 3, "ns", "berlin", "booking"),
    Trip(date(2025, 2, 15), date(2025, 5, 29), 4, "klm", "BCN", "booking"),
    Trip(date(2025, 4, 1), date(2025, 7, 19), 9, "transavia", "PMI", "airbnb"),
    Trip(date(2025, 10, 5), date(2025, 11, 14), 2, "", "Texel", "valk"),
    Trip(date(2026, 3, 1), date(2026, 5, 14), 4, "klm", "LIS", "booking"),
    Trip(date(2026, 4, 15), date(2026, 8, 8), 7, "transavia", "NAP", "airbnb"),
    Trip(date(2026, 10, 12), date(2026, 12, 19), 4, "klm", "VIE", "booking"),  # upcoming
    Trip(date(2026, 11, 15), date(2027, 2, 12), 3, "ns", "paris", "booking"),  # upcoming
)


@dataclass(frozen=True, slots=True)
class ServiceQuestion:
    """A question the owner mailed a company, and the answer she got."""

    brand: str
    on: date
    to: str
    subject: str
    question: str
    answer: str


SERVICE_QUESTIONS: Final[tuple[ServiceQuestion, ...]] = (
    ServiceQuestion(
        "utrecht",
        date(2021, 3, 9),
        "info@utrecht.nl",
        "Vraag over mijn afvalpas",
        "Mijn afvalpas werkt niet meer bij de container in de Twijnstraat.",
        "U ontvangt binnen 10 werkdagen een nieuwe afvalpas.",
    ),
    ServiceQuestion(
        "kpn",
        date(2022, 2, 16),
        "klantenservice@kpn.com",
        "Opzeggen extra tv-pakket",
        "Ik wil graag het pakket Film1 per 1 maart opzeggen.",
        "We hebben Film1 opgezegd per 1 maart. Je ziet dit terug op je factuur.",
    ),
    ServiceQuestion(
        "zilverenkruis",
        date(2023, 5, 11),
        "klantenservice@zilverenkruis.nl",
        "Vraag over declaratie fysiotherapie",
        "Mijn declaratie van de fysiotherapeut is afgewezen. Klopt dat?",
        "U had uw aanvullende behandelingen voor dit jaar al gebruikt.",
    ),
    ServiceQuestion(
        "centraalbeheer",
        date(2024, 6, 3),
        "schade@centraalbeheer.nl",
        "Schademelding: waterschade badkamer",
        "Door een lekkende leiding is het plafond van de gang beschadigd.",
        "Uw schade is geregistreerd. Een expert neemt binnen 3 dagen contact op.",
    ),
    ServiceQuestion(
        "ns",
        date(2025, 9, 2),
        "klantenservice@ns.nl",
        "Geld terug bij vertraging",
        "Mijn trein van 17:14 uit Amsterdam had 45 minuten vertraging.",
        "U krijgt 50% van de ritprijs terug op uw rekening.",
    ),
)

# --------------------------------------------------------------------------------------------
# Mail rendering
# --------------------------------------------------------------------------------------------


def _fold(name: str, value: str) -> str:
    """One header line, folded at spaces to keep lines within 78 characters where possible."""
    line = f"{name}: {value}"
    if len(line) <= 78:
        return line + "\r\n"
    lines: list[str] = []
    current = f"{name}:"
    for word in value.split(" "):
        if len(current) + 1 + len(word) > 78 and current != f"{name}:":
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    return "\r\n".join(lines) + "\r\n"


if TYPE_CHECKING:
    _EmailPolicy = EmailPolicy[EmailMessage]
else:  # typeshed makes EmailPolicy generic; at runtime it is a plain class
    _EmailPolicy = EmailPolicy


class _VerbatimPolicy(_EmailPolicy):
    """SMTP rules for headers this module has already encoded (ASCII, RFC 2047).

    The stdlib header registry parses every header on store and on fetch; that costs about a
    millisecond per message, so 8,000 mails would take over ten seconds. Here headers are
    stored and fetched as strings (as ``compat32`` does) and only folded on output.
    """

    def header_max_count(self, name: str) -> int | None:
        """No limit: this module writes each header once (the registry lookup is the cost)."""
        return None

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        """Keep the value as given."""
        return (name, str(value))

    def header_fetch_parse(self, name: str, value: str) -> str:
        """Return the stored string."""
        return value

    def fold(self, name: str, value: str) -> str:
        """Fold at spaces."""
        return _fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        """Fold at spaces; the value is already ASCII."""
        return _fold(name, value).encode("ascii")


_POLICY: Final = _VerbatimPolicy(linesep="\r\n", cte_type="7bit")


def _encode_words(text: str) -> str:
    """``text`` as RFC 2047 encoded words when it is not ASCII, split to fold between them."""
    if text.isascii():
        return text
    words: list[str] = []
    chunk = ""
    for char in text:
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return " ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


@functools.lru_cache(maxsize=512)
def _address(name: str, address: str) -> str:
    """``Name <address>``, quoted or encoded as needed."""
    return formataddr((name, address), charset="utf-8")


@dataclass(slots=True)
class _Mail:
    """Everything one mail says, before it becomes bytes."""

    when: datetime
    key: str  # the brand or person it is with; names the file
    sender: str  # encoded From
    to: str  # encoded To
    subject: str
    msgid: str
    text: str | None
    html: str | None = None
    trace: list[tuple[str, str]] = field(default_factory=list)  # above From: Return-Path, DKIM
    headers: list[tuple[str, str]] = field(default_factory=list)  # below Message-ID
    attachment: tuple[str, bytes] | None = None


def _leaf(text: str, subtype: str) -> EmailMessage:
    """A text part: 7bit when ASCII, else quoted-printable UTF-8."""
    part = EmailMessage(policy=_POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    if text.isascii():
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(text)
    else:
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(binascii.b2a_qp(text.encode()).decode("ascii"))
    return part


def _multipart(subtype: str, boundary: str, parts: list[EmailMessage]) -> EmailMessage:
    """A multipart container with a fixed boundary (the stdlib's own is random)."""
    container = EmailMessage(policy=_POLICY)
    container["Content-Type"] = f'multipart/{subtype}; boundary="{boundary}"'
    container.set_payload(parts)  # type: ignore[arg-type]  # a list payload makes a multipart
    return container


def _render(mail: _Mail) -> bytes:
    """The mail as RFC 822 bytes (CRLF line ends, 7-bit clean)."""
    leaves = []
    if mail.text is not None:
        leaves.append(_leaf(mail.text, "plain"))
    if mail.html is not None:
        leaves.append(_leaf(mail.html, "html"))
    tag = mail.msgid.strip("<>").split("@")[0][-12:]
    body = leaves[0] if len(leaves) == 1 else _multipart("alternative", f"=_alt_{tag}", leaves)
    if mail.attachment is not None:
        name, data = mail.attachment
        pdf = EmailMessage(policy=_POLICY)
        pdf["Content-Type"] = f'application/pdf; name="{name}"'
        pdf["Content-Disposition"] = f'attachment; filename="{name}"'
        pdf["Content-Transfer-Encoding"] = "base64"
        pdf.set_payload(base64.encodebytes(data).decode("ascii"))
        body = _multipart("mixed", f"=_mix_{tag}", [body, pdf])

    msg = EmailMessage(policy=_POLICY)
    for name, value in mail.trace:
        msg[name] = value
    msg["From"] = mail.sender
    msg["To"] = mail.to
    msg["Date"] = format_datetime(mail.when)
    msg["Subject"] = _encode_words(mail.subject)
    msg["Message-ID"] = mail.msgid
    for name, value in mail.headers:
        msg[name] = value
    msg["MIME-Version"] = "1.0"
    for name, value in body.items():
        msg[name] = value
    msg.set_payload(body.get_payload())
    return msg.as_bytes()


def _tiny_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A one-page PDF with a few lines of Helvetica: small, but with a valid xref table."""

    def escape(s: str) -> str:
        ascii_text = s.replace("€", "EUR").encode("ascii", "replace").decode()
        return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 16 Tf", "56 780 Td", f"({escape(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        ops += ["0 -22 Td", f"({escape(line)}) Tj"]
    stream = "\n".join([*ops, "ET"]).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    return pdf_document(objects)


def pdf_document(objects: Sequence[bytes]) -> bytes:
    """A PDF of ``objects`` (numbered from 1, the first the catalog) with a valid xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _html(title: str, paragraphs: Iterable[str], data: object = None, lang: str = "nl") -> str:
    """A plain HTML mail body, with schema.org JSON-LD in the head when ``data`` is given."""
    head = [f"<title>{html.escape(title)}</title>"]
    if data is not None:
        head += [
            '<script type="application/ld+json">',
            json.dumps(data, ensure_ascii=False, indent=2),
            "</script>",
        ]
    body = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}">',
            '<head><meta charset="utf-8">',
            *head,
            "</head>",
            '<body style="font-family:Arial,sans-serif">',
            f"<h1>{html.escape(title)}</h1>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def _money(amount: float) -> str:
    """Dutch money notation: 1.234,50."""
    whole, cents = f"{amount:,.2f}".split(".")
    return f"{whole.replace(',', '.')},{cents}"


def _iso(when: datetime) -> str:
    """ISO 8601 with the offset, to the minute, as booking mails write it."""
    return when.isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------
# Shared helpers for the scenario generators
# --------------------------------------------------------------------------------------------


class _Ctx:
    """One scenario's random stream and the small helpers that use it."""

    def __init__(self, seed: int, name: str) -> None:
        # Demo data, not security: a seeded PRNG is the point (same seed, same bytes).
        self.rng = random.Random(f"{seed}:{name}")  # noqa: S311
        self.count = 0

    def pick(self, options: Sequence[str]) -> str:
        """One of ``options``."""
        return options[self.rng.randrange(len(options))]

    def token(self, n: int = 12) -> str:
        """``n`` random lowercase hex digits."""
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def code(self, n: int, alphabet: str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789") -> str:
        """A booking-style reference of ``n`` characters."""
        return "".join(alphabet[self.rng.randrange(len(alphabet))] for _ in range(n))

    def digits(self, n: int) -> str:
        """``n`` random digits."""
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def msgid(self, when: datetime, host: str) -> str:
        """A Message-ID on ``host`` that no other mail of the demo has."""
        self.count += 1
        return f"<{when:%Y%m%d%H%M%S}.{self.count:05d}.{self.token()}@{host}>"

    def at(self, day: date, hour: int, spread: int = 1) -> datetime:
        """A moment on ``day`` between ``hour`` and ``hour + spread`` (Amsterdam time)."""
        start = datetime(day.year, day.month, day.day, hour, tzinfo=AMS)
        return start + timedelta(seconds=self.rng.randrange(spread * 3600))

    def dkim(self, domain: str, when: datetime, selector: str = "s1") -> str:
        """A DKIM-Signature value for ``domain`` (well-formed; the signature is noise)."""
        bh = base64.b64encode(self.rng.randbytes(32)).decode()
        sig = base64.b64encode(self.rng.randbytes(96)).decode()
        return (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector}; "
            f"t={int(when.timestamp())}; h=from:to:subject:date:message-id; bh={bh}; "
            f"b={sig[:64]} {sig[64:]}"  # FWS inside b= is allowed and lets the header fold
        )


def _owner(when: datetime, modern: bool) -> str:
    """The owner as a To/From header value, on her own domain once she moved to it."""
    own = modern and when.date() >= OWN_DOMAIN_SINCE
    return _address(DEMO_OWNER.name, DEMO_OWNER.own_domain_email if own else DEMO_OWNER.email)


def _owner_host(when: datetime) -> str:
    """The domain of the owner's outgoing Message-IDs."""
    return "devries.example" if when.date() >= OWN_DOMAIN_SINCE else "example.nl"


def _brand_mail(
    ctx: _Ctx,
    brand: Brand,
    when: datetime,
    subject: str,
    text: str | None,
    html_body: str | None = None,
    *,
    sender: str | None = None,
    name: str | None = None,
) -> _Mail:
    """A transactional mail from ``brand`` to the owner, DKIM-signed by the brand."""
    address = sender or brand.sender
    host = address.split("@", 1)[1]
    return _Mail(
        when=when,
        key=brand.key,
        sender=_address(name or brand.name, address),
        to=_owner(when, brand.own_domain),
        subject=subject,
        msgid=ctx.msgid(when, host),
        text=text,
        html=html_body,
        trace=[
            ("Return-Path", f"<bounce@{host}>"),
            ("DKIM-Signature", ctx.dkim(brand.domain, when)),
        ],
    )


def _weeks(start: datetime, end: datetime) -> Iterator[date]:
    """The Mondays from the week of ``start`` up to ``end``."""
    day = start.date() - timedelta(days=start.weekday())
    while day <= end.date():
        yield day
        day += timedelta(days=7)


def _months(start: date, end: date) -> Iterator[tuple[int, int]]:
    """(year, month) from ``start`` up to ``end``."""
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _count(ctx: _Ctx, mean: float) -> int:
    """A whole number of events with the given mean (floor plus a fair coin on the rest)."""
    whole = int(mean)
    return whole + (1 if ctx.rng.random() < mean - whole else 0)


_SLACK: Final = timedelta(days=9)


def _in_time_order(batches: Iterable[list[_Mail]]) -> Iterator[_Mail]:
    """The mails of ``batches`` in time order.

    Each batch is a small story (an order and its parcel mails). Scenarios go week by week, so
    a batch never starts more than ``_SLACK`` before one yielded earlier; a mail is held back
    until no later batch can start before it.
    """
    heap: list[tuple[datetime, int, _Mail]] = []
    seq = 0
    for batch in batches:
        if not batch:
            continue
        start = min(m.when for m in batch)
        while heap and heap[0][0] <= start - _SLACK:
            yield heapq.heappop(heap)[2]
        for mail in batch:
            heapq.heappush(heap, (mail.when, seq, mail))
            seq += 1
    while heap:
        yield heapq.heappop(heap)[2]


_FILL_CITIES: Final = ("Lissabon", "Barcelona", "Rome", "Kopenhagen", "Porto", "Wenen", "Praag")
_FILL_SERIES: Final = ("De Oost", "Undercover", "Kleo", "Bad Banks", "Dark", "The Crown")
_FILL_SUBJECTS: Final = ("de woningnood", "AI", "het klimaat", "de zorg", "ongelijkheid")
_FILL_PRODUCTS: Final = ("de Galaxy S24", "KPN Glasvezel 1 Gbit", "de nieuwe iPad", "een airfryer")


def _season(month: int) -> str:
    """The Dutch season name for ``month``."""
    return ("winter", "lente", "zomer", "herfst")[(month % 12) // 3]


_FILL_CHOICES: Final = {
    "pct": ("15", "20", "25", "30", "40", "50"),
    "stad": _FILL_CITIES,
    "prijs": ("49", "79", "99"),
    "serie": _FILL_SERIES,
    "onderwerp": _FILL_SUBJECTS,
    "product": _FILL_PRODUCTS,
}


class _Filler(dict[str, str]):
    """Placeholder values for a mail sent at ``when``; random ones drawn only when used."""

    def __init__(self, ctx: _Ctx, when: datetime) -> None:
        super().__init__(
            maand=_MAANDEN[when.month - 1],
            jaar=str(when.year),
            week=str(when.isocalendar()[1]),
            voornaam=DEMO_OWNER.first_name,
            seizoen=_season(when.month),
        )
        self.ctx = ctx

    def __missing__(self, key: str) -> str:
        return self.ctx.pick(_FILL_CHOICES[key])


def _fill(ctx: _Ctx, template: str, when: datetime) -> str:
    """``template`` with its {placeholders} filled for a mail sent at ``when``."""
    return template.format_map(_Filler(ctx, when)) if "{" in template else template


# --------------------------------------------------------------------------------------------
# Newsletters, bills, notices
# --------------------------------------------------------------------------------------------


_TEASERS_NL: Final = (
    "Bekijk het aanbod",
    "Alleen deze week",
    "Lees meer",
    "Ontdek het nu",
    "Op is op",
    "Speciaal voor jou geselecteerd",
)
_TEASERS_EN: Final = ("Explore now", "Limited time", "Read more", "Picked for you", "See all")


def _newsletter_mail(ctx: _Ctx, nl: Newsletter, when: datetime) -> _Mail:
    """One issue of ``nl``, with the headers a bulk sender really sets."""
    brand = _BRAND[nl.brand]
    subject = _fill(ctx, ctx.pick(nl.subjects), when)
    topics = [_fill(ctx, t, when) for t in ctx.rng.sample(nl.topics, k=min(3, len(nl.topics)))]
    token = ctx.token(16)
    list_host = nl.sender.split("@", 1)[1] if nl.sender.endswith(brand.domain) else brand.domain
    unsubscribe = f"https://{list_host}/unsubscribe?u={token}"
    english = brand.lang == "en"
    greeting = f"Hi {DEMO_OWNER.first_name}," if english else f"Hoi {DEMO_OWNER.first_name},"
    footer = (
        "You receive this because you subscribed. Unsubscribe: "
        if english
        else "Je ontvangt deze mail omdat je je hebt aangemeld. Afmelden: "
    ) + unsubscribe
    teasers = _TEASERS_EN if english else _TEASERS_NL
    browser = "View this email in your browser" if english else "Bekijk deze mail in je browser"
    paragraphs = [
        f"{browser}: https://{list_host}/view/{token[:10]}",
        greeting,
        *(f"• {t} – {ctx.pick(teasers)}" for t in topics),
        footer,
    ]
    text = None if nl.style == "html" else "\n\n".join([subject, *paragraphs]) + "\n"
    html_body = None if nl.style == "text" else _html(subject, paragraphs, lang=brand.lang)

    trace: list[tuple[str, str]] = [("DKIM-Signature", ctx.dkim(brand.domain, when, "mail"))]
    esp = ESPS.get(nl.esp or "")
    if esp is not None:
        bounce = esp.return_path.format(t=ctx.token(20), n=ctx.rng.randrange(10, 250))
        trace.insert(0, ("Return-Path", f"<{bounce}>"))
        trace.append(("DKIM-Signature", ctx.dkim(esp.dkim_domain, when, "k1")))
    else:
        trace.insert(0, ("Return-Path", f"<bounce-{ctx.token(10)}@bounce.{brand.domain}>"))
    mail = _Mail(
        when=when,
        key=brand.key,
        sender=_address(brand.name, nl.sender),
        to=_owner(when, brand.own_domain),
        subject=subject,
        msgid=ctx.msgid(when, nl.sender.split("@", 1)[1]),
        text=text,
        html=html_body,
        trace=trace,
    )
    if esp is not None and esp.sender:
        mail.headers.append(("Sender", _address(brand.name, bounce.replace("bounce-mc.", ""))))
    if nl.reply_to:
        mail.headers.append(("Reply-To", _address(brand.name, nl.reply_to)))
    mail.headers += [
        ("List-Unsubscribe", f"<mailto:unsubscribe-{token}@{list_host}>, <{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("List-Id", f"{_encode_words(brand.name)} <{nl.brand}.nieuwsbrief.{brand.domain}>"),
        ("Precedence", "bulk"),
    ]
    return mail


def _newsletters(ctx: _Ctx, nl: Newsletter) -> Iterator[list[_Mail]]:
    """Every issue of ``nl``: a few a week on weekdays, more in its busy season."""
    for monday in _weeks(DEMO_START, DEMO_ANCHOR):
        if monday < nl.since:
            continue
        rate = nl.per_week * nl.season[monday.month - 1]
        days = sorted(ctx.rng.sample(range(7), k=min(7, _count(ctx, rate))))
        for offset in days:
            when = ctx.at(monday + timedelta(days=offset), nl.hour, 2)
            yield [_newsletter_mail(ctx, nl, when)]


def _periodic(ctx: _Ctx, item: Periodic) -> Iterator[list[_Mail]]:
    """Every bill or letter of ``item``, on about the same day each month."""
    brand = _BRAND[item.brand]
    start = max(item.since, DEMO_START.date())
    for year, month in _months(start, min(item.until, DEMO_ANCHOR.date())):
        if month not in item.months:
            continue
        day = date(year, month, min(28, max(1, item.day + ctx.rng.randrange(-1, 2))))
        when = ctx.at(day, 6, 3)
        amount = item.amount[0] + (item.amount[1] - item.amount[0]) * ctx.rng.random()
        previous = (year, month - 1) if month > 1 else (year - 1, 12)
        period_month = month if item.months != tuple(range(1, 13)) else previous[1]
        values = {
            "maand": _MAANDEN[period_month - 1],
            "mm": f"{period_month:02d}",
            "jaar": previous[0] if item.months == tuple(range(1, 13)) else year,
            "volgend_jaar": year + 1,
            "bedrag": _money(amount),
            "punten": ctx.rng.randrange(20, 90),
        }
        subject = item.subject.format(**values)
        body = item.text.format(**values)
        number = f"{year}{month:02d}{ctx.digits(6)}"
        salutation = "Hi" if brand.lang == "en" else "Beste"
        closing = "Kind regards" if brand.lang == "en" else "Met vriendelijke groet"
        text = (
            f"{salutation} {DEMO_OWNER.name},\n\n{body}\n\nKenmerk: {number}\n\n"
            f"{closing},\n{brand.name}\n"
        )
        mail = _brand_mail(ctx, brand, when, subject, text)
        if item.pdf:
            name = item.pdf.format(**values)
            mail.attachment = (
                name,
                _tiny_pdf(
                    f"{brand.name} {subject}", [DEMO_OWNER.name, body[:90], f"Kenmerk {number}"]
                ),
            )
        yield [mail]


def _notices(ctx: _Ctx) -> Iterator[list[_Mail]]:
    """Account notices, at random moments."""
    for monday in _weeks(DEMO_START, DEMO_ANCHOR):
        for notice in NOTICES:
            if ctx.rng.random() < notice.per_year / 52:
                brand = _BRAND[notice.brand]
                when = ctx.at(monday + timedelta(days=ctx.rng.randrange(7)), 8, 13)
                text = f"Beste {DEMO_OWNER.first_name},\n\n{notice.text}\n\nGroet,\n{brand.name}\n"
                yield [_brand_mail(ctx, brand, when, notice.subject, text)]


# --------------------------------------------------------------------------------------------
# Trips: flights, trains, stays
# --------------------------------------------------------------------------------------------


def _person_ld() -> dict[str, str]:
    return {"@type": "Person", "name": DEMO_OWNER.name, "email": DEMO_OWNER.email}


def _status(cancelled: bool) -> str:
    return f"https://schema.org/Reservation{'Cancelled' if cancelled else 'Confirmed'}"


def _flight_legs(trip: Trip, shift: int = 0) -> list[tuple[str, str, str, datetime, datetime]]:
    """(flight number, from code, to code, departure, arrival) out and back; ``shift`` minutes
    moves the outbound departure (a schedule change)."""
    airport = AIRPORTS[trip.to]
    dest_tz = ZoneInfo(airport.tz)
    number, hour, minute = airport.out
    dep = datetime(trip.depart.year, trip.depart.month, trip.depart.day, hour, minute, tzinfo=AMS)
    dep += timedelta(minutes=shift)
    legs = [
        (
            number,
            _SCHIPHOL[0],
            airport.code,
            dep,
            (dep + timedelta(minutes=airport.minutes)).astimezone(dest_tz),
        )
    ]
    back_day = trip.depart + timedelta(days=trip.nights)
    number, hour, minute = airport.back
    dep = datetime(back_day.year, back_day.month, back_day.day, hour, minute, tzinfo=dest_tz)
    legs.append(
        (
            number,
            airport.code,
            _SCHIPHOL[0],
            dep,
            (dep + timedelta(minutes=airport.minutes)).astimezone(AMS),
        )
    )
    return legs


def _flight_mail(
    ctx: _Ctx,
    trip: Trip,
    when: datetime,
    pnr: str,
    price: float,
    *,
    cancelled: bool = False,
    shift: int = 0,
) -> _Mail:
    """A flight confirmation, change or cancellation with FlightReservation JSON-LD."""
    brand = _BRAND[trip.via]
    airport = AIRPORTS[trip.to]
    names = {_SCHIPHOL[0]: _SCHIPHOL[1], airport.code: airport.name}
    iata = _AIRLINE_CODES[trip.via]
    legs = _flight_legs(trip, shift)
    if cancelled:
        subject = f"Je boeking {pnr} is geannuleerd"
        intro = f"Je vluchten naar {airport.city} zijn geannuleerd. Je krijgt je geld terug."
    elif shift:
        subject = f"Gewijzigde vluchttijd voor je reis naar {airport.city}"
        old = _flight_legs(trip)[0][3]
        intro = (
            f"De vertrektijd van je heenvlucht is gewijzigd van {old:%H:%M} naar "
            f"{legs[0][3]:%H:%M}. Je boekingscode blijft hetzelfde."
        )
    elif trip.via == "transavia":
        subject = f"Bevestiging: je reis naar {airport.city}"
        intro = f"Goed nieuws, je vlucht naar {airport.city} is geboekt!"
    else:
        subject = f"Je boekingsbevestiging {pnr}: Amsterdam – {airport.city}"
        intro = "Bedankt voor je boeking bij KLM. Hieronder vind je je reisgegevens."
    facts = [f"Boekingscode: {pnr}", f"Passagier: {DEMO_OWNER.name}"]
    data = []
    for number, origin, dest, dep, arr in legs:
        facts.append(
            f"{iata}{number} {origin} {dep:%d-%m-%Y %H:%M} → {dest} {arr:%H:%M} (lokale tijd)"
        )
        data.append(
            {
                "@context": "https://schema.org",
                "@type": "FlightReservation",
                "reservationNumber": pnr,
                "reservationStatus": _status(cancelled),
                "underName": _person_ld(),
                "reservationFor": {
                    "@type": "Flight",
                    "flightNumber": number,
                    "airline": {"@type": "Airline", "iataCode": iata, "name": brand.name},
                    "departureAirport": {
                        "@type": "Airport",
                        "iataCode": origin,
                        "name": names[origin],
                    },
                    "arrivalAirport": {"@type": "Airport", "iataCode": dest, "name": names[dest]},
                    "departureTime": _iso(dep),
                    "arrivalTime": _iso(arr),
                },
                "modifiedTime": _iso(when),
            }
        )
    if not cancelled:
        facts.append(f"Totaalprijs: € {_money(price)}")
        data[0]["totalPrice"] = f"{price:.2f}"
        data[0]["priceCurrency"] = "EUR"
    paragraphs = [
        f"Beste {DEMO_OWNER.name},",
        intro,
        *facts,
        f"Met vriendelijke groet, {brand.name}",
    ]
    return _brand_mail(
        ctx, brand, when, subject, "\n\n".join(paragraphs) + "\n", _html(subject, paragraphs, data)
    )


def _train_mail(ctx: _Ctx, trip: Trip, when: datetime, ref: str, price: float) -> _Mail:
    """An international train ticket from NS with TrainReservation JSON-LD and a PDF e-ticket."""
    brand = _BRAND["ns"]
    station = STATIONS[trip.to]
    back_day = trip.depart + timedelta(days=trip.nights)
    legs = []
    for day, (train, hour, minute), origin, dest in (
        (trip.depart, station.out, _AMSTERDAM_CS, station.name),
        (back_day, station.back, station.name, _AMSTERDAM_CS),
    ):
        dep = datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMS)
        seat = f"{ctx.rng.randrange(11, 28)}"
        coach = f"{ctx.rng.randrange(1, 9)}"
        arr = dep + timedelta(minutes=station.minutes)
        legs.append((train, origin, dest, dep, arr, coach, seat))
    subject = f"Je tickets voor {station.city}"
    facts = [f"Boekingsnummer: {ref}", f"Reiziger: {DEMO_OWNER.name}"]
    data = []
    for train, origin, dest, dep, arr, coach, seat in legs:
        facts.append(
            f"{train}: {origin} {dep:%d-%m-%Y %H:%M} → {dest} {arr:%H:%M}, "
            f"rijtuig {coach}, stoel {seat}"
        )
        data.append(
            {
                "@context": "https://schema.org",
                "@type": "TrainReservation",
                "reservationNumber": ref,
                "reservationStatus": _status(False),
                "underName": _person_ld(),
                "reservedTicket": {
                    "@type": "Ticket",
                    "ticketedSeat": {"@type": "Seat", "seatSection": coach, "seatNumber": seat},
                },
                "reservationFor": {
                    "@type": "TrainTrip",
                    "trainNumber": train,
                    "departureStation": {"@type": "TrainStation", "name": origin},
                    "arrivalStation": {"@type": "TrainStation", "name": dest},
                    "departureTime": _iso(dep),
                    "arrivalTime": _iso(arr),
                },
            }
        )
    facts.append(f"Totaalprijs: € {_money(price)}")
    data[0]["totalPrice"] = f"{price:.2f}"
    data[0]["priceCurrency"] = "EUR"
    paragraphs = [
        f"Beste {DEMO_OWNER.name},",
        "Bedankt voor je boeking. Je e-ticket zit in de bijlage.",
        *facts,
        "Goede reis! NS International",
    ]
    mail = _brand_mail(
        ctx, brand, when, subject, "\n\n".join(paragraphs) + "\n", _html(subject, paragraphs, data)
    )
    mail.attachment = (f"e-ticket-{ref}.pdf", _tiny_pdf(f"E-ticket {ref}", facts[1:4]))
    return mail


def _stay_mail(
    ctx: _Ctx, trip: Trip, when: datetime, ref: str, price: float, *, cancelled: bool = False
) -> _Mail:
    """A lodging confirmation or cancellation with LodgingReservation JSON-LD."""
    brand = _BRAND[trip.stay]
    city = _city(trip)
    name, street, locality, country = _STAYS[city]
    checkin = datetime(trip.depart.year, trip.depart.month, trip.depart.day, 15, tzinfo=AMS)
    checkout = checkin + timedelta(days=trip.nights, hours=-4)
    english = brand.lang == "en"
    if cancelled:
        subject = f"Your booking at {name} is cancelled" if english else f"Annulering {name}"
        intro = "Your booking has been cancelled free of charge."
    elif english:
        subject = (
            f"Reservation confirmed – {city}"
            if trip.stay == "airbnb"
            else f"Your booking is confirmed at {name}"
        )
        intro = f"You're all set for {city}."
    else:
        subject = f"Bevestiging van uw reservering – {name}"
        intro = "Wij heten u van harte welkom."
    label = "Confirmation number" if english else "Reserveringsnummer"
    facts = [
        f"{label}: {ref}",
        f"{name}, {street}, {locality}",
        f"Check-in: {checkin:%d-%m-%Y} from 15:00",
        f"Check-out: {checkout:%d-%m-%Y} until 11:00",
        f"Total: € {_money(price)}",
    ]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LodgingReservation",
        "reservationNumber": ref,
        "reservationStatus": _status(cancelled),
        "underName": _person_ld(),
        "reservationFor": {
            "@type": "LodgingBusiness",
            "name": name,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": street,
                "addressLocality": locality,
                "addressCountry": country,
            },
        },
        "checkinTime": _iso(checkin),
        "checkoutTime": _iso(checkout),
        "totalPrice": f"{price:.2f}",
        "priceCurrency": "EUR",
        "modifiedTime": _iso(when),
    }
    paragraphs = [
        f"Hi {DEMO_OWNER.first_name}," if english else f"Beste {DEMO_OWNER.name},",
        intro,
        *facts,
        brand.name,
    ]
    # Van der Valk confirmations come from the hotel itself, its newsletters from the chain.
    sender_name = name if trip.stay == "valk" else None
    return _brand_mail(
        ctx,
        brand,
        when,
        subject,
        "\n\n".join(paragraphs) + "\n",
        _html(subject, paragraphs, data, brand.lang),
        name=sender_name,
    )


def _city(trip: Trip) -> str:
    """The trip's destination city (the key into _STAYS)."""
    if trip.via in ("klm", "transavia"):
        return AIRPORTS[trip.to].city
    if trip.via == "ns":
        return STATIONS[trip.to].city
    return trip.to


def _reminder(ctx: _Ctx, brand: Brand, when: datetime, subject: str, line: str) -> _Mail:
    """A short before/after-trip mail (check-in, review request)."""
    english = brand.lang == "en"
    greeting = f"Hi {DEMO_OWNER.first_name}," if english else f"Beste {DEMO_OWNER.first_name},"
    return _brand_mail(ctx, brand, when, subject, f"{greeting}\n\n{line}\n\n{brand.name}\n")


def _trip(ctx: _Ctx, trip: Trip) -> list[_Mail]:
    """Every mail of one trip: bookings, a change or cancellation, reminders, a review request."""
    mails: list[_Mail] = []
    booked = ctx.at(trip.booked, 19, 3)
    cancelled_at = (
        ctx.at(trip.event_on, 10, 6) if trip.event == "cancelled" and trip.event_on else None
    )
    city = _city(trip)
    if trip.via in ("klm", "transavia"):
        pnr = ctx.code(6)
        price = ctx.rng.randrange(140, 460) + 0.0
        mails.append(_flight_mail(ctx, trip, booked, pnr, price))
        shift = 0
        if trip.event == "changed" and trip.event_on:
            shift = 95
            mails.append(_flight_mail(ctx, trip, ctx.at(trip.event_on, 9, 4), pnr, price, shift=95))
        if cancelled_at:
            mails.append(_flight_mail(ctx, trip, cancelled_at, pnr, price, cancelled=True))
            mails.append(
                _reminder(
                    ctx,
                    _BRAND[trip.via],
                    cancelled_at + timedelta(days=16),
                    f"Terugbetaling voor boeking {pnr}",
                    f"We hebben € {_money(price)} teruggestort op je rekening.",
                )
            )
        else:
            dep = _flight_legs(trip, shift)[0][3]
            mails.append(
                _reminder(
                    ctx,
                    _BRAND[trip.via],
                    dep - timedelta(hours=30),
                    f"Check nu in voor je vlucht naar {city}",
                    f"Online inchecken voor {pnr} kan vanaf nu.",
                )
            )
    elif trip.via == "ns":
        mails.append(
            _train_mail(ctx, trip, booked, f"NSI{ctx.digits(8)}", ctx.rng.randrange(70, 240) + 0.0)
        )
    stay_ref = {
        "booking": ctx.digits(10),
        "airbnb": "HM" + ctx.code(8),
        "valk": "VDV-" + ctx.digits(7),
    }[trip.stay]
    stay_price = trip.nights * ctx.rng.randrange(85, 190) + 0.0
    stay_booked = booked + timedelta(minutes=ctx.rng.randrange(8, 50))
    mails.append(_stay_mail(ctx, trip, stay_booked, stay_ref, stay_price))
    stay = _BRAND[trip.stay]
    arrive = ctx.at(trip.depart - timedelta(days=5), 9, 3)
    home = ctx.at(trip.depart + timedelta(days=trip.nights + 1), 10, 6)
    if cancelled_at:
        mails.append(
            _stay_mail(
                ctx,
                trip,
                cancelled_at + timedelta(minutes=25),
                stay_ref,
                stay_price,
                cancelled=True,
            )
        )
    elif stay.lang == "en":
        mails.append(
            _reminder(
                ctx,
                stay,
                arrive,
                f"Your trip to {city} is coming up",
                f"Check-in details for booking {stay_ref} are ready.",
            )
        )
        mails.append(
            _reminder(
                ctx,
                stay,
                home,
                f"How was your stay in {city}?",
                "Leave a review and help other travellers.",
            )
        )
    else:
        mails.append(
            _reminder(
                ctx,
                stay,
                home,
                f"Bedankt voor uw verblijf in {city}",
                "Wij horen graag hoe u uw verblijf heeft ervaren.",
            )
        )
    return mails


def _trips(ctx: _Ctx) -> Iterator[list[_Mail]]:
    """All trips, in the order they were booked."""
    for trip in sorted(TRIPS, key=lambda t: t.booked):
        yield _trip(ctx, trip)


# --------------------------------------------------------------------------------------------
# Orders, parcels and the complaint about a washing machine
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parcel:
    """A parcel the PostNL Telegram bot reports on as well."""

    shipped: datetime
    delivered: datetime
    tracking: str
    shop: str


def _order_mail(
    ctx: _Ctx,
    brand: Brand,
    when: datetime,
    number: str,
    items: Sequence[tuple[str, float]],
    subject: str = "",
    extra: Sequence[str] = (),
) -> _Mail:
    """An order confirmation with Order JSON-LD."""
    total = sum(price for _, price in items)
    subject = subject or f"Bedankt voor je bestelling {number}"
    facts = [
        f"Bestelnummer: {number}",
        *(f"1 × {name} – € {_money(p)}" for name, p in items),
        f"Totaal: € {_money(total)}",
        *extra,
    ]
    data = {
        "@context": "https://schema.org",
        "@type": "Order",
        "merchant": {"@type": "Organization", "name": brand.name},
        "orderNumber": number,
        "orderStatus": "https://schema.org/OrderProcessing",
        "orderDate": _iso(when),
        "price": f"{total:.2f}",
        "priceCurrency": "EUR",
        "customer": _person_ld(),
        "acceptedOffer": [
            {
                "@type": "Offer",
                "itemOffered": {"@type": "Product", "name": name},
                "price": f"{price:.2f}",
                "priceCurrency": "EUR",
                "eligibleQuantity": {"@type": "QuantitativeValue", "value": 1},
            }
            for name, price in items
        ],
    }
    paragraphs = [
        f"Hoi {DEMO_OWNER.first_name},",
        "We hebben je bestelling ontvangen.",
        *facts,
        f"Groet, {brand.name}",
    ]
    return _brand_mail(
        ctx, brand, when, subject, "\n\n".join(paragraphs) + "\n", _html(subject, paragraphs, data)
    )


def _parcel_data(
    shop: Brand,
    number: str,
    tracking: str,
    items: Sequence[tuple[str, float]],
    window: tuple[datetime, datetime] | None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ParcelDelivery",
        "carrier": {"@type": "Organization", "name": "PostNL"},
        "trackingNumber": tracking,
        "trackingUrl": f"https://jouw.postnl.nl/track-and-trace/{tracking}-NL-3512AB",
        "itemShipped": [{"@type": "Product", "name": name} for name, _ in items],
        "partOfOrder": {
            "@type": "Order",
            "orderNumber": number,
            "merchant": {"@type": "Organization", "name": shop.name},
        },
    }
    if window:
        data["expectedArrivalFrom"] = _iso(window[0])
        data["expectedArrivalUntil"] = _iso(window[1])
    return data


def _order(ctx: _Ctx, shop: Shop, day: date, parcels: list[_Parcel]) -> list[_Mail]:
    """One order: confirmation, shipping, PostNL's day-of-delivery and delivered mails, review."""
    brand = _BRAND[shop.brand]
    postnl = _BRAND["postnl"]
    when = ctx.at(day, 8, 14)
    items = ctx.rng.sample(shop.products, k=1 + (ctx.rng.random() < 0.3))
    number = shop.order_prefix + ctx.digits(10 - len(shop.order_prefix))
    mails = [_order_mail(ctx, brand, when, number, items)]
    tracking = "3S" + ctx.code(4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + ctx.digits(9)
    shipped = when + timedelta(hours=ctx.rng.randrange(3, 26))
    delivery_day = (shipped + timedelta(days=1)).date()
    window_start = datetime(
        delivery_day.year,
        delivery_day.month,
        delivery_day.day,
        ctx.rng.randrange(9, 18),
        15 * ctx.rng.randrange(4),
        tzinfo=AMS,
    )
    window = (window_start, window_start + timedelta(hours=2, minutes=30))
    names = ", ".join(name for name, _ in items)
    ship_text = [
        f"Hoi {DEMO_OWNER.first_name},",
        f"Je bestelling {number} is onderweg met PostNL.",
        f"Track & trace: {tracking}",
        names,
    ]
    subject = f"Je bestelling {number} is onderweg"
    mails.append(
        _brand_mail(
            ctx,
            brand,
            shipped,
            subject,
            "\n\n".join(ship_text) + "\n",
            _html(subject, ship_text, _parcel_data(brand, number, tracking, items, None)),
        )
    )
    today = ctx.at(delivery_day, 7, 1)
    slot = f"{window[0]:%H:%M} en {window[1]:%H:%M}"
    lines = [
        f"Hoi {DEMO_OWNER.first_name},",
        f"Je pakket van {brand.name} wordt vandaag bezorgd tussen {slot}.",
        f"Zendingnummer: {tracking}",
    ]
    subject = f"Je pakket van {brand.name} komt vandaag"
    mails.append(
        _brand_mail(
            ctx,
            postnl,
            today,
            subject,
            "\n\n".join(lines) + "\n",
            _html(subject, lines, _parcel_data(brand, number, tracking, items, window)),
        )
    )
    delivered = window[0] + timedelta(minutes=ctx.rng.randrange(5, 145))
    mails.append(
        _reminder(
            ctx,
            postnl,
            delivered,
            "Je pakket is bezorgd",
            f"Je pakket {tracking} van {brand.name} is bezorgd.",
        )
    )
    parcels.append(_Parcel(shipped, delivered, tracking, brand.name))
    if ctx.rng.random() < 0.4:
        mails.append(
            _reminder(
                ctx,
                brand,
                ctx.at(day + timedelta(days=9), 10, 8),
                f"Wat vind je van {items[0][0]}?",
                "Schrijf een review en help andere klanten kiezen.",
            )
        )
    if shop.brand == "zalando" and ctx.rng.random() < 0.35:
        mails.append(
            _reminder(
                ctx,
                brand,
                ctx.at(day + timedelta(days=12), 11, 6),
                "We hebben je retour ontvangen",
                f"Je terugbetaling van € {_money(items[0][1])} is onderweg.",
            )
        )
    return mails


def _takeaway(ctx: _Ctx, day: date) -> list[_Mail]:
    """A Thuisbezorgd order on a Friday or Saturday night."""
    brand = _BRAND["thuisbezorgd"]
    restaurant, dish, price = _RESTAURANTS[ctx.rng.randrange(len(_RESTAURANTS))]
    when = ctx.at(day, 18, 2)
    eta = when + timedelta(minutes=ctx.rng.randrange(30, 55))
    return [
        _order_mail(
            ctx,
            brand,
            when,
            ctx.code(6),
            [(f"{dish} ({restaurant})", price)],
            f"Bedankt voor je bestelling bij {restaurant}",
            [f"Verwachte bezorgtijd: {eta:%H:%M}"],
        )
    ]


_WASHER: Final = ("AEG L7FE86ES wasmachine", 749.00)


def _washing_machine(ctx: _Ctx) -> list[_Mail]:
    """Coolblue: the washing machine order, and the complaint thread when it leaks.

    Eight mails in one References chain: the owner's complaint, the auto-reply with a case
    number, a question, photos, an engineer's visit, the no-show, the replacement, thanks.
    """
    coolblue = _BRAND["coolblue"]
    order_day = date(2024, 2, 10)
    number = "9" + ctx.digits(9)
    mails = [_order_mail(ctx, coolblue, ctx.at(order_day, 20, 1), number, [_WASHER])]
    mails.append(
        _reminder(
            ctx,
            coolblue,
            ctx.at(date(2024, 2, 12), 17, 1),
            "We bezorgen je bestelling op dinsdag 13 februari",
            "Onze bezorgers komen tussen 10:00 en 13:00 en sluiten hem meteen aan.",
        )
    )
    case = f"CB-{ctx.digits(8)}"
    subject = f"Wasmachine lekt – bestelling {number}"
    support = _address("Coolblue Klantenservice", "klantenservice@coolblue.nl")
    steps = (
        (
            "out",
            date(2025, 1, 13),
            8,
            subject,
            f"Beste Coolblue,\n\nMijn wasmachine ({_WASHER[0]}, bestelling {number}) lekt sinds "
            "gisteren water aan de onderkant. Kunnen jullie een monteur sturen?",
        ),
        (
            "in",
            date(2025, 1, 13),
            8,
            f"Re: {subject} [{case}]",
            f"Bedankt voor je mail. We hebben je vraag ontvangen onder zaaknummer {case}. "
            "We reageren binnen 1 werkdag.",
        ),
        (
            "in",
            date(2025, 1, 14),
            11,
            f"Re: {subject} [{case}]",
            "Vervelend dat je wasmachine lekt! Kun je een foto sturen van de onderkant "
            "en van het typeplaatje?",
        ),
        (
            "out",
            date(2025, 1, 14),
            19,
            f"Re: {subject} [{case}]",
            "Hierbij de foto's. Het water komt volgens mij uit de pomp.",
        ),
        (
            "in",
            date(2025, 1, 16),
            10,
            f"Re: {subject} [{case}]",
            "Een monteur komt op dinsdag 21 januari tussen 8:00 en 12:00.",
        ),
        (
            "out",
            date(2025, 1, 21),
            13,
            f"Re: {subject} [{case}]",
            "De monteur is vanochtend niet gekomen. Ik heb er een halve dag vrij voor genomen.",
        ),
        (
            "in",
            date(2025, 1, 22),
            9,
            f"Re: {subject} [{case}]",
            "Onze excuses. We vervangen je wasmachine: de nieuwe bezorgen we vrijdag 24 januari.",
        ),
        (
            "out",
            date(2025, 1, 24),
            16,
            f"Re: {subject} [{case}]",
            "Dank jullie wel, de nieuwe wasmachine staat er en werkt prima.",
        ),
    )
    chain: list[str] = []
    last = DEMO_START
    for direction, day, hour, subj, text in steps:
        # An auto-reply may come within the same hour: keep the thread in order.
        when = max(ctx.at(day, hour, 1), last + timedelta(seconds=ctx.rng.randrange(40, 160)))
        last = when
        if direction == "out":
            mail = _Mail(
                when=when,
                key=coolblue.key,
                sender=_owner(when, modern=True),
                to=support,
                subject=subj,
                msgid=ctx.msgid(when, _owner_host(when)),
                text=f"{text}\n\nGroet,\n{DEMO_OWNER.name}\n",
            )
        else:
            signed = f"Hoi {DEMO_OWNER.first_name},\n\n{text}\n\nGroet,\nFemke van Coolblue\n"
            mail = _brand_mail(
                ctx,
                coolblue,
                when,
                subj,
                signed,
                sender="klantenservice@coolblue.nl",
                name="Coolblue Klantenservice",
            )
        if chain:
            mail.headers += [("In-Reply-To", chain[-1]), ("References", " ".join(chain))]
        chain.append(mail.msgid)
        mails.append(mail)
    return mails


def _orders(ctx: _Ctx, parcels: list[_Parcel]) -> Iterator[list[_Mail]]:
    """Web-shop and take-away orders, week by week, busier before Sinterklaas and Christmas."""
    washer_week = date(2024, 2, 5)
    for monday in _weeks(DEMO_START, DEMO_ANCHOR - timedelta(days=4)):
        for shop in SHOPS:
            for _ in range(_count(ctx, shop.orders_per_year / 52 * _SHOP_SEASON[monday.month - 1])):
                yield _order(ctx, shop, monday + timedelta(days=ctx.rng.randrange(7)), parcels)
        if ctx.rng.random() < 0.45:
            yield _takeaway(ctx, monday + timedelta(days=4 + ctx.rng.randrange(2)))
        if monday == washer_week:
            yield _washing_machine(ctx)


def _service_questions(ctx: _Ctx) -> Iterator[list[_Mail]]:
    """The owner's questions to companies and their answers, each a two-mail thread."""
    for q in SERVICE_QUESTIONS:
        brand = _BRAND[q.brand]
        asked = ctx.at(q.on, 20, 2)
        out = _Mail(
            when=asked,
            key=brand.key,
            sender=_owner(asked, modern=True),
            to=_address(f"Klantenservice {brand.name}", q.to),
            subject=q.subject,
            msgid=ctx.msgid(asked, _owner_host(asked)),
            text=f"Goedemiddag,\n\n{q.question}\n\nMet vriendelijke groet,\n{DEMO_OWNER.name}\n",
        )
        answered = asked + timedelta(days=1 + ctx.rng.randrange(3), hours=ctx.rng.randrange(-6, 6))
        reply = _brand_mail(
            ctx,
            brand,
            answered,
            f"Re: {q.subject}",
            f"Beste {DEMO_OWNER.name},\n\n{q.answer}\n\nMet vriendelijke groet,\n"
            f"Klantenservice {brand.name}\n",
            sender=q.to,
        )
        reply.headers += [("In-Reply-To", out.msgid), ("References", out.msgid)]
        yield [out, reply]


# --------------------------------------------------------------------------------------------
# Friends and family
# --------------------------------------------------------------------------------------------

_TOPICS_NL: Final = (
    ("Foto's van zaterdag", "Hier zijn de foto's van zaterdag! Wat een mooie dag was het."),
    ("Verjaardag mama 🎂", "Zullen we samen een cadeau voor mama regelen? Misschien een fietstas."),
    ("Weekendje weg?", "Zin om in het voorjaar een weekend naar Texel te gaan?"),
    ("Boekentip", "Ik heb net 'Het smelt' uit, echt een aanrader. Wil je het lenen?"),
    ("Etentje", "Heb je volgende week tijd om te eten? Donderdag of vrijdag kan ik."),
    ("Kerst", "Wie neemt wat mee voor het kerstdiner dit jaar?"),
    ("Verhuizing", "Kun je zaterdag helpen met dozen sjouwen? Pizza en bier na afloop!"),
    ("Recept", "Hierbij het recept van de lasagne waar je naar vroeg."),
)
_TOPICS_EN: Final = (
    ("Dublin in May?", "We're thinking of visiting in May. Would that work for you?"),
    ("Photos from the weekend", "Finally sorted the photos from your visit, link below."),
    ("Long time no see", "How are things in Dublin? Still enjoying the new job?"),
    ("Book recommendation", "You have to read 'Tomorrow, and Tomorrow, and Tomorrow'."),
    ("Happy birthday!", "Happy birthday! Hope you have a great day, drinks on me next time."),
)
_REPLIES_NL: Final = (
    "Leuk, doen we!",
    "Goed idee, ik laat het je morgen weten.",
    "Haha, top. Tot dan!",
    "Dank je wel! ❤️",
    "Klinkt goed, ik ben erbij.",
)
_REPLIES_EN: Final = (
    "Sounds great, let's do it!",
    "Thanks so much!",
    "Love it, see you soon.",
    "Perfect, I'll check my calendar.",
    "Ha, brilliant. Cheers!",
)


def _person_thread(ctx: _Ctx, person: Person, start: datetime) -> list[_Mail]:
    """A short back-and-forth: one opening mail and one to three replies, quoting the last."""
    english = person.lang == "en"
    subject, opening = ctx.rng.choice(_TOPICS_EN if english else _TOPICS_NL)
    replies = _REPLIES_EN if english else _REPLIES_NL
    they_start = ctx.rng.random() < 0.55
    mails: list[_Mail] = []
    chain: list[str] = []
    when = start
    previous, previous_at = "", start
    first_name = person.name.split()[0]
    for turn in range(1 + ctx.rng.randrange(4)):
        from_them = (turn % 2 == 0) == they_start
        text = opening if turn == 0 else ctx.pick(replies)
        to_name, sign = (
            (DEMO_OWNER.first_name, first_name)
            if from_them
            else (first_name, DEMO_OWNER.first_name)
        )
        body = f"{'Hi' if english else 'Hoi'} {to_name},\n\n{text}\n\n{sign}\n"
        if previous:
            quoted = DEMO_OWNER.name if from_them else person.name
            stamp = f"{previous_at:%d-%m-%Y %H:%M}"
            body += (
                f"\nOn {stamp} {quoted} wrote:\n"
                if english
                else f"\nOp {stamp} schreef {quoted}:\n"
            )
            body += "".join(f"> {line}\n" for line in previous.splitlines())
        them = _address(person.name, person.email)
        host = person.email.split("@", 1)[1]
        mail = _Mail(
            when=when,
            key=person.key,
            sender=them if from_them else _owner(when, modern=True),
            to=_owner(when, modern=True) if from_them else them,
            subject=subject if turn == 0 else f"Re: {subject}",
            msgid=ctx.msgid(when, host if from_them else _owner_host(when)),
            text=body,
        )
        if chain:
            mail.headers += [("In-Reply-To", chain[-1]), ("References", " ".join(chain))]
        chain.append(mail.msgid)
        mails.append(mail)
        previous, previous_at = body, when
        when += timedelta(hours=ctx.rng.randrange(1, 30), minutes=ctx.rng.randrange(60))
    return mails


def _persons(ctx: _Ctx) -> Iterator[list[_Mail]]:
    """Mail threads with friends and family, at random over the years."""
    for monday in _weeks(DEMO_START, DEMO_ANCHOR - timedelta(days=5)):
        for person in PERSONS:
            if ctx.rng.random() < person.threads_per_year / 52:
                start = ctx.at(monday + timedelta(days=ctx.rng.randrange(7)), 8, 14)
                yield _person_thread(ctx, person, start)


# --------------------------------------------------------------------------------------------
# Telegram Desktop export
# --------------------------------------------------------------------------------------------

_TG_ABOUT: Final = (
    "Here is the data you requested. Remember: Telegram is ad free, it doesn't "
    "use your data for ad targeting and doesn't sell it to others."
)
_NOT_INCLUDED: Final = "(File not included. Change data exporting settings to download.)"

_CHAT_SCRIPTS_NL: Final = (
    (
        ("them", "Zin in koffie {dag}?"),
        ("me", "Ja leuk! Hoe laat?"),
        ("them", "11 uur bij {plek}?"),
        ("me", "Top, tot dan 👍"),
    ),
    (
        ("me", "Heb je de nieuwe aflevering al gezien?"),
        ("them", "Ja!! Dat einde 😱"),
        ("me", "Niet spoilen, ik ben bij de helft"),
    ),
    (
        ("them", "Ben je al thuis?"),
        ("me", "Net binnen, trein had weer vertraging"),
        ("them", "Balen. Morgen bellen?"),
        ("me", "Is goed"),
    ),
    (("them", "PHOTO"), ("them", "Kijk wat ik vond op de markt"), ("me", "Haha geweldig")),
    (
        ("me", "Hoe was je sollicitatiegesprek?"),
        ("them", "Ging goed denk ik! Vrijdag hoor ik meer"),
        ("me", "Duimen 🤞"),
    ),
    (
        ("them", "Wil je {dag} mee naar de film?"),
        ("me", "Welke?"),
        ("them", "Die nieuwe van Villeneuve"),
        ("me", "Ja! Ik boek kaartjes"),
    ),
)
_CHAT_SCRIPTS_EN: Final = (
    (
        ("them", "Are you around this weekend for a call?"),
        ("me", "Sure, Sunday afternoon?"),
        ("them", "Perfect 👍"),
    ),
    (
        ("me", "Just landed in Dublin!"),
        ("them", "Welcome! See you at the pub at 8"),
        ("me", "Deal"),
    ),
    (("them", "PHOTO"), ("them", "Guess where I am"), ("me", "Lucky you! Enjoy")),
    (
        ("them", "Did you see the match?"),
        ("me", "No, was it any good?"),
        ("them", "Brilliant second half"),
    ),
)
_FAMILY_SCRIPTS: Final = (
    (
        ("mama", "Zondag eten bij ons? Om 17:00"),
        ("daan", "Ik ben erbij"),
        ("me", "Wij ook!"),
        ("papa", "Ik maak stamppot"),
    ),
    (("papa", "PHOTO"), ("papa", "De tomaten doen het goed dit jaar"), ("mama", "Trots 😄")),
    (
        ("me", "Wie heeft er ideeën voor een cadeau voor opa?"),
        ("daan", "Een puzzelboek?"),
        ("mama", "Hij wil een nieuwe leesbril"),
        ("me", "Goed plan"),
    ),
    (
        ("daan", "Is er iemand die zaterdag een aanhanger heeft?"),
        ("papa", "Die van de buren, ik vraag het"),
        ("daan", "Top, dank je"),
    ),
    (
        ("mama", "Denken jullie aan de verjaardag van tante Els volgende week?"),
        ("me", "Staat in mijn agenda"),
        ("daan", "Oeps, nu wel 😅"),
    ),
)
_FILL_DAYS: Final = ("zaterdag", "zondag", "morgen", "vrijdag")
_FILL_PLACES: Final = ("de markt", "het Ledig Erf", "de Neude", "het station")
_NS_ROUTES: Final = (
    ("Utrecht Centraal", "Amsterdam Centraal"),
    ("Utrecht Centraal", "Schiphol Airport"),
    ("Den Haag Centraal", "Rotterdam Centraal"),
    ("Amersfoort Centraal", "Zwolle"),
    ("Utrecht Centraal", "Arnhem Centraal"),
    ("Leiden Centraal", "Schiphol Airport"),
)
_NS_CAUSES: Final = (
    "een seinstoring",
    "een defecte trein",
    "een aanrijding",
    "werkzaamheden",
    "een wisselstoring",
    "een stroomstoring",
)


class _ChatLog:
    """The messages of one Telegram chat, with ids in order."""

    def __init__(self, first_id: int) -> None:
        self.messages: list[dict[str, Any]] = []
        self.next_id = first_id

    def _base(self, kind: str, when: datetime) -> dict[str, Any]:
        local = when.astimezone(AMS)
        message: dict[str, Any] = {
            "id": self.next_id,
            "type": kind,
            "date": local.strftime("%Y-%m-%dT%H:%M:%S"),
            "date_unixtime": str(int(when.timestamp())),
        }
        self.next_id += 1
        return message

    def say(
        self,
        when: datetime,
        who: tuple[str, str],
        parts: Sequence[str | tuple[str, str]],
        *,
        photo: bool = False,
    ) -> None:
        """A message; ``parts`` are plain strings or (entity type, text) pairs."""
        message = self._base("message", when)
        message["from"], message["from_id"] = who
        if photo:
            message.update({"photo": _NOT_INCLUDED, "width": 1280, "height": 960})
        rich = [p if isinstance(p, str) else {"type": p[0], "text": p[1]} for p in parts]
        if all(isinstance(p, str) for p in rich):
            message["text"] = "".join(p for p in parts if isinstance(p, str))
        else:
            message["text"] = rich
        message["text_entities"] = [
            {"type": "plain", "text": p} if isinstance(p, str) else p for p in rich
        ]
        self.messages.append(message)

    def service(self, when: datetime, actor: tuple[str, str], action: str, **extra: Any) -> None:
        """A service message (group created, members invited)."""
        message = self._base("service", when)
        message.update(
            {
                "actor": actor[0],
                "actor_id": actor[1],
                "action": action,
                **extra,
                "text": "",
                "text_entities": [],
            }
        )
        self.messages.append(message)


def _user(name: str, user_id: int) -> tuple[str, str]:
    return (name, f"user{user_id}")


def _sessions(ctx: _Ctx, since: date, per_month: float) -> Iterator[datetime]:
    """Start times of chat conversations, more in the evening and at weekends."""
    day = since
    while day <= DEMO_ANCHOR.date():
        weight = 1.6 if day.weekday() >= 5 else 1.0
        if ctx.rng.random() < per_month / 30.4 * weight:
            yield ctx.at(day, ctx.rng.choice((8, 12, 18, 19, 20, 21)), 1)
        day += timedelta(days=1)


def _play(
    ctx: _Ctx,
    log: _ChatLog,
    start: datetime,
    script: Sequence[tuple[str, str]],
    cast: dict[str, tuple[str, str]],
) -> None:
    """Write one scripted conversation into ``log``, a minute or a few apart."""
    when = start
    for speaker, line in script:
        if when > DEMO_ANCHOR:
            return
        if line == "PHOTO":
            log.say(when, cast[speaker], [""], photo=True)
        else:
            text = line.format(dag=ctx.pick(_FILL_DAYS), plek=ctx.pick(_FILL_PLACES))
            log.say(when, cast[speaker], [text])
        when += timedelta(seconds=ctx.rng.randrange(20, 600))


def _personal_chat(ctx: _Ctx, person: Person, since: date, per_month: float) -> dict[str, Any]:
    me = _user(DEMO_OWNER.name, DEMO_OWNER.telegram_id)
    cast = {"me": me, "them": _user(person.name, person.telegram_id)}
    scripts = _CHAT_SCRIPTS_EN if person.lang == "en" else _CHAT_SCRIPTS_NL
    log = _ChatLog(first_id=ctx.rng.randrange(1000, 9000))
    for start in _sessions(ctx, since, per_month):
        _play(ctx, log, start, scripts[ctx.rng.randrange(len(scripts))], cast)
    return {
        "name": person.name,
        "type": "personal_chat",
        "id": person.telegram_id,
        "messages": log.messages,
    }


def _family_group(ctx: _Ctx) -> dict[str, Any]:
    cast = {
        "me": _user(DEMO_OWNER.name, DEMO_OWNER.telegram_id),
        "mama": _user(_PERSON["ingrid"].name, _PERSON["ingrid"].telegram_id),
        "daan": _user(_PERSON["daan"].name, _PERSON["daan"].telegram_id),
        "papa": _user(*_FATHER),
    }
    log = _ChatLog(first_id=1)
    created = ctx.at(date(2021, 3, 14), 15)
    log.service(
        created,
        cast["mama"],
        "create_group",
        title="Familie de Vries 🏡",
        members=[cast["me"][0], cast["daan"][0], cast["mama"][0]],
    )
    log.service(
        created + timedelta(days=2), cast["mama"], "invite_members", members=[cast["papa"][0]]
    )
    for start in _sessions(ctx, date(2021, 3, 17), 1.0):
        _play(ctx, log, start, _FAMILY_SCRIPTS[ctx.rng.randrange(len(_FAMILY_SCRIPTS))], cast)
    return {
        "name": "Familie de Vries 🏡",
        "type": "private_group",
        "id": 4_100_200_300,
        "messages": log.messages,
    }


def _parcel_bot(ctx: _Ctx, parcels: Sequence[_Parcel]) -> dict[str, Any]:
    """PostNL's bot: the owner follows her parcels there since 2023."""
    bot = ("PostNL", "user6000123456")
    me = _user(DEMO_OWNER.name, DEMO_OWNER.telegram_id)
    log = _ChatLog(first_id=1)
    started = ctx.at(date(2023, 1, 9), 20)
    log.say(started, me, ["/start"])
    log.say(
        started + timedelta(seconds=2),
        bot,
        ["Welkom bij PostNL! Stuur me een ", ("code", "/volg"), " met je zendingnummer."],
    )
    for parcel in sorted(parcels, key=lambda p: p.shipped):
        if parcel.shipped <= started or ctx.rng.random() < 0.45:
            continue
        asked = parcel.shipped + timedelta(minutes=ctx.rng.randrange(20, 240))
        log.say(asked, me, [("bot_command", "/volg"), f" {parcel.tracking}"])
        log.say(
            asked + timedelta(seconds=3),
            bot,
            [("bold", f"Pakket {parcel.tracking}"), f" van {parcel.shop} is onderweg 📦"],
        )
        morning = parcel.delivered.replace(hour=7, minute=12)
        log.say(
            morning,
            bot,
            [
                ("bold", "Vandaag"),
                f" bezorgen we je pakket van {parcel.shop}. ",
                ("link", f"https://jouw.postnl.nl/track-and-trace/{parcel.tracking}"),
            ],
        )
        log.say(parcel.delivered, bot, ["✅ ", ("bold", "Bezorgd"), f": {parcel.tracking}"])
    return {"name": "PostNL", "type": "bot_chat", "id": 6_000_123_456, "messages": log.messages}


def _ns_channel(ctx: _Ctx) -> dict[str, Any]:
    """NS's public channel with disruptions, followed since 2022."""
    channel = ("NS Reisinformatie", "channel1006503122")
    log = _ChatLog(first_id=2200)
    for start in _sessions(ctx, date(2022, 1, 10), 1.2):
        origin, dest = _NS_ROUTES[ctx.rng.randrange(len(_NS_ROUTES))]
        cause = ctx.pick(_NS_CAUSES)
        minutes = ctx.pick(("15", "30", "45", "60"))
        log.say(
            start,
            channel,
            [
                ("bold", "Storing"),
                f" tussen {origin} en {dest} door {cause}. "
                f"Reken op {minutes} minuten extra reistijd. ",
                ("hashtag", "#storing"),
            ],
        )
        if ctx.rng.random() < 0.7:
            log.say(
                start + timedelta(minutes=ctx.rng.randrange(40, 180)),
                channel,
                [("bold", "Opgelost"), f": de treinen tussen {origin} en {dest} rijden weer."],
            )
    return {
        "name": "NS Reisinformatie",
        "type": "public_channel",
        "id": 1_006_503_122,
        "messages": log.messages,
    }


def _telegram_export(seed: int, parcels: Sequence[_Parcel]) -> bytes:
    """A Telegram Desktop "Export Telegram data" result.json (machine-readable JSON)."""
    ctx = _Ctx(seed, "telegram")
    chats = [
        _personal_chat(ctx, _PERSON["lotte"], date(2021, 1, 4), 1.0),
        _personal_chat(ctx, _PERSON["mark"], date(2021, 6, 1), 0.6),
        _personal_chat(ctx, _PERSON["daan"], date(2022, 3, 1), 0.7),
        _family_group(ctx),
        _parcel_bot(ctx, parcels),
        _ns_channel(ctx),
    ]
    export = {
        "about": _TG_ABOUT,
        "personal_information": {
            "user_id": DEMO_OWNER.telegram_id,
            "first_name": DEMO_OWNER.first_name,
            "last_name": DEMO_OWNER.last_name,
            "phone_number": DEMO_OWNER.phone,
            "username": "@sanne_demo",
            "bio": "",
        },
        "contacts": {
            "about": "Your contacts.",
            "list": [
                {
                    "first_name": p.name.split(" ", 1)[0],
                    "last_name": p.name.split(" ", 1)[1],
                    "phone_number": "",
                    "date": "2021-01-04T12:00:00",
                    "date_unixtime": "1609758000",
                }
                for p in PERSONS
            ],
        },
        "frequent_contacts": {"about": "Frequent contacts.", "list": []},
        "chats": {"about": "This page lists all chats from this export.", "list": chats},
    }
    return json.dumps(export, ensure_ascii=False, indent=1).encode()


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def _streams(seed: int, parcels: list[_Parcel]) -> list[Iterator[_Mail]]:
    """Every scenario's mails, each stream in time order, each with its own random stream."""
    streams = [
        _trips(_Ctx(seed, "trips")),
        _orders(_Ctx(seed, "orders"), parcels),
        _notices(_Ctx(seed, "notices")),
        _persons(_Ctx(seed, "persons")),
        _service_questions(_Ctx(seed, "service")),
    ]
    streams += [_newsletters(_Ctx(seed, f"news:{nl.brand}"), nl) for nl in NEWSLETTERS]
    streams += [_periodic(_Ctx(seed, f"periodic:{i}"), p) for i, p in enumerate(PERIODICS)]
    return [_in_time_order(s) for s in streams]


def demo_sources(seed: int = 2026) -> Iterator[DemoSource]:
    """The demo's source files: about 8,000 mails in time order, then one Telegram export.

    The same ``seed`` always gives byte-identical output. Mails are dated between DEMO_START
    and DEMO_ANCHOR; only the content of bookings made before the anchor may lie after it.

    Args:
        seed: Picks one of many equally plausible histories.

    Yields:
        ``DemoSource(format="eml", ...)`` per mail, then ``DemoSource(format="telegram", ...)``.
    """
    parcels: list[_Parcel] = []
    per_key: dict[str, int] = {}
    for mail in heapq.merge(*_streams(seed, parcels), key=lambda m: m.when):
        if mail.when > DEMO_ANCHOR:
            continue
        per_key[mail.key] = per_key.get(mail.key, 0) + 1
        ref = f"demo/mail/{mail.when.year}/{mail.key}-{per_key[mail.key]:04d}.eml"
        yield DemoSource("eml", ref, _render(mail))
    parcels = [p for p in parcels if p.delivered <= DEMO_ANCHOR]
    yield DemoSource("telegram", "demo/telegram/result.json", _telegram_export(seed, parcels))
