"""The first frame the window paints: when the start is over (``workbench/app.py`` resumes the
garbage collector then, and its start-up probe reports it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

__all__ = ["FirstPaintProbe"]


class FirstPaintProbe(QObject):
    """Calls ``report`` once ``window`` has painted its first frame, then lets go of it.

    A child of the window, so the window keeps it alive and nobody else has to."""

    def __init__(self, window: QWidget, report: Callable[[], None]) -> None:
        super().__init__(window)
        self._window = window
        self._report = report
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._window.removeEventFilter(self)
            # The paint event is being handled: report once it is done.
            QTimer.singleShot(0, self._report)
        return False
