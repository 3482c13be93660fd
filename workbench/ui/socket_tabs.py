"""The selected socket's option panels, one tab each: Connect, TLS, TCP options, Properties."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QTabWidget, QWidget

from workbench.sockets import DnsQueryType
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels import ConnectPanel, PropertiesPanel, TcpOptionsPanel, TlsPanel

__all__ = ["SocketTabs"]


class SocketTabs(QTabWidget):
    """The four panels, each in a scroll area of its own (its tab's page)."""

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
            scroll = QScrollArea()
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setObjectName(f"{panel.objectName()}Scroll")
            index = self.addTab(scroll, title)
            self.setTabToolTip(index, tip)

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
