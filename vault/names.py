"""Names of companies and people: how they compare, and which display names may name a company.

Pure text rules for ``vault.companies`` (DESIGN, company resolution 7). A company's name comes
from brand evidence: a display name that agrees with the mail domain ("Coolblue Klantenservice"
at coolblue.nl, "Albert Heijn" at ah.nl), the organisation part of "Femke | Coolblue" or "Ruben
van Coolblue", the service in "Jan via LinkedIn". A personal name (the address's own person, or
anything shaped like "Given Family") never names a company.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from vault.domains import data_lines, registrable_domain
from vault.memo import short_text_cache
from vault.text import strip_controls

# Display names that say nothing about who sent a mail.
GENERIC_NAMES = frozenset(
    {
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "do not reply",
        "info",
        "support",
        "service",
        "customer service",
        "customerservice",
        "customer support",
        "klantenservice",
        "newsletter",
        "nieuwsbrief",
        "mailer-daemon",
        "mail delivery subsystem",
        "postmaster",
        "admin",
        "team",
        "notifications",
        "notification",
        "alerts",
        "hello",
        "contact",
        "sales",
        "billing",
        "accounts",
        "mail",
        "email",
        "news",
        "updates",
        "reply",
    }
)
# Words inside a family name ("Henk de Boer", "Noor El Amrani"): lower-case is no brand sign.
_PARTICLES = frozenset(
    [
        "van",
        "de",
        "der",
        "den",
        "het",
        "ter",
        "ten",
        "te",
        "von",
        "zu",
        "la",
        "le",
        "el",
        "al",
        "da",
        "di",
        "du",
        "dos",
        "das",
        "del",
        "bin",
        "ibn",
    ]
)
_ARTICLES = frozenset({"the", "de", "het", "la", "le", "les", "der", "die", "das", "el"})
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
_SEGMENTS = re.compile(r"\s+[|•·/–—-]\s+|\s*[|•]\s*|:\s+")
_VIA = re.compile(r"^(?P<who>.+?)\s+via\s+(?P<what>.+)$", re.IGNORECASE)
_OF_BRAND = re.compile(r"^(?P<who>.+?)\s+(?:van|from|at|bij|of|@|namens)\s+(?P<what>.+)$", re.I)
_DOMAIN_NAME = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
_LOCAL_WORDS = re.compile(r"[._+-]+")


def clean_display_name(name: str | None) -> str | None:
    """A display name fit to show, or None ("noreply", addresses, blanks, runaway length)."""
    if not name:
        return None
    # Terminal escape sequences go whole (not just their ESC byte): see vault.text.
    cleaned = " ".join(strip_controls(name).split()).strip("\"'").strip()
    if not cleaned or "@" in cleaned or len(cleaned) > 80:
        return None
    if cleaned.casefold() in GENERIC_NAMES:
        return None
    return cleaned


def fold(text: str) -> str:
    """``text`` for comparing: no accents, case-folded, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


@cache
def _name_tokens() -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """(single words, phrases of several words) from ``data/name_tokens.txt``, folded."""
    words: set[str] = set()
    phrases: list[tuple[str, ...]] = []
    for line in data_lines("name_tokens.txt"):
        parts = tuple(fold(line).split())
        if len(parts) == 1:
            words.add(parts[0])
        else:
            phrases.append(parts)
    return frozenset(words), tuple(sorted(phrases, key=len, reverse=True))


@cache
def role_local_parts() -> frozenset[str]:
    """Local parts of role addresses (``data/role_local_parts.txt``)."""
    return frozenset(line.casefold() for line in data_lines("role_local_parts.txt"))


@short_text_cache(maxsize=8192)
def is_role_address(address: str) -> bool:
    """True for ``klantenservice@…``, ``noreply-billing@…``, ``notifications-noreply@…``."""
    local = address.rpartition("@")[0].casefold().split("+", 1)[0]
    if not local:
        return False
    roles = role_local_parts()
    if local in roles:
        return True
    words = [w for w in _LOCAL_WORDS.split(local) if w]
    return bool(words) and (words[0] in roles or words[-1] in roles)


def strip_tokens(name: str) -> str:
    """``name`` without legal forms and role words: "Team Mollie" → "Mollie", "Coolblue
    Klantenservice" → "Coolblue", "ACME Widgets B.V." → "ACME Widgets"."""
    words_list = name.replace(",", " ").split()
    singles, phrases = _name_tokens()
    folded = [fold(w) for w in words_list]
    keep = [True] * len(words_list)
    for phrase in phrases:
        size = len(phrase)
        for start in range(len(folded) - size + 1):
            if tuple(folded[start : start + size]) == phrase:
                keep[start : start + size] = [False] * size
    for n, word in enumerate(folded):
        if word.strip("()-–|:") in singles:
            keep[n] = False
    kept = [w for w, k in zip(words_list, keep, strict=True) if k]
    return " ".join(kept).strip(" -–—|:·,")


@short_text_cache(maxsize=8192)
def brand_key(name: str | None) -> str | None:
    """How a company name compares: "Booking.com" and "booking" agree, "Coolblue B.V." and
    "Coolblue Klantenservice" agree; None when nothing specific is left."""
    if not name:
        return None
    name = strip_tokens(name.strip()) or name.strip()
    if _DOMAIN_NAME.match(name):
        name = domain_label(name)
    key = fold(name)
    key = " ".join(re.sub(r"[^\w\s&+]", " ", key).split())
    return key or None


@short_text_cache(maxsize=8192)
def person_key(name: str | None) -> str | None:
    """How a person's name compares: accents, case and punctuation do not count."""
    if not name:
        return None
    key = " ".join(re.sub(r"[^\w\s]", " ", fold(name)).split())
    return key or None


def domain_label(domain: str) -> str:
    """``mail.klm.co.uk`` → ``klm``: the name part of the registrable domain."""
    return registrable_domain(domain).split(".", 1)[0]


def name_from_domain(domain: str) -> str:
    """``klm.com`` → ``Klm``: the registrable domain's label, title-cased, for a company with
    no brand name."""
    label = domain_label(domain)
    return label[:1].upper() + label[1:] if label.islower() else label


def _compact(text: str) -> str:
    return re.sub(r"[\W_]", "", fold(text))


def agrees_with_domain(name: str, domain: str) -> bool:
    """True when ``name`` is the brand of ``domain``: its words spell the domain's label
    ("Restaurant De Kas" / restaurantdekas.nl), one contains the other ("NS" /
    nsinternational.com, "IKEA Family" / ikea.nl), or its initials do ("Albert Heijn" / ah.nl).
    """
    key = brand_key(name)
    label = _compact(domain_label(domain))
    if not key or not label:
        return False
    compact = key.replace(" ", "")
    if compact == label:
        return True
    if len(compact) >= 3 and (compact in label or (len(label) >= 3 and label in compact)):
        return True
    if len(compact) >= 2 and label.startswith(compact):
        return True
    words = [w for w in key.split() if w not in _ARTICLES] or key.split()
    # "klm-mail.com", "ing-news.nl": a word of the label's own is the brand.
    parts = {p for p in domain_label(domain).casefold().split("-") if len(p) >= 3} | {label}
    if any(len(w) >= 3 and w in parts for w in words):
        return True
    initials = "".join(w[0] for w in key.split() if w)
    return len(initials) >= 2 and initials == label


def _name_words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s.'’-]+", fold(name)) if w and w not in _PARTICLES]


def names_the_address(name: str, address: str) -> bool:
    """True when ``name`` is the person of ``address``'s local part ("Pieter Jansen" of
    p.jansen@, "John Smith" of jsmith@, "Femke" of femke@); never for role addresses or a
    local part that is the brand's own (klm@klm.com)."""
    local, _, domain = address.casefold().rpartition("@")
    local = local.split("+", 1)[0]
    if not local or is_role_address(address):
        return False
    label = _compact(domain_label(domain)) if domain else ""
    local_compact = _compact(local)
    if label and (local_compact == label or label in local_compact):
        return False
    words = _name_words(name)
    if not words or len(words) > 5:
        return False
    pieces = [p for p in _LOCAL_WORDS.split(local) if p]
    joined = "".join(words)
    stem = re.sub(r"\d+$", "", local_compact)
    if stem in (joined, words[0], words[-1], words[0][0] + words[-1], words[0] + words[-1][0]):
        return True
    if len(pieces) >= 2 and all(
        any(w == p or (len(p) == 1 and w.startswith(p)) for w in words) for p in pieces
    ):
        return True
    return len(stem) >= 4 and stem in joined


def looks_personal(name: str) -> bool:
    """True for a name shaped like a person's: two to four words of letters, each capitalised
    except family-name particles ("Nicoletta Bernasconi", "Henk de Boer"), with no legal form
    or role word in it."""
    words = name.split()
    if not 2 <= len(words) <= 4 or strip_tokens(name) != name:
        return False
    for word in words:
        if not _WORD.fullmatch(word) or "." in word:
            return False
        if fold(word) in _PARTICLES:
            continue
        if not word[:1].isupper() or (len(word) > 1 and word.isupper()):
            return False
    return True


def is_personal(name: str, address: str) -> bool:
    """True when ``name`` is the address's own person: "Femke" of femke@, "Ivan Suse" of
    ivan@suse.de; but "IKEA Family" of family@ikea.nl is a programme's name."""
    if not names_the_address(name, address):
        return False
    return len(name.split()) == 1 or looks_personal(name)


@short_text_cache(maxsize=8192)
def company_name(display: str | None, address: str, domain: str) -> tuple[str | None, bool]:
    """(name, brand) a mail's display name gives the company of ``domain``.

    ``brand`` is True when the name is brand evidence (it agrees with the domain); a name that
    is not, and is no person's either, comes back with ``brand`` False; a personal name gives
    (None, False).
    """
    cleaned = clean_display_name(display)
    if cleaned is None:
        return None, False
    via = _VIA.match(cleaned)
    if via:
        cleaned = via.group("what").strip()
    candidate = next(
        (
            segment.strip()
            for segment in _SEGMENTS.split(cleaned)
            if segment.strip()
            and agrees_with_domain(segment, domain)
            and not is_personal(segment.strip(), address)
        ),
        None,
    )
    if candidate is None:
        of_brand = _OF_BRAND.match(cleaned)
        if of_brand and agrees_with_domain(of_brand.group("what"), domain):
            candidate = of_brand.group("what").strip()
    if candidate is None:
        candidate = cleaned
        if is_personal(candidate, address):
            return None, False
    name = strip_tokens(candidate)
    if not name or name.casefold() in GENERIC_NAMES:
        return None, False
    if agrees_with_domain(name, domain):
        return name, True
    if looks_personal(name) or is_personal(name, address):
        return None, False
    return name, False


def organisation_name(value: str | None) -> str | None:
    """An Organization header or a document's provider as a company name: legal form dropped;
    None for what names software rather than a business ("hacksw/handcal", a PRODID's
    vendor/product path)."""
    cleaned = clean_display_name(value)
    if cleaned is None or "/" in cleaned or "//" in (value or ""):
        return None
    return strip_tokens(cleaned) or cleaned


@cache
def _airlines() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in data_lines("airlines.tsv"):
        code, _, name = line.partition("\t")
        if len(code) == 2 and name.strip():
            table[code.upper()] = name.strip()
    return table


def airline_name(code: str | None) -> str | None:
    """The airline of a two-character IATA designator ("KL" → "KLM Royal Dutch Airlines"), from
    the OpenFlights table shipped in ``data/airlines.tsv`` (ODbL); None when unknown."""
    if not code:
        return None
    return _airlines().get(code.strip().upper())


def name_prefixes(key: str | None) -> tuple[str, ...]:
    """``"klm royal dutch airlines"`` → itself, then ``"klm royal dutch"``, … ``"klm"``: the
    brand tokens a chat or document name may share with a known company; articles and
    one-letter words never stand alone."""
    if not key:
        return ()
    words = key.split()
    found = [" ".join(words[:n]) for n in range(len(words), 0, -1)]
    return tuple(p for p in found if not (" " not in p and (p in _ARTICLES or len(p) < 2)))
