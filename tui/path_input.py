"""Paths in the app: a path field that completes folders and files as a shell does (Tab or →),
and the file-name helpers every "save to" field shares.
"""

from __future__ import annotations

import os
import re
from itertools import islice
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import Suggester
from textual.widgets import Input

from tui.format import safe

MAX_ENTRIES = 5000  # a folder with more names is not worth reading on every key


def default_folder() -> Path:
    """``~/Downloads`` when it exists, else the home folder."""
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.home()


def free_path(folder: Path, stem: str, extension: str) -> Path:
    """``folder/stem.extension``, or ``stem-2``, ``stem-3`` … if taken: never an existing file."""
    path = folder / f"{stem}.{extension}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}.{extension}"
        n += 1
    return path


def slug(name: str) -> str:
    """A company name as a file name part: ``KLM Royal Dutch`` → ``klm-royal-dutch``."""
    return re.sub(r"[^a-z0-9]+", "-", safe(name).casefold()).strip("-")[:40] or "company"


def shown_path(path: Path) -> str:
    """A path as a person reads it: ``~/Downloads`` rather than ``/home/jan/Downloads``."""
    home = Path.home()
    if path == home:
        return "~"
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else str(path)


def complete_path(value: str) -> str | None:
    """``value`` completed to the next file or folder name, or None if nothing matches.

    ``~`` stays as typed (it is expanded only to look); hidden names only when the typed part
    starts with a dot; a single folder match gets its trailing slash; several matches complete
    to what they share, or else to the first of them.
    """
    if not value:
        return None
    path = Path(value).expanduser()
    folder, typed = (path, "") if value.endswith(os.sep) else (path.parent, path.name)
    if not typed and not value.endswith(os.sep):
        return None  # "." or "x/.": nothing to complete
    matches: list[tuple[str, bool]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in islice(entries, MAX_ENTRIES):
                if entry.name.startswith(typed) and (
                    typed.startswith(".") or not entry.name.startswith(".")
                ):
                    matches.append((entry.name, _is_folder(entry)))
    except OSError:
        return None
    if not matches:
        return None
    matches.sort()
    shared = os.path.commonprefix([name for name, _ in matches])  # noqa: RUF071 (names)
    if len(matches) > 1 and len(shared) > len(typed):
        completion = shared
    else:
        name, is_folder = matches[0]
        completion = name + (os.sep if is_folder else "")
    return value + completion[len(typed) :]


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class PathSuggester(Suggester):
    """Suggests the completion of a path as the user types."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the folder may change

    async def get_suggestion(self, value: str) -> str | None:
        """The completed path, shown greyed after the cursor."""
        completion = complete_path(value)
        return completion if completion != value else None


class PathInput(Input):
    """An input for a file or folder; Tab completes it, or moves on when nothing completes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete the path", show=False, id="path.complete"),
    ]

    def __init__(self, value: str = "", *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(value, placeholder=placeholder, suggester=PathSuggester(), id=id)
        self._proposed = value

    @property
    def path(self) -> Path | None:
        """The typed path, ``~`` expanded; None when the field is empty."""
        typed = self.value.strip()
        return Path(typed).expanduser() if typed else None

    def propose(self, value: str) -> None:
        """Fill in ``value`` (a suggested file) unless the user typed a path of their own."""
        if self.value and self.value != self._proposed:
            return
        self._proposed = value
        self.value = value

    def action_complete(self) -> None:
        """Tab: complete the name under the cursor, or go to the next field."""
        completion = complete_path(self.value) if self.cursor_at_end else None
        if completion is None or completion == self.value:
            self.screen.focus_next()
            return
        self.value = completion
        self.cursor_position = len(completion)
