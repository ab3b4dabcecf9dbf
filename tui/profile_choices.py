"""The tick list of your profile's fields that the share wizard and GDPR letters offer.

One line per profile key with its values (masked when sensitive), sensitive and special ones
flagged; the profile is read in a worker when the list is shown.
"""

from __future__ import annotations

from collections.abc import Collection

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import SelectionList
from textual.widgets.selection_list import Selection

from tui.format import safe
from tui.profile_screen import label_of
from vault.profile import ProfileValue, load_profile, mask
from vault.store import Store

FLAGGED = ("sensitive", "special")


class ProfileChoices(SelectionList[str]):
    """Your profile's keys to tick; ``ticked`` keys start ticked."""

    class Loaded(Message):
        """The list is filled (``values``: the whole profile, empty when there is none)."""

        def __init__(self, values: list[ProfileValue]) -> None:
            super().__init__()
            self.values = values

    def __init__(self, store: Store, *, ticked: Collection[str] = (), id: str | None = None):
        super().__init__(id=id)
        self.store = store
        self.ticked = ticked

    def on_mount(self) -> None:
        """Read the profile."""
        self._read()

    @work(thread=True, exclusive=True, group="profile-choices", description="Reading your profile")
    def _read(self) -> None:
        with self.store.reader() as conn:
            values = load_profile(conn)
        self.app.call_from_thread(self._fill, values)

    def _fill(self, values: list[ProfileValue]) -> None:
        self.clear_options()
        for key in dict.fromkeys(value.key for value in values):
            of_key = [v for v in values if v.key == key]
            prompt = Text(f"{label_of(key)}: {', '.join(safe(mask(v), 60) for v in of_key)}")
            if of_key[0].sensitivity in FLAGGED:
                prompt.append(f"  ⚠ {of_key[0].sensitivity}", style="bold red")
            self.add_option(Selection(prompt, key, key in self.ticked))
        if self.option_count:
            self.highlighted = 0
        self.post_message(self.Loaded(values))
