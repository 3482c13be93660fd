"""Help → About: the versions and the licence, in a non-modal dialog; and the window's icon."""

from __future__ import annotations

import ssl
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLayout, QVBoxLayout, QWidget

from workbench import __version__

__all__ = ["LICENCE", "TITLE", "AboutBox", "about_text", "version_info", "window_icon"]

TITLE = "Socket Workbench"
LICENCE = "MIT"


def version_info() -> dict[str, str]:
    import platform  # here, not at the top: only the About box needs it (issue 14)

    import PySide6
    from PySide6 import QtCore

    return {
        "Socket Workbench": __version__,
        "Qt": QtCore.qVersion(),
        "PySide6": PySide6.__version__,
        "Python": platform.python_version(),
        "OpenSSL": ssl.OPENSSL_VERSION,
        "Licence": LICENCE,
    }


def about_text() -> str:
    info = version_info()
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in info.items())
    return (
        "<h3>Socket Workbench</h3>"
        "<p>Test TCP and TLS servers by pointing and clicking: Chrome's "
        "<code>chrome.sockets.tcp</code> API on asyncio, in a Qt window.</p>"
        f"<table cellspacing='4'>{rows}</table>"
    )


def window_icon() -> QIcon:
    path = Path(__file__).resolve().parents[2] / "resources"
    for name in ("icon.svg", "icon.png", "socket-workbench.svg", "socket-workbench.png"):
        if (path / name).exists():
            return QIcon(str(path / name))
    return QIcon()


class AboutBox:
    """The About dialog of one window: at most one open, opened with ``open()`` (never
    ``exec()``: no nested event loop under qasync)."""

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self._dialog: QDialog | None = None

    def show(self) -> QDialog:
        dialog = self._live()
        if dialog is not None:
            dialog.raise_()
            return dialog
        dialog = QDialog(self._parent)
        dialog.setObjectName("aboutBox")
        dialog.setWindowTitle("About Socket Workbench")
        dialog.setAccessibleName("About Socket Workbench")
        layout = QVBoxLayout(dialog)
        # No size constraint: a fixed-size top-level makes some platforms warn
        # ("does not support propagateSizeHints"); the dialog is sized once below.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        label = QLabel(about_text(), dialog)
        label.setObjectName("aboutText")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.resize(dialog.sizeHint())
        dialog.open()
        self._dialog = dialog
        return dialog

    def text(self) -> str:
        """What the open dialog says ("" when none is open)."""
        dialog = self._live()
        label = dialog.findChild(QLabel, "aboutText") if dialog is not None else None
        return label.text() if isinstance(label, QLabel) else ""

    def _live(self) -> QDialog | None:
        # The dialog deletes itself when closed (WA_DeleteOnClose).
        if self._dialog is not None and shiboken6.isValid(self._dialog):
            return self._dialog
        return None
