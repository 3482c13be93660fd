"""A path field with Browse… for the TLS tab's CA file, client certificate and key.

No nested event loops: the file dialog uses ``QFileDialog.open()`` and ``fileSelected``.
"""

from __future__ import annotations

import os

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLineEdit, QPushButton, QVBoxLayout, QWidget

from workbench.ui import validators
from workbench.ui.panels.widgets import FieldError, describe, line

__all__ = ["FileField"]

PEM_FILTERS = "PEM files (*.pem *.crt *.cer *.key);;All files (*)"
#: Linux's PATH_MAX: no longer path can be opened, so no longer text is taken.
MAX_PATH_LENGTH = 4096


class FileField(QWidget):
    """A path line edit with Browse… (a non-modal file dialog) and an error label.

    Signals:
        changed(): the path text changed (typed, chosen, or set).
    """

    changed = Signal()

    def __init__(
        self,
        object_name: str,
        what: str,
        tip: str,
        parent: QWidget | None = None,
        *,
        save: bool = False,
        filters: str = PEM_FILTERS,
    ) -> None:
        super().__init__(parent)
        self.what = what
        #: a file to write (any name; the dialog asks for one to save), not one to read.
        self.save = save
        self.filters = filters
        self.edit = QLineEdit()
        self.edit.setObjectName(object_name)
        self.edit.setMaxLength(MAX_PATH_LENGTH)
        self.edit.setPlaceholderText("none")
        self.edit.setClearButtonEnabled(True)
        describe(self.edit, what, tip)
        self.browseButton = QPushButton("Browse…")
        self.browseButton.setObjectName(f"{object_name}Browse")
        describe(self.browseButton, f"Browse for the {what}", f"Choose the {what} file")
        self.error = FieldError(self.edit, what)
        self.dialog: QFileDialog | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addLayout(line(self.edit, self.browseButton, stretch=0))
        box.addWidget(self.error)
        self.edit.textChanged.connect(self.changed)
        self.browseButton.clicked.connect(self.browse)

    def path(self) -> str | None:
        text = self.edit.text().strip()
        return text or None

    def set_path(self, path: str) -> None:
        self.edit.setText(path)

    def browse(self) -> None:
        """Open a non-modal file dialog (``open()``, never ``exec()``)."""
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.raise_()
            return
        current = self.path()
        directory = os.path.dirname(current) if current else ""
        dialog = QFileDialog(self, f"Choose the {self.what}", directory, self.filters)
        if self.save:
            dialog.setFileMode(QFileDialog.FileMode.AnyFile)
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            # Appending to an existing key log is what it is for: no "replace it?" question.
            dialog.setOption(QFileDialog.Option.DontConfirmOverwrite)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.set_path)
        # Settle the layout before the dialog's window exists: a size hint that changes
        # after that is pushed to the platform window (the offscreen one warns about it).
        dialog.adjustSize()
        self.dialog = dialog
        dialog.open()

    def check(self, extra: str | None = None) -> str | None:
        """Show and return what is wrong with the path (or ``extra``, a problem the panel
        found with it), or ``None``."""
        text = self.edit.text()
        if self.save:
            error = validators.writable_file_error(text) or extra
        else:
            error = validators.readable_file_error(text) or extra
        self.error.set_error(error)
        return error
