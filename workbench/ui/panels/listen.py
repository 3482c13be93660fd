"""The Listen tab of a server row: address, port, backlog → ``chrome.sockets.tcpServer.listen``;
Stop listening → ``disconnect`` (the port is free at once, contract L8); and "Read at once".

The address is ``127.0.0.1`` unless the user picks another: listening on every interface
(``0.0.0.0``, ``::``) is an explicit choice, and the row says so in amber. Port 0 asks the OS
for a free port (the row and the status line show which); an empty backlog is the OS's
``SOMAXCONN`` (L2).

"Read at once" (on by default) resumes each accepted socket as soon as it is accepted: Chrome
starts them paused ('the client socket is initially paused and must be explictly un-paused by
the application to start receiving data'). Unticked, they stay paused, for back-pressure
tests; it applies to the connections accepted from then on (``set_read_at_once``).

The TLS group (``listen_tls``) is TLS on accept, or when a rule says Start TLS: applied
(``set_tls``) just before each Listen; while the server listens, a change applies to the
connections accepted from then on.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from workbench.core.errors import SocketNotFoundError
from workbench.core.types import ServerSocketProperties
from workbench.session import ServerRecord, SocketKey, SocketKind
from workbench.session.controls import Control, enabled_controls
from workbench.ui import validators
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.base import Panel
from workbench.ui.panels.listen_tls import ListenTlsGroup
from workbench.ui.panels.widgets import (
    FieldError,
    column,
    compact_form,
    describe,
    form_row,
    line,
    set_text,
)
from workbench.ui.server_cells import (
    all_interfaces,
    connections_text,
    server_label,
    state_text,
)

__all__ = ["CONNECTIONS_HINT", "DEFAULT_LISTEN_ADDRESS", "LISTEN_ADDRESSES", "ListenPanel"]

#: Where a new server listens unless the user picks another address: this machine only.
DEFAULT_LISTEN_ADDRESS = "127.0.0.1"
#: The listen address list: this machine (IPv4, IPv6), then every interface (IPv4, IPv6).
LISTEN_ADDRESSES = (DEFAULT_LISTEN_ADDRESS, "::1", "0.0.0.0", "::")

#: Where a server's data is: in its connections' rows (the data pane is theirs).
CONNECTIONS_HINT = (
    "A server has no data of its own: each connection it accepts is a row of its own (its "
    "Server column names this server); select one to see its data and send."
)

#: The largest backlog the spin box offers (Linux caps it at ``net.core.somaxconn``).
MAX_BACKLOG = 65535


class ListenPanel(Panel):
    """A server's address, port and backlog → ``listen()``; Stop listening →
    ``disconnect()``; "Read at once". Shown instead of the TCP tabs on a server row."""

    NOUN = "server"

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("listenPanel")
        form = compact_form(QFormLayout(self))
        self._build_address(form)
        self._build_port_and_backlog(form)
        self._build_read_at_once(form)
        self.tlsGroup = ListenTlsGroup()
        form.addRow(self.tlsGroup)
        self._build_buttons(form)
        self.status = QLabel()
        self.status.setObjectName("listenStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        describe(self.status, "Server status", "What the server listens on, and its connections")
        form.addRow("Status:", self.status)
        hint = QLabel(CONNECTIONS_HINT)
        hint.setObjectName("listenHint")
        hint.setWordWrap(True)
        hint.setEnabled(False)  # the palette's quieter text: a note, not a control
        form.addRow("", hint)
        self.address.currentTextChanged.connect(self._validate)
        self.listenButton.clicked.connect(self._listen)
        self.stopListeningButton.clicked.connect(self._stop)
        self.readAtOnce.toggled.connect(self._read_at_once_toggled)
        self.persistent.toggled.connect(self._persistent_toggled)
        self.tlsGroup.edited.connect(self._tls_edited)
        self._validate()

    # -- the form ---------------------------------------------------------------------------

    def _build_address(self, form: QFormLayout) -> None:
        self.address = QComboBox()
        self.address.setObjectName("listenAddress")
        self.address.setEditable(True)
        self.address.addItems(LISTEN_ADDRESSES)
        self.address.setItemData(0, "This machine only (IPv4)", Qt.ItemDataRole.ToolTipRole)
        self.address.setItemData(1, "This machine only (IPv6)", Qt.ItemDataRole.ToolTipRole)
        self.address.setItemData(2, "All IPv4 interfaces", Qt.ItemDataRole.ToolTipRole)
        self.address.setItemData(
            3, "All interfaces (IPv6, and IPv4 where the OS maps it)", Qt.ItemDataRole.ToolTipRole
        )
        self.address.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        describe(
            self.address,
            "Listen address",
            "An IP address of this machine: 127.0.0.1 takes connections from this machine "
            "only; 0.0.0.0 or :: from every interface",
        )
        self.addressError = FieldError(self.address, "listen address")
        form_row(form, "A&ddress:", column(self.address, self.addressError), self.address)

    def _build_port_and_backlog(self, form: QFormLayout) -> None:
        self.port = QSpinBox()
        self.port.setObjectName("listenPort")
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("0 (any free port)")
        describe(self.port, "Listen port", "The port to listen on; 0 lets the OS pick a free one")
        form_row(form, "P&ort:", self.port, self.port)
        self.backlog = QSpinBox()
        self.backlog.setObjectName("listenBacklog")
        self.backlog.setRange(0, MAX_BACKLOG)
        self.backlog.setSpecialValueText("OS default")
        describe(
            self.backlog,
            "Backlog",
            "How many connections may wait to be accepted (0 = the OS default, SOMAXCONN)",
        )
        form_row(form, "&Backlog:", self.backlog, self.backlog)

    def _build_read_at_once(self, form: QFormLayout) -> None:
        self.readAtOnce = QCheckBox("Read &at once (resume each accepted connection)")
        self.readAtOnce.setObjectName("readAtOnce")
        self.readAtOnce.setChecked(True)
        describe(
            self.readAtOnce,
            "Read at once",
            "Chrome starts accepted sockets paused; on, the window resumes each at once. "
            "Off leaves them paused (back-pressure tests); applies to later connections",
        )
        form.addRow("", self.readAtOnce)
        self.persistent = QCheckBox("P&ersistent (listens again at the next start)")
        self.persistent.setObjectName("listenPersistent")
        describe(
            self.persistent,
            "Persistent",
            "A persistent server is saved when the window closes and listens again, on the "
            "same address and port with its rules, when it starts",
        )
        self.persistentResult = self._result_label("update", "update", "listenPersistentResult")
        form.addRow("", line(self.persistent, self.persistentResult, stretch=1))

    def _build_buttons(self, form: QFormLayout) -> None:
        self.listenButton = QPushButton("&Listen")
        self.listenButton.setObjectName("listenButton")
        describe(self.listenButton, "Listen", "Listen on the address and port above")
        self.listenResult = self._result_label("listen", "listen", "listenResult")
        form.addRow(self.listenButton, self.listenResult)
        self.stopListeningButton = QPushButton("S&top listening")
        self.stopListeningButton.setObjectName("stopListeningButton")
        describe(
            self.stopListeningButton,
            "Stop listening",
            "Stop listening and free the port at once; accepted connections stay",
        )
        self.stopResult = self._result_label("disconnect", "disconnect", "stopListeningResult")
        form.addRow(self.stopListeningButton, self.stopResult)

    def focus_port(self) -> None:
        self.port.setFocus(Qt.FocusReason.OtherFocusReason)
        self.port.selectAll()

    # -- the Panel's hooks, for a server ----------------------------------------------------

    def _watch(self, session: SocketSession) -> None:
        session.serversChanged.connect(self._on_socket_changed)
        session.serverRemoved.connect(self._on_socket_removed)

    def server(self) -> ServerRecord | None:
        """The record of the server shown, if any."""
        return None if self._sid is None else self._session.server(self._sid)

    def _stored_result(self, sid: int, key: str) -> int | None:
        record = self._session.server(sid)
        return record.results.get(key) if record is not None else None

    def _store_result(self, sid: int, key: str, code: int) -> None:
        record = self._session.server(sid)
        if record is not None:  # the session keeps it too (LoggedServers): the same code
            record.results[key] = code

    def _exists(self, sid: int) -> bool:
        return self._session.server(sid) is not None

    def _failure_detail(self, sid: int, key: str) -> str | None:
        return self._session.servers.error_detail(sid) if key == "listen" else None

    def _allowed(self) -> frozenset[Control]:
        return enabled_controls(self.server())

    # -- showing a server -------------------------------------------------------------------

    def _switched(self, previous: int | None, sid: int | None) -> None:
        """Fill the form with what the server was last asked to listen on (else the
        defaults), and its "Read at once"."""
        record = self._session.server(sid) if sid is not None else None
        if record is None:
            return
        address, port, backlog = record.intent.listen or (DEFAULT_LISTEN_ADDRESS, 0, None)
        self.address.setCurrentText(address)
        self.port.setValue(port)
        self.backlog.setValue(backlog or 0)
        self.readAtOnce.blockSignals(True)
        self.readAtOnce.setChecked(record.intent.read_at_once)
        self.readAtOnce.blockSignals(False)
        self.tlsGroup.show_tls(record.intent.tls)
        self._show_persistent(record)

    def _show_persistent(self, record: ServerRecord) -> None:
        if self.persistent.isChecked() != record.info.persistent:
            self.persistent.blockSignals(True)
            self.persistent.setChecked(record.info.persistent)
            self.persistent.blockSignals(False)

    def refresh(self) -> None:
        record = self.server()
        if record is None:
            set_text(self.status, "")
            self.status.setStyleSheet("")
            return
        text = f"{server_label(record.key)}: {state_text(record)}"
        if connections := connections_text(record):
            text += f"; {connections}"
        set_text(self.status, text)
        if not self._pending(self._sid, "update"):
            self._show_persistent(record)
        style = "color: #bc4c00; font-weight: bold;" if all_interfaces(record) else ""
        if self.status.styleSheet() != style:
            self.status.setStyleSheet(style)

    def _validate(self) -> bool:
        error = validators.listen_address_error(self.address.currentText())
        self.addressError.set_error(error)
        self._update_controls()
        return error is None

    def _update_controls(self) -> None:
        allowed = self._allowed()
        pending = self._pending(self._sid, "listen")
        self.listenButton.setEnabled(
            self.addressError.error is None and Control.LISTEN in allowed and not pending
        )
        self.stopListeningButton.setEnabled(Control.DISCONNECT in allowed)

    # -- calls ------------------------------------------------------------------------------

    def listen_args(self) -> tuple[str, int, int | None]:
        """(address, port, backlog) as the form has them; a backlog of 0 is the OS's."""
        address = validators.normalize_address(self.address.currentText())
        return address, self.port.value(), self.backlog.value() or None

    def _listen(self) -> None:
        if self._sid is None or not self._validate() or Control.LISTEN not in self._allowed():
            return
        if not self._apply_tls(self._sid):
            return
        address, port, backlog = self.listen_args()
        servers = self._session.servers
        self._start("listen", "listen", lambda sid: servers.listen(sid, address, port, backlog))
        self._update_controls()

    def _stop(self) -> None:
        if self._sid is None or Control.DISCONNECT not in self._allowed():
            return
        servers = self._session.servers
        self._start("disconnect", "stop listening", servers.disconnect)

    def _read_at_once_toggled(self, on: bool) -> None:
        # Not a Chrome call (nothing to log or wait for): the session's intent, at once.
        if self._sid is not None:
            with contextlib.suppress(SocketNotFoundError):
                self._session.servers.set_read_at_once(self._sid, on)

    def _apply_tls(self, sid: int) -> bool:
        """The TLS group to the server (``set_tls``: not a Chrome call, nothing to wait for);
        False, with the reason shown in the group, when it cannot be applied."""
        if not self.tlsGroup.check():
            return False
        try:
            self._session.servers.set_tls(sid, self.tlsGroup.tls())
        except (ValueError, OSError) as exc:
            self.tlsGroup.show_error(f"TLS cannot be set up: {exc}")
            return False
        except SocketNotFoundError:
            return False
        self.tlsGroup.show_error(None)
        return True

    def _tls_edited(self) -> None:
        # Applied at Listen; while listening, to the connections accepted from now on.
        record = self.server()
        if record is not None and record.listening:
            self._apply_tls(record.key.id)

    def _persistent_toggled(self, on: bool) -> None:
        if self._sid is None:
            return
        servers, properties = self._session.servers, ServerSocketProperties(persistent=on)
        self._start("update", "update", lambda sid: servers.update(sid, properties))

    def key(self) -> SocketKey | None:
        return None if self._sid is None else SocketKey(SocketKind.TCP_SERVER, self._sid)
