"""Mail domains: registrable domains (offline public suffix list), ESP and freemail lists."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any


@cache
def _extractor() -> Any:
    import tldextract  # deferred: loading the suffix list is only needed by imports

    # The bundled suffix-list snapshot only: kluis never fetches anything from the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@cache
def registrable_domain(host: str) -> str:
    """``mail.klm.co.uk`` → ``klm.co.uk``; a host with no known suffix is returned as is."""
    host = host.strip().strip(".").casefold()
    result = _extractor()(host)
    if result.domain and result.suffix:
        return f"{result.domain}.{result.suffix}"
    return host


def _domain_list(name: str) -> frozenset[str]:
    text = files("vault").joinpath("data", name).read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


@cache
def esp_domains() -> frozenset[str]:
    """Registrable domains of mail service providers and relays."""
    return _domain_list("esp_domains.txt")


@cache
def freemail_domains() -> frozenset[str]:
    """Domains of free personal mail providers."""
    return _domain_list("freemail_domains.txt")


def is_relay(host: str) -> bool:
    """True for a host of a listed ESP or relay (``bounce.brand.com`` is the brand's own)."""
    return registrable_domain(host) in esp_domains()


def is_freemail(host: str) -> bool:
    """True for a free personal mail provider's domain."""
    host = host.casefold()
    return host in freemail_domains() or registrable_domain(host) in freemail_domains()


def address_domain(address: str) -> str | None:
    """The domain of an email address, lower-case, or None if it has none."""
    _, at, domain = address.rpartition("@")
    domain = domain.strip().strip(">").casefold()
    return domain if at and domain else None
