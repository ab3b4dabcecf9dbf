"""`python bench/import_chat.py`: the rate of a large WhatsApp import through the real `kluis import`.

Generates a deterministic WhatsApp export of --messages messages (100,000 by default) in a private
folder under /tmp (mode 0700, removed at the end): a few chats, each an Android "Export chat" text
zipped as WhatsApp shares it, among them a business chat (the business notice), a group with
join and leave lines, multi-line messages, attached-file lines with their photos in the zip and
"<Media omitted>" markers. Then imports the folder into a fresh vault and prints

    whatsapp 100,000 messages: N s, M msg/s, peak RSS X MB

Figures, not a test (see bench/README.md: repeat on this shared machine and compare medians).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_mail import PASSPHRASE, _env, _which
from measure import machine_line, run

ME = "Sanne de Vries"
CHATS = (
    # (chat name, other senders, share of all messages, business)
    ("KLM", ["KLM"], 0.15, True),
    ("Familie de Vries", ["Mam", "Pap", "Joris de Vries", "+31 6 12345678"], 0.45, False),
    ("Joris Bakker", ["Joris Bakker"], 0.25, False),
    ("Kapsalon Lotte", ["Kapsalon Lotte"], 0.15, False),
)
PHRASES = (
    "Goedemorgen!",
    "Hoe laat zullen we afspreken?",
    "Ik ben er over tien minuten 🚲",
    "Top, tot straks",
    "Heb je de foto's al gezien?",
    "Je boeking KL1234 naar Lissabon is bevestigd. Inchecken kan vanaf 30 uur voor vertrek.",
    "Dat klinkt goed, ik neem de taart mee 🎂",
    "Kun je me het adres nog even sturen?",
    "Haha 😂",
    "Prima!",
    "Uw afspraak staat op dinsdag om 9:30. Tot dan!",
    "Ik bel je vanavond even",
)
BUSINESS_NOTICE = (
    "This business uses a secure service from Meta to manage this chat. Tap to learn more."
)


def _stamp(when: datetime) -> str:
    return f"{when:%d/%m/%Y}, {when:%H:%M}"


def chat_text(
    others: list[str], count: int, business: bool, rng: random.Random
) -> tuple[str, dict[str, bytes]]:
    """One chat's export text with ``count`` messages, and the media files it names."""
    when = datetime(2019, 3, 1, 8, 0)
    lines = [f"{_stamp(when)} - Messages and calls are end-to-end encrypted. Tap to learn more."]
    if business:
        lines.append(f"{_stamp(when)} - {BUSINESS_NOTICE}")
    media: dict[str, bytes] = {}
    for number in range(count):
        when += timedelta(minutes=rng.choice((0, 1, 2, 5, 17, 60, 240, 900)))
        sender = ME if rng.random() < 0.45 else rng.choice(others)
        roll = rng.random()
        if len(others) > 1 and roll < 0.002:
            lines.append(f"{_stamp(when)} - {sender} left")
            continue
        if roll < 0.03:
            file_name = f"IMG-{when:%Y%m%d}-WA{number % 10000:04d}.jpg"
            if len(media) < 200:
                media[file_name] = rng.randbytes(2048)
            lines.append(f"{_stamp(when)} - {sender}: {file_name} (file attached)")
            continue
        if roll < 0.06:
            lines.append(f"{_stamp(when)} - {sender}: <Media omitted>")
            continue
        text = rng.choice(PHRASES)
        if roll < 0.15:  # multi-line: a list, an address
            text += "\n" + "\n".join(rng.sample(PHRASES, 2))
        lines.append(f"{_stamp(when)} - {sender}: {text}")
    return "\n".join(lines) + "\n", media


def write_export(folder: Path, messages: int, seed: int = 20240301) -> None:
    """The chats as Android shares them: ``WhatsApp Chat with X.zip`` holding the text and media."""
    rng = random.Random(seed)
    for name, others, share, business in CHATS:
        text, media = chat_text(others, round(messages * share), business, rng)
        target = folder / f"WhatsApp Chat with {name}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"WhatsApp Chat with {name}.txt", text)
            for file_name, data in media.items():
                archive.writestr(file_name, data)
        target.chmod(0o600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kluis-bench-chat-", dir="/tmp"))  # mode 0700
    try:
        export = work / "export"
        export.mkdir(mode=0o700)
        write_export(export, args.messages)
        kluis = _which("kluis") or "kluis"
        env = _env(KLUIS_VAULT=str(work / "vault"), KLUIS_PASSPHRASE=PASSPHRASE)
        init = run([kluis, "init"], env=env)
        if init.returncode:
            raise SystemExit(f"kluis init failed: {init.stderr.strip()}")
        result = run(
            [kluis, "import", export, "--timezone", "Europe/Amsterdam", "--me", ME, "--json"],
            env=env,
        )
        if result.returncode not in (0, 3):  # 3: done, some items quarantined
            raise SystemExit(f"kluis import failed: {result.stderr.strip()}")
        summary = json.loads(result.stdout)
        print(machine_line())
        print(
            f"whatsapp {args.messages:,} messages: {result.wall:.1f} s, "
            f"{args.messages / result.wall:,.0f} msg/s, peak RSS {result.peak_rss_mb:.0f} MB"
        )
        print(
            f"  ({summary['new']:,} new items incl. notices, {summary['quarantined']:,} "
            f"quarantined, CPU {result.cpu:.1f} s)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
