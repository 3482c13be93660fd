"""The selected socket's option panels, one tab each: Connect, TLS, TCP options, Properties
for a TCP socket; Listen and Rules (and any tab added with ``add_server_tab``) for a server.

A row shows only its own kind's tabs: a server never connects, secures or sets TCP options,
so those tabs are hidden (not merely disabled) while a server row is current, and its Listen
tab is hidden while a TCP row is.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QScrollArea, QTabWidget, QWidget

from workbench.session import SocketKey, SocketKind
from workbench.sockets import DnsQueryType
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels import (
    ConnectPanel,
    ListenPanel,
    PropertiesPanel,
    TcpOptionsPanel,
    TlsPanel,
)
from workbench.ui.panels.base import Panel
from workbench.ui.panels.rules_panel import RulesPanel

__all__ = ["SocketTabs"]


class SocketTabs(QTabWidget):
    """The panels, each in a scroll area of its own (its tab's page)."""

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("socketTabs")
        self.setAccessibleName("Socket settings")
        self.setDocumentMode(True)
        self.properties_panel = PropertiesPanel(session, runner)
        self.connect_panel = ConnectPanel(session, runner)
        self.tls_panel = TlsPanel(session, runner)
        self.tcp_panel = TcpOptionsPanel(session, runner)
        self.panels: list[PropertiesPanel | ConnectPanel | TlsPanel | TcpOptionsPanel] = [
            self.properties_panel,
            self.connect_panel,
            self.tls_panel,
            self.tcp_panel,
        ]
        for panel, title, tip in (
            (
                self.connect_panel,
                "&Connect",
                "Address, port, DNS preference; connect and disconnect",
            ),
            (self.tls_panel, "&TLS", "TLS versions, verification, CA, client certificate; secure"),
            (self.tcp_panel, "TCP &options", "Keep-alive, no-delay, pause and resume"),
            (self.properties_panel, "&Properties", "Name, buffer size, persistent"),
        ):
            self._add_page(panel, title, tip)
        self.listen_panel = ListenPanel(session, runner)
        #: the panels of a server row (a rules panel joins them with ``add_server_tab``).
        self.server_panels: list[Panel] = []
        self._server_pages: list[QWidget] = []
        #: the server tabs that are not ``Panel``s: how each is told the server shown.
        self._server_followers: list[Callable[[int | None], object]] = []
        self._server_id: int | None = None
        self._showing_server = False
        self._last_page: dict[bool, QWidget | None] = {}
        self.add_server_tab(
            self.listen_panel,
            "&Listen",
            "Address, port, backlog; listen and stop listening; read accepted sockets at once",
        )
        self.rules_panel = RulesPanel(session)
        self.add_server_tab(
            self.rules_panel,
            "&Rules",
            "Response rules: how the server answers each of its connections",
            follow=self.rules_panel.set_server,
        )

    def _add_page(self, panel: QWidget, title: str, tip: str) -> QWidget:
        scroll = QScrollArea()
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setObjectName(f"{panel.objectName()}Scroll")
        index = self.addTab(scroll, title)
        self.setTabToolTip(index, tip)
        return scroll

    def add_server_tab(
        self,
        panel: QWidget,
        title: str,
        tip: str,
        *,
        follow: Callable[[int | None], object] | None = None,
    ) -> None:
        """A tab shown only while a server row is current. A ``Panel`` is given the server's
        id (``set_socket``) as the TCP panels are given a socket's; another widget is told it
        through ``follow`` (the server id, or ``None`` when no server row is current)."""
        page = self._add_page(panel, title, tip)
        self._server_pages.append(page)
        if follow is not None:
            self._server_followers.append(follow)
            follow(self._server_id)
        elif isinstance(panel, Panel):
            self.server_panels.append(panel)
        self.setTabVisible(self.indexOf(page), self._showing_server)

    def set_current(self, key: SocketKey | None) -> None:
        """Show ``key``'s panels: a TCP socket's, or a server's (``None``: none, disabled)."""
        server = key is not None and key.kind is SocketKind.TCP_SERVER
        sid = key.id if key is not None and not server else None
        server_id = key.id if key is not None and server else None
        for panel in self.panels:
            if panel.socket_id() != sid:
                panel.set_socket(sid)
        for server_panel in self.server_panels:
            if server_panel.socket_id() != server_id:
                server_panel.set_socket(server_id)
        if server_id != self._server_id:
            self._server_id = server_id
            for follow in self._server_followers:
                follow(server_id)
        self._show_kind(server)

    def _show_kind(self, server: bool) -> None:
        if server == self._showing_server:
            return
        self._showing_server = server
        # Each kind comes back on the tab it was left on (else its first).
        self._last_page[not server] = self.currentWidget()
        for index in range(self.count()):
            self.setTabVisible(index, (self.widget(index) in self._server_pages) == server)
        page = self._last_page.get(server)
        if page is not None and self.isTabVisible(self.indexOf(page)):
            self.setCurrentWidget(page)
        elif not self.isTabVisible(self.currentIndex()):
            self.setCurrentIndex(next(i for i in range(self.count()) if self.isTabVisible(i)))

    def scroll_of(self, widget: QWidget) -> QWidget:
        """The tab page (scroll area) that holds ``widget``; ``widget`` itself if none does."""
        page = widget
        parent = page.parentWidget()
        while parent is not None and not isinstance(page, QScrollArea):
            page, parent = parent, parent.parentWidget()
        return page

    def show_panel(self, panel: QWidget) -> None:
        self.setCurrentIndex(self.indexOf(self.scroll_of(panel)))

    def scroll_to_top(self, *_args: object) -> None:
        """Another socket is shown: every panel from its top (a TLS tab left scrolled down hid
        Trusted CA, and typing went into the field below)."""
        for index in range(self.count()):
            page = self.widget(index)
            if isinstance(page, QScrollArea):
                page.verticalScrollBar().setValue(0)

    def current_panel(self) -> QWidget | None:
        """The panel on the current tab."""
        scroll = self.currentWidget()
        return scroll.widget() if isinstance(scroll, QScrollArea) else None

    def show_peer(self, host: str, port: int, dns: str = "any") -> None:
        """The Connect tab shows where the socket should connect."""
        self.connect_panel.set_peer(host, port)
        index = self.connect_panel.dns.findData(DnsQueryType(dns))
        self.connect_panel.dns.setCurrentIndex(max(index, 0))

    def trust_ca(self, ca_path: str) -> None:
        """The TLS tab, shown, verifies with ``ca_path``."""
        self.tls_panel.set_ca_file(ca_path)
        self.tls_panel.verify.setChecked(True)
        self.show_panel(self.tls_panel)
