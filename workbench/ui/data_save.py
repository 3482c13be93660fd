"""Save data…: the data view's capture to a file, as raw bytes or as the hex dump.

Raw bytes (all, received only, or sent only) are written by the store itself
(``CaptureStore.save_raw_steps``, 1 MiB at a time), the hex dump, about four times larger on
disk, by ``dump_layout.write_hex_dump``; both in slices of about ``SAVE_SLICE_S`` on a 0 ms
timer, so the loop keeps running while a gigabyte is written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from workbench.core.capture import CaptureStore, Direction
from workbench.core.dump_layout import write_hex_dump
from workbench.core.formatting import format_size

#: Saving in the background spends at most this long per event-loop turn.
SAVE_SLICE_S = 0.02

RAW_FILTER = "Raw bytes, received and sent (*.bin)"
RAW_IN_FILTER = "Raw bytes, received only (*.bin)"
RAW_OUT_FILTER = "Raw bytes, sent only (*.bin)"
HEX_FILTER = "Hex dump as text (*.txt)"
#: Save data…'s file types: what each one saves (hex dump?, direction or None for both).
SAVE_FILTERS: dict[str, tuple[bool, Direction | None]] = {
    RAW_FILTER: (False, None),
    RAW_IN_FILTER: (False, Direction.IN),
    RAW_OUT_FILTER: (False, Direction.OUT),
    HEX_FILTER: (True, None),
}


def suffix_of(name_filter: str) -> str:
    """The extension a file type's filter names: "txt" for "Hex dump as text (*.txt)"."""
    pattern = name_filter.rpartition("(*.")[2]
    return pattern.rstrip(")") if pattern != name_filter else ""


#: What a chosen file is saved as: (path, as hex dump?, direction or None for both).
StartSave = Callable[[str, bool, "Direction | None"], None]


def save_steps(
    store: CaptureStore, path: Path, as_hex_dump: bool, direction: Direction | None = None
) -> Generator[tuple[int, int], None, None]:
    """Write the capture as it is now; yields (bytes done, total) after each piece."""
    if as_hex_dump:
        yield from write_hex_dump(store, path)
    else:
        total = (
            store.bytes_in
            if direction is Direction.IN
            else (store.bytes_out if direction is Direction.OUT else store.total_bytes)
        )
        for written in store.save_raw_steps(path, direction):
            yield written, total


class CaptureSaver(QObject):
    """Saves a capture in the background, one save at a time.

    Signals:
        progress(int, int): bytes written so far, and the total.
        finished(str, str): the path and "" on success, else the error text ("cancelled").
        message(str): for the user (saved, or could not save).
    """

    # Captures pass 2 GiB: the C++ type's name gives a 64-bit argument (the stubs know only
    # Python types for Signal).
    progress = Signal("qint64", "qint64")  # type: ignore[arg-type]
    finished = Signal(str, str)
    message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: Generator[tuple[int, int], None, None] | None = None
        self._path = ""
        self._total = 0
        self._dialog: QFileDialog | None = None
        #: Where the last save went: the next dialog opens there (the working folder at first).
        self.last_folder = ""
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)

    def __repr__(self) -> str:
        return f"<CaptureSaver saving={self._path if self._job else None!r}>"

    def save(
        self,
        store: CaptureStore,
        path: str | os.PathLike[str],
        as_hex_dump: bool,
        direction: Direction | None = None,
    ) -> None:
        """Save at once; returns when done (errors raise)."""
        for _ in save_steps(store, Path(path), as_hex_dump, direction):
            pass

    def start(
        self,
        store: CaptureStore | None,
        path: str | os.PathLike[str],
        as_hex_dump: bool,
        direction: Direction | None = None,
    ) -> None:
        """Save in the background; ``finished`` ends it (cancelling the save before this)."""
        self.cancel()
        if store is None:
            self.finished.emit(str(path), "nothing to save")
            return
        self._path = str(path)
        self._total = (
            store.total_bytes
            if as_hex_dump or direction is None
            else store.bytes_in
            if direction == Direction.IN
            else store.bytes_out
        )
        self._job = save_steps(store, Path(path), as_hex_dump, direction)
        self.progress.emit(0, self._total)
        self._timer.start()

    def is_saving(self) -> bool:
        return self._job is not None

    def cancel(self) -> None:
        if self._job is not None:
            job, self._job = self._job, None
            self._timer.stop()
            job.close()
            self.finished.emit(self._path, "cancelled")

    def _step(self) -> None:
        job = self._job
        if job is None:
            self._timer.stop()
            return
        deadline = time.monotonic() + SAVE_SLICE_S
        done = -1
        try:
            while time.monotonic() < deadline:
                done, _ = next(job)
        except StopIteration:
            self._end()
            self.progress.emit(self._total, self._total)
            self.message.emit(f"Saved {format_size(self._total)} to {self._path}")
            self.finished.emit(self._path, "")
            return
        except (OSError, ValueError) as exc:  # ValueError: the capture's own file, or closed
            self._end()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.message.emit(f"Could not save {self._path}: {reason}")
            self.finished.emit(self._path, str(exc))
            return
        if done >= 0:
            self.progress.emit(done, self._total)

    def _end(self) -> None:
        self._job = None
        self._timer.stop()

    def open_dialog(self, parent: QWidget, start: StartSave) -> QFileDialog:
        """Ask where to save (non-modal: ``QFileDialog.open``), then call ``start``.

        The file type chooses the format: raw bytes (both directions or one), or the hex dump
        as text. While the dialog is open, asking again returns it.
        """
        if (
            self._dialog is not None
            and shiboken6.isValid(self._dialog)
            and self._dialog.isVisible()
        ):
            return self._dialog

        def chosen(path: str, name_filter: str) -> None:
            as_hex_dump, direction = SAVE_FILTERS.get(name_filter, (False, None))
            start(path, as_hex_dump, direction)

        self._dialog = self.save_dialog(parent, "Save data", list(SAVE_FILTERS), chosen)
        return self._dialog

    def save_dialog(
        self,
        parent: QWidget,
        title: str,
        filters: list[str],
        chosen: Callable[[str, str], None],
    ) -> QFileDialog:
        """A non-modal save dialog (``QFileDialog.open``) in :attr:`last_folder`, whose file
        types are ``filters``; ``chosen(path, filter)`` once the user picks a file."""
        dialog = QFileDialog(parent, title, self.last_folder, ";;".join(filters))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # A name typed without an extension gets the chosen type's: "dump" saved as a hex
        # dump is "dump.txt".
        dialog.filterSelected.connect(lambda name: dialog.setDefaultSuffix(suffix_of(name)))
        dialog.setDefaultSuffix(suffix_of(dialog.selectedNameFilter()))

        def on_file(path: str) -> None:
            self.last_folder = os.path.dirname(path)
            chosen(path, dialog.selectedNameFilter())

        dialog.fileSelected.connect(on_file)
        # Settle the layout before the dialog's window exists: a size hint that changes
        # after that is pushed to the platform window (the offscreen one warns about it).
        dialog.adjustSize()
        dialog.open()
        return dialog
