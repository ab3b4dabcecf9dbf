"""WhatsApp exports of every generation through ``kluis import``, as a user sees them.

Each story imports a fixture of ``tests/fixtures/whatsapp`` into a real vault with the real CLI
in a fenced subprocess, then reads it back with ``companies``, ``timeline`` and ``show``. The
hostile texts at the end (huge lines, binary, mixed date orders, notice-like lines by the
thousand) are imported the same way: read or quarantined, never a traceback or a hang.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.harness import LONG, Kluis, count, import_summary
from tests.support import FIXTURES

WHATSAPP = FIXTURES / "whatsapp"
IOS_DECEMBER = WHATSAPP / "export december"
IOS_GROUP = WHATSAPP / "Downloads copy"
FINNISH = WHATSAPP / "WhatsApp-keskustelu Pyöräkorjaamo Virtanen.txt"
ME = ("--me", "Sanne de Vries")


def imported(kluis: Kluis, path: Path, *args: str) -> dict[str, Any]:
    """``kluis import PATH --json``, which must succeed with no traceback; its summary."""
    summary = import_summary(
        kluis.run("import", str(path), "--format", "whatsapp", *args, "--json")
    )
    return summary


def companies(kluis: Kluis) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in kluis.json("companies")}


def timeline(kluis: Kluis, company: str) -> list[dict[str, Any]]:
    return sorted(kluis.json("timeline", company), key=lambda item: item["id"])


def test_an_ios_12_hour_chat_of_early_december_lands_in_december_and_says_why(
    kluis: Kluis,
) -> None:
    summary = imported(kluis, IOS_DECEMBER)
    assert (summary["new"], summary["quarantined"]) == (10, 0)
    [note] = summary["notes"]
    assert "day first (1 December 2024)" in note
    assert "00000004-PHOTO-2024-12-03" in note
    garage = companies(kluis)["Garage Smit"]
    assert garage["first_at"].startswith("2024-12-01T09:14:02")
    assert garage["last_at"].startswith("2024-12-04T11:30:42")
    again = imported(kluis, IOS_DECEMBER)
    assert (again["new"], again["quarantined"]) == (0, 0)


def test_the_summary_prints_the_date_order_note(kluis: Kluis) -> None:
    done = kluis.run("import", str(IOS_DECEMBER))
    assert done.returncode == 0
    assert "note: " in done.stdout.decode() and "read day first" in done.stdout.decode()


def test_a_one_to_one_chat_in_a_folder_named_anything_is_named_after_the_other_participant(
    kluis: Kluis, tmp_path: Path
) -> None:
    imported(kluis, IOS_DECEMBER)
    android = tmp_path / "backup phone 2024" / "chat.txt"
    android.parent.mkdir()
    android.write_text(
        "05/11/2024, 09:12 - Bakkerij Jansen: Uw taart staat klaar\n"
        "05/11/2024, 09:40 - Sanne de Vries: Dank u, ik kom om 12 uur\n",
        encoding="utf-8",
    )
    imported(kluis, android.parent, *ME)
    assert sorted(companies(kluis)) == ["Bakkerij Jansen", "Garage Smit"]
    [taart, reply] = timeline(kluis, "Bakkerij Jansen")
    assert (taart["direction"], reply["direction"]) == ("in", "out")


def test_media_left_out_and_attached_files_keep_their_author(kluis: Kluis) -> None:
    imported(kluis, IOS_DECEMBER)
    items = {item["title"]: item for item in timeline(kluis, "Garage Smit")}
    omitted = items["image omitted"]
    assert (omitted["direction"], omitted["sender"]) == ("in", "Garage Smit")
    photo = next(item for title, item in items.items() if title.startswith("Photo: "))
    assert (photo["direction"], photo["sender"]) == ("out", "Sanne de Vries")
    notice = next(item for item in items.values() if "end-to-end" in item["title"])
    assert notice["direction"] == "system"


def test_an_ios_group_copied_anywhere_keeps_its_name_and_its_notices_are_system(
    kluis: Kluis,
) -> None:
    summary = imported(kluis, IOS_GROUP)
    assert (summary["new"], summary["quarantined"]) == (8, 0)
    items = timeline(kluis, "Buurtvereniging Eikstraat")
    system = [item for item in items if item["direction"] == "system"]
    assert len(system) == 4  # encrypted, created, added you, left
    spoken = [item["sender"] for item in items if item["direction"] != "system"]
    assert spoken == ["Ahmed El Amrani", "Femke Jansen", "Sanne de Vries", "Sanne de Vries"]
    omitted = next(item for item in items if item["title"] == "<Media weggelaten>")
    assert omitted["sender"] == "Sanne de Vries"


def test_the_finnish_layout_gives_every_message_its_own_item(kluis: Kluis) -> None:
    summary = imported(kluis, FINNISH, *ME)
    assert (summary["new"], summary["quarantined"]) == (5, 0)
    items = timeline(kluis, "Pyöräkorjaamo Virtanen")
    assert [item["occurred_at"][:19] for item in items] == [
        "2018-06-13T21:25:15",
        "2018-06-13T21:25:15",
        "2018-06-13T21:26:02",
        "2018-06-14T09:03:40",
        "2018-06-14T17:12:09",
    ]
    invoice = kluis.json("show", str(items[3]["id"]))
    assert invoice["body"] == "Olemme auki klo 10-18.\nLasku 45,00 €."


# --- hostile texts -------------------------------------------------------------------------------

SCALE = 8 if LONG else 1


def _mixed_orders(count_: int) -> str:
    rng = random.Random(17)
    lines = []
    for n in range(count_):
        a, b = rng.randint(1, 12), rng.randint(1, 12)
        layout = rng.choice(["{a}/{b}/24, 10:{m:02d} - A: x", "[{a}.{b}.24, 10:{m:02d}:00] B: y"])
        lines.append(layout.format(a=a, b=b, m=n % 60))
    return "\n".join(lines)


HOSTILE: dict[str, bytes] = {
    "a 2 MB run of direction marks in a head": b"1/2/24, 10:00 - A: ok\n"
    + ("\u200e" * (700_000 * SCALE)).encode()
    + b"\n1/2/24, 10:01 - A: ok",
    "a bracket of marks that never closes": ("[" + "\u200f" * (300_000 * SCALE)).encode(),
    "spaces between date and time": b"1/2/24," + b" " * (900_000 * SCALE),
    "binary after a valid first line": b"1/2/24, 10:00 - A: ok\n"
    + random.Random(5).randbytes(2_000_000 * SCALE),
    "a thousand notice-like lines": "\n".join(
        f"1/2/24, 10:00 - Group: security code with {'security code with ' * 40}{n}"
        for n in range(2000 * SCALE)
    ).encode(),
    "mixed date orders in two layouts": _mixed_orders(20_000 * SCALE).encode(),
    "dates before WhatsApp and past 9999": b"1/2/03, 10:00 - A: x\n99/99/99999, 10:00 - A: y\n"
    b"31/12/9999, 23:59 - A: z",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_chat_text_is_read_or_quarantined_never_a_traceback(
    kluis: Kluis, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "WhatsApp Chat with Group.txt"
    path.write_bytes(HOSTILE[name])
    done: subprocess.CompletedProcess[bytes] = kluis.run(
        "import", str(path), "--format", "whatsapp", "--json", timeout=120 * SCALE
    )
    stderr = done.stderr.decode(errors="replace")
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr[-2000:]
    count("hostile", "whatsapp layouts")
    if done.returncode == 2:  # no message line at all: refused in one line that says why
        assert stderr.count("\n") == 1 and "recognises nothing" in stderr, stderr[-2000:]
        assert "WhatsApp message line" in stderr
        return
    summary = import_summary(done)
    assert summary["new"] + summary["quarantined"] >= 1
    assert all("\n" not in note for note in summary["notes"])
