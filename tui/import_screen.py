"""The import screen (ctrl+o): add files and folders, see what kluis recognised, import them.

Each source gets a row: its detected format, a progress bar and its counts, fed by the ingest
pipeline's progress callback from a worker. Esc or Stop ends the import after the item being
read; what was written stays, and importing the same source again carries on from its last
checkpoint. At the end: the counts per source and in total, and what went to quarantine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, Static

from tui.format import safe
from tui.forms import FORM_CSS, sentence
from tui.path_input import PathInput
from vault.errors import VaultError
from vault.progress import ProgressMeter
from vault.store import Store

if TYPE_CHECKING:
    from vault.ingest import Summary

FORMAT_NAMES = {
    "mbox": "mail (mbox)",
    "maildir": "mail (Maildir)",
    "eml": "mail (.eml)",
    "takeout": "Google Takeout mail",
    "whatsapp": "WhatsApp chat",
    "telegram": "Telegram export",
    "messenger": "Messenger export",
    "instagram": "Instagram export",
    "ics": "calendar (.ics)",
    "pkpass": "wallet pass",
    "bcbp": "boarding pass",
    "ticket": "ticket (PDF or image)",
    "html": "booking page",
    "jsonld": "booking data",
    "zip": "zip archive",
}
QUARANTINE_SHOWN = 50
WHAT_KLUIS_READS = (
    "Mail: mbox, Maildir, .eml, Google Takeout. Chats: WhatsApp, Telegram, Messenger and "
    "Instagram exports. Bookings: .ics, .pkpass, boarding passes as PDF or image. Folders and "
    ".zip files too."
)


def counts(summary: Summary) -> str:
    """``20 new · 0 already there · 0 updated · 1 quarantined``."""
    return (
        f"{summary.new:,} new · {summary.duplicate:,} already there · "
        f"{summary.updated:,} updated · {summary.quarantined:,} quarantined"
    )


# ---- what the workers report ------------------------------------------------------------------


@dataclass
class Detected(Message):
    """The format of an added path (or why kluis cannot import it)."""

    path: Path
    format_name: str | None
    problem: str | None = None


@dataclass
class SourceProgress(Message):
    """A batch of source ``index`` was written; ``summary`` is a copy of its counts so far."""

    index: int
    summary: Summary

    def can_replace(self, message: Message) -> bool:
        # A fast import sends a burst: only the newest counts of a source matter.
        return isinstance(message, SourceProgress) and message.index == self.index


@dataclass
class SourceStarted(Message):
    """Source ``index`` is being read."""

    index: int


@dataclass
class SourceDone(Message):
    """Source ``index`` finished, was stopped, or failed (``problem``)."""

    index: int
    summary: Summary
    stopped: bool = False
    problem: str | None = None


@dataclass
class ImportNotice(Message):
    """Something the import tells the user (e.g. which address it takes as theirs)."""

    text: str


@dataclass
class ImportFinished(Message):
    """Every source is done (or the import was stopped, or refused before it began)."""

    total: Summary | None
    quarantine: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False
    problem: str | None = None


# ---- one source -------------------------------------------------------------------------------


class SourceRow(Horizontal):
    """One file or folder: its format, a progress bar, and its counts."""

    DEFAULT_CSS = """
    SourceRow {
        height: auto;
    }
    SourceRow .source-format {
        width: 22;
        color: $accent;
    }
    SourceRow .source-path {
        width: 1fr;
        min-width: 12;
    }
    SourceRow ProgressBar {
        width: 20;
        margin: 0 1;
    }
    SourceRow ProgressBar Bar {
        width: 18;
    }
    SourceRow .source-counts {
        width: 2fr;
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(self, path: Path, format_name: str) -> None:
        super().__init__()
        self.path = path
        self.format_name = format_name
        self.summary: Summary | None = None
        self.state = "waiting"
        self.meter = ProgressMeter()

    def compose(self) -> ComposeResult:
        """Format, path, bar, counts."""
        yield Static(
            Text("✓ " + FORMAT_NAMES.get(self.format_name, self.format_name)),
            classes="source-format",
        )
        # The name says which source it is; the folder it is in is the first thing to cut.
        yield Static(
            Text(safe(self.path.name or str(self.path), 300), no_wrap=True, overflow="ellipsis"),
            classes="source-path",
        )
        yield ProgressBar(total=1, show_eta=False, show_percentage=False)
        yield Static(Text("ready"), classes="source-counts")

    def _say(self, text: str) -> None:
        # Wrapped, not cut: the counts and a problem's reason are what the user waits for.
        self.query_one(".source-counts", Static).update(Text(text))

    def started(self) -> None:
        """Reading: the bar moves (the number of items ahead is not known)."""
        self.state = "running"
        self.query_one(ProgressBar).update(total=None)
        self._say("reading…")

    def progressed(self, summary: Summary) -> None:
        """Counts so far, and how far the source is read (of its size, with the time left)
        where the importer knows."""
        self.summary = summary
        position = summary.position
        reading = self.meter.reading(position)
        if reading is None or position is None:
            self._say(counts(summary))
            return
        self.query_one(ProgressBar).update(total=position.total, progress=position.done)
        self._say(f"{reading} · {counts(summary)}")

    def done(self, summary: Summary, *, stopped: bool, problem: str | None) -> None:
        """Final counts, or where it stopped."""
        self.summary = summary
        self.state = "failed" if problem else "stopped" if stopped else "done"
        self.query_one(ProgressBar).update(total=1, progress=0 if problem else 1)
        prefix = "✗ " if problem else "stopped: " if stopped else ""
        self._say(prefix + counts(summary))

    def not_started(self) -> None:
        """The import was stopped before this source."""
        self.state = "skipped"
        self._say("not imported (stopped before it)")


# ---- the screen -------------------------------------------------------------------------------


class ImportScreen(ModalScreen[None]):
    """Sources, options, progress, summary."""

    DEFAULT_CSS = (
        FORM_CSS
        + """
    ImportScreen {
        align: center middle;
        background: $background 60%;
    }
    #import-box {
        width: 96%;
        max-width: 150;
        height: 92%;
        max-height: 96vh;
    }
    #import-scroll {
        height: 1fr;
    }
    #import-add-row, #import-options {
        height: auto;
    }
    #import-path {
        width: 1fr;
    }
    #import-options Input {
        width: 1fr;
    }
    #import-sources {
        height: auto;
        margin-bottom: 1;
    }
    .import-heading {
        text-style: bold;
        margin-top: 1;
    }
    #import-summary, #import-quarantine {
        height: auto;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Stop the import, or close", id="import.cancel"),
    ]

    def __init__(self, store: Store, after_import: Callable[[], None] | None = None) -> None:
        """Args:
        store: the open vault to import into.
        after_import: called when an import has written something (the main screen reloads).
        """
        super().__init__(id="import")
        self.store = store
        self.after_import = after_import
        self.detecting = 0
        self.running = False
        self.finished = False
        self.stop_requested = threading.Event()
        self.total: Summary | None = None
        self.quarantine: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        """The path field, the source rows, the options, the buttons, the summary."""
        with Vertical(id="import-box", classes="form-box"):
            with VerticalScroll(id="import-scroll"):
                yield Static(WHAT_KLUIS_READS, classes="form-note")
                with Horizontal(id="import-add-row"):
                    yield PathInput(
                        placeholder="A file or folder, e.g. ~/Downloads/mail.mbox (Tab completes)",
                        id="import-path",
                    )
                    yield Button("Add", id="import-add")
                # The options come right under the path: on a small terminal the sources
                # below would push them out of view.
                with Horizontal(id="import-options"):
                    yield Input(placeholder="Time zone (optional)", id="import-zone")
                    yield Input(placeholder="You (optional)", id="import-me")
                yield Static(
                    "Time zone: of times that carry none (default: this computer's). You: your "
                    "names or mail addresses, comma-separated; left empty, kluis finds your "
                    "address in your mail.",
                    classes="form-note",
                )
                yield Static("", id="import-status", classes="form-status")
                yield Static("Sources", classes="import-heading")
                yield Vertical(id="import-sources")
                yield Static("", id="import-summary")
                yield Static("", id="import-quarantine")
            with Horizontal(classes="form-buttons"):
                yield Button("Start import", variant="primary", id="import-start", disabled=True)
                yield Button("Close", id="import-cancel")

    def on_mount(self) -> None:
        """Title the box; the cursor goes to the path."""
        box = self.query_one("#import-box")
        box.border_title = Text("Import mail, chats or bookings")
        box.border_subtitle = Text("esc closes")
        self.query_one("#import-path", PathInput).focus()
        self._show_sources_hint()

    def on_unmount(self) -> None:
        """Leaving (or quitting) mid-import stops it after the current item."""
        self.stop_requested.set()

    @property
    def rows(self) -> list[SourceRow]:
        """The sources, in the order they were added."""
        return list(self.query(SourceRow))

    # ---- adding sources ---------------------------------------------------------------------

    @on(Input.Submitted, "#import-path")
    @on(Button.Pressed, "#import-add")
    def add_source(self) -> None:
        """Enter or Add: find out what the path is, in a worker (sniffing reads the files)."""
        field_ = self.query_one("#import-path", PathInput)
        typed = field_.value.strip()
        if self.running or self.finished:
            return
        if not typed:
            self.show_status("Type the path of a file or folder first.", error=True)
            return
        path = Path(typed).expanduser()
        if any(row.path.resolve() == path.resolve() for row in self.rows):
            self.show_status(f"{safe(str(path))} is already in the list.", error=True)
            return
        field_.clear()
        self.detecting += 1
        self._update_buttons()
        self.show_status(f"Looking at {safe(str(path))}…", busy=True)
        self._detect(path)

    @work(thread=True, group="import-detect", description="Recognising a source")
    def _detect(self, path: Path) -> None:
        import importers
        from vault.imports import detect_format

        try:
            self.post_message(Detected(path, detect_format(importers, path)))
        except VaultError as exc:
            self.post_message(Detected(path, None, sentence(exc)))
        except Exception as exc:  # an unreadable folder, say: a message, never a traceback
            self.post_message(Detected(path, None, f"{safe(str(path))}: {sentence(exc)}"))

    def on_detected(self, message: Detected) -> None:
        """Add the source with its format, or say why it cannot be imported."""
        self.detecting -= 1
        if message.format_name is None:
            self.show_status(f"✗ {message.problem}  {WHAT_KLUIS_READS}", error=True)
        else:
            row = SourceRow(message.path, message.format_name)
            self.query_one("#import-sources").mount(row)
            self.show_status(
                f"{safe(str(message.path))}: "
                f"{FORMAT_NAMES.get(message.format_name, message.format_name)}. "
                "Add more, or start the import."
            )
        self._show_sources_hint()
        self._update_buttons()

    def _show_sources_hint(self) -> None:
        sources = self.query_one("#import-sources")
        hints = sources.query(".import-none")
        if self.rows:
            hints.remove()
        elif not hints:
            sources.mount(Static("(none yet: add a file or folder above)", classes="import-none"))

    # ---- importing --------------------------------------------------------------------------

    @on(Button.Pressed, "#import-start")
    def start(self) -> None:
        """Import every source, one after the other, in a worker."""
        rows = self.rows
        if self.running or self.finished or self.detecting or not rows:
            return
        zone = self.query_one("#import-zone", Input).value.strip() or None
        me = [part.strip() for part in self.query_one("#import-me", Input).value.split(",")]
        self.running = True
        self.query_one("#import-add-row").disabled = True
        self.query_one("#import-options").disabled = True
        self.query_one("#import-box").border_subtitle = Text("esc stops")
        self.show_status("Importing…", busy=True)
        self._update_buttons()
        self._import([(row.path, row.format_name) for row in rows], [m for m in me if m], zone)

    @work(thread=True, exclusive=True, group="import", description="Importing")
    def _import(self, sources: list[tuple[Path, str]], me: list[str], zone: str | None) -> None:
        # Messages, not call_from_thread: a worker that waits on the UI would hold up quitting.
        import importers
        from vault.imports import import_options, import_source, quarantined_items
        from vault.ingest import Summary

        try:
            options = import_options(self.store, me, zone)
        except VaultError as exc:
            self.post_message(ImportFinished(None, problem=sentence(exc)))
            return
        total = Summary()
        for index, (path, format_name) in enumerate(sources):
            if self.stop_requested.is_set():
                break
            self.post_message(SourceStarted(index))
            latest = [Summary()]  # the counts of the last written batch, kept if it fails

            def progress(
                summary: Summary, index: int = index, latest: list[Summary] = latest
            ) -> None:
                latest[0] = replace(
                    summary, messages=list(summary.messages), notes=list(summary.notes)
                )
                self.post_message(SourceProgress(index, latest[0]))

            try:
                summary, options = import_source(
                    self.store,
                    importers,
                    path,
                    format_name,
                    options,
                    progress=progress,
                    stop=self.stop_requested.is_set,
                    notice=self._notice,
                )
            except Exception as exc:  # kept: every batch before the failure
                total.add(latest[0])
                self.post_message(SourceDone(index, latest[0], problem=sentence(exc)))
                continue
            total.add(summary)
            self.post_message(SourceDone(index, summary, stopped=self.stop_requested.is_set()))
        try:
            quarantine = quarantined_items(self.store, [path for path, _ in sources])
        except Exception:  # the summary matters more than the list
            quarantine = []
        self.post_message(ImportFinished(total, quarantine, stopped=self.stop_requested.is_set()))

    def _notice(self, text: str) -> None:
        self.post_message(ImportNotice(text))

    def on_source_started(self, message: SourceStarted) -> None:
        """The bar of this source starts moving."""
        self.rows[message.index].started()

    def on_source_progress(self, message: SourceProgress) -> None:
        """New counts for a source."""
        self.rows[message.index].progressed(message.summary)

    def on_source_done(self, message: SourceDone) -> None:
        """A source's final counts (or its error)."""
        self.rows[message.index].done(
            message.summary, stopped=message.stopped, problem=message.problem
        )
        if message.problem:
            self.notify(
                safe(message.problem, 300),
                title="Import stopped",
                severity="error",
                timeout=10,
                markup=False,
            )

    def on_import_notice(self, message: ImportNotice) -> None:
        """Pass on what the import says."""
        self.notify(safe(message.text, 300), timeout=8, markup=False)

    def on_import_finished(self, message: ImportFinished) -> None:
        """The summary, the quarantine list, and the main screen reloads."""
        self.running = False
        box = self.query_one("#import-box")
        box.border_subtitle = Text("esc closes")
        if message.total is None:  # refused before it began (a bad time zone, say)
            self.query_one("#import-add-row").disabled = False
            self.query_one("#import-options").disabled = False
            self.show_status(message.problem or "", error=True)
            self._update_buttons()
            return
        self.finished = True
        self.total = message.total
        self.quarantine = message.quarantine
        for row in self.rows:
            if row.state == "waiting":
                row.not_started()
        self._update_buttons()
        self.query_one("#import-summary", Static).update(self._summary_text(message))
        self.query_one("#import-quarantine", Static).update(self._quarantine_text())
        self.show_status("")
        self.query_one("#import-cancel", Button).focus()
        if self.after_import is not None and (message.total.new or message.total.updated):
            self.after_import()

    def _summary_text(self, message: ImportFinished) -> Text:
        total = message.total
        assert total is not None
        text = Text()
        if message.stopped:
            text.append("Stopped. ", style="bold")
            text.append(
                "What was imported so far is kept. Import the same files again to carry on "
                "where it stopped: kluis skips what it already has.\n"
            )
        text.append("In total: ", style="bold")
        text.append(
            f"{total.new:,} new, {total.duplicate:,} already in the vault, "
            f"{total.updated:,} updated, {total.quarantined:,} quarantined"
        )
        if total.errors:
            text.append(f", {total.errors:,} errors", style="bold")
            for error in total.messages:
                text.append(f"\n  error: {safe(error, 200)}")
        for note in total.notes:
            text.append(f"\n  note: {safe(note, 200)}")
        return text

    def _quarantine_text(self) -> Text:
        if not self.quarantine:
            return Text("")
        text = Text("\nQuarantined", style="bold")
        text.append(
            " (kept in the vault with their original bytes; kluis could not read them):\n",
            style="dim",
        )
        for ref, reason in self.quarantine[:QUARANTINE_SHOWN]:
            text.append(f"  {safe(ref, 120)}", style="bold")
            text.append(f" — {safe(reason, 200)}\n")
        if len(self.quarantine) > QUARANTINE_SHOWN:
            text.append(f"  … and {len(self.quarantine) - QUARANTINE_SHOWN:,} more\n", style="dim")
        return text

    # ---- buttons and the status line -------------------------------------------------------

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        """Esc, Stop or Close: stop a running import (after its current item), else close."""
        if self.running:
            if not self.stop_requested.is_set():
                self.stop_requested.set()
                self.show_status("Stopping after the current item…", busy=True)
            return
        self.dismiss(None)

    def _update_buttons(self) -> None:
        start = self.query_one("#import-start", Button)
        start.disabled = self.running or self.finished or self.detecting > 0 or not self.rows
        self.query_one("#import-cancel", Button).label = "Stop" if self.running else "Close"

    def show_status(self, text: str, *, error: bool = False, busy: bool = False) -> None:
        """One line under the path: what was found, what is happening, or what went wrong."""
        status = self.query_one("#import-status", Static)
        status.update(Text(text))
        status.set_class(error, "-error")
        status.set_class(busy, "-busy")
