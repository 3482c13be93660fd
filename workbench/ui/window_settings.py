"""What the window keeps between runs: its layout and view preferences, the recent peers, the
theme, and its persistent sockets and servers; written to the settings store when the window
closes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from workbench.session import SocketKey
from workbench.session.persist import ManagedServers, persisted_sockets, restore_persistent
from workbench.session.persist_servers import persisted_servers, restore_servers
from workbench.session.persist_udp import persisted_udp, restore_udp
from workbench.session.settings import (
    PersistedServer,
    PersistedSocket,
    PersistedUdp,
    Settings,
    SettingsStore,
)
from workbench.ui.bridge import SocketSession
from workbench.ui.panels import ConnectPanel
from workbench.ui.window_layout import WindowLayout

if TYPE_CHECKING:
    from workbench.net.servers import ServerManager

__all__ = ["WindowSettings"]


class WindowSettings:
    """``settings`` kept up to date, saved to ``store`` (none: nothing is written)."""

    def __init__(
        self,
        settings: Settings,
        store: SettingsStore | None,
        session: SocketSession,
        layout: WindowLayout,
        connect_panel: ConnectPanel,
        *,
        servers: Callable[[], ServerManager | None],
        report_error: Callable[[str], object],
    ) -> None:
        self.settings = settings
        self.store = store
        self._session = session
        self._layout = layout
        self._connect_panel = connect_panel
        self._servers = servers
        self._report_error = report_error
        connect_panel.set_recent_peers(settings.recent_peers)
        connect_panel.recentPeersChanged.connect(self._recent_peers_changed)

    def _recent_peers_changed(self) -> None:
        self.settings.recent_peers = self._connect_panel.recent_peers()

    def builtin_servers(self) -> ManagedServers | None:
        manager = self._servers()
        return ManagedServers(manager, self._report_error) if manager is not None else None

    def persistent_sockets(self) -> list[PersistedSocket]:
        return persisted_sockets(self._session.core, self.builtin_servers())

    def collect(self) -> Settings:
        self._layout.collect()
        self.settings.recent_peers = self._connect_panel.recent_peers()
        self.settings.sockets = self.persistent_sockets()
        self.settings.servers = persisted_servers(self._session.core)
        self.settings.udp = persisted_udp(self._session.core)
        return self.settings

    def save(self) -> str | None:
        """Collect and write the settings; the store's message if that failed (it is shown)."""
        if self.store is None:
            return None
        message = self.store.save(self.collect())
        if message:
            self._report_error(message)
        return message

    async def restore_sockets(
        self, saved: list[PersistedSocket], created: Callable[[SocketKey], object]
    ) -> list[SocketKey]:
        """Create, configure and reconnect ``saved``; ``created`` is called for each socket as
        soon as it exists. An entry the core refuses after all is shown and kept in the file
        as it was (issue 8, item 3), like the ones ``Settings`` already set aside at load."""
        restored = await restore_persistent(
            self._session.core, saved, self.builtin_servers(), created
        )
        self.settings.kept_sockets.extend(restored.kept)
        for message in restored.messages:
            self._report_error(message)
        return restored.keys

    async def restore_servers(self, saved: list[PersistedServer]) -> list[SocketKey]:
        """Create the persistent servers of ``saved`` with their rules and listen again; what
        went wrong is shown, and an entry that is not restored is kept in the file as it was
        (as for ``restore_sockets``)."""
        restored = await restore_servers(self._session.core, saved)
        self.settings.kept_servers.extend(restored.kept)
        for message in restored.messages:
            self._report_error(message)
        return restored.keys

    async def restore_udp(self, saved: list[PersistedUdp]) -> list[SocketKey]:
        """Create the persistent UDP sockets of ``saved`` and bind them again; what went wrong
        is shown, and an entry that is not restored is kept in the file as it was (as for
        ``restore_servers``)."""
        restored = await restore_udp(self._session.core, saved)
        self.settings.kept_udp.extend(restored.kept)
        for message in restored.messages:
            self._report_error(message)
        return restored.keys
