"""The composer's UDP half: where a datagram goes, and sending it (one datagram per Send).

``UdpDestinationRow`` is the row the composer shows while its target is a UDP socket:
``sendToAddress`` (an editable box whose list holds the recent destinations, most recent first)
and ``sendToPort``. Each UDP socket keeps the destination last used on it; the recent list is
the window's, for every UDP socket (a peer is sent to from more than one socket). Only
destinations a datagram reached the network for (result 0) are listed, so a mistyped name is
not offered again.

``start`` sends through ``workbench.session.udp_send.send_datagram`` on the composer's
runner; ``finished`` says how it went.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from workbench.core.errors import NetError
from workbench.session.udp_send import (
    MAX_DATAGRAM,
    DatagramSender,
    Destination,
    RecentDestinations,
    destination_problem,
    send_datagram,
)
from workbench.ui.composer_file import Runner

__all__ = ["DEFAULT_ADDRESS", "UDP_FILE_TIP", "UdpDestinationRow"]

#: The address a UDP socket's first destination starts from (as the Bind panel's default).
DEFAULT_ADDRESS = "127.0.0.1"
#: The Send file… button's tip while the target is a UDP socket.
UDP_FILE_TIP = f"Send the contents of a file as one datagram (at most {MAX_DATAGRAM:,} bytes)"


class UdpDestinationRow(QWidget):
    """The "Send to: address, port" row of a UDP target, and its sends.

    Signals:
        submitted(): Enter was pressed in the address.
        finished(int, object, str): a send ended: the UDP socket's id, its ``DatagramResult``,
            and the file's path when a file was sent ("" otherwise).
    """

    submitted = Signal()
    finished = Signal(int, object, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sendToRow")
        self.label = QLabel("Send &to:", self)
        self.address = QComboBox(self)
        self.address.setObjectName("sendToAddress")
        self.address.setEditable(True)
        # Enter sends; only a datagram that went out adds to the list (``remember``).
        self.address.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.address.setAccessibleName("Destination address")
        self.address.setToolTip(
            "Host name or IP address the datagram goes to; the list has the recent destinations"
        )
        self.address.setMinimumContentsLength(18)
        self.address.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.label.setBuddy(self.address)
        self.port = QSpinBox(self)
        self.port.setObjectName("sendToPort")
        self.port.setRange(0, 65535)
        # 0 is no destination (the OS will not send there): shown as a prompt instead.
        self.port.setSpecialValueText("port")
        self.port.setAccessibleName("Destination port")
        self.port.setToolTip("The port the datagram goes to")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.address, 1)
        row.addWidget(self.port)
        row.addStretch(1)
        #: The window's recent destinations, most recent first.
        self.recent = RecentDestinations()
        self._last: dict[int, Destination] = {}
        self._udp: int | None = None
        #: Sends started without a runner (kept until done: the loop holds tasks weakly).
        self._tasks: set[asyncio.Future[None]] = set()
        #: (socket, sender) whose last send was refused -15, until it is seen bound.
        self._refused_unbound: tuple[int, DatagramSender] | None = None
        self.address.activated.connect(self._recent_chosen)
        edit = self.address.lineEdit()
        if edit is not None:  # an editable box always has one
            edit.returnPressed.connect(self.submitted)
        self.setVisible(False)

    def set_udp(self, udp_id: int | None) -> None:
        """Show the destination of UDP socket ``udp_id`` (hidden for ``None``): the one last
        used on it, else the most recent, else ``DEFAULT_ADDRESS`` and no port."""
        if udp_id == self._udp:
            return
        if self._udp is not None:
            self._last[self._udp] = self.destination()
        self._udp = udp_id
        if udp_id is not None:
            recent = self.recent.entries()
            default = recent[0] if recent else Destination(DEFAULT_ADDRESS, 0)
            self.show_destination(self._last.get(udp_id, default))
        self.setVisible(udp_id is not None)

    def destination(self) -> Destination:
        """The destination as typed now."""
        return Destination(self.address.currentText().strip(), self.port.value())

    def show_destination(self, to: Destination) -> None:
        self.address.setEditText(to.address)
        self.port.setValue(to.port)

    def recent_destinations(self) -> list[Destination]:
        """What the address box's list offers, most recent first."""
        return self.recent.entries()

    def remember(self, udp_id: int, to: Destination) -> None:
        """A datagram went to ``to`` from ``udp_id``: first in the list, and that socket's."""
        self.recent.remember(to)
        self._last[udp_id] = to
        typed = self.address.currentText()
        self.address.blockSignals(True)
        try:
            self.address.clear()
            self.address.addItems([str(d) for d in self.recent.entries()])
            self.address.setCurrentIndex(-1)
            self.address.setEditText(typed)
        finally:
            self.address.blockSignals(False)

    def _recent_chosen(self, index: int) -> None:
        # The list shows "host:port"; choosing one fills both fields.
        entries = self.recent.entries()
        if 0 <= index < len(entries):
            self.show_destination(entries[index])

    def start(
        self, data: bytes, sender: DatagramSender | None, runner: Runner | None, path: str = ""
    ) -> str:
        """Send ``data`` as one datagram from the socket shown to the destination typed;
        ``""`` when the send started, else why it cannot."""
        udp_id, to = self._udp, self.destination()
        if udp_id is None or sender is None:
            return "no UDP socket to send from"
        problem = destination_problem(*to)
        if problem:
            (self.address if not to.address else self.port).setFocus()
            return problem
        coro = self._send(sender, udp_id, data, to, path)
        if runner is not None:  # the window's: it keeps the task and reports its failure
            runner.start(coro, name=f"send datagram (udp {udp_id})")
        else:
            task = asyncio.ensure_future(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return ""

    async def _send(
        self, sender: DatagramSender, udp_id: int, data: bytes, to: Destination, path: str
    ) -> None:
        result = await send_datagram(sender, udp_id, data, to)
        if result.ok:
            self.remember(udp_id, to)
        unbound = result.code == NetError.SOCKET_NOT_CONNECTED
        self._refused_unbound = (udp_id, sender) if unbound else None
        self.finished.emit(udp_id, result, path)

    def unsay_unbound(self, say: Callable[[str], object]) -> None:
        """``say("")`` (once) when the socket shown was refused -15 ("bind it first") by its
        last send and is bound now: the words beside Send no longer describe it."""
        refused = self._refused_unbound
        if refused is None or refused[0] != self._udp:
            return
        record = refused[1].record(refused[0])
        if record is not None and record.bound:
            self._refused_unbound = None
            say("")
