"""The Properties tab of a UDP row: name, buffer size and persistent →
``chrome.sockets.udp.update``, and the socket's current properties.

``bufferSize``: 'The size of the buffer used to receive data. If the buffer is too small to
receive the UDP packet, data is lost. The default value is 4096.' (D6: each datagram is
delivered cut to it, and the data view marks it "truncated to N"). A new size applies from
the next datagram. 0 here means the default.

Persistent: a persistent socket is saved when the window closes and bound again, to the same
address and port, when the workbench starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from workbench.core.formatting import format_size
from workbench.net.udp import DEFAULT_BUFFER_SIZE
from workbench.sockets import UdpSocketInfo, UdpSocketProperties
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.udp_base import UdpControl, UdpPanel
from workbench.ui.panels.widgets import (
    FieldError,
    byte_count_suffix,
    column,
    compact_form,
    describe,
    form_row,
    set_text,
)

__all__ = ["MAX_UDP_BUFFER_SIZE", "UdpPropertiesPanel", "properties_text"]

#: The largest buffer size worth asking for: no UDP datagram is longer (IPv4 carries at most
#: 65,507 bytes of data, an IPv6 jumbogram is not read whole by the core either).
MAX_UDP_BUFFER_SIZE = 65535

_MISSING: Any = object()


def properties_text(info: UdpSocketInfo) -> str:
    """What the socket's properties are now, in one line: ``"buffer size 4 KiB (the default):
    longer datagrams are truncated · not persistent"``."""
    size = info.buffer_size or DEFAULT_BUFFER_SIZE
    default = "" if info.buffer_size else " (the default)"
    parts = [
        f"name “{info.name}”" if info.name else "no name",
        f"buffer size {format_size(size)}{default}: longer datagrams are truncated",
        "persistent" if info.persistent else "not persistent",
    ]
    return " · ".join(parts)


class UdpPropertiesPanel(UdpPanel):
    """Name, buffer size and persistent → ``update()``; the current properties below."""

    MAX_NAME_LENGTH = 256

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("udpPropertiesPanel")
        #: field → the value the last refresh put there (a field that differs was edited)
        self._shown: dict[str, Any] = {}
        form = compact_form(QFormLayout(self))
        self._build_name(form)
        self._build_buffer_size(form)
        self.persistent = QCheckBox("&Persistent (bound again at the next start)")
        self.persistent.setObjectName("udpPersistent")
        describe(
            self.persistent,
            "Persistent",
            "A persistent UDP socket is saved when the window closes and bound again, to the "
            "same address and port, when the workbench starts",
        )
        form.addRow("", self.persistent)
        self.applyButton = QPushButton("&Apply")
        self.applyButton.setObjectName("udpPropertiesApply")
        describe(self.applyButton, "Apply properties", "Apply name, buffer size and persistent")
        self.result = self._result_label("update", "update", "udpPropertiesResult")
        form.addRow(self.applyButton, self.result)
        self.current = QLabel()
        self.current.setObjectName("udpPropertiesCurrent")
        self.current.setWordWrap(True)
        self.current.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        describe(self.current, "Current properties", "The socket's properties as the core has them")
        form.addRow("Now:", self.current)
        self.nameEdit.textChanged.connect(self._validate)
        self.nameEdit.returnPressed.connect(self._apply)
        self.applyButton.clicked.connect(self._apply)
        self._validate()

    def _build_name(self, form: QFormLayout) -> None:
        self.nameEdit = QLineEdit()
        self.nameEdit.setObjectName("udpName")
        self.nameEdit.setMaxLength(self.MAX_NAME_LENGTH)
        self.nameEdit.setPlaceholderText("unnamed")
        self.nameEdit.setClearButtonEnabled(True)
        describe(self.nameEdit, "Socket name", "A name for this socket, shown in the table")
        self.nameError = FieldError(self.nameEdit, "name")
        form_row(form, "&Name:", column(self.nameEdit, self.nameError), self.nameEdit)

    def _build_buffer_size(self, form: QFormLayout) -> None:
        self.bufferSize = QSpinBox()
        self.bufferSize.setObjectName("udpBufferSize")
        self.bufferSize.setRange(0, MAX_UDP_BUFFER_SIZE)
        self.bufferSize.setSingleStep(512)
        self.bufferSize.setSpecialValueText(f"default ({format_size(DEFAULT_BUFFER_SIZE)})")
        byte_count_suffix(self.bufferSize)
        self.bufferSize.setAccelerated(True)
        describe(
            self.bufferSize,
            "Buffer size",
            "The longest datagram delivered whole: longer ones are truncated to it "
            f"(0 = the default, {format_size(DEFAULT_BUFFER_SIZE)})",
        )
        form_row(form, "&Buffer size:", self.bufferSize, self.bufferSize)

    # -- the form ---------------------------------------------------------------------------

    def _name_error(self) -> str | None:
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in self.nameEdit.text()):
            return "A name cannot contain control characters."
        return None

    def _validate(self) -> bool:
        error = self._name_error()
        self.nameError.set_error(error)
        self._update_controls()
        return error is None

    def _update_controls(self) -> None:
        self.applyButton.setEnabled(
            self.nameError.error is None
            and UdpControl.UPDATE in self._udp_allowed()
            and not self._pending(self._sid, "update")
        )

    def properties(self) -> UdpSocketProperties:
        """The form as ``UdpSocketProperties`` (``buffer_size=0``: the default)."""
        return UdpSocketProperties(
            name=self.nameEdit.text(),
            persistent=self.persistent.isChecked(),
            buffer_size=self.bufferSize.value(),
        )

    def _apply(self) -> None:
        if self._sid is None or not self._validate():
            return
        if UdpControl.UPDATE not in self._udp_allowed() or self._pending(self._sid, "update"):
            return
        properties, udp = self.properties(), self.udp
        self._start("update", "update", lambda sid: udp.update(sid, properties))
        self._update_controls()

    # -- showing a socket -------------------------------------------------------------------

    def _switched(self, previous: int | None, sid: int | None) -> None:
        self._shown.clear()  # the next refresh fills every field

    def refresh(self) -> None:
        record = self.udp_record()
        if record is None:
            set_text(self.current, "")
            return
        info = record.info
        set_text(self.current, properties_text(info))
        self._sync("name", self.nameEdit.text(), info.name or "", self.nameEdit.setText)
        self._sync(
            "buffer", self.bufferSize.value(), info.buffer_size or 0, self.bufferSize.setValue
        )
        self._sync(
            "persistent", self.persistent.isChecked(), info.persistent, self.persistent.setChecked
        )

    def _sync(self, key: str, current: Any, new: Any, setter: Callable[[Any], None]) -> None:
        """Show ``new`` unless the user changed the field since it was last filled."""
        shown = self._shown.get(key, _MISSING)
        if (shown is _MISSING or current == shown) and current != new:
            setter(new)
        self._shown[key] = new
