"""The Connect tab: address (with recent peers), port, DNS preference → ``connect()``;
Disconnect."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QPushButton, QWidget

from workbench.core.formatting import format_endpoint
from workbench.session.controls import Control
from workbench.session.record import RowState, row_state
from workbench.sockets import DnsQueryType
from workbench.ui import validators
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.base import Panel
from workbench.ui.panels.widgets import (
    FieldError,
    PortEdit,
    column,
    compact_form,
    describe,
    form_row,
    set_text,
)

__all__ = ["ConnectPanel", "parse_peer"]

#: (address, port, DNS index) as typed, and the socket's ``intent.peer`` back then.
_Draft = tuple[str, str, int, tuple[str, int, str] | None]

_DNS_CHOICES = (
    ("Any (system preference)", DnsQueryType.ANY),
    ("IPv4 only", DnsQueryType.IPV4),
    ("IPv6 only", DnsQueryType.IPV6),
)


def parse_peer(text: str) -> tuple[str, int] | None:
    """``"host:port"`` or ``"[v6]:port"`` (a recent peer as saved) → (host, port), or
    ``None`` when it is not one the Connect tab would accept."""
    host, sep, port_text = str(text).strip().rpartition(":")
    port = validators.parse_port(port_text)
    if not sep or port is None:
        return None
    host = validators.normalize_address(host)
    if validators.address_error(host) is not None:
        return None
    return host, port


class ConnectPanel(Panel):
    """Address (with recent peers), port, DNS preference → ``connect()``; Disconnect.

    Signals:
        recentPeersChanged(): the history changed (the window persists ``recent_peers()``).
    """

    recentPeersChanged = Signal()

    MAX_RECENT = 20
    MAX_ADDRESS_LENGTH = 1024

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("connectPanel")
        self._recent: list[tuple[str, int]] = []
        self._drafts: dict[int, _Draft] = {}
        self._filling = False
        self._valid = False
        form = compact_form(QFormLayout(self))
        self._build_address(form)
        self._build_port_and_dns(form)
        self._build_buttons(form)

        self.address.editTextChanged.connect(self._address_edited)
        self.port.textChanged.connect(self._validate)
        self._address_edit().returnPressed.connect(self._connect_clicked)
        self.port.returnPressed.connect(self._connect_clicked)
        self.connectButton.clicked.connect(self._connect_clicked)
        self.disconnectButton.clicked.connect(self._disconnect_clicked)
        self._validate()

    def _build_address(self, form: QFormLayout) -> None:
        self.address = QComboBox()
        self.address.setObjectName("connectAddress")
        self.address.setEditable(True)
        self.address.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        # Items read "host:port"; an inline completion would put "host:port" into the
        # address field, so completion is off and picking an item splits it instead.
        self.address.setCompleter(None)  # type: ignore[arg-type]  # None removes it (Qt docs)
        self.address.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.address.setMinimumContentsLength(14)
        self.address.setMaxVisibleItems(self.MAX_RECENT)
        edit = self._address_edit()
        edit.setMaxLength(self.MAX_ADDRESS_LENGTH)
        edit.setPlaceholderText("host name or IP address")
        edit.setClearButtonEnabled(True)
        describe(
            self.address,
            "Peer address",
            "Host name, IPv4 or IPv6 address to connect to; the list holds recent peers",
        )
        self.addressError = FieldError(self.address, "address")
        form_row(form, "A&ddress:", column(self.address, self.addressError), self.address)

    def _build_port_and_dns(self, form: QFormLayout) -> None:
        self.port = PortEdit()
        self.port.setObjectName("connectPort")
        describe(self.port, "Peer port", "TCP port to connect to (1-65535)")
        self.portError = FieldError(self.port, "port")
        form_row(form, "P&ort:", column(self.port, self.portError), self.port)

        self.dns = QComboBox()
        self.dns.setObjectName("connectDns")
        for text, query in _DNS_CHOICES:
            self.dns.addItem(text, query)
        describe(
            self.dns,
            "DNS preference",
            "Which address family a host name resolves to: any, IPv4 only or IPv6 only",
        )
        form_row(form, "D&NS:", self.dns, self.dns)

    def _build_buttons(self, form: QFormLayout) -> None:
        self.connectButton = QPushButton("&Connect")
        self.connectButton.setObjectName("connectButton")
        describe(self.connectButton, "Connect", "Connect this socket to the address and port")
        self.connectResult = self._result_label("connect", "connect", "connectResult")
        form.addRow(self.connectButton, self.connectResult)

        self.disconnectButton = QPushButton("D&isconnect")
        self.disconnectButton.setObjectName("disconnectButton")
        describe(
            self.disconnectButton,
            "Disconnect",
            "Close the connection (the socket stays and can connect again)",
        )
        self.disconnectResult = self._result_label("disconnect", "disconnect", "disconnectResult")
        form.addRow(self.disconnectButton, self.disconnectResult)

    # -- the form ------------------------------------------------------------------------

    def _address_edit(self) -> QLineEdit:
        edit = self.address.lineEdit()
        assert edit is not None  # an editable combo box always has its line edit
        return edit

    def address_text(self) -> str:
        return self.address.currentText()

    def focus_address(self) -> None:
        """Put the cursor in the address, its text selected, ready to type over."""
        self.address.setFocus()
        edit = self.address.lineEdit()
        if edit is not None:
            edit.selectAll()

    def set_peer(self, host: str, port: int) -> None:
        """Fill address and port (e.g. "New socket to this server")."""
        self._set_address(host)
        self.port.setValue(port)
        self._validate()

    def _set_address(self, text: str) -> None:
        self._filling = True
        try:
            self.address.setEditText(text)
        finally:
            self._filling = False

    def _address_edited(self, text: str) -> None:
        if not self._filling:
            # Picking a recent peer ("host:port") fills both fields.
            index = self.address.findText(
                text, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchCaseSensitive
            )
            peer = self.address.itemData(index) if index >= 0 else None
            if peer is not None:
                self.set_peer(*peer)
                return
        self._validate()

    def _validate(self) -> bool:
        address_error = validators.address_error(self.address_text())
        port_error = validators.port_error(self.port.text())
        # With no socket shown the form is greyed out and nothing can be typed: no red
        # "Enter a host name" under it (the first thing seen once every socket is closed).
        shown = self._sid is not None
        self.addressError.set_error(address_error if shown else None)
        self.portError.set_error(port_error if shown else None)
        self._valid = address_error is None and port_error is None
        self._set_form_error(address_error or port_error)
        self._update_controls()
        return self._valid

    def _update_controls(self) -> None:
        allowed = self._allowed()
        self.connectButton.setEnabled(self._valid and Control.CONNECT in allowed)
        self.disconnectButton.setEnabled(Control.DISCONNECT in allowed)
        # While a connect is pending, Disconnect is how it is cancelled (U5: it answers -3).
        connecting = (record := self._record()) is not None and row_state(
            record) is RowState.CONNECTING
        set_text(self.disconnectButton, "C&ancel" if connecting else "D&isconnect")

    def _connect_clicked(self) -> None:
        # Nothing invalid reaches the core, and nothing it would refuse (U4: -23, -104).
        if self._sid is None or not self._validate() or Control.CONNECT not in self._allowed():
            return
        host = validators.normalize_address(self.address_text())
        port = self.port.value()
        assert port is not None
        query = DnsQueryType(self.dns.currentData())
        self._remember_peer(host, port)
        self._start(
            "connect",
            "connect",
            lambda sid: self._session.sockets.connect(sid, host, port, query),
            pending="Connecting…",
        )

    def _disconnect_clicked(self) -> None:
        if Control.DISCONNECT in self._allowed():
            self._start("disconnect", "disconnect", self._session.sockets.disconnect)

    # -- per socket ----------------------------------------------------------------------

    def _switched(self, previous: int | None, sid: int | None) -> None:
        if previous is not None and previous in self._session:
            old = self._session.ui(previous)
            self._drafts[previous] = (
                self.address_text(),
                self.port.text(),
                self.dns.currentIndex(),
                old.intent.peer if old is not None else None,
            )
        if sid is None:
            self._validate()  # the errors go with the socket; what is typed stays
            return
        record = self._session.ui(sid)
        draft = self._drafts.get(sid)
        if draft is not None and record is not None and record.intent.peer != draft[3]:
            draft = None  # the peer was set since (a connect, "New socket to this server")
        if draft is not None:
            address, port, dns, _ = draft
            self._set_address(address)
            self.port.setText(port)
            self.dns.setCurrentIndex(dns)
        elif record is not None and record.intent.peer is not None:
            host, port_number, query = record.intent.peer
            self.set_peer(host, port_number)
            self.dns.setCurrentIndex(max(self.dns.findData(DnsQueryType(query)), 0))
        elif record is not None and record.info.peer_address and record.info.peer_port:
            self.set_peer(record.info.peer_address, record.info.peer_port)
        elif record is not None and record.last_peer is not None:
            self.set_peer(*record.last_peer)  # an accepted socket after it closed
        elif record is not None and record.server is not None:
            self.set_peer("", 0)  # an accepted socket never went anywhere the user typed
        # else: keep what is typed, so a new socket can go where the last one went
        self._validate()

    def _forget(self, sid: int) -> None:
        self._drafts.pop(sid, None)

    # -- recent peers --------------------------------------------------------------------

    def recent_peers(self) -> list[str]:
        """Most recent first, as ``"host:port"`` (``"[::1]:7"`` for IPv6)."""
        return [format_endpoint(host, port) for host, port in self._recent]

    def set_recent_peers(self, peers: list[str]) -> None:
        """Load the history (e.g. from settings); bad or duplicate entries are dropped."""
        recent: list[tuple[str, int]] = []
        for entry in peers:
            peer = parse_peer(entry) if isinstance(entry, str) else None
            if peer is not None and peer not in recent:
                recent.append(peer)
        self._recent = recent[: self.MAX_RECENT]
        self._fill_history()

    def _remember_peer(self, host: str, port: int) -> None:
        peer = (host, port)
        recent = [peer, *(p for p in self._recent if p != peer)][: self.MAX_RECENT]
        if recent != self._recent:
            self._recent = recent
            self._fill_history()
            self.recentPeersChanged.emit()

    def _fill_history(self) -> None:
        text = self.address_text()
        self._filling = True
        self.address.blockSignals(True)
        try:
            self.address.clear()
            for host, port in self._recent:
                self.address.addItem(format_endpoint(host, port), (host, port))
            self.address.setCurrentIndex(-1)
            self.address.setEditText(text)
        finally:
            self.address.blockSignals(False)
            self._filling = False
