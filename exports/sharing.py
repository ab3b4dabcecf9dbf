"""The "customer decides" actions on an open ``Store``: write a share package, revoke a
disclosure with its erasure letter, write a GDPR request letter.

The CLI (``cli.share``) and the app (``tui``) both call these, so the transaction around
each exists once: the ledger row commits first, with an outbox entry that takes it back if the
file is never written (``vault.outbox``), and a killed run leaves neither.

A share can also be previewed: the package is built in a transaction that is rolled back, and
confirming builds it again with the same time, receipt id and password and writes it only if
it holds exactly the files the preview showed.

``exports`` is imported inside the functions, so ``import vault`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import UsageError

if TYPE_CHECKING:
    from exports.share import ShareRequest, ShareResult
    from vault.outbox import Outbox
    from vault.store import Conn, Store

LETTER_KINDS = ("access", "erasure", "rectification", "portability")
LETTER_LANGUAGES = ("en", "nl")


class PreviewOutdated(UsageError):
    """Confirming a preview would write something else than it showed: preview again."""


# --- share ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SharePreview:
    """A share package exactly as confirming it would write it; nothing is recorded yet."""

    request: ShareRequest
    created_at: datetime
    receipt_id: str
    disclosure_id: int
    password: str | None
    company: str
    fields: list[str]
    items: int
    bookings: int
    size: int
    files: dict[str, bytes]
    """What the written file holds, by name: a zip's entries (decrypted), else the one file."""


def share_request(
    *,
    company: str,
    keys: list[str],
    history: str,
    purpose: str,
    expires: str | None,
    fmt: str,
    out: Path,
    encrypt: bool,
    force: bool,
) -> ShareRequest:
    """A share request, checked before the vault is touched.

    Raises:
        UsageError: a combination that cannot work (``exports.share.check_request``).
    """
    from exports.share import ShareRequest, check_request

    request = ShareRequest(company, keys, history, purpose, expires, fmt, out, encrypt, force)
    check_request(request)
    return request


def share_package(store: Store, request: ShareRequest, now: datetime | None = None) -> ShareResult:
    """Build, record and write a share package (dated ``now``, by default the present).

    The ledger and the disk never disagree: if the package is not written, its disclosure is
    taken back (``vault.outbox``).

    Raises:
        UsageError: the request cannot be made (see ``exports.share.check_request``), the
            company is unknown, the profile lacks a chosen field, the expiry is past.
    """
    return _write_share(store, request, None, now)


def preview_share(store: Store, request: ShareRequest, now: datetime | None = None) -> SharePreview:
    """Build the package ``request`` asks for without recording or writing anything.

    Raises:
        UsageError: as ``share_package``.
    """
    from exports.receipt import new_receipt_id
    from exports.share import build_share, unpack
    from vault.timefmt import now_utc

    created, receipt_id = now or now_utc(), new_receipt_id()
    with store.read() as conn:  # whatever it writes is rolled back when the read ends
        built = build_share(conn, request, created, receipt_id=receipt_id)
    return SharePreview(
        request=request,
        created_at=created,
        receipt_id=receipt_id,
        disclosure_id=built.disclosure_id,
        password=built.password,
        company=built.company,
        fields=built.keys,
        items=built.items,
        bookings=built.bookings,
        size=len(built.data),
        files=unpack(built.data, request.format, built.password),
    )


def confirm_share(store: Store, preview: SharePreview) -> ShareResult:
    """Write and record the package ``preview`` showed.

    Raises:
        PreviewOutdated: what would be written is no longer what the preview showed (the
            vault changed in between); nothing was written or recorded.
        UsageError: the request cannot be made any more.
    """
    return _write_share(store, preview.request, preview)


def _write_share(
    store: Store, request: ShareRequest, preview: SharePreview | None, now: datetime | None = None
) -> ShareResult:
    from exports.share import ShareResult, build_share, unpack
    from vault.ledger import complete_disclosure
    from vault.outbox import transaction

    with transaction(store) as (conn, outbox):
        if preview is None:
            built = build_share(conn, request, now)
        else:
            built = build_share(
                conn,
                request,
                preview.created_at,
                receipt_id=preview.receipt_id,
                password=preview.password,
            )
            if unpack(built.data, request.format, built.password) != preview.files:
                raise PreviewOutdated(
                    "the package changed since the preview (the vault was updated); "
                    "look at the new preview and confirm again"
                )
        digest = outbox.add(
            conn, built.path, built.data, [("disclosure", built.disclosure_id)], "share"
        )
        complete_disclosure(conn, built.disclosure_id, str(built.path), digest)
    return ShareResult(
        built.disclosure_id,
        built.company,
        built.path,
        digest,
        built.keys,
        built.items,
        built.bookings,
        built.password,
    )


# --- letters ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LetterResult:
    """A GDPR letter written (or returned for printing) and its request recorded."""

    request_id: int
    company: str
    kind: str
    due: date
    path: Path | None
    body: str
    disclosure: dict[str, Any] | None = None
    unsigned: tuple[str, ...] = ()
    """The signature's profile keys the profile has no value for (name, address.home, email)."""


def letter_format(fmt: str | None, out: Path | None) -> str:
    """``fmt`` if given, else html for a ``.html``/``.htm`` file and text otherwise."""
    if fmt:
        return fmt
    return "html" if out and out.suffix.lower() in (".html", ".htm") else "text"


def check_target(out: Path, force: bool) -> None:
    """Refuse a letter's or package's target before any work (``vault.fsutil.check_output``).

    Raises:
        UsageError: no such folder, not writable, a folder, or it exists and ``force`` is false.
    """
    from vault.fsutil import check_output

    check_output(out, force=force)


def identifying_details(conn: Conn, keys: list[str]) -> list[tuple[str, str, str]]:
    """(key, label, value) of every profile value of ``keys``, for a letter.

    Raises:
        UsageError: an unknown key, or one the profile has no value for.
    """
    from vault.profile import load_profile, spec_for

    profile = load_profile(conn)
    details = []
    for key in keys:
        label = spec_for(key).label
        values = [p.value for p in profile if p.key == key]
        if not values:
            raise UsageError(f"your profile has no {key} (set it with `kluis profile set {key} …`)")
        details += [(key, label, value) for value in values]
    return details


SIGNER_KEYS = ("name", "address.home", "email")
"""What a letter is signed with, from the profile: a company needs them to find and answer me."""


def signer_lines(conn: Conn) -> tuple[list[str], tuple[str, ...]]:
    """The signature of a letter from the profile (name, address split at its commas, e-mail;
    a line to sign by hand for a missing name) and the ``SIGNER_KEYS`` the profile lacks."""
    from exports.letters import SIGN_HERE
    from vault.profile import load_profile

    profile = load_profile(conn)
    lines: list[str] = []
    missing = []
    for key in SIGNER_KEYS:
        value = next((p.value for p in profile if p.key == key), None)
        if value is None:
            missing.append(key)
            if key == "name":
                lines.append(SIGN_HERE)
        elif key.startswith("address."):
            lines += [part.strip() for part in value.split(",") if part.strip()]
        else:
            lines.append(value)
    return lines, tuple(missing)


def request_letter(
    store: Store,
    company: str,
    kind: str,
    *,
    language: str = "en",
    keys: list[str] | None = None,
    out: Path | None = None,
    fmt: str | None = None,
    force: bool = False,
) -> LetterResult:
    """Write a GDPR request letter to ``company`` (id or name) and track its deadline.

    Raises:
        UsageError: unknown company, kind or language; a detail the profile lacks; ``out``
            exists and ``force`` is false.
    """
    from vault.outbox import transaction
    from vault.queries import find_company

    _check_letter(kind, language, out, force)
    with transaction(store) as (conn, outbox):
        company_id, name = find_company(conn, company)
        return _write_letter(
            conn, outbox, kind, language, company_id, name, keys or [], out, fmt, None
        )


def revoke(
    store: Store,
    disclosure_id: int,
    *,
    language: str = "en",
    keys: list[str] | None = None,
    out: Path | None = None,
    fmt: str | None = None,
    force: bool = False,
) -> LetterResult:
    """Revoke a disclosure and write the Art. 17 erasure letter that withdraws its consent.

    Raises:
        UsageError: no such disclosure, or already revoked; as ``request_letter``.
    """
    from vault.ledger import revoke_disclosure
    from vault.outbox import transaction
    from vault.timefmt import now_utc

    _check_letter("erasure", language, out, force)
    with transaction(store) as (conn, outbox):
        disclosure = revoke_disclosure(conn, disclosure_id, now_utc())
        return _write_letter(
            conn,
            outbox,
            "erasure",
            language,
            disclosure["company_id"],
            disclosure["company"],
            keys or [],
            out,
            fmt,
            disclosure,
        )


def _check_letter(kind: str, language: str, out: Path | None, force: bool) -> None:
    if kind not in LETTER_KINDS:
        raise UsageError(f"unknown request type {kind!r} (one of: {', '.join(LETTER_KINDS)})")
    if language not in LETTER_LANGUAGES:
        raise UsageError(f"letters are written in {' or '.join(LETTER_LANGUAGES)}")
    if out is not None:
        check_target(out, force)


def _write_letter(
    conn: Conn,
    outbox: Outbox,
    kind: str,
    language: str,
    company_id: int,
    company: str,
    keys: list[str],
    out: Path | None,
    fmt: str | None,
    disclosure: dict[str, Any] | None,
) -> LetterResult:
    """Record the request and put its letter in ``outbox``; ``disclosure``: the one revoked."""
    from exports.letters import build_letter
    from vault.ledger import due_date, record_request
    from vault.text import one_line
    from vault.timefmt import now_utc

    details = identifying_details(conn, keys)
    signer, unsigned = signer_lines(conn)
    sent = now_utc()
    due = due_date(sent.date())
    letter = build_letter(
        kind,
        language,
        company=one_line(company),
        details=details,
        today=date.today(),
        due=due,
        disclosure=disclosure,
        signer=signer,
    )
    body = letter.html(language) if letter_format(fmt, out) == "html" else letter.text()
    path = out.resolve() if out else None
    request_id = record_request(
        conn,
        company_id=company_id,
        kind=kind,
        language=language,
        fields={key: [v for k, _l, v in details if k == key] for key in keys},
        letter_path=str(path) if path else None,
        sent_at=sent,
        disclosure_id=disclosure["id"] if disclosure else None,
    )
    if path is not None:
        undo = [("gdpr_request", request_id)] + (
            [("revocation", disclosure["id"])] if disclosure else []
        )
        outbox.add(conn, path, body.encode("utf-8"), undo, "letter")
    return LetterResult(request_id, one_line(company), kind, due, path, body, disclosure, unsigned)
