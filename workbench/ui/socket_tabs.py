"""The selected socket's option panels, one tab each: Connect, TLS, TCP options, Properties
for a TCP socket; Listen and Rules (and any tab added with ``add_server_tab``) for a server;
the tabs added with ``add_udp_tab`` (Bind, Multicast, UDP properties) for a UDP socket.

A row shows only its own kind's tabs: a server never connects, secures or sets TCP options,
so those tabs are hidden (not merely disabled) while a server row is current, and its Listen
tab is hidden while a TCP row is; a UDP row likewise. Each kind comes back to the tab it was
left on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

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
from workbench.ui.panels.bind import BindPanel
from workbench.ui.panels.multicast import MulticastPanel
from workbench.ui.panels.rules_panel import RulesPanel
from workbench.ui.panels.udp_properties import UdpPropertiesPanel

__all__ = ["SocketTabs"]

#: The kinds whose tabs are added later, each with its own ``add_…_tab``.
_ADDED_KINDS = (SocketKind.TCP_SERVER, SocketKind.UDP)


class _KindTabs(NamedTuple):
    """The tabs of one kind of row other than TCP, and what is told the row shown."""

    #: the tab pages (scroll areas)
    pages: list[QWidget]
    #: the ``Panel``s among them: given the row's id with ``set_socket``
    panels: list[Panel]
    #: how each other tab is told the row's id (``None``: no row of the kind is current)
    followers: list[Callable[[int | None], object]]


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
        self._kinds = {kind: _KindTabs([], [], []) for kind in _ADDED_KINDS}
        #: the panels of a server row (a rules panel joins them with ``add_server_tab``).
        self.server_panels: list[Panel] = self._kinds[SocketKind.TCP_SERVER].panels
        #: the panels of a UDP row (``add_udp_tab``).
        self.udp_panels: list[Panel] = self._kinds[SocketKind.UDP].panels
        #: the id shown by each added kind's tabs (``None``: no row of that kind current).
        self._ids: dict[SocketKind, int | None] = dict.fromkeys(_ADDED_KINDS)
        self._showing = SocketKind.TCP
        self._last_page: dict[SocketKind, QWidget | None] = {}
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
        self._add_udp_tabs(session, runner)

    def _add_udp_tabs(self, session: SocketSession, runner: TaskRunner) -> None:
        self.bind_panel = BindPanel(session, runner)
        self.multicast_panel = MulticastPanel(session, runner)
        self.udp_properties_panel = UdpPropertiesPanel(session, runner)
        for panel, title, tip in (
            (self.bind_panel, "&Bind", "Address and port to bind to; a UDP socket binds once"),
            (
                self.multicast_panel,
                "&Multicast",
                "Join and leave groups; TTL, loopback and broadcast",
            ),
            (self.udp_properties_panel, "&Properties", "Name, buffer size, persistent"),
        ):
            panel.follow(session.udpChanged, session.udpRemoved)
            self.add_udp_tab(panel, title, tip)
        # Its own Rules panel: the server tabs' follow(None) would clear a shared one.
        self.udp_rules_panel = RulesPanel(session, udp_rules=session.core.udp_rules)
        self.udp_rules_panel.setObjectName("udpResponseRules")
        self.add_udp_tab(
            self.udp_rules_panel,
            "&Rules",
            "Response rules: one reply per matching datagram, to its sender",
            follow=self.udp_rules_panel.set_udp,
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
        self._add_kind_tab(SocketKind.TCP_SERVER, panel, title, tip, follow)

    def add_udp_tab(
        self,
        panel: QWidget,
        title: str,
        tip: str,
        *,
        follow: Callable[[int | None], object] | None = None,
    ) -> None:
        """A tab shown only while a UDP row is current. A ``Panel`` is given the UDP socket's
        id (``set_socket``); another widget is told it through ``follow`` (the UDP id, or
        ``None`` when no UDP row is current)."""
        self._add_kind_tab(SocketKind.UDP, panel, title, tip, follow)

    def _add_kind_tab(
        self,
        kind: SocketKind,
        panel: QWidget,
        title: str,
        tip: str,
        follow: Callable[[int | None], object] | None,
    ) -> None:
        tabs = self._kinds[kind]
        page = self._add_page(panel, title, tip)
        tabs.pages.append(page)
        if follow is not None:
            tabs.followers.append(follow)
            follow(self._ids[kind])
        elif isinstance(panel, Panel):
            tabs.panels.append(panel)
            if self._ids[kind] is not None:  # added while a row of its kind is current
                panel.set_socket(self._ids[kind])
        self.setTabVisible(self.indexOf(page), self._showing is kind)
        if self._showing is kind and not self.isTabVisible(self.currentIndex()):
            self.setCurrentWidget(page)  # the kind had no tab until now

    def set_current(self, key: SocketKey | None) -> None:
        """Show ``key``'s panels: a TCP socket's, a server's or a UDP socket's (``None``:
        none, the TCP panels disabled)."""
        kind = key.kind if key is not None else SocketKind.TCP
        sid = key.id if key is not None and kind is SocketKind.TCP else None
        for panel in self.panels:
            if panel.socket_id() != sid:
                panel.set_socket(sid)
        for added, tabs in self._kinds.items():
            shown = key.id if key is not None and kind is added else None
            for kind_panel in tabs.panels:
                if kind_panel.socket_id() != shown:
                    kind_panel.set_socket(shown)
            if shown != self._ids[added]:
                self._ids[added] = shown
                for follow in tabs.followers:
                    follow(shown)
        self._show_kind(kind)

    def shown_kind(self) -> SocketKind:
        """Whose tabs show: the current row's kind (TCP with no row current)."""
        return self._showing

    def _show_kind(self, kind: SocketKind) -> None:
        if kind is self._showing:
            return
        # Each kind comes back on the tab it was left on (else its first).
        self._last_page[self._showing] = self.currentWidget()
        self._showing = kind
        for index in range(self.count()):
            self.setTabVisible(index, self._kind_of(self.widget(index)) is kind)
        page = self._last_page.get(kind)
        visible = [i for i in range(self.count()) if self.isTabVisible(i)]
        if page is not None and self.indexOf(page) in visible:
            self.setCurrentWidget(page)
        elif visible and self.currentIndex() not in visible:
            # A kind without tabs yet (UDP before its panels are added) shows none.
            self.setCurrentIndex(visible[0])

    def _kind_of(self, page: QWidget | None) -> SocketKind:
        for kind, tabs in self._kinds.items():
            if page in tabs.pages:
                return kind
        return SocketKind.TCP

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
