"""``kluis share``: a package of exactly the chosen fields and history, recorded in the ledger.

The disclosure row is inserted first (the receipt cites its id) and the package is built, in
the caller's transaction; ``exports.sharing`` writes it through ``vault.outbox``, so that the
ledger and the disk never disagree, not even after a kill.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from exports.htmlpage import html_page
from exports.jsonld import jsonld_bytes
from exports.package import Package, SharedBooking, SharedField, SharedItem
from exports.receipt import Controller, build_receipt, new_receipt_id
from exports.vcard import vcard
from vault import ledger
from vault.errors import UsageError
from vault.fsutil import check_output
from vault.keys import RECOVERY_ALPHABET
from vault.profile import ProfileValue, load_profile, redact, spec_for
from vault.queries import find_company
from vault.store import Conn, execute
from vault.text import one_line
from vault.timefmt import iso, now_utc, parse_user_date

FORMATS = ("zip", "vcard", "jsonld", "html")
_HISTORY = re.compile(r"none|bookings|payments|all|since:(\d{4}-\d{2}-\d{2})")
ZIP_NAMES = {
    "vcard": "profile.vcf",
    "jsonld": "person.jsonld",
    "html": "index.html",
    "receipt": "consent-receipt.json",
}


@dataclass(frozen=True, slots=True)
class ShareRequest:
    """What the user asked to share, as given on the command line."""

    company: str
    keys: list[str]
    history: str
    purpose: str
    expires: str | None
    format: str
    out: Path
    encrypt: bool = False
    force: bool = False


@dataclass(frozen=True, slots=True)
class ShareResult:
    """What was written and recorded."""

    disclosure_id: int
    company: str
    path: Path
    sha256: str
    fields: list[str]
    items: int
    bookings: int
    password: str | None


def check_request(request: ShareRequest) -> None:
    """Refuse a request that cannot work, before the vault is even opened.

    Raises:
        UsageError: a bad combination of options, or the output file exists.
    """
    if request.format not in FORMATS:
        raise UsageError(f"unknown format {request.format!r} (one of: {', '.join(FORMATS)})")
    if not _HISTORY.fullmatch(request.history):
        raise UsageError("--history is none, bookings, payments, all or since:YYYY-MM-DD")
    if request.format == "vcard" and request.history != "none":
        raise UsageError("a vCard holds no history: use --format jsonld, html or zip")
    if request.encrypt and request.format != "zip":
        raise UsageError("--encrypt makes an encrypted zip: use it with --format zip")
    if not request.keys:
        raise UsageError("choose the fields to share with --fields KEY,KEY…")
    if not request.purpose.strip():
        raise UsageError("say why you share with --purpose TEXT")
    for key in request.keys:
        spec_for(key)
    check_output(request.out, force=request.force)


def _fields(profile: list[ProfileValue], keys: list[str]) -> list[SharedField]:
    chosen = []
    for key in keys:
        values = [p for p in profile if p.key == key]
        if not values:
            raise UsageError(f"your profile has no {key} (set it with `kluis profile set {key} …`)")
        label = spec_for(key).label
        chosen += [SharedField(key, p.value, label, p.category, p.sensitivity) for p in values]
    return chosen


def _history(
    conn: Conn, company_id: int, scope: str, withheld: list[ProfileValue]
) -> tuple[list[SharedItem], list[SharedBooking], list[int]]:
    """The chosen history, with every unchosen profile value in it replaced by "[withheld]".

    ``payments`` is the transaction history: only the items that state an amount (bank
    payments, order, invoice and receipt mails), each with its amount; no other scope carries
    amounts, so none reaches a package the user did not choose it for.
    """
    if scope == "none":
        return [], [], []
    since = parse_user_date(scope[6:]) if scope.startswith("since:") else None
    items: list[SharedItem] = []
    if scope != "bookings":
        payments = scope == "payments"
        rows = execute(
            conn,
            "SELECT i.id, i.occurred_at, i.tz_offset, i.channel, i.direction, i.title, "
            "m.value, m.currency FROM interaction i LEFT JOIN money m ON m.interaction_id = i.id "
            "WHERE i.company_id = :c AND i.occurred_at >= :s "
            f"{'AND m.value IS NOT NULL ' if payments else ''}ORDER BY i.occurred_at, i.id",
            {"c": company_id, "s": since or 0},
        ).all()
        items = [
            SharedItem(
                int(r.id),
                iso(r.occurred_at, r.tz_offset) or "",
                r.channel,
                r.direction,
                redact(one_line(r.title), withheld),
                str(r.value) if payments else None,
                r.currency if payments else None,
            )
            for r in rows
        ]
        if payments:
            return items, [], [i.id for i in items]
    rows = execute(
        conn,
        "SELECT b.*, (SELECT group_concat(interaction_id) FROM bookingsource s "
        "WHERE s.booking_id = b.id) AS sources FROM booking b WHERE b.company_id = :c "
        "ORDER BY coalesce(b.start_at, b.modified_at, ''), b.id",
        {"c": company_id},
    ).all()

    def clean(value: str | None) -> str | None:
        return redact(one_line(value), withheld) if value else None

    bookings, sources = [], []
    for r in rows:
        start = r.start_at
        if since is not None and start and datetime.fromisoformat(start).timestamp() < since:
            continue
        bookings.append(
            SharedBooking(
                int(r.id),
                r.kind,
                clean(r.reference),
                r.status,
                clean(r.number),
                start,
                r.end_at,
                clean(r.origin_code or r.origin_name),
                clean(r.destination_code or r.destination_name),
                r.price,
                r.currency,
            )
        )
        sources += [int(s) for s in str(r.sources or "").split(",") if s]
    return items, bookings, sorted({i.id for i in items} | set(sources))


def _controller(conn: Conn, company_id: int, name: str) -> Controller:
    email = execute(
        conn,
        "SELECT value FROM identifier WHERE company_id = :c AND kind = 'email_address' "
        "ORDER BY id LIMIT 1",
        {"c": company_id},
    ).scalar()
    return Controller(name=one_line(name), email=str(email or ""))


def new_password() -> str:
    """A 125-bit password in five groups of five unambiguous characters."""
    chars = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(25))
    return "-".join(chars[i : i + 5] for i in range(0, 25, 5))


def _zip(package: Package, password: str | None, when: datetime) -> bytes:
    entries = {
        ZIP_NAMES["vcard"]: vcard(package).encode("utf-8"),
        ZIP_NAMES["jsonld"]: jsonld_bytes(package),
        ZIP_NAMES["html"]: html_page(package).encode("utf-8"),
        ZIP_NAMES["receipt"]: (
            json.dumps(package.receipt, ensure_ascii=False, indent=2) + "\n"
        ).encode("utf-8"),
    }
    stamp = when.timetuple()[:6]
    buffer = io.BytesIO()
    if password is None:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries.items():
                archive.writestr(zipfile.ZipInfo(name, stamp), data, zipfile.ZIP_DEFLATED)
    else:
        import pyzipper  # type: ignore[import-untyped]

        with pyzipper.AESZipFile(
            buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as archive:
            archive.setpassword(password.encode("ascii"))
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            for name, data in entries.items():
                archive.writestr(name, data)
    return buffer.getvalue()


def render(package: Package, fmt: str, password: str | None, when: datetime) -> bytes:
    """The package's bytes in ``fmt``."""
    if fmt == "vcard":
        return vcard(package).encode("utf-8")
    if fmt == "jsonld":
        return jsonld_bytes(package)
    if fmt == "html":
        return html_page(package).encode("utf-8")
    return _zip(package, password, when)


@dataclass(frozen=True, slots=True)
class BuiltShare:
    """A package built and its disclosure row inserted, not yet written to disk."""

    disclosure_id: int
    company: str
    keys: list[str]
    items: int
    bookings: int
    password: str | None
    data: bytes
    path: Path


def build_share(
    conn: Conn,
    request: ShareRequest,
    now: datetime | None = None,
    *,
    receipt_id: str | None = None,
    password: str | None = None,
) -> BuiltShare:
    """Record the disclosure and build the package's bytes, inside the caller's transaction.

    ``now``, ``receipt_id`` and ``password`` are drawn fresh unless given: a preview built in a
    transaction that rolls back, then built again with the same three, yields the same package.

    Raises:
        UsageError: unknown company, a field the profile lacks, an expiry in the past.
    """
    check_request(request)
    now = now or now_utc()
    company_id, company = find_company(conn, request.company)
    profile = load_profile(conn)
    keys = list(dict.fromkeys(request.keys))
    fields = _fields(profile, keys)
    withheld = [p for p in profile if p.key not in keys]
    items, bookings, interaction_ids = _history(conn, company_id, request.history, withheld)
    expires_at = None
    if request.expires:
        # The last second of the day the user named: "--expires 2030-01-01" includes that day.
        end = parse_user_date(request.expires, end_of_day=True) - 1
        expires_at = datetime.fromtimestamp(end, UTC)
        if expires_at <= now:
            raise UsageError(f"the consent end date {request.expires} is not in the future")
    receipt_id = receipt_id or new_receipt_id()
    values: dict[str, list[str]] = {}
    for shared in fields:
        values.setdefault(shared.key, []).append(shared.value)
    disclosure_id = ledger.record_disclosure(
        conn,
        company_id=company_id,
        fields=values,
        interactions=interaction_ids,
        purpose=request.purpose.strip(),
        shared_at=now,
        expires_at=expires_at,
        receipt_id=receipt_id,
    )
    receipt = build_receipt(
        receipt_id=receipt_id,
        disclosure_id=disclosure_id,
        timestamp=now,
        controller=_controller(conn, company_id, company),
        purpose=request.purpose.strip(),
        fields=fields,
        history=request.history,
        interactions=len(items),
        bookings=len(bookings),
        expires_at=expires_at,
    )
    package = Package(one_line(company), now.isoformat(), fields, request.history)
    package.items, package.bookings, package.receipt = items, bookings, receipt
    password = (password or new_password()) if request.encrypt else None
    data = render(package, request.format, password, now)
    return BuiltShare(
        disclosure_id,
        one_line(company),
        keys,
        len(items),
        len(bookings),
        password,
        data,
        request.out.expanduser().resolve(),
    )


def unpack(data: bytes, fmt: str, password: str | None) -> dict[str, bytes]:
    """The files a package holds, by name: a zip's entries (decrypted), else the one file."""
    if fmt != "zip":
        return {ZIP_NAMES[fmt]: data}
    if password is None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    import pyzipper

    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(password.encode("ascii"))
        return {name: archive.read(name) for name in archive.namelist()}
