"""Closing a socket with captured data asks first: its capture goes with it, and there is no
undo. A non-modal box (``open()``, never ``exec()``), with "Don't ask again" kept in the
settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from workbench.core.formatting import format_size
from workbench.session.settings import Settings

__all__ = ["CloseConfirmation"]


class CloseConfirmation:
    def __init__(self, parent: QWidget, settings: Settings) -> None:
        self._parent = parent
        self._settings = settings
        self.box: QMessageBox | None = None

    def ask(self, sids: Sequence[int], captured: int, close: Callable[[], object]) -> bool:
        """Run ``close`` now when nothing would be lost or the user said not to ask; else ask,
        and run it once the user says Close. True when it ran (or will not be asked)."""
        if captured == 0 or not self._settings.confirm_close:
            close()
            return True
        which = f"socket {sids[0]}" if len(sids) == 1 else f"{len(sids)} sockets"
        box = QMessageBox(
            QMessageBox.Icon.Question, "Close sockets",
            f"Close {which}? {format_size(captured)} of captured data will be gone; "
            "there is no undo.",
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
            self._parent,
        )
        box.setObjectName("closeConfirmation")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        again = QCheckBox("Don't ask again")
        again.setObjectName("closeConfirmationDontAsk")
        box.setCheckBox(again)

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Close:
                if again.isChecked():
                    self._settings.confirm_close = False
                close()
            self.box = None

        box.finished.connect(answered)
        self.box = box
        box.open()
        return False
