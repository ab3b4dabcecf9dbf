"""A hostile file ends in a clear one-line error or in quarantine, with the rest imported.

Every case is imported by the real CLI in a subprocess with a timeout and a 1.5 GB address-space
limit, so a hang or a memory bomb fails the test instead of the machine. "Refused" means exit 2
with one ``kluis: ...`` line; "kept" means exit 0 with the hostile items quarantined (or read)
and every good item beside them imported; never a traceback or "unexpected error".
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.hardening.generate import (
    boarding_pass_json,
    booking_page,
    flight_jsonld,
    ics_events,
    mail_bytes,
    meta_message,
    meta_thread,
    nested_json,
    overlapping_zip,
    pkpass_zip,
    raw_zip,
    telegram_export,
    telegram_message,
    whatsapp_text,
    write_meta_export,
    zeros_member_zip,
)
from tests.hardening.harness import (
    IMPORTED,
    LONG,
    Kluis,
    assert_clean_failure,
    count,
    run_in_process,
)

Expect = Literal["refused", "kept"]


@dataclass
class Case:
    """One hostile input and what must come of it."""

    name: str
    path: Path
    format: str
    expect: Expect
    new: int = 0
    """Good items beside the hostile ones that must be imported (``kept``)."""
    quarantined: int = 0
    """Items that must at least be quarantined (``kept``)."""
    total: int | None = None
    """Items that must come out, imported or quarantined (``kept``: an mbox's mails)."""
    hostile: int = 1
    """How many hostile inputs this file holds (an mbox may hold many)."""
    timeout: float = 60.0


def check(kluis: Kluis, case: Case, *, fenced: bool = True) -> str | None:
    """Run one case; a description of what went wrong, or None."""
    started = time.monotonic()
    args = ("import", str(case.path), "--format", case.format, "--json")
    done = kluis.run(*args, timeout=case.timeout) if fenced else run_in_process(kluis, *args)
    seconds = time.monotonic() - started
    stderr = done.stderr.decode("utf-8", "replace")
    where = f"{case.name} (exit {done.returncode}, {seconds:.1f} s)"
    try:
        if case.expect == "refused":
            assert_clean_failure(done, 2)
            return None
        assert done.returncode in IMPORTED and "Traceback" not in stderr, stderr[-1500:]
        summary = json.loads(done.stdout)
        assert summary["errors"] == 0, summary
        assert summary["new"] >= case.new, summary
        assert summary["quarantined"] >= case.quarantined, summary
        assert summary["new"] + summary["quarantined"] >= 1, summary
        if case.total is not None:
            assert summary["new"] + summary["quarantined"] == case.total, summary
    except AssertionError as exc:
        return f"{where}: {str(exc)[:1500]}"
    return None


def run_cases(kluis: Kluis, klass: str, cases: list[Case], *, fenced: bool = True) -> None:
    """Every case of one class, all failures reported together.

    Fenced: each in a CLI subprocess (timeout, memory limit), two at a time, one vault each.
    Otherwise through ``cli.main.main`` in this process: for small inputs, where the work is
    nothing next to a subprocess's start-up.
    """
    if not fenced:
        problems = [p for case in cases if (p := check(kluis, case, fenced=False))]
        count("hostile", klass, sum(case.hostile for case in cases))
        assert not problems, "\n".join(problems)
        return
    vaults = [kluis]
    for n, _ in enumerate(cases[1:], start=1):
        other = kluis.vault.parent / f"vault-{n}"
        shutil.copytree(kluis.vault, other)
        vaults.append(Kluis(other, kluis.home, kluis.tmp))
    with ThreadPoolExecutor(max_workers=2) as pool:
        problems = [p for p in pool.map(check, vaults, cases) if p]
    count("hostile", klass, sum(case.hostile for case in cases))
    assert not problems, "\n".join(problems)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def mbox_of(path: Path, mails: list[bytes]) -> Path:
    """An mbox holding ``mails`` as given."""
    separator = b"From shop@example.com Mon Jan  1 12:00:00 2024\n"
    return write(path, b"".join(separator + m.rstrip(b"\n") + b"\n\n" for m in mails))


def headers(
    n: int, extra: bytes = b"", *, date: bytes = b"Mon, 1 Jan 2024 10:00:00 +0000"
) -> bytes:
    return (
        b"From: Shop <service@shop.example.com>\nTo: sanne@example.org\n"
        + f"Message-ID: <hostile-{n}@shop.example.com>\nSubject: hostile {n}\n".encode()
        + b"Date: "
        + date
        + b"\n"
        + extra
    )


GOOD = [mail_bytes(1000 + n) for n in range(3)]
"""Control mails placed beside hostile ones: they must always be imported."""


# --- zip bombs and zip slip ----------------------------------------------------------------------


def test_zip_bombs_are_refused_before_anything_is_inflated(kluis: Kluis, tmp_path: Path) -> None:
    good_eml = mail_bytes(1)
    cases = [
        Case(
            "one member 1000:1",
            write(tmp_path / "ratio.zip", zeros_member_zip("inbox.mbox", 20 * 1024 * 1024)),
            "auto",
            "refused",
        ),
        Case(
            "many members past 20x the archive",
            write(
                tmp_path / "size.zip",
                raw_zip([(f"m{n}/cur/{n}.eml", b"\0" * (1024 * 1024)) for n in range(80)]),
            ),
            "auto",
            "refused",
        ),
        Case(
            "overlapping members",
            write(
                tmp_path / "overlap.zip", overlapping_zip("a.eml", good_eml + b"x" * 300_000, 400)
            ),
            "auto",
            "refused",
        ),
        Case(
            "zip bomb as --format mbox",
            write(tmp_path / "ratio-mbox.zip", zeros_member_zip("inbox.mbox", 20 * 1024 * 1024)),
            "mbox",
            "refused",
        ),
        Case(
            "nested zip bomb is not opened",
            write(
                tmp_path / "nested.zip",
                raw_zip(
                    [
                        ("inbox/good.eml", good_eml),
                        ("inner.zip", zeros_member_zip("inbox.mbox", 30 * 1024 * 1024)),
                    ]
                ),
            ),
            "auto",
            "kept",
            new=1,
        ),
        Case(
            "whatsapp media bomb",
            write(
                tmp_path / "WhatsApp Chat with Jansen.zip",
                raw_zip(
                    [
                        (
                            "WhatsApp Chat with Jansen.txt",
                            whatsapp_text(3, contact="Jansen")
                            .replace(
                                "message 1 about", "IMG-1.jpg (file attached)\nmessage 1 about"
                            )
                            .encode(),
                        ),
                        ("IMG-1.jpg", b"\0" * (20 * 1024 * 1024)),
                    ]
                ),
            ),
            "whatsapp",
            "kept",
            new=3,
        ),
        Case(
            "whatsapp chat text bomb",
            write(
                tmp_path / "WhatsApp Chat with Bomb.zip",
                raw_zip(
                    [
                        (
                            "WhatsApp Chat with Bomb.txt",
                            whatsapp_text(2).encode() + b"\0" * (20 * 1024 * 1024),
                        )
                    ]
                ),
            ),
            "whatsapp",
            "kept",
        ),
    ]
    if LONG:
        cases.append(
            Case(
                "200,001 members",
                write(
                    tmp_path / "members.zip", raw_zip([(f"{n}.txt", b"") for n in range(200_001)])
                ),
                "auto",
                "refused",
                timeout=300,
            )
        )
    run_cases(kluis, "zip bombs", cases)


def test_zip_members_that_escape_the_archive_are_quarantined_and_never_followed(
    kluis: Kluis, tmp_path: Path
) -> None:
    good = mail_bytes(2)
    escape = raw_zip(
        [
            ("inbox/good.eml", good),
            ("../../escaped.eml", mail_bytes(3)),
            ("/tmp/absolute.eml", mail_bytes(4)),
            ("C:\\Users\\x\\drive.eml", mail_bytes(5)),
            ("inbox/..\\..\\backslash.eml", mail_bytes(6)),
            ("inbox/link.eml", b"/etc/passwd"),
        ],
        symlinks=frozenset({"inbox/link.eml"}),
    )
    chat = whatsapp_text(4, contact="Jansen").replace(
        "message 1 about", "IMG-1.jpg (file attached)\nmessage 1 about"
    )
    whatsapp = raw_zip(
        [
            ("WhatsApp Chat with Jansen.txt", chat.encode()),
            ("../WhatsApp Chat with Evil.txt", whatsapp_text(2, contact="Evil").encode()),
            ("IMG-1.jpg", b"/etc/passwd"),
        ],
        symlinks=frozenset({"IMG-1.jpg"}),
    )
    cases = [
        Case(
            "../, absolute, drive, backslash, symlink",
            write(tmp_path / "slip.zip", escape),
            "auto",
            "kept",
            new=1,
            hostile=5,
            quarantined=5,
        ),
        Case(
            "eml --format over a slip zip",
            write(tmp_path / "slip-eml.zip", escape),
            "eml",
            "kept",
            new=1,
            hostile=5,
            quarantined=5,
        ),
        Case(
            "whatsapp ../ chat and symlink media",
            write(tmp_path / "WhatsApp Chat with Jansen.zip", whatsapp),
            "whatsapp",
            "kept",
            new=4,
            hostile=2,
        ),
    ]
    run_cases(kluis, "zip slip", cases)
    assert not list(tmp_path.parent.rglob("escaped.eml"))
    assert not list(tmp_path.parent.rglob("absolute.eml"))


# --- mail: MIME bombs, charsets, NUL bytes, giant headers, dates ---------------------------------


def nested_multipart(depth: int) -> bytes:
    body = b"MIME-Version: 1.0\n"
    for level in range(depth):
        body += f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode()
    body += b"Content-Type: text/plain\n\nthe innermost part\n"
    for level in reversed(range(depth)):
        body += f"--b{level}--\n".encode()
    return body


def many_parts(count: int) -> bytes:
    parts = b"".join(
        f"--XX\nContent-Type: application/octet-stream\nContent-Disposition: attachment; "
        f'filename="part{n}.bin"\n\n{n}\n'.encode()
        for n in range(count)
    )
    return (
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n\n' + parts + b"--XX--\n"
    )


def test_mime_bombs_end_in_quarantine_or_a_bounded_import(kluis: Kluis, tmp_path: Path) -> None:
    deep = headers(1, nested_multipart(10_000)[len(b"MIME-Version: 1.0\n") :])
    wide = headers(2, many_parts(10_000))
    html = headers(
        3, b"Content-Type: text/html\n\n" + b"<div>" * 10_000 + b"deep" + b"</div>" * 10_000
    )
    alternative = headers(
        4,
        b'Content-Type: multipart/alternative; boundary="A"\n\n'
        + b"".join(
            f"--A\nContent-Type: text/html\n\n<p>version {n}</p>\n".encode() for n in range(10_000)
        )
        + b"--A--\n",
    )
    cases = [
        Case("10,000 levels of multipart", write(tmp_path / "deep.eml", deep), "eml", "kept"),
        Case(
            "in one mbox, beside good mail",
            mbox_of(
                tmp_path / "bombs.mbox", [GOOD[0], deep, wide, GOOD[1], html, alternative, GOOD[2]]
            ),
            "mbox",
            "kept",
            new=3,
            hostile=4,
            total=7,
        ),
    ]
    run_cases(kluis, "MIME bombs", cases)


def test_broken_and_lying_charsets_never_cost_a_mail(kluis: Kluis, tmp_path: Path) -> None:
    text = "Gefeliciteerd, uw bestelling is onderweg. Größe: 42 — €12".encode("latin-1", "replace")
    bodies = [
        (b"Content-Type: text/plain; charset=x-no-such-charset\n\n", text),
        (b"Content-Type: text/plain; charset=utf-8\n\n", text),  # latin-1 labelled utf-8
        (b"Content-Type: text/plain; charset=utf-16\n\n", b"\xff\xfeA\x00B"),  # odd length
        (b"Content-Type: text/plain; charset=base64\n\n", b"aGVsbG8="),  # a codec, not a charset
        (b"Content-Type: text/plain; charset=rot13\n\n", b"uryyb"),
        (b"Content-Type: text/plain; charset=utf-7\n\n", b"+AGEAYgBj-+ZeVnLIqe-+"),
        (b'Content-Type: text/plain; charset="utf-8\0"\n\n', b"nul in the label"),
        (b"Content-Type: text/plain; charset=iso-2022-jp\n\n", b"\x1b$B%F%9%H\x1b(B\xff\xfe"),
        (b"Content-Type: text/html; charset=utf-8\n\n", b'<meta charset="x-bogus">' + text),
        (b"Content-Type: text/plain; charset=" + b"a" * 5000 + b"\n\n", b"long label"),
        (
            b"Subject: =?x-unknown?B?aGVsbG8=?= =?utf-8?Q?=FF=FE?= =?utf-7?B?Kw?=\n"
            b"Content-Type: text/plain\n\n",
            b"encoded words in bad charsets",
        ),
        (b"Content-Type: text/plain; charset=utf-32\n\n", b"\x00\x00\x11\x00" * 3),
        (
            b"Content-Type: text/plain; charset=cp1252\nContent-Transfer-Encoding: base64\n\n",
            b"!!!not base64 at all!!!\n===",
        ),
        (
            b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable"
            b"\n\n",
            b"=ZZ=F=\n=C3",
        ),
    ]
    mails = [headers(n, head + body) for n, (head, body) in enumerate(bodies)]
    cases = [
        Case(
            "charsets",
            mbox_of(tmp_path / "charsets.mbox", [*GOOD, *mails]),
            "mbox",
            "kept",
            new=len(GOOD),
            hostile=len(mails),
            total=len(mails) + len(GOOD),
        )
    ]
    run_cases(kluis, "charsets", cases)


def test_nul_bytes_anywhere_are_harmless(kluis: Kluis, tmp_path: Path) -> None:
    mails = [
        headers(1, b"Content-Type: text/plain\n\nbody with \0 a NUL\n"),
        headers(2, b"X-Null: \0\0\0\n\n\0\0\0"),
        b"From: Sh\0p <service@shop.example.com>\nSubject: nul \0 subject\n"
        b"Message-ID: <nul-3@shop.example.com>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nbody",
        headers(
            4,
            b'Content-Type: multipart/mixed; boundary="B"\n\n--B\n'
            b'Content-Disposition: attachment; filename="a\0b.pdf"\n\n%PDF\0\n--B--\n',
        ),
        b"\0" * 1000,
    ]
    chat = whatsapp_text(3, contact="Jansen").replace("message 1", "mess\0age 1") + "\0\0\n"
    telegram = telegram_export([telegram_message(1, "nul \u0000 in text", "K\u0000LM")])
    cases = [
        Case(
            "mails",
            mbox_of(tmp_path / "nul.mbox", [GOOD[0], *mails]),
            "mbox",
            "kept",
            new=1,
            hostile=len(mails),
            total=len(mails) + 1,
        ),
        Case(
            "whatsapp",
            write(tmp_path / "WhatsApp Chat with Jansen.txt", chat),
            "whatsapp",
            "kept",
            new=2,
        ),
        Case("telegram", write(tmp_path / "tg" / "result.json", telegram), "telegram", "kept"),
        Case("NUL-only eml", write(tmp_path / "nul.eml", b"\0" * 4096), "eml", "kept"),
    ]
    run_cases(kluis, "NUL bytes", cases)


def test_gigantic_header_lines_are_read_or_quarantined_in_bounded_memory(
    kluis: Kluis, tmp_path: Path
) -> None:
    ten_mb = 10 * 1024 * 1024
    # Ten megabytes of addresses take seconds to parse (linear, but slow): 1 MB in `make test`.
    list_bytes = ten_mb if LONG else ten_mb // 10
    mails = [
        headers(1, b"X-Long: " + b"a" * ten_mb + b"\n\nbody"),
        b"Subject: " + b"s" * ten_mb + b"\nFrom: x@shop.example.com\n"
        b"Date: Mon, 1 Jan 2024 10:00:00 +0000\nMessage-ID: <giant-2@x>\n\nbody",
        headers(3, b"To: " + b"a@b.example.com, " * (list_bytes // 16) + b"\n\nbody"),
        headers(4, b"References: " + b"<r@x> " * (list_bytes // 6) + b"\n\nbody"),
        headers(5, b"\n" + b"one body line without a newline " * (ten_mb // 32)),
    ]
    chat = "1/2/24, 9:00 AM - Jansen: " + "x" * ten_mb + "\n" + whatsapp_text(2, contact="Jansen")
    cases = [
        Case(
            "10 MB header lines",
            mbox_of(tmp_path / "giant.mbox", [GOOD[0], *mails, GOOD[1]]),
            "mbox",
            "kept",
            new=2,
            hostile=len(mails),
            total=len(mails) + 2,
            timeout=120,
        ),
        Case(
            "10 MB chat line",
            write(tmp_path / "WhatsApp Chat with Jansen.txt", chat),
            "whatsapp",
            "kept",
            new=2,
        ),
    ]
    run_cases(kluis, "gigantic header lines", cases)


def test_malformed_dates_are_quarantined_or_read_never_a_crash(
    kluis: Kluis, tmp_path: Path
) -> None:
    dates = [
        b"Mon, 99 Foo 99999 99:99:99 +9999",
        b"Thu, 1 Jan 0000 00:00:00 +0000",
        b"Fri, 31 Dec 9999 23:59:59 -2359",
        b"Sat, 1 Jan 1 00:00:00 +0000",
        b"9999999999999999999999999",
        b"2024-02-30T25:61:61Z",
        b"-1",
        b"Mon, 1 Jan 2024 10:00:00 +99999999999",
        b"=?utf-8?B?////?=",
        b"",
        b"1e308",
        b"Tue, 30 Feb 2021 10:00:00 GMT",
    ]
    mails = [headers(n, b"\nbody", date=d) for n, d in enumerate(dates)]
    telegram = telegram_export(
        [
            {**telegram_message(1, "ok"), "date": "not a date", "date_unixtime": "1" * 40},
            {**telegram_message(2, "ok"), "date_unixtime": "-99999999999999"},
            {**telegram_message(3, "ok"), "date": "9999-99-99T99:99:99", "date_unixtime": None},
            telegram_message(4, "a good message"),
        ]
    )
    messenger = meta_thread(
        [
            {**meta_message(1, "ok"), "timestamp_ms": 10**30},
            {**meta_message(2, "ok"), "timestamp_ms": -(10**20)},
            {**meta_message(3, "ok"), "timestamp_ms": "yesterday"},
            meta_message(5, "a good message"),
        ]
    )
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:99999999T999999\r\nSUMMARY:Table\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTART;TZID=Nowhere/Land:20240101T100000\r\nSUMMARY:x\r\n"
        "END:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:c\r\nDTSTART:00000101T000000Z\r\nDTEND:20240101\r\nSUMMARY:y\r\n"
        "END:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    chat = "31/31/24, 25:61 - Jansen: impossible\n" + whatsapp_text(2, contact="Jansen")
    cases = [
        Case(
            "mail dates",
            mbox_of(tmp_path / "dates.mbox", [GOOD[0], *mails]),
            "mbox",
            "kept",
            new=1,
            hostile=len(mails),
            total=len(mails) + 1,
        ),
        Case(
            "telegram dates",
            write(tmp_path / "tg" / "result.json", telegram),
            "telegram",
            "kept",
            new=1,
            hostile=3,
        ),
        Case(
            "messenger timestamps",
            write_meta_export(tmp_path / "fb", "facebook", messenger),
            "messenger",
            "kept",
            new=1,
            hostile=3,
        ),
        Case("calendar dates", write(tmp_path / "dates.ics", ics), "ics", "kept", hostile=3),
        Case(
            "whatsapp dates",
            write(tmp_path / "WhatsApp Chat with Jansen.txt", chat),
            "whatsapp",
            "kept",
            new=2,
        ),
    ]
    run_cases(kluis, "malformed dates", cases, fenced=False)


# --- JSON and HTML: truncated, deep -------------------------------------------------------------


def test_truncated_json_exports_are_a_clear_error_or_quarantine(
    kluis: Kluis, tmp_path: Path
) -> None:
    telegram = telegram_export([telegram_message(n, f"message {n}") for n in range(20)])
    messenger = meta_thread([meta_message(n, f"message {n}") for n in range(20)])
    cases = []
    for cut in (1, len(telegram) // 3, len(telegram) // 2, len(telegram) - 2):
        path = write(tmp_path / f"tg{cut}" / "result.json", telegram[:cut])
        cases.append(Case(f"telegram cut at {cut}", path, "telegram", "kept", quarantined=1))
    for app, fmt in (("facebook", "messenger"), ("instagram", "instagram")):
        for cut in (len(messenger) // 2, len(messenger) - 1):
            root = write_meta_export(tmp_path / f"{app}{cut}", app, messenger[:cut])
            cases.append(Case(f"{fmt} cut at {cut}", root, fmt, "kept"))
    jsonld = json.dumps(flight_jsonld())
    cases.append(
        Case(
            "json-ld cut",
            write(tmp_path / "cut.jsonld", jsonld[: len(jsonld) // 2]),
            "jsonld",
            "refused",
        )
    )
    pass_json = json.dumps(boarding_pass_json())
    cases.append(
        Case(
            "pkpass with cut pass.json",
            write(tmp_path / "cut.pkpass", pkpass_zip(pass_json[:100])),
            "pkpass",
            "refused",
        )
    )
    run_cases(kluis, "truncated JSON", cases, fenced=False)


def test_ten_thousand_deep_json_and_html_are_refused_or_quarantined(
    kluis: Kluis, tmp_path: Path
) -> None:
    deep = nested_json(10_000)
    deep_object = '{"a":' * 10_000 + "1" + "}" * 10_000
    page = booking_page(flight_jsonld(), "<div>" * 10_000 + "deep" + "</div>" * 10_000)
    deep_markup = booking_page(
        flight_jsonld(),
        '<script type="application/ld+json">' + deep_object + "</script>"
        '<script type="application/ld+json">' + deep + "</script>",
    )
    microdata = (
        "<html><body>"
        + "<div itemscope itemtype='http://schema.org/FlightReservation' itemprop='x'>" * 10_000
        + "</div>" * 10_000
        + "</body></html>"
    )
    cases = [
        Case(
            "html microdata 10,000 scopes deep",
            write(tmp_path / "microdata.html", microdata),
            "html",
            "kept",
        ),
        Case(
            "telegram messages",
            write(
                tmp_path / "a" / "result.json",
                '{"name":"KLM","type":"personal_chat","id":1,"messages":' + deep + "}",
            ),
            "telegram",
            "kept",
            quarantined=1,
        ),
        Case(
            "telegram message text",
            write(
                tmp_path / "b" / "result.json",
                telegram_export(
                    [
                        telegram_message(1, "ok"),
                        {**telegram_message(2, "x"), "text": json.loads(nested_json(500))},
                    ]
                ),
            ),
            "telegram",
            "kept",
            new=1,
        ),
        Case(
            "telegram whole file",
            write(tmp_path / "c" / "result.json", deep_object),
            "telegram",
            "kept",
            quarantined=1,
        ),
        Case(
            "messenger",
            write_meta_export(tmp_path / "fb", "facebook", '{"messages":' + deep + "}"),
            "messenger",
            "kept",
        ),
        Case(
            "instagram",
            write_meta_export(tmp_path / "ig", "instagram", deep_object),
            "instagram",
            "kept",
        ),
        Case("json-ld", write(tmp_path / "deep.jsonld", deep), "jsonld", "refused"),
        Case("json-ld object", write(tmp_path / "deep2.jsonld", deep_object), "jsonld", "refused"),
        Case(
            "pkpass", write(tmp_path / "deep.pkpass", pkpass_zip(deep_object)), "pkpass", "refused"
        ),
        Case(
            "html page around a booking", write(tmp_path / "deep.html", page), "html", "kept", new=1
        ),
        Case(
            "html page with deep JSON-LD",
            write(tmp_path / "deep-markup.html", deep_markup),
            "html",
            "kept",
            new=1,
        ),
    ]
    run_cases(kluis, "10,000-deep JSON and HTML", cases, fenced=False)


# --- bookings: BCBP, pkpass, ics ---------------------------------------------------------------

VALID_BCBP = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100"


def test_invalid_boarding_pass_barcodes_are_a_clear_error(kluis: Kluis, tmp_path: Path) -> None:
    bad = [
        "",
        "M",
        "M5DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100",
        "M1",
        "M1" + " " * 60,
        VALID_BCBP[:30],
        VALID_BCBP[:-3] + "ZZZ",
        VALID_BCBP[:-2] + "zz",  # field size not hex
        VALID_BCBP.replace("0834", "XXXX"),
        VALID_BCBP.replace("326", "999"),
        VALID_BCBP.replace(" 100", " 1FF") + "<",
        "M2DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100",
        VALID_BCBP.replace("DESMARAIS/LUC ", "\x1b]52;c;aGVsbG8=\x07"),
        "M1" + "\0" * 80,
        VALID_BCBP.replace("YULFRA", "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"),
        "M1" + "A" * 5000,
        VALID_BCBP + "\n" + VALID_BCBP,
        VALID_BCBP.replace("J001A", "\x9b2J\x07A"),
        VALID_BCBP[:-2] + "-1",
    ]
    cases = []
    for n, barcode in enumerate(bad):
        path = write(tmp_path / f"bad{n}.txt", barcode.encode("utf-8", "surrogatepass"))
        cases.append(Case(f"barcode {barcode[:40]!r}", path, "bcbp", "refused"))
    run_cases(kluis, "invalid BCBP strings", cases, fenced=False)


def test_a_pkpass_that_is_not_a_pass_is_a_clear_error(kluis: Kluis, tmp_path: Path) -> None:
    cases = [
        Case("not a zip", write(tmp_path / "a.pkpass", b"not a zip at all"), "pkpass", "refused"),
        Case("empty", write(tmp_path / "b.pkpass", b""), "pkpass", "refused"),
        Case(
            "a pdf", write(tmp_path / "c.pkpass", b"%PDF-1.4\n" + b"\0" * 100), "pkpass", "refused"
        ),
        Case(
            "zip without pass.json",
            write(tmp_path / "d.pkpass", raw_zip([("x", b"y")])),
            "pkpass",
            "refused",
        ),
        Case(
            "pass.json bomb",
            write(tmp_path / "e.pkpass", zeros_member_zip("pass.json", 20 * 1024 * 1024)),
            "pkpass",
            "refused",
        ),
        Case(
            "pass.json is a list",
            write(tmp_path / "f.pkpass", pkpass_zip("[1, 2]")),
            "pkpass",
            "refused",
        ),
        Case(
            "pass.json of wrong types",
            write(
                tmp_path / "g.pkpass",
                pkpass_zip(
                    {
                        "formatVersion": "x",
                        "boardingPass": [1],
                        "relevantDate": 5,
                        "description": {},
                    }
                ),
            ),
            "pkpass",
            "kept",
        ),
        Case(  # found by the property test: zipfile seeks to -1 (ValueError)
            "zip missing its first byte",
            write(tmp_path / "i.pkpass", pkpass_zip(boarding_pass_json())[1:]),
            "pkpass",
            "refused",
        ),
        Case(
            "cut zip",
            write(tmp_path / "h.pkpass", pkpass_zip(boarding_pass_json())[:60]),
            "pkpass",
            "refused",
        ),
    ]
    run_cases(kluis, "pkpass not a pass", cases, fenced=False)


def test_a_calendar_of_many_events_imports_within_its_time_bound(
    kluis: Kluis, tmp_path: Path
) -> None:
    count_ = 100_000 if LONG else 5_000
    bound = 240.0 if LONG else 30.0
    path = write(tmp_path / "many.ics", ics_events(count_))
    started = time.monotonic()
    summary = kluis.json("import", str(path), "--format", "ics")
    seconds = time.monotonic() - started
    count("hostile", f"calendar of {count_:,} events")
    print(f"ics: {count_:,} events in {seconds:.1f} s")
    assert summary["new"] + summary["quarantined"] == count_
    assert seconds < bound
