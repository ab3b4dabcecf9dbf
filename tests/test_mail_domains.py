"""A sender's company domain: the registrable domain of its host, by the public suffix list
shipped with kluis, whatever shape the host has in a real mail."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vault.domains import registrable_domain


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("mail.klm.co.uk", "klm.co.uk"),
        ("NEWS.Tesco.CO.UK", "tesco.co.uk"),
        ("bol.com", "bol.com"),
        ("e.ns.nl", "ns.nl"),
        # Wildcard and exception rules (*.kawasaki.jp, !city.kawasaki.jp; *.ck, !www.ck).
        ("shop.ward.kawasaki.jp", "shop.ward.kawasaki.jp"),
        ("mail.city.kawasaki.jp", "city.kawasaki.jp"),
        ("mail.www.ck", "www.ck"),
        # The private section is not read: these suffixes stay one company's domain.
        ("shop.blogspot.com", "blogspot.com"),
        ("someone.github.io", "github.io"),
        ("brand.myshopify.com", "myshopify.com"),
        # Internationalised names, as Unicode or as punycode.
        ("post.bücher.de", "bücher.de"),
        ("post.xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("shop.example.xn--fiqs8s", "example.xn--fiqs8s"),
        # Hosts as real headers have them.
        (" mail.klm.co.uk. ", "klm.co.uk"),
        ("mail..klm.co.uk", "klm.co.uk"),
        ("x" * 64 + ".mail.klm.co.uk", "klm.co.uk"),
        ("a." * 140 + "klm.co.uk", "klm.co.uk"),
    ],
)
def test_a_host_belongs_to_its_registrable_domain(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


@pytest.mark.parametrize(
    "host", ["localhost", "co.uk", "intranet.corp", "[192.0.2.1]", "", "klm." + "x" * 64]
)
def test_a_host_with_no_registrable_domain_stays_as_it_is(host: str) -> None:
    assert registrable_domain(host) == host.casefold()


def test_reading_the_suffix_list_loads_no_network_client() -> None:
    """Nothing leaves the machine: the list ships with kluis and no HTTP stack is loaded."""
    code = (
        "import sys; from vault.domains import registrable_domain as r; "
        "assert r('mail.klm.co.uk') == 'klm.co.uk'; "
        "print([m for m in ('requests', 'urllib3', 'http.client', 'ssl') if m in sys.modules])"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
