"""What kluis says, as a user sees it from a terminal: one line that names the real problem in
the user's words (never a temporary file's name, never "unexpected error"), a view that says
why it is empty, and no message that claims a change nothing made (issue 18, "Messages")."""

from __future__ import annotations

import subprocess
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.hardening.documents import mail_with_files
from tests.hardening.harness import Kluis, open_for_test
from tests.support import mail, options
from vault.ingest import Ingestor
from vault.records import Booking


def said(done: subprocess.CompletedProcess[bytes]) -> str:
    """The one line a failing command wrote on stderr (and that there was only one)."""
    err = done.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def fill(kluis: Kluis, *bookings_at: datetime) -> None:
    """A shop's mail in the vault, with a past booking for each of ``bookings_at``."""
    store = open_for_test(kluis.vault)
    try:
        items = []
        for n, start in enumerate(bookings_at):
            item = mail(n, sender="Shop <service@shop.example>", when=start - timedelta(days=30))
            item.bookings = [Booking(kind="event", reference=f"R{n}", start=start)]
            items.append(item)
        items.append(mail(99, sender="Shop <service@shop.example>"))
        Ingestor(store, options("me@example.org"), "test", "test://messages").run(items)
    finally:
        store.close()


@pytest.mark.parametrize(
    "command",
    [
        ["share", "Shop", "--fields", "email", "--purpose", "Delivery", "--out"],
        ["gdpr", "request", "Shop", "--type", "access", "--out"],
        ["backup", "--out"],
        ["export", "--out"],
    ],
    ids=["share", "letter", "backup", "export"],
)
def test_writing_into_a_folder_that_does_not_exist_says_so(
    kluis: Kluis, tmp_path: Path, command: list[str]
) -> None:
    fill(kluis)
    assert kluis.run("profile", "set", "email", "me@example.org").returncode == 0
    target = tmp_path / "missing" / "dir" / "x.zip"
    done = kluis.run(*command, str(target))
    assert done.returncode == 2
    line = said(done)
    assert f"there is no folder {target.parent}" in line and ".tmp" not in line
    assert "unexpected" not in line
    assert not (tmp_path / "missing").exists()


def test_a_truncated_backup_is_called_truncated(kluis: Kluis, tmp_path: Path) -> None:
    fill(kluis)
    backup = tmp_path / "vault.kluisbak"
    assert kluis.run("backup", "--out", str(backup)).returncode == 0
    cut = tmp_path / "cut.kluisbak"
    # Cut inside the manifest and keys, and inside the database (the end is only padding).
    for size in (1_000, backup.stat().st_size // 2):
        cut.write_bytes(backup.read_bytes()[:size])
        target = tmp_path / f"restored-{size}"
        done = kluis.run("restore", str(cut), "--vault", str(target))
        assert done.returncode != 0
        line = said(done)
        assert "truncated or damaged" in line and "unexpected error" not in line, line
        assert not target.exists()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["timeline", "Shop", "--since", "1990-02-30"], "'1990-02-30' does not exist: February"),
        (["timeline", "Shop", "--until", "2023-02-29"], "February 2023 has 28 days"),
        (["timeline", "Shop", "--since", "2024-13-01"], "there is no month 13"),
        (["profile", "set", "birthdate", "30-02-1990"], "February 1990 has 28 days"),
        (["timeline", "Shop", "--since", "someday"], "not a date: 'someday' (use YYYY-MM-DD)"),
    ],
)
def test_a_day_that_does_not_exist_is_named_not_its_format(
    kluis: Kluis, command: list[str], expected: str
) -> None:
    fill(kluis)
    done = kluis.run(*command)
    assert done.returncode == 2
    line = said(done)
    assert expected in line, line
    if "28 days" in expected:
        assert "use YYYY-MM-DD" not in line


def test_a_reversed_date_range_is_an_error_and_an_empty_one_says_so(kluis: Kluis) -> None:
    fill(kluis)
    done = kluis.run("timeline", "Shop", "--since", "2025-01-01", "--until", "2024-01-01")
    assert done.returncode == 2 and "is after --until" in said(done)
    done = kluis.run("timeline", "Shop", "--since", "2090-01-01")
    assert done.returncode == 0
    assert done.stdout.decode().splitlines()[-1] == "Nothing with these filters."


def test_upcoming_with_only_past_bookings_points_at_them(kluis: Kluis) -> None:
    past = datetime.now(UTC) - timedelta(days=400)
    fill(kluis, past, past + timedelta(days=3), past + timedelta(days=9))
    done = kluis.run("bookings", "--upcoming")
    assert done.returncode == 0
    assert done.stdout.decode() == "No upcoming bookings; 3 past or cancelled: `kluis bookings`.\n"
    done = kluis.run("bookings", "--upcoming", "--company", "Shop")
    assert "`kluis bookings --company Shop`" in done.stdout.decode()


_MEMORY_KEYRING = textwrap.dedent(
    """
    from keyring.backend import KeyringBackend

    class Keyring(KeyringBackend):
        priority = 1
        def get_password(self, service, username):
            return None
        def set_password(self, service, username, password):
            pass
        def delete_password(self, service, username):
            pass
    """
)


@pytest.mark.parametrize("has_keyring", [False, True], ids=["no-keyring", "keyring"])
def test_the_locked_message_offers_remember_only_where_a_keyring_exists(
    kluis: Kluis, tmp_path: Path, has_keyring: bool
) -> None:
    env = kluis.env(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    if has_keyring:
        (tmp_path / "memkeyring.py").write_text(_MEMORY_KEYRING)
        env.update(PYTHON_KEYRING_BACKEND="memkeyring.Keyring", PYTHONPATH=str(tmp_path))
    del env["KLUIS_PASSPHRASE"]
    done = kluis.run("companies", env=env)
    line = said(done)
    assert "the vault is locked" in line
    assert ("kluis remember" in line) is has_keyring, line


def test_profile_alone_shows_the_profile(kluis: Kluis) -> None:
    done = kluis.run("profile")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("Your profile is empty.")
    assert kluis.run("profile", "set", "name", "Sanne de Vries").returncode == 0
    done = kluis.run("profile")
    assert done.returncode == 0 and "Sanne de Vries" in done.stdout.decode()


def test_show_separates_every_label_from_its_value(kluis: Kluis, tmp_path: Path) -> None:
    letter = tmp_path / "factuur.eml"
    letter.write_bytes(mail_with_files(1, "Factuur 187", [("factuur-187.pdf", "text/plain", b"x")]))
    assert kluis.run("import", str(letter), "--me", "sanne@example.org").returncode == 0
    [row] = kluis.json("search", "factuur")
    shown = kluis.run("show", str(row["id"])).stdout.decode()
    assert "Attached: factuur-187.pdf (text/plain, 1 bytes)" in shown
    for line in shown.splitlines()[1:7]:
        _label, _, value = line.partition(":")
        assert value.startswith(" "), line


def test_an_edit_that_changes_nothing_says_so_and_is_not_undone(kluis: Kluis) -> None:
    fill(kluis)
    first = kluis.run("company", "rename", "Shop", "Winkel").stdout.decode()
    assert first == "Renamed 'Shop' to 'Winkel'.\n"
    again = kluis.run("company", "rename", "Winkel", "Winkel").stdout.decode()
    assert again == "'Winkel' already has that name; nothing changed.\n"
    alias = kluis.run("company", "alias", "Winkel", "shop.example").stdout.decode()
    assert alias.startswith("shop.example ")  # a value is never capitalised
    alias = kluis.run("company", "alias", "Winkel", "shop.example").stdout.decode()
    assert alias == "shop.example already belongs to 'Winkel'; nothing changed.\n"
    kluis.run("company", "undo")  # the alias
    undone = kluis.run("company", "undo").stdout.decode()
    assert undone == "Undid: renamed 'Shop' to 'Winkel'.\n"


def test_an_empty_list_for_one_company_names_it(kluis: Kluis) -> None:
    fill(kluis)
    done = kluis.run("disclosures", "Shop")
    assert done.returncode == 0
    assert done.stdout.decode().startswith("Nothing shared with Shop yet.")


@pytest.mark.parametrize(
    "command", [["timeline", "Shop", "--channel", "mail"], ["search", "x", "--channel", "mail"]]
)
def test_a_channel_no_item_can_have_is_refused_not_found_empty(
    kluis: Kluis, command: list[str]
) -> None:
    fill(kluis)
    done = kluis.run(*command)
    assert done.returncode == 2
    assert "unknown channel 'mail' (one of: email, chat," in said(done)
