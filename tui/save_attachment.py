"""Save files (s in the item pane): pick an attachment, or all, and a folder to write them to.

The list and the bytes come from the vault in workers (``vault.attachments``); the files are
written by ``vault.attachments.save_attachment`` (safe name, never over an existing file, 0600).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.dialogs import Dialog
from tui.format import safe
from tui.forms import sentence
from tui.help import HelpSection
from tui.path_input import PathInput, default_folder, shown_path
from vault.attachments import AttachmentInfo, list_attachments, save_attachment
from vault.errors import UsageError
from vault.store import Store


def size_label(size: int) -> str:
    """``812 B``, ``14 KB``, ``3.2 MB``."""
    if size < 1024:
        return f"{size:,} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class SaveAttachmentScreen(Dialog[None]):
    """The item's files, numbered; Enter saves the highlighted one, a saves them all."""

    DEFAULT_CSS = """
    #save-box {
        width: 80;
    }
    #save-files {
        height: auto;
        max-height: 12;
    }
    #save-folder-label {
        margin-top: 1;
    }
    #save-status {
        height: 1;
    }
    #save-status.-error {
        color: $error;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "save_all", "Save all files", id="save.all"),
        Binding("escape", "close", "Close", id="save.close"),
    ]

    class Listed(Message):
        """The worker read the item's attachments."""

        def __init__(self, attachments: list[AttachmentInfo]) -> None:
            super().__init__()
            self.attachments = attachments

    class Saved(Message):
        """The worker wrote files (``paths``), or stopped with ``error``."""

        def __init__(self, paths: list[Path], error: str | None) -> None:
            super().__init__()
            self.paths = paths
            self.error = error

    def __init__(self, store: Store, item_id: int) -> None:
        super().__init__()
        self.store = store
        self.item_id = item_id
        self.attachments: list[AttachmentInfo] = []
        self.saving = False

    def compose(self) -> ComposeResult:
        """Files, the folder, and a status line."""
        with Vertical(id="save-box", classes="dialog-box"):
            yield OptionList(id="save-files")
            yield Label("Save to folder", id="save-folder-label")
            yield PathInput(shown_path(default_folder()), id="save-folder")
            yield Static(Text("Reading the files…", style="dim"), id="save-status")

    def on_mount(self) -> None:
        """Title the box and read the list."""
        self.title_box(
            f"Save files of item {self.item_id}",
            "enter: save this one · a: all · tab: folder · esc: close",
        )
        self.query_one("#save-files", OptionList).focus()
        self._list()

    @work(thread=True, exclusive=True, group="save-list", description="Reading the files")
    def _list(self) -> None:
        with self.store.reader() as conn:
            attachments = list_attachments(conn, self.item_id)
        self.post_message(self.Listed(attachments))

    def on_save_attachment_screen_listed(self, message: Listed) -> None:
        """Show the files, numbered."""
        message.stop()
        self.attachments = message.attachments
        files = self.query_one("#save-files", OptionList)
        for number, attachment in enumerate(self.attachments, 1):
            line = Text.assemble(
                (f"{number:>2}  ", "dim"),
                (safe(attachment.filename, 60) or "(no name)", "bold"),
                (f"  {size_label(attachment.size)}", "dim"),
            )
            files.add_option(Option(line, id=str(attachment.id)))
        if self.attachments:
            files.highlighted = 0
            self._status("Enter saves the highlighted file, a saves all of them.")
        else:
            self._status("This item has no files.")

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#save-status", Static)
        status.set_class(error, "-error")
        status.update(Text(safe(message, 150), style="" if error else "dim"))

    # ---- saving -----------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#save-files")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option_id is not None:
            self._save([int(event.option_id)])

    @on(Input.Submitted, "#save-folder")
    def _folder_entered(self, event: Input.Submitted) -> None:
        highlighted = self.query_one("#save-files", OptionList).highlighted
        if highlighted is not None and highlighted < len(self.attachments):
            self._save([self.attachments[highlighted].id])

    def action_save_all(self) -> None:
        """a: every file of the item."""
        self._save([a.id for a in self.attachments])

    def _save(self, attachment_ids: list[int]) -> None:
        if self.saving or not attachment_ids:
            return
        folder = self.query_one("#save-folder", PathInput).path
        if folder is None:
            self._status("Type the folder to save to.", error=True)
            return
        self.saving = True
        self._status("Saving…")
        self._write(attachment_ids, folder)

    @work(thread=True, exclusive=True, group="save-write", description="Saving files")
    def _write(self, attachment_ids: list[int], folder: Path) -> None:
        paths: list[Path] = []
        try:
            with self.store.reader() as conn:
                for attachment_id in attachment_ids:
                    paths.append(save_attachment(conn, attachment_id, folder))
        except UsageError as exc:
            self.post_message(self.Saved(paths, str(exc)))
            return
        except OSError as exc:
            self.post_message(
                self.Saved(paths, f"could not write to {folder}: {exc.strerror or exc}")
            )
            return
        self.post_message(self.Saved(paths, None))

    def on_save_attachment_screen_saved(self, message: Saved) -> None:
        """Close and say where the files went; on an error stay and say why."""
        message.stop()
        self.saving = False
        if message.error is not None:
            done = f" ({len(message.paths)} saved before that)" if message.paths else ""
            self._status(sentence(f"{message.error}{done}"), error=True)
            return
        if len(message.paths) == 1:
            said = f"Saved {message.paths[0].name} in {shown_path(message.paths[0].parent)}"
        else:
            said = f"Saved {len(message.paths)} files to {shown_path(message.paths[0].parent)}"
        self.app.notify(safe(said, 300), markup=False)
        self.dismiss(None)

    def action_close(self) -> None:
        """Esc: save nothing."""
        self.dismiss(None)


def help_section() -> HelpSection:
    """The save box's keys for the help screen."""
    return HelpSection(
        "Saving files (s in the item)",
        SaveAttachmentScreen.BINDINGS,
        extra=[
            ("enter", "Save the highlighted file"),
            ("tab", "To the folder (~/Downloads if you have one); there Tab completes names"),
        ],
    )
