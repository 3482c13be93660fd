"""Tools → Local servers: the built-in test servers' panel, docked beside the call log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from workbench.net.servers import ServerManager
from workbench.ui.bridge import TaskRunner
from workbench.ui.servers_panel import PANEL_TIP, ServersPanel

__all__ = ["ServersDock", "ServersTarget"]


class ServersTarget(Protocol):
    """What the panel's buttons ask of the window."""

    def new_socket_to(
        self, host: str, port: int, kind: str = "", *, connect: bool = False
    ) -> object: ...
    def trust_ca(self, ca_path: str) -> None: ...
    def new_server_from_preset(self, name: str) -> object: ...


class ServersDock(QDockWidget):
    """The ``ServersPanel`` over ``manager``; ``own``: the window stops the servers when it
    closes (a manager shared with others keeps them running)."""

    def __init__(
        self, manager: ServerManager, runner: TaskRunner, *, own: bool, parent: QMainWindow
    ) -> None:
        super().__init__("Local servers", parent)
        self.setObjectName("serversDock")
        self.setAccessibleName("Local servers")
        self.setToolTip(PANEL_TIP)
        self.manager = manager
        self.own = own
        self.panel = ServersPanel(manager, runner)
        self.setWidget(self.panel)

    def connect_to(
        self, target: ServersTarget, *, udp: Callable[[str, int, str], object] | None = None
    ) -> None:
        """The panel's "New socket", "Trust CA" and "As a server row" to ``target``; the UDP
        servers' "New socket" to ``udp`` (see ``connect_udp_to``), if given."""
        if udp is not None:
            self.connect_udp_to(udp)

        def new_socket(host: str, port: int, kind: str) -> Any:
            # The servers' "New socket" gives a socket that is connected at once.
            return target.new_socket_to(host, port, kind, connect=True)

        self.panel.newSocketRequested.connect(new_socket)
        self.panel.trustCaRequested.connect(target.trust_ca)
        self.panel.serverRowRequested.connect(target.new_server_from_preset)

    def connect_udp_to(self, new_udp_socket_to: Callable[[str, int, str], object]) -> None:
        """The UDP servers' "New socket" to ``new_udp_socket_to(host, port, kind)``: a UDP
        socket whose destination is that server (not part of ``ServersTarget``, so that a
        window without UDP rows still is one)."""
        self.panel.newUdpSocketRequested.connect(new_udp_socket_to)

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
