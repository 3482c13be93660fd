"""Tools → Local servers: the built-in test servers' panel, docked beside the call log."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from workbench.net.servers import ServerManager
from workbench.ui.bridge import TaskRunner
from workbench.ui.servers_panel import ServersPanel

__all__ = ["ServersDock"]


class ServersDock(QDockWidget):
    """The ``ServersPanel`` over ``manager``; ``own``: the window stops the servers when it
    closes (a manager shared with others keeps them running)."""

    def __init__(
        self, manager: ServerManager, runner: TaskRunner, *, own: bool, parent: QMainWindow
    ) -> None:
        super().__init__("Local servers", parent)
        self.setObjectName("serversDock")
        self.setAccessibleName("Local servers")
        self.manager = manager
        self.own = own
        self.panel = ServersPanel(manager, runner)
        self.setWidget(self.panel)

    def dock_beside(self, window: QMainWindow, other: QDockWidget) -> None:
        """Add the dock to ``window`` as a tab beside ``other``, which stays in front."""
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self)
        window.tabifyDockWidget(other, self)
        other.raise_()

    def reveal(self) -> None:
        self.show()
        self.raise_()

    async def shutdown(self) -> None:
        """Stop the panel, and the servers if the window owns them."""
        self.panel.shutdown()
        if self.own:
            await self.manager.stop_all()
