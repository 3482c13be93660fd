"""What the UDP panels share (Bind, Multicast, UDP properties): a ``chrome.sockets.udp`` socket
shown by its id (UDP ids are their own sequence, contract D1), its calls through
``session.core.udp`` (the ``LoggedUdp``: logged, and remembered on the socket's ``UdpRecord``),
the result beside each control with its reason, and which controls make sense now.

Which calls a UDP socket offers is decided here, in ``udp_controls``, the way
``workbench.session.controls.enabled_controls`` decides it for TCP sockets and servers: bind
while not bound (a socket binds once: a second bind is -104, D3); join, leave and broadcast
once bound (-15 before, D9 and D10); TTL, loopback and ``update`` always (D9: "TTL and
loopback setters return 0 whether bound or not").

Refreshing: the panels follow the core's own ``UdpSockets.on_changed`` (bound, paused,
properties, closed; the session's registry hears it first, so the record is current), coalesced
to one refresh per ``TICK_MS``. Once the window's ``SocketSession`` has UDP signals,
``follow(session.udpChanged, session.udpRemoved)`` switches a panel to them.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QWidget

from workbench.core.errors import NetError
from workbench.session import LoggedUdp, SocketKey, SocketKind, UdpRecord
from workbench.session.controls import Control
from workbench.session.record import SocketRecord
from workbench.sockets import ChangeReason, SocketInfo, UdpChange
from workbench.ui.bridge import TICK_MS, SocketSession, TaskRunner
from workbench.ui.panels.base import Panel
from workbench.ui.throttle import Throttle

__all__ = ["UdpControl", "UdpPanel", "udp_controls", "udp_disabled_reason"]


class UdpControl(enum.StrEnum):
    """A call a UDP panel offers (the values are the ``UdpRecord.results`` keys)."""

    BIND = "bind"
    JOIN = "join"
    LEAVE = "leave"
    TTL = "ttl"
    LOOPBACK = "loopback"
    BROADCAST = "broadcast"
    UPDATE = "update"


_ALWAYS = frozenset({UdpControl.TTL, UdpControl.LOOPBACK, UdpControl.UPDATE})
_BOUND = _ALWAYS | {UdpControl.JOIN, UdpControl.LEAVE, UdpControl.BROADCAST}


def udp_controls(record: UdpRecord | None) -> frozenset[UdpControl]:
    """The calls that make sense on ``record`` now (none without a socket)."""
    if record is None:
        return frozenset()
    return _BOUND if record.bound else _ALWAYS | {UdpControl.BIND}


def udp_disabled_reason(record: UdpRecord | None, control: UdpControl) -> str | None:
    """Why ``control`` is not offered on ``record`` now (None when it is): the disabled
    control's tooltip and the panel's note."""
    if record is None:
        return "No UDP socket is selected."
    if control in udp_controls(record):
        return None
    if control is UdpControl.BIND:
        return (
            f"A socket binds once: this one is bound to {record.endpoint}. "
            "Close it and create another to bind elsewhere."
        )
    # Chrome: "The socket must be bound to a local port before calling this method."
    return "The socket must be bound to a local port first (the Bind tab)."


#: What a result code means for one control, where the code's general words are a TCP
#: socket's (-104 is "the connection attempt failed") or say less than the user needs.
_HINTS: dict[tuple[str, int], str] = {
    ("bind", NetError.CONNECTION_FAILED): "a socket binds once",
    ("bind", NetError.ADDRESS_IN_USE): "another socket is bound to that address and port",
    ("bind", NetError.ADDRESS_INVALID): "this machine has no such address",
    ("bind", NetError.NETWORK_ACCESS_DENIED): "ports below 1024 need administrator rights",
    ("join", NetError.SOCKET_NOT_CONNECTED): "bind the socket first",
    ("leave", NetError.SOCKET_NOT_CONNECTED): "bind the socket first",
    ("broadcast", NetError.SOCKET_NOT_CONNECTED): "bind the socket first",
}


class UdpPanel(Panel):
    """A ``Panel`` on a UDP socket: ``set_socket(udp_id | None)``; results on its
    ``UdpRecord``; refreshed by the core's ``on_changed`` until ``follow`` gives it the
    session's signals."""

    NOUN = "UDP socket"

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        self._changed_ids: set[int] = set()
        self._listener: Callable[[UdpChange], None] | None = None
        super().__init__(session, runner, parent)
        self._throttle = Throttle(self._flush_changes, TICK_MS, self)

    @property
    def udp(self) -> LoggedUdp:
        """``chrome.sockets.udp``, logged: the session's ``LoggedUdp``."""
        return self._session.core.udp

    # -- following changes --------------------------------------------------------------------

    def _watch(self, session: SocketSession) -> None:
        # The core outlives the panel: its listener must not keep the panel alive, nor call
        # into a deleted one.
        method = weakref.WeakMethod(self._core_changed)

        def listener(change: UdpChange) -> None:
            core_changed = method()
            if core_changed is not None:
                core_changed(change)

        event = session.core.udp.raw.on_changed
        event.add_listener(listener)
        self._listener = listener
        self.destroyed.connect(lambda *_args: event.remove_listener(listener))

    def follow(self, changed: SignalInstance, removed: SignalInstance) -> None:
        """Refresh from the session's UDP signals instead of the core's events:
        ``changed(frozenset[int])`` (the UDP ids whose records changed, coalesced) and
        ``removed(int)`` (a UDP socket was closed)."""
        if self._listener is not None:
            self._session.core.udp.raw.on_changed.remove_listener(self._listener)
            self._listener = None
        changed.connect(self.udp_changed)
        removed.connect(self.udp_removed)

    def udp_changed(self, ids: frozenset[int]) -> None:
        """Slot: the records of UDP sockets ``ids`` changed."""
        self._on_socket_changed(ids)

    def udp_removed(self, sid: int) -> None:
        """Slot: UDP socket ``sid`` was closed."""
        self._on_socket_removed(sid)

    def _core_changed(self, change: UdpChange) -> None:
        if not shiboken6.isValid(self):  # Qt deleted the widget; Python still holds it
            return
        if change.reason is ChangeReason.CLOSED:
            self._changed_ids.discard(change.socket_id)
            self._on_socket_removed(change.socket_id)
        elif change.socket_id == self._sid:
            self._changed_ids.add(change.socket_id)
            self._throttle()

    def _flush_changes(self) -> None:
        ids, self._changed_ids = frozenset(self._changed_ids), set()
        if ids:
            self._on_socket_changed(ids)

    # -- the Panel's hooks, for a UDP socket ------------------------------------------------

    def udp_record(self) -> UdpRecord | None:
        """The record of the UDP socket shown, if any."""
        return None if self._sid is None else self._session.registry.udp_record(self._sid)

    def key(self) -> SocketKey | None:
        return None if self._sid is None else SocketKey(SocketKind.UDP, self._sid)

    def _stored_result(self, sid: int, key: str) -> int | None:
        record = self._session.registry.udp_record(sid)
        return record.results.get(key) if record is not None else None

    def _store_result(self, sid: int, key: str, code: int) -> None:
        record = self._session.registry.udp_record(sid)
        if record is not None:  # LoggedUdp keeps it too: the same code
            record.results[key] = code

    def _exists(self, sid: int) -> bool:
        return self._session.registry.udp_record(sid) is not None

    def _failure_detail(self, sid: int, key: str) -> str | None:
        record = self._session.registry.udp_record(sid)
        code = self._stored_result(sid, key)
        if record is None or code is None or code == NetError.OK:
            return None
        parts = [_HINTS.get((key, code)), record.reasons.get(key)]
        return "; ".join(part for part in parts if part) or None

    def _show_result(self, key: str) -> None:
        # The base shows a reason only for the panel's own calls; a UDP record keeps the
        # reason of every call (a script's, a restore's), so a stored result has its words.
        label = self._labels[key]
        sid = self._sid
        local = self._local.get(sid, {}).get(key) if sid is not None else None
        code = self._stored_result(sid, key) if sid is not None else None
        if sid is None or local is not None or code is None:
            super()._show_result(key)
        else:
            label.show_code(code, self._failure_detail(sid, key))

    def _udp_allowed(self) -> frozenset[UdpControl]:
        return udp_controls(self.udp_record())

    # A UDP id is not a TCP socket's: the base's TCP reads must never see one.
    def _info(self) -> SocketInfo | None:
        return None

    def _record(self) -> SocketRecord | None:
        return None

    def _allowed(self) -> frozenset[Control]:
        return frozenset()

    def _call_ended(self, key: str) -> None:
        self.refresh()
