"""Which calls make sense on a socket now: the one rule every view enables its controls by.

A control that ``enabled_controls`` leaves out would only get a refusal from the core (-23
``SOCKET_IS_CONNECTED`` for a second connect, -4 for a second secure, -2 for an option on a
socket that is not connected, contract U4, T1, K1), so the panels and the window's toolbar
disable it instead. The core still refuses them itself; this only keeps the window honest.

A listening socket (``ServerRecord``) has controls of its own: listen while it is not
listening, stop listening (``DISCONNECT``, contract L8), pause and resume accepting (L7),
close (L9). It never connects, secures or sends: its connections do (``disabled_reason`` says
so where a view shows why).

A UDP socket (``UdpRecord``, ``chrome.sockets.udp``) binds while it is not bound, and once
bound sends datagrams and joins multicast groups (D4, D9, D10: -15 before that); it pauses and
resumes at any time (a socket paused before its bind binds paused, D2), is updated and closed.
It never connects, secures, disconnects or sets TCP options.
"""

from __future__ import annotations

import enum

from workbench.session.record import RowState, ServerRecord, SocketRecord, UdpRecord, row_state

__all__ = [
    "AnyRecord",
    "Control",
    "disabled_reason",
    "enabled_controls",
    "send_refusal",
    "user_paused",
]

#: A record of any kind of row: a TCP socket's, a listening socket's or a UDP socket's.
AnyRecord = SocketRecord | ServerRecord | UdpRecord


class Control(enum.StrEnum):
    """A call a view offers on one socket (the values are the session's control names where
    a result is kept under one: ``"connect"``, ``"secure"``, ``"update"``, …)."""

    CONNECT = "connect"
    DISCONNECT = "disconnect"
    SECURE = "secure"
    PAUSE = "pause"
    RESUME = "resume"
    SEND = "send"
    #: ``setKeepAlive`` and ``setNoDelay``.
    SET_OPTIONS = "set_options"
    #: ``update`` (name, buffer size, persistent).
    UPDATE = "update"
    CLOSE = "close"
    #: ``chrome.sockets.tcpServer.listen`` (a listening socket's only).
    LISTEN = "listen"
    #: ``chrome.sockets.udp.bind`` (a UDP socket's only).
    BIND = "bind"
    #: ``joinGroup``, ``leaveGroup``, ``setBroadcast`` (a bound UDP socket's: -15 before,
    #: D9, D10); TTL and loopback are set at any time and are not this control.
    MULTICAST = "multicast"


_ANY = frozenset({Control.UPDATE, Control.CLOSE})
_IDLE = _ANY | {Control.CONNECT}
_CONNECTED = _ANY | {Control.DISCONNECT, Control.SEND, Control.SET_OPTIONS}

_BY_STATE: dict[RowState, frozenset[Control]] = {
    RowState.CREATED: _IDLE,
    RowState.DISCONNECTED: _IDLE,
    RowState.FAILED: _IDLE,
    # U5: disconnect() or close() while a connect is pending aborts it (-3).
    RowState.CONNECTING: _ANY | {Control.DISCONNECT},
    # T1: secure() only on a connected, plain socket.
    RowState.CONNECTED: _CONNECTED | {Control.SECURE},
    RowState.PAUSED: _CONNECTED,
    # S5: "send() while secure() runs | waits for the handshake, then goes over TLS": the core
    # accepts it, but a send that sits until the handshake ends (up to its 30 s time-out) is
    # not something to offer: Send waits for TLS. K1: options work on TLS sockets too.
    RowState.SECURING: _CONNECTED - {Control.SEND},
    RowState.SECURE: _CONNECTED,
}


#: Why a listening socket does not offer a TCP socket's calls (the controls it never has).
_SERVER_REASONS = {
    Control.CONNECT: "A server does not connect: it listens, and its accepted connections "
    "are sockets of their own",
    Control.SECURE: "TLS runs on a connection: select one of the server's accepted sockets",
    Control.SEND: "A server has no data of its own: select one of its connections to send",
    Control.SET_OPTIONS: "Keep-alive and no-delay are options of a connection, not of a server",
}


#: Why a UDP socket does not offer a TCP socket's calls.
_UDP_REASONS = {
    Control.CONNECT: "A UDP socket does not connect: bind it (the Bind tab), then send "
    "datagrams to any address",
    Control.SECURE: "TLS runs over TCP: a UDP socket has no TLS",
    Control.DISCONNECT: "A UDP socket has no connection: Close frees its port",
    Control.SET_OPTIONS: "Keep-alive and no-delay are TCP options",
    Control.LISTEN: "A UDP socket does not listen: once bound, datagrams arrive on it",
}


def user_paused(record: AnyRecord) -> bool:
    """Whether the socket is paused the way a user sees it: paused while connected, or paused
    by someone's ``set_paused(True)`` before it connects again.

    A socket whose stream ended is paused by the core too (contract R3, D1), but resuming it
    would start nothing until the next ``connect()``, which resumes it anyway unless a user
    paused it (U6): that pause is not offered as one to resume. A server is paused when it
    does not accept (L7, L10), a UDP socket when it does not read (D7, D8)."""
    if isinstance(record, ServerRecord | UdpRecord):
        return record.info.paused
    if not record.info.paused:
        return False
    return record.state.connected or record.intent.paused


def _server_controls(record: ServerRecord) -> frozenset[Control]:
    controls = {Control.UPDATE, Control.CLOSE}
    if record.listening:
        # L4: a second listen() is refused; L7: pausing only means something while listening.
        controls |= {Control.DISCONNECT, Control.RESUME if record.info.paused else Control.PAUSE}
    else:
        controls.add(Control.LISTEN)
    return frozenset(controls)


def _udp_controls(record: UdpRecord) -> frozenset[Control]:
    # Send is offered bound or not: before bind the core's -15 shows beside Send with why.
    controls = {Control.UPDATE, Control.CLOSE, Control.SEND}
    controls.add(Control.RESUME if record.info.paused else Control.PAUSE)
    if record.bound:
        # D3: a second bind() is refused; D9, D10: join and broadcast need a bind.
        controls.add(Control.MULTICAST)
    else:
        controls.add(Control.BIND)
    return frozenset(controls)


def disabled_reason(record: AnyRecord | None, control: Control) -> str | None:
    """Why ``control`` is not offered on ``record`` when that is the kind of socket, not its
    state (a server never connects, a UDP socket never secures): a view shows it as the
    disabled control's tooltip."""
    if isinstance(record, ServerRecord):
        return _SERVER_REASONS.get(control)
    if isinstance(record, UdpRecord):
        return _UDP_REASONS.get(control)
    return None


def enabled_controls(record: AnyRecord | None) -> frozenset[Control]:
    """The controls that make sense on ``record`` now (none without a socket).

    Decided from ``row_state(record)``, plus two facts the row state does not carry: whether
    the connected socket is plain (only then ``SECURE``, also while paused: contract T2), and
    whether it is paused for the user (``RESUME`` instead of ``PAUSE``, see ``user_paused``).
    """
    if record is None:
        return frozenset()
    if isinstance(record, ServerRecord):
        return _server_controls(record)
    if isinstance(record, UdpRecord):
        return _udp_controls(record)
    state = row_state(record)
    controls = set(_BY_STATE[state])
    if state is RowState.PAUSED and record.info.tls is None:
        controls.add(Control.SECURE)
    controls.add(Control.RESUME if user_paused(record) else Control.PAUSE)
    return frozenset(controls)


_NOT_CONNECTED = "the socket is not connected (the Connect tab connects it)."
#: Completes "Cannot send now: …".
_SEND_REFUSALS = {
    RowState.CREATED: _NOT_CONNECTED,
    RowState.DISCONNECTED: _NOT_CONNECTED,
    RowState.FAILED: _NOT_CONNECTED,
    RowState.CONNECTING: "the socket is still connecting.",
    RowState.SECURING: "the TLS handshake is still running; Send waits until it is done.",
}


def send_refusal(record: AnyRecord | None) -> str | None:
    """Why ``SEND`` is not offered on ``record`` now (None when it is): the Send button's
    tip and the composer's message, completing "Cannot send now: …"."""
    if record is None:
        return "no socket is selected."
    if isinstance(record, ServerRecord):
        return "a server has no data of its own; select one of its connections."
    if isinstance(record, UdpRecord):
        # Offered bound or not: before bind the core's answer, -15 (D4: 'The socket must be
        # bound to a local port before calling this method'), shows beside Send with why.
        return None
    if Control.SEND in enabled_controls(record):
        return None
    return _SEND_REFUSALS.get(row_state(record), "the socket cannot send.")
