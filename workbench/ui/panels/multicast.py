"""The Multicast tab of a UDP row: join and leave groups, the joined list, TTL, loopback, and
broadcast (contract D9, D10).

- Join / Leave → ``joinGroup`` / ``leaveGroup`` on a bound socket; after each that works the
  list is read again with ``getJoinedGroups`` ('Gets the multicast group addresses the socket
  is currently joined to'). Joining a group twice, or leaving one not joined, is -108 (as
  Chromium), shown with the reason beside the button.
- TTL → ``setMulticastTimeToLive``; loopback → ``setMulticastLoopbackMode``: both work before
  bind, and a value set then applies at bind (D9; Chrome answers -23 after bind, the core is
  kinder).
- Broadcast → ``setBroadcast`` ('Enables or disables broadcast packets on this socket'), on a
  bound socket (-15 before, D10). Without it, a send to a broadcast address is refused by the
  OS (-138 ``NETWORK_ACCESS_DENIED``).

The group field takes a multicast IP literal only (224.0.0.0/4, ff00::/8): the core refuses a
name or a unicast address with -108, so the form says so first.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Awaitable, Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.errors import NetError, SocketNotFoundError
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.udp_base import UdpControl, UdpPanel, udp_disabled_reason
from workbench.ui.panels.widgets import (
    FieldError,
    column,
    compact_form,
    describe,
    form_row,
    line,
    set_text,
)

__all__ = ["DEFAULT_TTL", "MulticastPanel", "group_error"]

#: The OS's default multicast TTL (1: the local network only), shown until the user sets one.
DEFAULT_TTL = 1

_BROADCAST_TIP = "Allow sending to broadcast addresses (without it the OS refuses them: -138)"
_GROUP_RANGES = "IPv4 groups are 224.0.0.0-239.255.255.255, IPv6 ff00::/8"
_NOT_BOUND_NOTE = (
    "Not bound: join, leave and broadcast need a bound socket (the Bind tab); TTL and "
    "loopback set now apply at bind."
)


def group_error(text: str) -> str | None:
    """A multicast group: an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast literal."""
    group = text.strip()
    if not group:
        return "Enter a multicast group, e.g. 239.255.0.1 or ff15::1."
    try:
        address = ipaddress.ip_address(group)
    except ValueError:
        return (
            "A group is a multicast IP address (224.0.0.0-239.255.255.255, ff00::/8), not a name."
        )
    if not address.is_multicast:
        return f"Not a multicast address: {_GROUP_RANGES}."
    return None


class MulticastPanel(UdpPanel):
    """Join / Leave a group, the joined groups, TTL (Set), loopback and broadcast check
    boxes, each with its result beside it."""

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("multicastPanel")
        #: per socket: the list the last getJoinedGroups gave
        self._groups: dict[int, list[str]] = {}
        # The room a tall tab leaves goes below the rows (the stretch), not between them: a
        # form alone spread its rows apart, a check box every 40 pixels at 1400x900.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        form = compact_form(QFormLayout())
        outer.addLayout(form)
        outer.addStretch(1)
        self._build_groups(form)
        self._build_options(form)
        self.note = QLabel(_NOT_BOUND_NOTE)
        self.note.setObjectName("multicastNote")
        self.note.setWordWrap(True)
        self.note.setEnabled(False)  # the palette's quieter text: a note, not a control
        form.addRow("", self.note)
        self.group.textChanged.connect(self._validate)
        self.group.returnPressed.connect(self._join)
        self.joinButton.clicked.connect(self._join)
        self.leaveButton.clicked.connect(self._leave)
        self.joinedGroups.itemClicked.connect(self._group_picked)
        self.setTtlButton.clicked.connect(self._set_ttl)
        self.loopback.clicked.connect(self._loopback_clicked)
        self.broadcast.clicked.connect(self._broadcast_clicked)
        self._validate()

    def _build_groups(self, form: QFormLayout) -> None:
        self.group = QLineEdit()
        self.group.setObjectName("multicastGroup")
        self.group.setPlaceholderText("239.255.0.1")
        self.group.setClearButtonEnabled(True)
        describe(self.group, "Multicast group", "A multicast IP address (224.0.0.0/4, ff00::/8)")
        self.groupError = FieldError(self.group, "group")
        form_row(form, "&Group:", column(self.group, self.groupError), self.group)
        self.joinButton = QPushButton("&Join")
        self.joinButton.setObjectName("joinGroupButton")
        describe(self.joinButton, "Join group", "Join the group on the bound address's interface")
        self.joinResult = self._result_label("join", "join", "joinGroupResult")
        form.addRow(self.joinButton, self.joinResult)
        self.leaveButton = QPushButton("L&eave")
        self.leaveButton.setObjectName("leaveGroupButton")
        describe(self.leaveButton, "Leave group", "Leave a group this socket joined")
        self.leaveResult = self._result_label("leave", "leave", "leaveGroupResult")
        form.addRow(self.leaveButton, self.leaveResult)
        self.joinedGroups = QListWidget()
        self.joinedGroups.setObjectName("joinedGroups")
        self.joinedGroups.setMaximumHeight(96)
        describe(
            self.joinedGroups,
            "Joined groups",
            "The groups the socket is joined to (getJoinedGroups); click one to leave it",
        )
        form_row(form, "Joined:", self.joinedGroups, self.joinedGroups)

    def _build_options(self, form: QFormLayout) -> None:
        self.ttl = QSpinBox()
        self.ttl.setObjectName("multicastTtl")
        self.ttl.setRange(0, 255)
        self.ttl.setValue(DEFAULT_TTL)
        describe(
            self.ttl, "Multicast TTL", "How many routers a multicast datagram may cross (0-255)"
        )
        self.setTtlButton = QPushButton("&Set")
        self.setTtlButton.setObjectName("setTtlButton")
        describe(self.setTtlButton, "Set TTL", "Set the time-to-live of multicast datagrams")
        self.ttlResult = self._result_label("ttl", "TTL", "ttlResult")
        form_row(
            form, "&TTL:", line(self.ttl, self.setTtlButton, self.ttlResult, stretch=2), self.ttl
        )
        self.loopback = QCheckBox("&Loopback (this host receives its own multicast)")
        self.loopback.setObjectName("multicastLoopback")
        self.loopback.setChecked(True)  # the OS's default, and Chromium's
        describe(
            self.loopback,
            "Multicast loopback",
            "Whether multicast datagrams sent from this host are looped back to it",
        )
        self.loopbackResult = self._result_label("loopback", "loopback", "loopbackResult")
        form.addRow("", line(self.loopback, self.loopbackResult, stretch=1))
        self.broadcast = QCheckBox("&Broadcast")
        self.broadcast.setObjectName("broadcastCheck")
        describe(self.broadcast, "Broadcast", _BROADCAST_TIP)
        self.broadcastResult = self._result_label("broadcast", "broadcast", "broadcastResult")
        form.addRow("", line(self.broadcast, self.broadcastResult, stretch=1))

    # -- showing a socket -------------------------------------------------------------------

    def joined_groups(self) -> list[str]:
        """The groups shown: the last ``getJoinedGroups`` of the panel, else the session's
        record of the groups joined (kept from the core's list after every join and leave)."""
        record = self.udp_record()
        if record is None or self._sid is None:
            return []
        shown = self._groups.get(self._sid)
        return list(shown if shown is not None else record.intent.groups)

    def _switched(self, previous: int | None, sid: int | None) -> None:
        record = self.udp_record()
        if record is None:
            return
        self.ttl.setValue(record.intent.ttl if record.intent.ttl is not None else DEFAULT_TTL)
        self._show_checks(force=True)

    def _show_checks(self, *, force: bool = False) -> None:
        """The check boxes as the last call that worked left them (the OS's defaults before
        any), unless a call of theirs is still running."""
        record = self.udp_record()
        if record is None:
            return
        intent = record.intent
        for box, key, value in (
            (self.loopback, "loopback", intent.loopback is not False),
            (self.broadcast, "broadcast", bool(intent.broadcast)),
        ):
            if (force or not self._pending(self._sid, key)) and box.isChecked() != value:
                box.setChecked(value)  # not clicked: no call

    def refresh(self) -> None:
        groups = self.joined_groups()
        shown = [self.joinedGroups.item(i).text() for i in range(self.joinedGroups.count())]
        if shown != groups:
            self.joinedGroups.clear()
            for group in groups:
                self.joinedGroups.addItem(QListWidgetItem(group))
        self._show_checks()
        record = self.udp_record()
        self.note.setVisible(record is not None and not record.bound)
        set_text(self.note, _NOT_BOUND_NOTE)

    def _validate(self) -> bool:
        error = group_error(self.group.text())
        self.groupError.set_error(error)
        self._update_controls()
        return error is None

    def _update_controls(self) -> None:
        allowed = self._udp_allowed()
        record = self.udp_record()
        valid = self.groupError.error is None
        for button, control in (
            (self.joinButton, UdpControl.JOIN),
            (self.leaveButton, UdpControl.LEAVE),
        ):
            button.setEnabled(
                valid and control in allowed and not self._pending(self._sid, control)
            )
        self.setTtlButton.setEnabled(
            UdpControl.TTL in allowed and not self._pending(self._sid, "ttl")
        )
        self.loopback.setEnabled(
            UdpControl.LOOPBACK in allowed and not self._pending(self._sid, "loopback")
        )
        self.broadcast.setEnabled(
            UdpControl.BROADCAST in allowed and not self._pending(self._sid, "broadcast")
        )
        reason = udp_disabled_reason(record, UdpControl.BROADCAST) if record else None
        self.broadcast.setToolTip(reason or _BROADCAST_TIP)

    def _forget(self, sid: int) -> None:
        self._groups.pop(sid, None)

    # -- calls ------------------------------------------------------------------------------

    def _membership(self, key: str, call: Callable[[int, str], Awaitable[int]]) -> None:
        if self._sid is None or not self._validate():
            return
        if UdpControl(key) not in self._udp_allowed() or self._pending(self._sid, key):
            return
        group = self.group.text().strip()
        udp, groups = self.udp, self._groups

        async def run(sid: int) -> int:
            code = await call(sid, group)
            if code == NetError.OK:
                # The list as the core keeps it (normalized, in the order joined).
                with contextlib.suppress(SocketNotFoundError):
                    groups[sid] = await udp.get_joined_groups(sid)
            return code

        self._start(key, f"{key} group", run)
        self._update_controls()

    def _join(self) -> None:
        self._membership("join", self.udp.join_group)

    def _leave(self) -> None:
        self._membership("leave", self.udp.leave_group)

    def _group_picked(self, item: QListWidgetItem) -> None:
        self.group.setText(item.text())

    def _set_ttl(self) -> None:
        if self._sid is None or self._pending(self._sid, "ttl"):
            return
        ttl, udp = self.ttl.value(), self.udp
        self._start("ttl", "set TTL", lambda sid: udp.set_multicast_time_to_live(sid, ttl))
        self._update_controls()

    def _loopback_clicked(self, on: bool) -> None:
        if self._sid is None:
            return
        udp = self.udp
        self._start(
            "loopback", "set loopback", lambda sid: udp.set_multicast_loopback_mode(sid, on)
        )
        self._update_controls()

    def _broadcast_clicked(self, on: bool) -> None:
        if self._sid is None or UdpControl.BROADCAST not in self._udp_allowed():
            self._show_checks(force=True)
            return
        udp = self.udp
        self._start("broadcast", "set broadcast", lambda sid: udp.set_broadcast(sid, on))
        self._update_controls()

    def _call_ended(self, key: str) -> None:
        if key in ("loopback", "broadcast"):
            # A refused change leaves the box as the socket is.
            self._show_checks(force=True)
        elif key in ("join", "leave"):
            # A join and a leave that work undo each other's answer (the session forgets it).
            self._show_result("leave" if key == "join" else "join")
        self.refresh()
