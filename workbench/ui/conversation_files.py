"""The Conversations pane's file dialogs: Open…, Save as… and Run all in a folder's choice.

Each one is non-modal (``QFileDialog.open()``, never ``exec()``: no nested event loop under
qasync) and calls back with the chosen path; while one is open, asking again returns it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QWidget

__all__ = ["FILTER", "ConversationDialogs"]

FILTER = "Conversation files (*.toml);;All files (*)"


class ConversationDialogs(QObject):
    """Opens the pane's dialogs over ``parent``, starting in the last folder used."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._dialog: QFileDialog | None = None
        #: where the next dialog opens (the working folder at first).
        self.last_folder = ""

    def _showing(self) -> QFileDialog | None:
        dialog = self._dialog
        if dialog is not None and shiboken6.isValid(dialog) and dialog.isVisible():
            return dialog
        return None

    def _open(self, dialog: QFileDialog, chosen: Callable[[str], object]) -> QFileDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def selected(path: str) -> None:
            self.last_folder = path if os.path.isdir(path) else os.path.dirname(path)
            # QFileDialog says fileSelected before it hides: a dialog that ``chosen`` opens
            # next (Save, then Open…) must be its own, not this closing one.
            self._dialog = None
            chosen(path)

        dialog.fileSelected.connect(selected)
        # Settle the layout before the platform window exists (the offscreen one warns).
        dialog.adjustSize()
        self._dialog = dialog
        dialog.open()
        return dialog

    def open_file(self, chosen: Callable[[str], object]) -> QFileDialog:
        """Open…: an existing conversation file."""
        if (showing := self._showing()) is not None:
            return showing
        dialog = QFileDialog(self._parent, "Open conversation", self.last_folder, FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        return self._open(dialog, chosen)

    def save_file(self, chosen: Callable[[str], object], name: str = "") -> QFileDialog:
        """Save as…: a file name (``.toml`` added when none is typed)."""
        if (showing := self._showing()) is not None:
            return showing
        start = os.path.join(self.last_folder, name) if name else self.last_folder
        dialog = QFileDialog(self._parent, "Save conversation", start, FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("toml")
        return self._open(dialog, chosen)

    def choose_folder(self, chosen: Callable[[str], object]) -> QFileDialog:
        """Run all in a folder: the folder."""
        if (showing := self._showing()) is not None:
            return showing
        dialog = QFileDialog(self._parent, "Run every conversation in a folder", self.last_folder)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        return self._open(dialog, chosen)
