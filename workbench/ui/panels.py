"""Option panels for the selected socket: Properties, Connect, TLS and TCP options.

Each panel is a thin form (house style: "a panel collects values into an options dataclass and
calls the facade"). It validates every field as the user types, shows the problem beside the
field and disables the button while anything is invalid, so nothing invalid reaches the core.
A click starts ONE call on ``session.sockets`` (the ``LoggedSockets``, so it is in the call
log) through ``TaskRunner.start``; the result appears beside the button that caused it:
``OK`` in green, or ``-102 CONNECTION_REFUSED: nothing is listening on that port`` in red.

Results are kept per socket in the session (``SocketSession.set_result(sid, control, code)``,
controls ``update``, ``connect``, ``disconnect``, ``secure``, ``keepAlive``, ``noDelay``,
``pause``), so selecting another socket and coming back shows that socket's last results. A
call that finishes after the user selected another socket is recorded for its own socket and
not shown on the current one.

Panels refresh from ``session.info(sid)`` on ``session.socketChanged`` (coalesced by the
session, ≤ 40 Hz); a refresh never overwrites a field the user has edited.

No nested event loops: the file dialogs use ``QFileDialog.open()`` and ``fileSelected``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.sockets import (
    DnsQueryType,
    SecureOptions,
    SocketInfo,
    SocketNotFoundError,
    SocketProperties,
    TLSVersionConstraints,
)
from workbench.ui import validators
from workbench.ui.bridge import SocketSession, TaskRunner, describe_result

__all__ = [
    "ConnectPanel",
    "FieldError",
    "PortEdit",
    "PropertiesPanel",
    "ResultLabel",
    "TcpOptionsPanel",
    "TlsPanel",
]

#: Mid-tone colours that stay readable on light and dark themes.
OK_COLOR = "#1f883d"
ERROR_COLOR = "#d1242f"
WARNING_COLOR = "#bc4c00"

_MISSING: Any = object()


def _describe(widget: QWidget, name: str, tip: str) -> QWidget:
    widget.setAccessibleName(name)
    widget.setToolTip(tip)
    return widget


def _compact_form(form: QFormLayout) -> QFormLayout:
    form.setContentsMargins(4, 4, 4, 4)
    form.setVerticalSpacing(4)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    return form


def _row(form: QFormLayout, text: str, field: QWidget | QLayout, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    form.addRow(label, field)
    return label


def _column(*widgets: QWidget) -> QVBoxLayout:
    """A field with its error label underneath, in one form row."""
    box = QVBoxLayout()
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(1)
    for widget in widgets:
        box.addWidget(widget)
    return box


def _line(*widgets: QWidget, stretch: int | None = None) -> QHBoxLayout:
    box = QHBoxLayout()
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(4)
    for index, widget in enumerate(widgets):
        box.addWidget(widget, 1 if index == stretch else 0)
    if stretch is None:
        box.addStretch(1)
    return box


def _set_text(label: QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)


class ResultLabel(QLabel):
    """The result of a panel's last call, shown beside the button that made it.

    ``code`` is the last result code shown (``None`` while a call runs, after a non-code
    failure, or when nothing was called yet).
    """

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.code: int | None = None
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAccessibleName(f"{what} result")
        self.setToolTip(f"The result of the last {what} call on this socket")

    def show_code(self, code: int, detail: str | None = None) -> None:
        """The code in words, and for a failure the OS's or OpenSSL's own reason below it."""
        text = describe_result(code)
        if code != 0 and detail:
            text = f"{text}\n({detail})"
        self._show(text, OK_COLOR if code == 0 else ERROR_COLOR)
        self.code = code

    def show_message(self, text: str, color: str | None) -> None:
        self._show(text, color)

    def clear_result(self) -> None:
        self._show("", None)

    def _show(self, text: str, color: str | None) -> None:
        self.code = None
        style = f"color: {color};" if color else ""
        if text == self.text() and style == self.styleSheet():
            return  # refreshes come at up to 40 Hz: restyling is not free
        self.setText(text)
        self.setStyleSheet(style)
        self.setAccessibleDescription(text)


class FieldError(QLabel):
    """What is wrong with one field; hidden while the field is fine."""

    def __init__(self, field: QWidget, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._field = field
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {ERROR_COLOR};")
        self.setAccessibleName(f"{what} error")
        self.setToolTip(f"Why the {what} cannot be used")
        self.hide()

    def set_error(self, text: str | None) -> None:
        _set_text(self, text or "")
        self.setVisible(bool(text))
        self._field.setAccessibleDescription(text or "")

    @property
    def error(self) -> str | None:
        return self.text() or None


class PortEdit(QLineEdit):
    """A TCP port typed as text so that a wrong one can be explained (a ``QSpinBox`` silently
    refuses the keystroke). ``value()``/``setValue()`` mirror ``QSpinBox`` for convenience;
    ``value()`` is ``None`` while the text is not a port in 1-65535."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMaxLength(16)
        self.setPlaceholderText("1-65535")
        self.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)

    def value(self) -> int | None:
        return validators.parse_port(self.text())

    def setValue(self, port: int) -> None:
        self.setText(str(port))


class _Panel(QWidget):
    """What the four panels share: the selected socket, calls through the runner, results."""

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._runner = runner
        self._sid: int | None = None
        self._labels: dict[str, ResultLabel] = {}
        #: per socket: control → (text, colour) for calls still running or ended without a code
        self._local: dict[int, dict[str, tuple[str, str | None]]] = {}
        # (socket, control) → the core's error_detail() for the last failed connect/secure.
        self._details: dict[tuple[int, str], str] = {}
        session.socketChanged.connect(self._on_socket_changed)
        session.socketRemoved.connect(self._on_socket_removed)
        self.setEnabled(False)

    # -- selection -----------------------------------------------------------------------

    def socket_id(self) -> int | None:
        return self._sid

    def set_socket(self, sid: int | None) -> None:
        """Show socket ``sid`` (``None``: no socket selected, the panel disables itself).

        Selecting the socket already shown only refreshes: what the user typed stays."""
        if sid == self._sid:
            self.refresh()
            return
        previous, self._sid = self._sid, sid
        self.setEnabled(sid is not None)
        self._switched(previous, sid)
        for key in self._labels:
            self._show_result(key)
        self.refresh()

    def refresh(self) -> None:
        """Bring the read-only parts up to date with ``session.info``."""

    def _switched(self, previous: int | None, sid: int | None) -> None:
        """Hook: the selected socket changed (fill the form for ``sid``)."""

    def _info(self) -> SocketInfo | None:
        return None if self._sid is None else self._session.info(self._sid)

    def _on_socket_changed(self, sid: int) -> None:
        if sid == self._sid:
            for key in self._labels:  # results set elsewhere (e.g. the toolbar's Pause)
                self._show_result(key)
            self.refresh()

    def _on_socket_removed(self, sid: int) -> None:
        self._local.pop(sid, None)
        self._forget(sid)
        if sid == self._sid:
            self.set_socket(None)

    def _forget(self, sid: int) -> None:
        """Hook: drop per-socket state of a closed socket."""

    # -- calls ---------------------------------------------------------------------------

    def _result_label(self, key: str, what: str, object_name: str) -> ResultLabel:
        label = ResultLabel(what)
        label.setObjectName(object_name)
        self._labels[key] = label
        return label

    def _show_result(self, key: str) -> None:
        label = self._labels[key]
        sid = self._sid
        if sid is None:
            label.clear_result()
            return
        local = self._local.get(sid, {}).get(key)
        if local is not None:
            label.show_message(*local)
            return
        code = self._session.result(sid, key)
        if code is None:
            label.clear_result()
        else:
            label.show_code(code, self._details.get((sid, key)))

    def _pending(self, sid: int | None, key: str) -> bool:
        return sid is not None and self._local.get(sid, {}).get(key, ("", ""))[1] is None

    def _start(
        self,
        key: str,
        what: str,
        call: Callable[[int], Awaitable[int | None]],
        *,
        pending: str = "…",
    ) -> asyncio.Task[None] | None:
        sid = self._sid
        if sid is None:
            return None
        self._local.setdefault(sid, {})[key] = (pending, None)
        self._show_result(key)
        return self._runner.start(self._run(sid, key, call), name=f"{what} (socket {sid})")

    async def _run(self, sid: int, key: str, call: Callable[[int], Awaitable[int | None]]) -> None:
        try:
            result = await call(sid)
        except SocketNotFoundError:
            self._finish(sid, key, None, "Socket not found: it was closed.")
            return
        except asyncio.CancelledError:
            self._finish(sid, key, None, "Cancelled.")
            raise
        except Exception as exc:
            # The runner logs it and reports it; the panel says so where the user looked.
            self._finish(sid, key, None, f"Failed: {type(exc).__name__}: {exc}")
            raise
        code = 0 if result is None else int(result)
        self._details.pop((sid, key), None)
        if code < 0 and key in ("connect", "secure"):
            detail = None
            with contextlib.suppress(LookupError):
                detail = self._session.sockets.raw.error_detail(sid, key)
            if detail:
                self._details[(sid, key)] = detail
        self._finish(sid, key, code, None)

    def _finish(self, sid: int, key: str, code: int | None, note: str | None) -> None:
        if not shiboken6.isValid(self):  # the window was closed while the call ran
            return
        local = self._local.get(sid)
        if local is not None:
            local.pop(key, None)
        if sid in self._session:
            if note is not None:
                self._local.setdefault(sid, {})[key] = (note, ERROR_COLOR)
            if code is not None:
                self._session.set_result(sid, key, code)
        if sid == self._sid:
            self._show_result(key)
            self._call_ended(key)

    def _call_ended(self, key: str) -> None:
        """Hook: a call of this panel on the shown socket ended."""


# ------------------------------------------------------------------------------ Properties


class PropertiesPanel(_Panel):
    """Name, buffer size and persistent → ``update()``."""

    MAX_BUFFER_SIZE = 16 * 1024 * 1024
    MAX_NAME_LENGTH = 256

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("propertiesPanel")
        self._shown: dict[str, Any] = {}
        form = _compact_form(QFormLayout(self))

        self.nameEdit = QLineEdit()
        self.nameEdit.setObjectName("propertiesName")
        self.nameEdit.setMaxLength(self.MAX_NAME_LENGTH)
        self.nameEdit.setPlaceholderText("unnamed")
        self.nameEdit.setClearButtonEnabled(True)
        _describe(self.nameEdit, "Socket name", "A name for this socket, shown in the table")
        self.nameError = FieldError(self.nameEdit, "name")
        _row(form, "&Name:", _column(self.nameEdit, self.nameError), self.nameEdit)

        self.bufferSize = QSpinBox()
        self.bufferSize.setObjectName("propertiesBufferSize")
        self.bufferSize.setRange(0, self.MAX_BUFFER_SIZE)
        self.bufferSize.setSingleStep(1024)
        self.bufferSize.setSpecialValueText("default")
        self.bufferSize.setSuffix(" bytes")
        self.bufferSize.setAccelerated(True)
        _describe(
            self.bufferSize, "Buffer size",
            "Largest chunk delivered per receive event; 0 = default (4096 bytes)",
        )
        _row(form, "&Buffer size:", self.bufferSize, self.bufferSize)

        self.persistent = QCheckBox("&Persistent (restored at next start)")
        self.persistent.setObjectName("propertiesPersistent")
        _describe(
            self.persistent, "Persistent",
            "A persistent socket is restored and reconnected when the workbench starts again",
        )
        form.addRow("", self.persistent)

        self.applyButton = QPushButton("&Apply")
        self.applyButton.setObjectName("propertiesApply")
        _describe(self.applyButton, "Apply properties", "Apply name, buffer size and persistent")
        self.result = self._result_label("update", "update", "propertiesResult")
        form.addRow(self.applyButton, self.result)

        self.nameEdit.textChanged.connect(self._validate)
        self.nameEdit.returnPressed.connect(self._apply)
        self.applyButton.clicked.connect(self._apply)
        self._validate()

    def _name_error(self) -> str | None:
        text = self.nameEdit.text()
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
            return "A name cannot contain control characters."
        return None

    def _validate(self) -> bool:
        error = self._name_error()
        self.nameError.set_error(error)
        self.applyButton.setEnabled(error is None)
        return error is None

    def properties(self) -> SocketProperties:
        """The form as ``SocketProperties`` (``buffer_size=0`` means the default, C2)."""
        return SocketProperties(
            name=self.nameEdit.text(),
            persistent=self.persistent.isChecked(),
            buffer_size=self.bufferSize.value(),
        )

    def _apply(self) -> None:
        if self._sid is None or not self._validate():
            return
        props = self.properties()
        self._start("update", "update", lambda sid: self._session.sockets.update(sid, props))

    def _switched(self, previous: int | None, sid: int | None) -> None:
        self._shown.clear()  # the next refresh fills every field

    def refresh(self) -> None:
        info = self._info()
        if info is None:
            return
        self._sync("name", self.nameEdit.text(), info.name or "", self.nameEdit.setText)
        self._sync("buffer", self.bufferSize.value(), info.buffer_size or 0,
                   self.bufferSize.setValue)
        self._sync("persistent", self.persistent.isChecked(), info.persistent,
                   self.persistent.setChecked)

    def _sync(self, key: str, current: Any, new: Any, setter: Callable[[Any], None]) -> None:
        """Show ``new`` unless the user changed the field since it was last filled."""
        shown = self._shown.get(key, _MISSING)
        if (shown is _MISSING or current == shown) and current != new:
            setter(new)
        self._shown[key] = new


# -------------------------------------------------------------------------------- Connect


def _peer_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_peer(text: str) -> tuple[str, int] | None:
    host, sep, port_text = str(text).strip().rpartition(":")
    port = validators.parse_port(port_text)
    if not sep or port is None:
        return None
    host = validators.normalize_address(host)
    if validators.address_error(host) is not None:
        return None
    return host, port


class ConnectPanel(_Panel):
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
        #: per socket: (address, port, DNS index) as typed, and ``SocketUi.peer`` back then
        self._drafts: dict[int, tuple[str, str, int, Any]] = {}
        self._filling = False
        form = _compact_form(QFormLayout(self))

        self.address = QComboBox()
        self.address.setObjectName("connectAddress")
        self.address.setEditable(True)
        self.address.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        # Items read "host:port"; an inline completion would put "host:port" into the
        # address field, so completion is off and picking an item splits it instead.
        self.address.setCompleter(None)
        self.address.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.address.setMinimumContentsLength(14)
        self.address.setMaxVisibleItems(self.MAX_RECENT)
        edit = self.address.lineEdit()
        edit.setMaxLength(self.MAX_ADDRESS_LENGTH)
        edit.setPlaceholderText("host name or IP address")
        edit.setClearButtonEnabled(True)
        _describe(
            self.address, "Peer address",
            "Host name, IPv4 or IPv6 address to connect to; the list holds recent peers",
        )
        self.addressError = FieldError(self.address, "address")
        _row(form, "A&ddress:", _column(self.address, self.addressError), self.address)

        self.port = PortEdit()
        self.port.setObjectName("connectPort")
        _describe(self.port, "Peer port", "TCP port to connect to (1-65535)")
        self.portError = FieldError(self.port, "port")
        _row(form, "P&ort:", _column(self.port, self.portError), self.port)

        self.dns = QComboBox()
        self.dns.setObjectName("connectDns")
        for text, query in (
            ("Any (system preference)", DnsQueryType.ANY),
            ("IPv4 only", DnsQueryType.IPV4),
            ("IPv6 only", DnsQueryType.IPV6),
        ):
            self.dns.addItem(text, query)
        _describe(
            self.dns, "DNS preference",
            "Which address family a host name resolves to: any, IPv4 only or IPv6 only",
        )
        _row(form, "D&NS:", self.dns, self.dns)

        self.connectButton = QPushButton("&Connect")
        self.connectButton.setObjectName("connectButton")
        _describe(self.connectButton, "Connect", "Connect this socket to the address and port")
        self.connectResult = self._result_label("connect", "connect", "connectResult")
        form.addRow(self.connectButton, self.connectResult)

        self.disconnectButton = QPushButton("D&isconnect")
        self.disconnectButton.setObjectName("disconnectButton")
        _describe(
            self.disconnectButton, "Disconnect",
            "Close the connection (the socket stays and can connect again)",
        )
        self.disconnectResult = self._result_label("disconnect", "disconnect", "disconnectResult")
        form.addRow(self.disconnectButton, self.disconnectResult)

        self.address.editTextChanged.connect(self._address_edited)
        self.port.textChanged.connect(self._validate)
        edit.returnPressed.connect(self._connect_clicked)
        self.port.returnPressed.connect(self._connect_clicked)
        self.connectButton.clicked.connect(self._connect_clicked)
        self.disconnectButton.clicked.connect(self._disconnect_clicked)
        self._validate()

    # -- the form ------------------------------------------------------------------------

    def address_text(self) -> str:
        return self.address.currentText()

    def set_peer(self, host: str, port: int) -> None:
        """Fill address and port (e.g. "New socket to this server")."""
        self._filling = True
        try:
            self.address.setEditText(host)
        finally:
            self._filling = False
        self.port.setValue(port)
        self._validate()

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
        self.addressError.set_error(address_error)
        self.portError.set_error(port_error)
        valid = address_error is None and port_error is None
        self.connectButton.setEnabled(valid)
        return valid

    def _connect_clicked(self) -> None:
        if self._sid is None or not self._validate():
            return  # nothing invalid reaches the core
        host = validators.normalize_address(self.address_text())
        port = self.port.value()
        assert port is not None
        query = DnsQueryType(self.dns.currentData())
        self._remember_peer(host, port)
        self._start(
            "connect", "connect",
            lambda sid: self._session.sockets.connect(sid, host, port, query),
            pending="Connecting…",
        )

    def _disconnect_clicked(self) -> None:
        self._start("disconnect", "disconnect", self._session.sockets.disconnect)

    # -- per socket ----------------------------------------------------------------------

    def _switched(self, previous: int | None, sid: int | None) -> None:
        if previous is not None and previous in self._session:
            old_ui = self._session.ui(previous)
            self._drafts[previous] = (
                self.address_text(), self.port.text(), self.dns.currentIndex(),
                old_ui.intent.peer if old_ui is not None else None,
            )
        if sid is None:
            return
        ui = self._session.ui(sid)
        info = self._session.info(sid)
        draft = self._drafts.get(sid)
        if draft is not None and ui is not None and ui.intent.peer != draft[3]:
            draft = None  # the peer was set since (a connect, "New socket to this server")
        if draft is not None:
            address, port, dns, _ = draft
            self._filling = True
            try:
                self.address.setEditText(address)
            finally:
                self._filling = False
            self.port.setText(port)
            self.dns.setCurrentIndex(dns)
        elif ui is not None and ui.intent.peer is not None:
            host, port_number, query = ui.intent.peer
            self.set_peer(host, port_number)
            index = self.dns.findData(DnsQueryType(query))
            self.dns.setCurrentIndex(max(index, 0))
        elif info is not None and info.peer_address and info.peer_port:
            self.set_peer(info.peer_address, info.peer_port)
        # else: keep what is typed, so a new socket can go where the last one went
        self._validate()

    def _forget(self, sid: int) -> None:
        self._drafts.pop(sid, None)

    # -- recent peers --------------------------------------------------------------------

    def recent_peers(self) -> list[str]:
        """Most recent first, as ``"host:port"`` (``"[::1]:7"`` for IPv6)."""
        return [_peer_text(host, port) for host, port in self._recent]

    def set_recent_peers(self, peers: list[str]) -> None:
        """Load the history (e.g. from settings); bad or duplicate entries are dropped."""
        recent: list[tuple[str, int]] = []
        for entry in peers:
            peer = _parse_peer(entry) if isinstance(entry, str) else None
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
                self.address.addItem(_peer_text(host, port), (host, port))
            self.address.setCurrentIndex(-1)
            self.address.setEditText(text)
        finally:
            self.address.blockSignals(False)
            self._filling = False


# ------------------------------------------------------------------------------------ TLS


class _FileField(QWidget):
    """A path line edit with Browse… (a non-modal file dialog) and an error label."""

    changed = Signal()

    def __init__(self, object_name: str, what: str, tip: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.what = what
        self.edit = QLineEdit()
        self.edit.setObjectName(object_name)
        self.edit.setMaxLength(4096)
        self.edit.setPlaceholderText("none")
        self.edit.setClearButtonEnabled(True)
        _describe(self.edit, what, tip)
        self.browseButton = QPushButton("Browse…")
        self.browseButton.setObjectName(f"{object_name}Browse")
        _describe(self.browseButton, f"Browse for the {what}", f"Choose the {what} file")
        self.error = FieldError(self.edit, what)
        self.dialog: QFileDialog | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addLayout(_line(self.edit, self.browseButton, stretch=0))
        box.addWidget(self.error)
        self.edit.textChanged.connect(self.changed)
        self.browseButton.clicked.connect(self.browse)

    def path(self) -> str | None:
        text = self.edit.text().strip()
        return text or None

    def set_path(self, path: str) -> None:
        self.edit.setText(path)

    def browse(self) -> None:
        """Open a non-modal file dialog (``open()``, never ``exec()``)."""
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.raise_()
            return
        current = self.path()
        directory = os.path.dirname(current) if current else ""
        dialog = QFileDialog(
            self, f"Choose the {self.what}", directory,
            "PEM files (*.pem *.crt *.cer *.key);;All files (*)",
        )
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.set_path)
        # Settle the layout before the dialog's window exists: a size hint that changes
        # after that is pushed to the platform window (the offscreen one warns about it).
        dialog.adjustSize()
        self.dialog = dialog
        dialog.open()

    def check(self, extra: str | None = None) -> str | None:
        error = validators.readable_file_error(self.edit.text()) or extra
        self.error.set_error(error)
        return error


class TlsPanel(_Panel):
    """TLS versions, verification, CA file, server name, client certificate → ``secure()``;
    after the handshake: version, cipher, subject, issuer, expiry and verified or not."""

    VERSIONS = (("TLS 1.2", "tls1.2"), ("TLS 1.3", "tls1.3"))

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("tlsPanel")
        #: per socket: the form as left, and ``SocketUi.secure_options`` back then
        self._drafts: dict[int, tuple[tuple[int, int, bool, str, str, str, str], Any]] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        form = _compact_form(QFormLayout())
        outer.addLayout(form)

        self.minVersion = QComboBox()
        self.minVersion.setObjectName("tlsMinVersion")
        self.maxVersion = QComboBox()
        self.maxVersion.setObjectName("tlsMaxVersion")
        for text, value in self.VERSIONS:
            self.minVersion.addItem(text, value)
            self.maxVersion.addItem(text, value)
        self.minVersion.setCurrentIndex(0)
        self.maxVersion.setCurrentIndex(1)
        _describe(self.minVersion, "Minimum TLS version", "The oldest TLS version to accept")
        _describe(self.maxVersion, "Maximum TLS version", "The newest TLS version to offer")
        self.versionError = FieldError(self.maxVersion, "TLS versions")
        to_label = QLabel("to")
        versions = QVBoxLayout()
        versions.setSpacing(1)
        versions.addLayout(_line(self.minVersion, to_label, self.maxVersion))
        versions.addWidget(self.versionError)
        _row(form, "&Versions:", versions, self.minVersion)

        self.verify = QCheckBox("&Verify the server certificate")
        self.verify.setObjectName("tlsVerify")
        self.verify.setChecked(True)
        _describe(
            self.verify, "Verify certificate",
            "Check the server's certificate chain and host name (strongly recommended)",
        )
        self.verifyWarning = QLabel(
            "⚠ Verification is OFF: any certificate is accepted, so anyone on the path can "
            "pose as this server. The socket's row is flagged."
        )
        self.verifyWarning.setObjectName("tlsVerifyWarning")
        self.verifyWarning.setWordWrap(True)
        self.verifyWarning.setStyleSheet(f"color: {WARNING_COLOR}; font-weight: bold;")
        _describe(self.verifyWarning, "Verification warning",
                  "Certificate verification is turned off for this socket")
        self.verifyWarning.hide()
        form.addRow("", _column(self.verify, self.verifyWarning))

        self.caFile = _FileField(
            "tlsCaFile", "CA file",
            "PEM file of extra trusted certificate authorities (e.g. a test CA)",
        )
        _row(form, "Trusted &CA:", self.caFile, self.caFile.edit)

        self.serverName = QLineEdit()
        self.serverName.setObjectName("tlsServerName")
        self.serverName.setMaxLength(1024)
        self.serverName.setPlaceholderText("the connect address")
        self.serverName.setClearButtonEnabled(True)
        _describe(
            self.serverName, "Server name override",
            "Name sent as SNI and checked against the certificate (default: the address)",
        )
        self.serverNameError = FieldError(self.serverName, "server name")
        _row(form, "Server &name:", _column(self.serverName, self.serverNameError),
             self.serverName)

        self.clientCert = _FileField(
            "tlsClientCert", "client certificate",
            "PEM client certificate (may also hold the key) for servers that ask for one",
        )
        _row(form, "Client ce&rt:", self.clientCert, self.clientCert.edit)
        self.clientKey = _FileField(
            "tlsClientKey", "client key", "PEM private key of the client certificate",
        )
        _row(form, "Client &key:", self.clientKey, self.clientKey.edit)

        self.secureButton = QPushButton("&Secure (start TLS)")
        self.secureButton.setObjectName("secureButton")
        _describe(self.secureButton, "Secure",
                  "Start a TLS handshake on this connected socket")
        self.secureResult = self._result_label("secure", "secure", "secureResult")
        form.addRow(self.secureButton, self.secureResult)

        self.details = QGroupBox("Peer certificate")
        self.details.setObjectName("tlsDetails")
        self.details.setAccessibleName("TLS connection details")
        details = _compact_form(QFormLayout(self.details))
        self.detailLabels: dict[str, QLabel] = {}
        for key, text in (
            ("version", "Version:"), ("cipher", "Cipher:"), ("subject", "Subject:"),
            ("issuer", "Issuer:"), ("expiry", "Expires:"), ("verified", "Verified:"),
        ):
            value = QLabel("—")
            value.setObjectName(f"tls{key.capitalize()}Value")
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            _describe(value, f"TLS {key}", f"The {key} settled by the handshake")
            self.detailLabels[key] = value
            details.addRow(text, value)
        outer.addWidget(self.details)
        outer.addStretch(1)

        self.minVersion.currentIndexChanged.connect(self._validate)
        self.maxVersion.currentIndexChanged.connect(self._validate)
        self.verify.toggled.connect(self._verify_toggled)
        self.caFile.changed.connect(self._validate)
        self.serverName.textChanged.connect(self._validate)
        self.clientCert.changed.connect(self._validate)
        self.clientKey.changed.connect(self._validate)
        self.secureButton.clicked.connect(self._secure_clicked)
        self._validate()
        self.refresh()

    # -- the form ------------------------------------------------------------------------

    def set_ca_file(self, path: str) -> None:
        """Trust ``path`` (the servers panel's "Trust this test CA")."""
        self.caFile.set_path(str(path))

    def _validate(self) -> bool:
        low = self.minVersion.currentIndex()
        high = self.maxVersion.currentIndex()
        version_error = (
            "The minimum version is newer than the maximum." if low > high else None
        )
        self.versionError.set_error(version_error)
        errors = [
            version_error,
            self.caFile.check(),
            self.clientCert.check(),
            self.clientKey.check(
                "A key needs its client certificate."
                if self.clientKey.path() and not self.clientCert.path() else None
            ),
        ]
        name_error = validators.server_name_error(self.serverName.text())
        self.serverNameError.set_error(name_error)
        errors.append(name_error)
        valid = all(error is None for error in errors)
        self.secureButton.setEnabled(valid)
        return valid

    def options(self) -> SecureOptions:
        """The form as ``SecureOptions`` (only call when the form is valid)."""
        return SecureOptions(
            tls_version=TLSVersionConstraints(
                min=self.minVersion.currentData(), max=self.maxVersion.currentData()
            ),
            ca_file=self.caFile.path(),
            verify=self.verify.isChecked(),
            server_name=self.serverName.text().strip() or None,
            client_cert=self.clientCert.path(),
            client_key=self.clientKey.path(),
        )

    def _verify_toggled(self, on: bool) -> None:
        # Only the form says so: the row shows "unverified" once TLS is up without checks.
        self.verifyWarning.setVisible(not on)

    def _secure_clicked(self) -> None:
        if self._sid is None or not self._validate():
            return
        options = self.options()
        self._start(
            "secure", "secure",
            lambda sid: self._session.sockets.secure(sid, options),
            pending="Handshaking…",
        )

    # -- per socket ----------------------------------------------------------------------

    def _form(self) -> tuple[int, int, bool, str, str, str, str]:
        return (
            self.minVersion.currentIndex(), self.maxVersion.currentIndex(),
            self.verify.isChecked(), self.caFile.edit.text(), self.serverName.text(),
            self.clientCert.edit.text(), self.clientKey.edit.text(),
        )

    def _fill(self, form: tuple[int, int, bool, str, str, str, str]) -> None:
        low, high, verify, ca_file, server_name, cert, key = form
        self.minVersion.setCurrentIndex(low)
        self.maxVersion.setCurrentIndex(high)
        self.verify.blockSignals(True)
        self.verify.setChecked(verify)
        self.verify.blockSignals(False)
        self.caFile.set_path(ca_file)
        self.serverName.setText(server_name)
        self.clientCert.set_path(cert)
        self.clientKey.set_path(key)

    def _switched(self, previous: int | None, sid: int | None) -> None:
        # Each socket has its own form: what was typed for it (its draft), else its saved
        # options (a restored socket, "New socket to this server"), else the defaults.
        if previous is not None and previous in self._session:
            old_ui = self._session.ui(previous)
            self._drafts[previous] = (
                self._form(), old_ui.intent.secure if old_ui is not None else None,
            )
        ui = self._session.ui(sid) if sid is not None else None
        draft = self._drafts.get(sid) if sid is not None else None
        if draft is not None and ui is not None and ui.intent.secure is not draft[1]:
            draft = None  # the options were set since (a secure, "Trust this test CA")
        if draft is not None:
            self._fill(draft[0])
        elif ui is not None and ui.intent.secure is not None:
            options = ui.intent.secure
            versions = options.tls_version or TLSVersionConstraints()
            low = self.minVersion.findData(versions.min)
            high = self.maxVersion.findData(versions.max)
            self._fill((
                max(low, 0), high if high >= 0 else 1, options.verify,
                options.ca_file or "", options.server_name or "",
                options.client_cert or "", options.client_key or "",
            ))
        else:
            self._fill((0, 1, True, "", "", "", ""))
        self.verifyWarning.setVisible(not self.verify.isChecked())
        self._validate()

    def _forget(self, sid: int) -> None:
        self._drafts.pop(sid, None)

    def refresh(self) -> None:
        info = self._info()
        tls = info.tls if info is not None else None
        labels = self.detailLabels
        if tls is None:
            for key in ("version", "cipher", "subject", "issuer", "expiry"):
                _set_text(labels[key], "—")
            _set_text(labels["verified"], "not secured")
            labels["verified"].setStyleSheet("")
            return
        _set_text(labels["version"], tls.version)
        _set_text(labels["cipher"], tls.cipher)
        _set_text(labels["subject"], tls.peer_subject or "—")
        _set_text(labels["issuer"], tls.peer_issuer or "—")
        _set_text(labels["expiry"], tls.peer_not_after or "—")
        verified = labels["verified"]
        if tls.verified:
            if verified.text() != "verified":
                verified.setText("verified")
                verified.setStyleSheet(f"color: {OK_COLOR};")
        elif verified.text() != "NOT verified":
            verified.setText("NOT verified")
            verified.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: bold;")


# ---------------------------------------------------------------------------- TCP options


class TcpOptionsPanel(_Panel):
    """Keep-alive with delay → ``set_keep_alive()``; no-delay → ``set_no_delay()``;
    Pause/Resume → ``set_paused()``."""

    #: Linux caps TCP_KEEPIDLE at 32767 s (MAX_TCP_KEEPIDLE).
    MAX_KEEP_ALIVE_DELAY = 32767
    #: What the core sets on every connect (contract K2, as Chrome's desktop sockets).
    DEFAULT_KEEP_ALIVE = (True, 45)
    DEFAULT_NO_DELAY = True

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("tcpOptionsPanel")
        form = _compact_form(QFormLayout(self))

        self.keepAlive = QCheckBox("&On")
        self.keepAlive.setObjectName("keepAliveCheck")
        _describe(self.keepAlive, "Keep-alive",
                  "Send TCP keep-alive probes when the connection is idle")
        self.keepAliveDelay = QSpinBox()
        self.keepAliveDelay.setObjectName("keepAliveDelay")
        self.keepAliveDelay.setRange(0, self.MAX_KEEP_ALIVE_DELAY)
        self.keepAliveDelay.setSpecialValueText("OS default")
        self.keepAliveDelay.setSuffix(" s")
        _describe(self.keepAliveDelay, "Keep-alive delay",
                  "Seconds of idleness before the first probe (0 = the OS default)")
        delay_label = QLabel("after")
        delay_label.setBuddy(self.keepAliveDelay)
        _row(form, "&Keep-alive:",
             _line(self.keepAlive, delay_label, self.keepAliveDelay), self.keepAlive)
        self.keepAliveButton = QPushButton("Set keep-alive")
        self.keepAliveButton.setObjectName("keepAliveButton")
        _describe(self.keepAliveButton, "Set keep-alive",
                  "Apply keep-alive on/off and the delay to the connected socket")
        self.keepAliveResult = self._result_label("keepAlive", "setKeepAlive", "keepAliveResult")
        form.addRow(self.keepAliveButton, self.keepAliveResult)

        self.noDelay = QCheckBox("No &delay (TCP_NODELAY)")
        self.noDelay.setObjectName("noDelayCheck")
        _describe(self.noDelay, "No delay",
                  "Turn off Nagle's algorithm so small writes are sent immediately")
        form.addRow("", self.noDelay)
        self.noDelayButton = QPushButton("Set no-delay")
        self.noDelayButton.setObjectName("noDelayButton")
        _describe(self.noDelayButton, "Set no-delay",
                  "Apply the no-delay setting to the connected socket")
        self.noDelayResult = self._result_label("noDelay", "setNoDelay", "noDelayResult")
        form.addRow(self.noDelayButton, self.noDelayResult)

        self.pauseButton = QPushButton("&Pause")
        self.pauseButton.setObjectName("pauseButton")
        self.pauseButton.setCheckable(True)
        _describe(self.pauseButton, "Pause receiving",
                  "Pause: stop reading (the peer is throttled by TCP); Resume: deliver again")
        self.pauseResult = self._result_label("pause", "setPaused", "pauseResult")
        form.addRow(self.pauseButton, self.pauseResult)
        self.pauseState = QLabel("")
        self.pauseState.setObjectName("pauseState")
        self.pauseState.setWordWrap(True)
        _describe(self.pauseState, "Receive state", "Whether this socket delivers received data")
        form.addRow("", self.pauseState)

        self.keepAlive.toggled.connect(self.keepAliveDelay.setEnabled)
        self.keepAliveButton.clicked.connect(self._keep_alive_clicked)
        self.noDelayButton.clicked.connect(self._no_delay_clicked)
        self.pauseButton.clicked.connect(self._pause_clicked)
        self._fill_options(None)
        self._show_paused(False)

    def _keep_alive_clicked(self) -> None:
        enable = self.keepAlive.isChecked()
        delay = self.keepAliveDelay.value() if enable else 0
        self._start(
            "keepAlive", "setKeepAlive",
            lambda sid: self._session.sockets.set_keep_alive(sid, enable, delay),
        )

    def _no_delay_clicked(self) -> None:
        no_delay = self.noDelay.isChecked()
        self._start(
            "noDelay", "setNoDelay",
            lambda sid: self._session.sockets.set_no_delay(sid, no_delay),
        )

    def _pause_clicked(self, checked: bool) -> None:
        self._show_paused(checked)
        self._start(
            "pause", "setPaused",
            lambda sid: self._session.sockets.set_paused(sid, checked),
        )

    def _fill_options(self, sid: int | None) -> None:
        ui = self._session.ui(sid) if sid is not None else None
        enable, delay = (ui.intent.keep_alive if ui is not None and ui.intent.keep_alive is not None
                         else self.DEFAULT_KEEP_ALIVE)
        self.keepAlive.setChecked(enable)
        self.keepAliveDelay.setValue(delay)
        self.keepAliveDelay.setEnabled(enable)
        no_delay = ui.intent.no_delay if ui is not None and ui.intent.no_delay is not None else None
        self.noDelay.setChecked(self.DEFAULT_NO_DELAY if no_delay is None else no_delay)

    def _switched(self, previous: int | None, sid: int | None) -> None:
        self._fill_options(sid)

    def _show_paused(self, paused: bool) -> None:
        if self.pauseButton.isChecked() != paused:
            self.pauseButton.setChecked(paused)
        _set_text(self.pauseButton, "&Resume" if paused else "&Pause")
        self.pauseButton.setAccessibleName("Resume receiving" if paused else "Pause receiving")
        info = self._info()
        if paused:
            text = "Paused: received data is held and the peer is throttled."
        elif info is not None and info.connected:
            text = "Receiving."
        else:
            text = ""
        _set_text(self.pauseState, text)

    def refresh(self) -> None:
        info = self._info()
        if info is None or self._pending(self._sid, "pause"):
            return  # while set_paused runs, the button shows what the user asked for
        self._show_paused(info.paused)

    def _call_ended(self, key: str) -> None:
        if key == "pause":
            self.refresh()
