"""The socket's life in one table.

A socket is in exactly one ``State``; ``paused`` and ``persistent`` are flags beside it. Every
call that depends on the state asks ``verdict(state, op)`` and gets either ``GO`` (carry on),
``WAIT`` (a send during the TLS handshake waits for it) or the result code to return at once.
Closed sockets are not in the table: they are gone from the registry, so every call raises
``SocketNotFoundError`` (contract C3).
"""

from __future__ import annotations

import enum
from typing import Final

from workbench.core.errors import NetError

__all__ = ["GO", "WAIT", "Op", "State", "Verdict", "verdict"]


class State(enum.Enum):
    CREATED = "created"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    SECURING = "securing"
    SECURE = "secure"
    DISCONNECTED = "disconnected"

    @property
    def connected(self) -> bool:
        """What ``SocketInfo.connected`` reports."""
        return self in (State.CONNECTED, State.SECURING, State.SECURE)


class Op(enum.Enum):
    CONNECT = "connect"
    SECURE = "secure"
    SEND = "send"
    SET_OPTION = "set_option"  # set_keep_alive, set_no_delay


class _Go(enum.Enum):
    GO = "go"
    WAIT = "wait"


GO: Final = _Go.GO
WAIT: Final = _Go.WAIT
Verdict = _Go | NetError

_S = State
_TABLE: Final[dict[Op, dict[State, Verdict]]] = {
    # U4: -23 when connected, -104 while a connect is pending; U7: -23 while secure() runs.
    Op.CONNECT: {
        _S.CREATED: GO,
        _S.DISCONNECTED: GO,
        _S.CONNECTING: NetError.CONNECTION_FAILED,
        _S.CONNECTED: NetError.SOCKET_IS_CONNECTED,
        _S.SECURING: NetError.SOCKET_IS_CONNECTED,
        _S.SECURE: NetError.SOCKET_IS_CONNECTED,
    },
    # T1: -4 unless connected and plain; U7: -4 while a connect is pending.
    Op.SECURE: {
        _S.CREATED: NetError.INVALID_ARGUMENT,
        _S.DISCONNECTED: NetError.INVALID_ARGUMENT,
        _S.CONNECTING: NetError.INVALID_ARGUMENT,
        _S.CONNECTED: GO,
        _S.SECURING: NetError.INVALID_ARGUMENT,
        _S.SECURE: NetError.INVALID_ARGUMENT,
    },
    # S1: -15 when not connected; S5: a send during the handshake waits for it.
    Op.SEND: {
        _S.CREATED: NetError.SOCKET_NOT_CONNECTED,
        _S.DISCONNECTED: NetError.SOCKET_NOT_CONNECTED,
        _S.CONNECTING: NetError.SOCKET_NOT_CONNECTED,
        _S.CONNECTED: GO,
        _S.SECURING: WAIT,
        _S.SECURE: GO,
    },
    # K1: -2 on a socket that is not connected; TLS sockets are fine (Chrome says -2 there).
    Op.SET_OPTION: {
        _S.CREATED: NetError.FAILED,
        _S.DISCONNECTED: NetError.FAILED,
        _S.CONNECTING: NetError.FAILED,
        _S.CONNECTED: GO,
        _S.SECURING: GO,
        _S.SECURE: GO,
    },
}


def verdict(state: State, op: Op) -> Verdict:
    return _TABLE[op][state]
