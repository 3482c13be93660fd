"""The status bar's socket count: "3 sockets, 1 connected", and ", 2 servers" when there are
listening sockets, ", 1 UDP" when there are UDP sockets."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from workbench.ui.bridge import TICK_MS, SocketSession
from workbench.ui.throttle import Throttle

__all__ = ["SocketCount", "count_text"]


def count_text(sockets: int, connected: int, servers: int = 0, udp: int = 0) -> str:
    noun = "socket" if sockets == 1 else "sockets"
    text = f"{sockets} {noun}, {connected} connected"
    if servers:
        text += f", {servers} server{'' if servers == 1 else 's'}"
    if udp:
        text += f", {udp} UDP"
    return text


class SocketCount(QLabel):
    """Read from the registry's running counts, never by walking the sockets, and at most once
    per tick however many sockets change: O(1) per change at ten thousand sockets."""

    def __init__(self, session: SocketSession, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("statusSockets")
        self._registry = session.registry
        self._throttle = Throttle(self.refresh, TICK_MS, self)
        session.socketAdded.connect(self._changed)
        session.socketRemoved.connect(self._changed)
        session.socketStatesChanged.connect(self._changed)
        session.serverAdded.connect(self._changed)
        session.serverRemoved.connect(self._changed)
        session.udpAdded.connect(self._changed)
        session.udpRemoved.connect(self._changed)

    def _changed(self, *_args: object) -> None:
        self._throttle()

    def refresh(self) -> None:
        registry = self._registry
        self.setText(
            count_text(
                len(registry), registry.connected_count, registry.server_count, registry.udp_count
            )
        )
