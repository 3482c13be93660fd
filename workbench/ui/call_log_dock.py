"""View → Call log: the call log, docked at the bottom of the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from workbench.ui.bridge import CallLog
from workbench.ui.call_log_view import CallLogView

__all__ = ["CallLogDock"]


class CallLogDock(QDockWidget):
    """The ``CallLogView`` of ``call_log`` (``view``), at the bottom or on the right."""

    def __init__(self, call_log: CallLog, parent: QMainWindow) -> None:
        super().__init__("Call log", parent)
        self.setObjectName("callLogDock")
        self.setAccessibleName("Call log")
        self.setToolTip("Every chrome.sockets.tcp call the window made")
        self.view = CallLogView(call_log)
        self.setWidget(self.view)
        self.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )

    def dock_into(self, window: QMainWindow) -> None:
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self)
        window.resizeDocks([self], [150], Qt.Orientation.Vertical)
