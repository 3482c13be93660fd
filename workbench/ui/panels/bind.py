"""The Bind tab of a UDP row: address and port → ``chrome.sockets.udp.bind``.

'Binds the local address and port for the socket. ... Once the bind operation completes
successfully, onReceive events are raised when UDP packets arrive on the address/port
specified' (D2). The address is ``127.0.0.1`` unless the user picks another; a host name is
resolved ("DNS name, IPv4 and IPv6 formats are supported"). Port 0 asks the OS for a free
port, and the tab shows which it gave.

A socket binds once: a second bind is refused with -104 and the first binding kept (D3), so
once bound the button is disabled and the tab says why.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QPushButton, QSpinBox, QWidget

from workbench.session import udp_text
from workbench.ui import validators
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.udp_base import UdpControl, UdpPanel, udp_disabled_reason
from workbench.ui.panels.widgets import (
    FieldError,
    column,
    compact_form,
    describe,
    form_row,
    set_text,
)

__all__ = ["BIND_ADDRESSES", "DEFAULT_BIND_ADDRESS", "BindPanel"]

#: Where a new UDP socket binds unless the user picks another address: this machine only.
DEFAULT_BIND_ADDRESS = "127.0.0.1"
#: The address list: this machine (IPv4, IPv6), then every interface (IPv4, IPv6).
BIND_ADDRESSES = (DEFAULT_BIND_ADDRESS, "::1", "0.0.0.0", "::")

_BIND_TIP = "Bind to the address and port above; datagrams arrive from then on"


class BindPanel(UdpPanel):
    """A UDP socket's address and port → ``bind()``; the address it is bound to."""

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("bindPanel")
        form = compact_form(QFormLayout(self))
        self._build_address(form)
        self.port = QSpinBox()
        self.port.setObjectName("bindPort")
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("0 (any free port)")
        describe(self.port, "Bind port", "The local port; 0 lets the OS pick a free one")
        form_row(form, "P&ort:", self.port, self.port)
        self.bindButton = QPushButton("&Bind")
        self.bindButton.setObjectName("bindButton")
        describe(self.bindButton, "Bind", _BIND_TIP)
        self.bindResult = self._result_label("bind", "bind", "bindResult")
        form.addRow(self.bindButton, self.bindResult)
        self.status = QLabel()
        self.status.setObjectName("bindStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        describe(self.status, "Bound address", "The local address and port the socket is bound to")
        form.addRow("Status:", self.status)
        self.reason = QLabel()
        self.reason.setObjectName("bindDisabledReason")
        self.reason.setWordWrap(True)
        # A hint, in the placeholder's grey (the theme's): after a successful bind nothing is
        # wrong, and the warning colour made the success look like a problem.
        self.reason.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.reason.hide()
        form.addRow("", self.reason)
        self.address.currentTextChanged.connect(self._validate)
        edit = self.address.lineEdit()
        if edit is not None:  # an editable combo box always has one
            edit.returnPressed.connect(self._bind)
        self.bindButton.clicked.connect(self._bind)
        self._validate()

    def _build_address(self, form: QFormLayout) -> None:
        self.address = QComboBox()
        self.address.setObjectName("bindAddress")
        self.address.setEditable(True)
        self.address.addItems(BIND_ADDRESSES)
        for index, tip in enumerate(
            (
                "This machine only (IPv4)",
                "This machine only (IPv6)",
                "All IPv4 interfaces",
                "All interfaces (IPv6, and IPv4 where the OS maps it)",
            )
        ):
            self.address.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.address.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        describe(
            self.address,
            "Bind address",
            "A local address or host name: 127.0.0.1 takes datagrams from this machine only; "
            "0.0.0.0 or :: from every interface",
        )
        self.addressError = FieldError(self.address, "bind address")
        form_row(form, "A&ddress:", column(self.address, self.addressError), self.address)

    # -- showing a socket -------------------------------------------------------------------

    def _switched(self, previous: int | None, sid: int | None) -> None:
        """Fill the form with what the socket was last asked to bind to (else the defaults)."""
        record = self.udp_record()
        if record is None:
            return
        address, port = record.intent.bind or (DEFAULT_BIND_ADDRESS, 0)
        if record.bound and record.info.local_address is not None:
            # What it is bound to: the port the OS gave rather than the 0 asked for.
            address, port = record.info.local_address, record.info.local_port or 0
        self.address.setCurrentText(address)
        self.port.setValue(port)

    def refresh(self) -> None:
        record = self.udp_record()
        if record is not None and record.bound and self.port.value() == 0:
            # Bound on port 0 a moment ago: the fields show the port the OS gave, as they do
            # when the row is selected again (they said "0 (any free port)" until then).
            self._switched(None, self._sid)
        set_text(self.status, udp_text(record) if record is not None else "")
        reason = udp_disabled_reason(record, UdpControl.BIND) if record is not None else None
        set_text(self.reason, reason or "")
        self.reason.setVisible(reason is not None)
        self.bindButton.setToolTip(reason or _BIND_TIP)

    def _validate(self) -> bool:
        error = validators.address_error(self.address.currentText())
        self.addressError.set_error(error)
        self._update_controls()
        return error is None

    def _update_controls(self) -> None:
        self.bindButton.setEnabled(
            self.addressError.error is None
            and UdpControl.BIND in self._udp_allowed()
            and not self._pending(self._sid, "bind")
        )

    # -- the call ---------------------------------------------------------------------------

    def bind_args(self) -> tuple[str, int]:
        """(address, port) as the form has them (port 0: any free port)."""
        return validators.normalize_address(self.address.currentText()), self.port.value()

    def _bind(self) -> None:
        if self._sid is None or not self._validate():
            return
        if UdpControl.BIND not in self._udp_allowed() or self._pending(self._sid, "bind"):
            return
        address, port = self.bind_args()
        udp = self.udp
        self._start("bind", "bind", lambda sid: udp.bind(sid, address, port))
        self._update_controls()

    def focus_port(self) -> None:
        self.port.setFocus(Qt.FocusReason.OtherFocusReason)
        self.port.selectAll()
