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

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QWidget

from workbench.core.formatting import format_size
from workbench.net.udp import DEFAULT_BUFFER_SIZE
from workbench.sockets import UdpSocketInfo, UdpSocketProperties
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.properties_form import MAX_NAME_LENGTH, FieldWords, PropertiesFields
from workbench.ui.panels.udp_base import UdpControl, UdpPanel
from workbench.ui.panels.widgets import compact_form, describe, set_text

__all__ = ["MAX_UDP_BUFFER_SIZE", "UdpPropertiesPanel", "properties_text"]

#: The largest buffer size worth asking for: no UDP datagram is longer (IPv4 carries at most
#: 65,507 bytes of data, an IPv6 jumbogram is not read whole by the core either).
MAX_UDP_BUFFER_SIZE = 65535

_WORDS = FieldWords(
    prefix="udp",
    max_buffer_size=MAX_UDP_BUFFER_SIZE,
    buffer_step=512,
    buffer_default=f"default ({format_size(DEFAULT_BUFFER_SIZE)})",
    buffer_tip="The longest datagram delivered whole: longer ones are truncated to it "
    f"(0 = the default, {format_size(DEFAULT_BUFFER_SIZE)})",
    persistent_text="&Persistent (bound again at the next start)",
    persistent_tip="A persistent UDP socket is saved when the window closes and bound again, "
    "to the same address and port, when the workbench starts",
)


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

    MAX_NAME_LENGTH = MAX_NAME_LENGTH

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("udpPropertiesPanel")
        form = compact_form(QFormLayout(self))
        self.fields = PropertiesFields(form, _WORDS)
        self.nameEdit, self.nameError = self.fields.name, self.fields.name_error
        self.bufferSize, self.persistent = self.fields.buffer_size, self.fields.persistent
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

    # -- the form ---------------------------------------------------------------------------

    def _validate(self) -> bool:
        valid = self.fields.check_name()
        self._update_controls()
        return valid

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
        self.fields.forget_shown()  # the next refresh fills every field

    def refresh(self) -> None:
        record = self.udp_record()
        if record is None:
            set_text(self.current, "")
            return
        info = record.info
        set_text(self.current, properties_text(info))
        self.fields.fill(info.name, info.buffer_size, info.persistent)
