"""A readable, self-contained HTML page of a share package.

Every value is escaped (a mail title can hold markup); the page loads nothing from anywhere
(a Content-Security-Policy forbids it) and carries the receipt as inert JSON too.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from exports.package import Package
from vault.contracts import money

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; }
th { font-weight: 600; } .note { color: #555; }
"""


def _script_json(data: Any) -> str:
    # Inside <script>, "</script>" or "<!--" in a value would end or corrupt the element.
    return (
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
    )


def _table(headers: list[str], rows: list[list[str | None]]) -> list[str]:
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(cell or '')}</td>" for cell in row) + "</tr>")
    out.append("</table>")
    return out


def html_page(package: Package) -> str:
    """The page as text."""
    receipt = package.receipt
    company = escape(package.company)
    purpose = receipt["services"][0]["purposes"][0] if receipt.get("services") else {}
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        f"<title>Shared with {company}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>Shared with {company}</h1>",
        f'<p class="note">Written {escape(package.created_at)} for the purpose: '
        f"<strong>{escape(str(purpose.get('purpose', '')))}</strong>.</p>",
        "<h2>Details</h2>",
    ]
    out += _table(["Field", "Value"], [[f.label, f.value] for f in package.fields])
    if package.items and package.history == "payments":
        out.append("<h2>Transactions</h2>")
        out += _table(
            ["When", "Channel", "Direction", "Amount", "What"],
            [
                [i.occurred_at, i.channel, i.direction, money(i.amount or "0", i.currency), i.title]
                for i in package.items
            ],
        )
    elif package.items:
        out.append("<h2>History</h2>")
        out += _table(
            ["When", "Channel", "Direction", "Subject"],
            [[i.occurred_at, i.channel, i.direction, i.title] for i in package.items],
        )
    if package.bookings:
        out.append("<h2>Bookings</h2>")
        out += _table(
            ["Kind", "Reference", "Status", "Start", "Route", "Price"],
            [
                [
                    b.kind,
                    b.reference,
                    b.status,
                    b.start,
                    " → ".join(p for p in (b.number, b.origin, b.destination) if p),
                    " ".join(p for p in (b.price, b.currency) if p),
                ]
                for b in package.bookings
            ],
        )
    out.append("<h2>Consent receipt</h2>")
    out += _table(
        ["", ""],
        [
            ["Receipt", str(receipt.get("consentReceiptID", ""))],
            ["Data controller", package.company],
            ["Purpose", str(purpose.get("purpose", ""))],
            ["Expires", str(receipt.get("expiry") or "when revoked")],
            ["How to revoke", str(receipt.get("revocation", {}).get("how", ""))],
            ["Terms", str(purpose.get("termination", ""))],
        ],
    )
    out += [
        f'<script type="application/json" id="consent-receipt">{_script_json(receipt)}</script>',
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"
