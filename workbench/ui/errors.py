"""Never die on a bad day: unexpected errors are logged and shown without a modal dialog.

``ErrorBanner`` is a strip at the top of the window ("Something went wrong: … [Details]
[Dismiss]"); the details open in a non-modal message box (``show()``, never ``exec()``).
``install_hooks`` routes ``sys.excepthook`` (exceptions in Qt slots) and the asyncio loop's
exception handler (callbacks, unobserved task failures) to a reporter; ``TaskRunner.failed``
is connected by the window itself.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QWidget,
)

__all__ = ["ErrorBanner", "install_hooks"]

_log = logging.getLogger("workbench.ui")


class ErrorBanner(QFrame):
    """A dismissible, non-modal error strip.

    Signals:
        reported(str): a message was shown (tests and the status bar listen).
    """

    reported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Error message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#errorBanner { background: rgba(209, 36, 47, 40); border: 1px solid "
            "rgba(209, 36, 47, 140); border-radius: 4px; }"
        )
        icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size)
        )
        self.label = QLabel(self)
        self.label.setObjectName("errorBannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…", self)
        self.details_button.setObjectName("errorBannerDetails")
        self.details_button.setAccessibleName("Show error details")
        self.details_button.setToolTip("Show the full error text")
        self.details_button.clicked.connect(self.show_details)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setObjectName("errorBannerDismiss")
        self.dismiss_button.setAccessibleName("Dismiss the error message")
        self.dismiss_button.setToolTip("Hide this message; the window keeps working")
        self.dismiss_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.dismiss_button)
        self.messages: list[tuple[str, str]] = []
        self._box: QMessageBox | None = None
        self.hide()

    def report(self, message: str, details: str = "") -> None:
        self.messages.append((message, details))
        count = len(self.messages)
        more = f"  ({count} messages)" if count > 1 else ""
        self.label.setText(message.splitlines()[0][:300] + more if message else "Error" + more)
        self.label.setToolTip(message)
        self.details_button.setVisible(bool(details) or len(message) > 300 or count > 1)
        self.show()
        self.reported.emit(message)

    def dismiss(self) -> None:
        self.messages.clear()
        self.hide()

    def show_details(self) -> None:
        text = "\n\n".join(
            f"{message}\n{details}".strip() for message, details in self.messages[-20:]
        )
        box = QMessageBox(self.window())
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Socket Workbench — error details")
        box.setText("Something went wrong; the window keeps working.")
        box.setDetailedText(text)
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.show()  # non-modal: never exec()
        self._box = box


Reporter = Callable[[str, str], None]


def install_hooks(report: Reporter, loop: Any | None = None) -> Callable[[], None]:
    """Route ``sys.excepthook`` and ``loop``'s exception handler to ``report(message,
    details)``; returns a function that undoes it."""
    previous_hook = sys.excepthook

    def excepthook(
        kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous_hook(kind, exc, tb)
            return
        details = "".join(traceback.format_exception(kind, exc, tb))
        _log.error("unexpected error in a Qt slot\n%s", details)
        try:
            report(f"Unexpected error: {kind.__name__}: {exc}", details)
        except Exception:  # the reporter itself must never take the program down
            _log.exception("could not show the error")

    def loop_handler(loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message") or "asyncio error")
        details = ""
        if isinstance(exc, BaseException):
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            message = f"{message}: {type(exc).__name__}: {exc}"
        _log.error("asyncio: %s\n%s", message, details)
        try:
            report(message, details)
        except Exception:
            _log.exception("could not show the error")

    sys.excepthook = excepthook
    previous_handler = None
    if loop is not None:
        previous_handler = _handler_of(loop)
        loop.set_exception_handler(loop_handler)

    def undo() -> None:
        if sys.excepthook is excepthook:
            sys.excepthook = previous_hook
        if loop is not None and _handler_of(loop) is loop_handler:
            loop.set_exception_handler(previous_handler)

    return undo


def _handler_of(loop: asyncio.AbstractEventLoop) -> Any:
    """The loop's exception handler.

    # WORKAROUND: qasync 0.28's QEventLoop overrides set_exception_handler() and keeps the
    # handler in a name-mangled attribute of its own, but not get_exception_handler(), which
    # then always answers None; read what its setter stored.
    # https://github.com/CabbageDevelopment/qasync/blob/v0.28.0/src/qasync/__init__.py
    """
    return getattr(loop, "_QEventLoop__exception_handler", None) or loop.get_exception_handler()
