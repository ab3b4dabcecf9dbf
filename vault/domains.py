"""Mail domains: registrable domains (by the public suffix list in ``data/``), ESP, freemail,
internet provider and list-host lists."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vault.store import RawConnection

_SENDER_ID = re.compile(r"[a-z][a-z0-9-]{1,10}")  # GSM 03.40: 11 characters; no LIKE wildcards


_ICANN_END = "// ===END ICANN DOMAINS==="
_MOST_LABELS = 6  # the longest ICANN rules have 4 labels (wildcard ones 3): the domain, 1 spare


@cache
def _extractor() -> Any:
    from pydomainextractor import DomainExtractor  # deferred: only imports need the list

    # The list's ICANN section only: a private section's suffix (``myshopify.com``,
    # ``blogspot.com``) stays the domain of the company that runs it, as it always was here.
    text = files("vault").joinpath("data", "public_suffix_list.dat").read_text(encoding="utf-8")
    return DomainExtractor(text[: text.index(_ICANN_END)])


@cache
def registrable_domain(host: str) -> str:
    """``mail.klm.co.uk`` → ``klm.co.uk``; a host with no known suffix is returned as is."""
    host = host.strip().strip(".").casefold()
    try:
        parts = _extractor().extract(host)
    except ValueError:  # not a valid name as a whole: its last valid labels may still be one
        try:
            parts = _extractor().extract(_valid_tail(host))
        except ValueError:
            return host
    if parts["domain"] and parts["suffix"]:
        return f"{parts['domain']}.{parts['suffix']}"
    return host


def _valid_tail(host: str) -> str:
    """The last labels of ``host`` after its last empty or overlong one, at most enough for
    the longest rule of the list plus a domain."""
    labels = host.split(".")[-_MOST_LABELS:]
    bad = [i for i, label in enumerate(labels) if not 0 < len(label.encode()) <= 63]
    return ".".join(labels[bad[-1] + 1 :] if bad else labels)


def data_lines(name: str) -> list[str]:
    """The lines of data file ``vault/data/<name>`` that are neither blank nor comments."""
    text = files("vault").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _domain_list(name: str) -> frozenset[str]:
    return frozenset(line.casefold() for line in data_lines(name))


@cache
def esp_domains() -> frozenset[str]:
    """Registrable domains of mail service providers and relays."""
    return _domain_list("esp_domains.txt")


@cache
def freemail_domains() -> frozenset[str]:
    """Domains of free personal mail providers."""
    return _domain_list("freemail_domains.txt")


@cache
def isp_domains() -> frozenset[str]:
    """Domains of internet providers whose customers have addresses there too."""
    return _domain_list("isp_domains.txt")


@cache
def list_hosts() -> frozenset[str]:
    """Domains that rewrite a list post's From into an address of their own."""
    return _domain_list("list_hosts.txt")


@cache
def calendar_hosts() -> frozenset[str]:
    """Domains of calendar services and programs, whose hosts name no business."""
    return _domain_list("calendar_hosts.txt")


def is_calendar_host(host: str) -> bool:
    """True for a calendar service's domain (an iCalendar UID made by Google, Apple, …)."""
    return registrable_domain(host) in calendar_hosts()


def is_relay(host: str) -> bool:
    """True for a host of a listed ESP or relay (``bounce.brand.com`` is the brand's own)."""
    return registrable_domain(host) in esp_domains()


def is_freemail(host: str) -> bool:
    """True for a free personal mail provider's domain."""
    host = host.casefold()
    return host in freemail_domains() or registrable_domain(host) in freemail_domains()


def is_isp(host: str) -> bool:
    """True for an internet provider's domain (its own mail and its customers')."""
    return registrable_domain(host) in isp_domains()


def is_personal_provider(host: str) -> bool:
    """True where an address may be anyone's: freemail and internet providers."""
    return is_freemail(host) or is_isp(host)


def is_list_host(host: str) -> bool:
    """True for a host whose From addresses stand for a list post's real poster."""
    return registrable_domain(host) in list_hosts()


def address_domain(address: str) -> str | None:
    """The domain of an email address, lower-case, or None if it has none."""
    _, at, domain = address.rpartition("@")
    domain = domain.strip().strip(">").casefold()
    return domain if at and domain else None


def domain_of_sender_id(db: RawConnection, sender_id: str) -> str | None:
    """A known mail domain whose label is an SMS's alphanumeric sender id (``KLM``: ``klm.com``,
    the brand as registered with the carriers), if all such domains are one company's; None
    if none, if several companies', or if the sender is a number."""
    label = sender_id.casefold()
    if not _SENDER_ID.fullmatch(label):
        return None
    rows = db.execute(
        "SELECT value, company_id FROM identifier WHERE kind = 'email_domain' AND value LIKE :p "
        "ORDER BY id",
        {"p": f"{label}.%"},
    ).fetchall()
    # Stored domains are registrable already: their label is the first part.
    found = [(str(row[0]), row[1]) for row in rows if str(row[0]).split(".", 1)[0] == label]
    return found[0][0] if len({company for _, company in found}) == 1 else None
