"""The user's own profile: which keys exist, how each value is validated and normalised,
and how each value is recognised when it turns up in text (for evidence and redaction).

Keys (``kluis profile set KEY VALUE``)::

    name                     identity    normal      one value
    email                    contact     normal      several
    phone                    contact     personal    several      stored as E.164
    address.home|work|delivery address   personal    one each
    birthdate                identity    sensitive   one          stored as YYYY-MM-DD
    iban                     financial   sensitive   several      stored compact, upper case
    loyalty.PROGRAM          loyalty     personal    one per programme (e.g. loyalty.klm)
    passport, id_number      document    sensitive   one each
    diet                     preference  special     one          (can reveal religion or health)
    seating                  preference  normal      one
    free.LABEL               other       normal      one per label

Validation uses ``phonenumbers``, ``schwifty`` and ``dateutil``; a bad value raises
``InvalidValue`` with one line saying why, and nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from vault.errors import InvalidValue, UsageError
from vault.store import Conn, execute
from vault.timefmt import not_a_date, now_iso, now_utc

DEFAULT_REGION = "NL"
SENSITIVITIES = ("normal", "personal", "sensitive", "special")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
_TOKEN = re.compile(r"[A-Z0-9]{4,30}")
_LOYALTY = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .-]{2,39}")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What a profile key holds: its category, sensitivity, and how a value is checked."""

    kind: str
    category: str
    sensitivity: str
    multiple: bool
    label: str


SPECS: dict[str, FieldSpec] = {
    "name": FieldSpec("name", "identity", "normal", False, "Name"),
    "email": FieldSpec("email", "contact", "normal", True, "Email address"),
    "phone": FieldSpec("phone", "contact", "personal", True, "Phone number"),
    "address.home": FieldSpec("address", "address", "personal", False, "Home address"),
    "address.work": FieldSpec("address", "address", "personal", False, "Work address"),
    "address.delivery": FieldSpec("address", "address", "personal", False, "Delivery address"),
    "birthdate": FieldSpec("birthdate", "identity", "sensitive", False, "Date of birth"),
    "iban": FieldSpec("iban", "financial", "sensitive", True, "IBAN"),
    "passport": FieldSpec("document", "document", "sensitive", False, "Passport number"),
    "id_number": FieldSpec("document", "document", "sensitive", False, "ID card number"),
    "diet": FieldSpec("text", "preference", "special", False, "Dietary preference"),
    "seating": FieldSpec("text", "preference", "normal", False, "Seating preference"),
}
_PREFIXED: dict[str, FieldSpec] = {
    "loyalty.": FieldSpec("loyalty", "loyalty", "personal", False, "Loyalty number"),
    "free.": FieldSpec("text", "other", "normal", False, "Note"),
}


def spec_for(key: str) -> FieldSpec:
    """The spec of ``key``.

    Raises:
        UsageError: not a profile key.
    """
    if key in SPECS:
        return SPECS[key]
    for prefix, spec in _PREFIXED.items():
        if key.startswith(prefix) and _LABEL.fullmatch(key[len(prefix) :]):
            label = key[len(prefix) :]
            return FieldSpec(
                spec.kind, spec.category, spec.sensitivity, False, f"{spec.label} ({label})"
            )
    known = ", ".join([*SPECS, "loyalty.PROGRAM", "free.LABEL"])
    raise UsageError(f"unknown profile key {key!r} (one of: {known})")


# --- validation -------------------------------------------------------------------------------


def _plain(value: str, what: str, limit: int = 300) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise InvalidValue(f"{what} is empty")
    if _CONTROL.search(value.replace("\n", " ").replace("\t", " ")):
        raise InvalidValue(f"{what} contains control characters")
    if len(cleaned) > limit:
        raise InvalidValue(f"{what} is longer than {limit} characters")
    return cleaned


def normalise_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """``value`` as an E.164 number (``+31612345678``); national numbers read in ``region``."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidValue(f"not a phone number: {value!r}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(
            f"not a valid phone number: {value!r} (national numbers are read as {region.upper()}; "
            "write it with its country code, +CC…)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_iban(value: str) -> str:
    """``value`` as a checked, compact IBAN (``NL91ABNA0417164300``)."""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        return str(IBAN(value).compact)
    except SchwiftyException as exc:
        raise InvalidValue(f"not a valid IBAN: {value!r} ({exc})") from None


def normalise_birthdate(value: str, today: date | None = None) -> str:
    """A full calendar date (day first when ambiguous, as in Europe) as ``YYYY-MM-DD``."""
    from dateutil import parser

    # dateutil silently fills missing parts from its default; parsing against two different
    # defaults shows whether the user gave a whole date ("1985" alone is not a birthdate).
    # Day first for 12-04-1985, but never for ISO 1985-04-12, which dayfirst would swap.
    dayfirst = not re.match(r"\s*\d{4}\b", value)
    try:
        first = parser.parse(value, dayfirst=dayfirst, default=datetime(2000, 1, 1))
        second = parser.parse(value, dayfirst=dayfirst, default=datetime(2001, 2, 2))
    except (ValueError, OverflowError):
        raise InvalidValue(not_a_date(value)) from None
    if first != second:
        raise InvalidValue(f"not a whole date: {value!r} (use YYYY-MM-DD)")
    born = first.date()
    if not date(1900, 1, 1) <= born <= (today or now_utc().date()):
        raise InvalidValue(f"not a plausible date of birth: {born.isoformat()}")
    return born.isoformat()


def normalise_email(value: str) -> str:
    """An address with one @ and a dotted domain, lower-cased."""
    cleaned = value.strip().casefold()
    if not _EMAIL.fullmatch(cleaned):
        raise InvalidValue(f"not an email address: {value!r}")
    return cleaned


def normalise(key: str, value: str, *, region: str = DEFAULT_REGION) -> str:
    """The stored form of ``value`` for ``key``.

    Raises:
        UsageError: ``key`` is not a profile key.
        InvalidValue: ``value`` fails the key's validation.
    """
    spec = spec_for(key)
    if spec.kind == "phone":
        return normalise_phone(value, region)
    if spec.kind == "iban":
        return normalise_iban(value)
    if spec.kind == "birthdate":
        return normalise_birthdate(value)
    if spec.kind == "email":
        return normalise_email(value)
    if spec.kind == "document":
        compact = re.sub(r"[\s.-]", "", value).upper()
        if not _TOKEN.fullmatch(compact):
            raise InvalidValue(f"not a document number: {value!r} (4-30 letters and digits)")
        return compact
    if spec.kind == "loyalty":
        cleaned = " ".join(value.split())
        if not _LOYALTY.fullmatch(cleaned):
            raise InvalidValue(f"not a loyalty number: {value!r} (3-40 letters and digits)")
        return cleaned
    if spec.kind == "address":
        return _plain(value.replace("\n", ", "), "the address")
    return _plain(value, spec.label.lower(), 1000 if key.startswith("free.") else 200)


# --- storage ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileValue:
    """One stored profile value with what its key says about it."""

    id: int
    key: str
    value: str
    category: str
    sensitivity: str
    updated_at: str

    def to_json(self) -> dict[str, Any]:
        """The ``profile show --json`` object."""
        return {
            "key": self.key,
            "value": self.value,
            "category": self.category,
            "sensitivity": self.sensitivity,
            "updated_at": self.updated_at,
        }


def set_value(conn: Conn, key: str, value: str, *, region: str = DEFAULT_REGION) -> str:
    """Validate and store ``value`` under ``key``; returns the stored form.

    Keys holding several values (email, phone, iban) gain one; the others are replaced.
    """
    spec = spec_for(key)
    stored = normalise(key, value, region=region)
    if not spec.multiple:
        execute(conn, "DELETE FROM profilefield WHERE key = :k", {"k": key})
    execute(
        conn,
        "INSERT INTO profilefield(key, value, category, sensitivity, updated_at) "
        "VALUES (:k, :v, :c, :s, :t) ON CONFLICT(key, value) DO UPDATE SET "
        "category = excluded.category, sensitivity = excluded.sensitivity, "
        "updated_at = excluded.updated_at",
        {"k": key, "v": stored, "c": spec.category, "s": spec.sensitivity, "t": now_iso()},
    )
    return stored


def unset_value(
    conn: Conn, key: str, value: str | None = None, *, region: str = DEFAULT_REGION
) -> int:
    """Remove ``key`` (or only its ``value``); returns how many values were removed.

    Raises:
        UsageError: there was nothing to remove.
    """
    spec_for(key)
    if value is None:
        result = execute(conn, "DELETE FROM profilefield WHERE key = :k", {"k": key})
    else:
        try:
            stored = normalise(key, value, region=region)
        except InvalidValue:
            stored = value  # an old value stored before validation existed
        result = execute(
            conn, "DELETE FROM profilefield WHERE key = :k AND value = :v", {"k": key, "v": stored}
        )
    removed = int(result.rowcount or 0)
    if not removed:
        raise UsageError(f"the profile has no {key}" + (f" {value!r}" if value else ""))
    return removed


def load_profile(conn: Conn) -> list[ProfileValue]:
    """Every profile value, in key order; category and sensitivity come from the key's spec."""
    rows = execute(
        conn, "SELECT id, key, value, updated_at FROM profilefield ORDER BY key, id"
    ).all()
    values = []
    for row in rows:
        try:
            spec = spec_for(str(row.key))
        except UsageError:
            spec = FieldSpec("text", "other", "normal", True, str(row.key))
        values.append(
            ProfileValue(
                int(row.id),
                str(row.key),
                str(row.value),
                spec.category,
                spec.sensitivity,
                str(row.updated_at),
            )
        )
    return values


def mask(value: ProfileValue) -> str:
    """The value for a screen someone may look over: sensitive ones show only their end."""
    if value.sensitivity != "sensitive" or len(value.value) <= 4:
        return value.value
    return "•" * (len(value.value) - 4) + value.value[-4:]


# --- recognising values in text --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a profile value was found in a text, and how it was recognised."""

    start: int
    end: int
    how: str


_MONTH_NAMES = {
    "en": "january february march april may june july august september october november december",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
}
MONTHS: dict[str, tuple[str, ...]] = {lang: tuple(n.split()) for lang, n in _MONTH_NAMES.items()}
"""Month names by language, lower case: for reading dates in text and writing them in letters."""
_POSTCODE = re.compile(
    r"\b(\d{4}) ?([A-Za-z]{2})\b"  # NL: 1015 CJ
    r"|\b([A-Za-z]{1,2}\d[A-Za-z\d]?) ?(\d[A-Za-z]{2})\b"  # UK: SW1A 1AA
)
_HOUSE_NUMBER = re.compile(r"\b(\d{1,5})(?: ?[A-Za-z]\b|-\d+)?")


def _loose(literal: str) -> str:
    """A pattern for ``literal`` with any run of whitespace matching any other."""
    return r"\s+".join(re.escape(part) for part in literal.split())


def _find(pattern: str, source: str, how: str) -> list[Hit]:
    return [Hit(m.start(), m.end(), how) for m in re.finditer(pattern, source, re.IGNORECASE)]


def _token_pattern(compact: str) -> str:
    # IBANs, passports and loyalty numbers are written grouped ("NL91 ABNA 0417 …"): allow one
    # separator between characters, but never let the token be part of a longer one.
    body = r"[\s.-]?".join(re.escape(ch) for ch in compact)
    return rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"


def _phone_hits(e164: str, source: str) -> list[Hit]:
    import phonenumbers

    target = phonenumbers.parse(e164)
    region = phonenumbers.region_code_for_number(target) or DEFAULT_REGION
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = (metadata.national_prefix if metadata else None) or ""
    national = phonenumbers.national_significant_number(target)
    hits = []
    for match in phonenumbers.PhoneNumberMatcher(source, region):
        if phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164) != e164:
            continue
        raw = match.raw_string.strip()
        digits = re.sub(r"\D", "", raw)
        # "310612345678" parses as +31 6…, but a bare digit run that starts with the country
        # code and no + is an order or account number far more often than a phone number.
        if (
            raw.startswith("+")
            or digits.startswith("00")
            or digits in (national, prefix + national)
        ):
            hits.append(Hit(match.start, match.end, "phone number"))
    return hits


def _birthdate_patterns(iso_date: str) -> list[str]:
    born = date.fromisoformat(iso_date)
    d, m, y = born.day, born.month, born.year
    numeric = [
        rf"{y}-{m:02d}-{d:02d}",
        rf"0?{d}[-/.]0?{m}[-/.]{y}",
    ]
    english, dutch = MONTHS["en"][m - 1], MONTHS["nl"][m - 1]
    month = rf"(?:{dutch}|{english}|{english[:3]}\.?)"
    named = [
        rf"0?{d}\.?\s+{month}\s+{y}",
        rf"{month}\s+0?{d}(?:st|nd|rd|th)?,?\s+{y}",
    ]
    return [rf"(?<![\d-]){p}(?![\d])" for p in numeric] + [rf"\b{p}\b" for p in named]


def _address_hits(address: str, source: str) -> list[Hit]:
    street = address.split(",")[0].strip()
    hits: list[Hit] = []
    if re.search(r"\d", street) and len(street) >= 5:
        hits += _find(rf"\b{_loose(street)}\b", source, "street and number")
    postcode = _POSTCODE.search(address)
    number = _HOUSE_NUMBER.search(street)
    if postcode and number:
        # A postcode and house number identify one address (NL and UK); a postcode alone could
        # be the company's own office round the corner.
        code = "".join(part for part in postcode.groups() if part).upper()
        pattern = _token_pattern(code)
        for found in re.finditer(pattern, source, re.IGNORECASE):
            window = source[max(0, found.start() - 80) : found.end() + 80]
            if re.search(rf"(?<![\d]){re.escape(number.group(1))}(?![\d])", window):
                hits.append(Hit(found.start(), found.end(), "postcode and house number"))
    return hits


def find_value(key: str, value: str, source: str) -> list[Hit]:
    """Where ``value`` (a stored profile value of ``key``) occurs in ``source``.

    Values are recognised in their usual written forms: a phone number in any national or
    international format, an IBAN or document number with or without grouping spaces, a
    birthdate as digits or with the month name (English or Dutch), an address by street and
    number or by postcode and house number.
    """
    if not source or not value:
        return []
    try:
        kind = spec_for(key).kind
    except UsageError:
        kind = "text"
    finders: dict[str, Callable[[], list[Hit]]] = {
        "phone": lambda: _phone_hits(value, source),
        "email": lambda: _find(
            rf"(?<![\w.+-]){re.escape(value)}(?![\w-]|\.\w)", source, "email address"
        ),
        "iban": lambda: _find(_token_pattern(value), source, "IBAN"),
        "document": lambda: _find(_token_pattern(value), source, "document number"),
        "loyalty": lambda: _find(
            _token_pattern(re.sub(r"[\s.-]", "", value)), source, "loyalty number"
        ),
        "birthdate": lambda: [
            hit for p in _birthdate_patterns(value) for hit in _find(p, source, "date of birth")
        ],
        "address": lambda: _address_hits(value, source),
        "name": lambda: _find(rf"\b{_loose(value)}\b", source, "name"),
    }
    finder = finders.get(kind)
    if finder is not None:
        return finder()
    if len(value) < 3:
        return []  # "no" or "A" would be found everywhere
    return _find(rf"(?<!\w){_loose(value)}(?!\w)", source, "text")


def redact(source: str, values: list[ProfileValue], replacement: str = "[withheld]") -> str:
    """``source`` with every occurrence of ``values`` replaced, so nothing unchosen leaks."""
    spans = sorted(
        (hit.start, hit.end) for v in values for hit in find_value(v.key, v.value, source)
    )
    if not spans:
        return source
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out += [source[position:start], replacement]
        position = end
    out.append(source[position:])
    return "".join(out)
