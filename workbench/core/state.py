"""The socket's life in one module: its states, what moves it between them, and what each call
may do in each of them.

h11's ``_state.py`` is the model: everything that affects the state lives here, and nothing
else decides it.

- A socket is in exactly one ``State``; ``paused`` and ``persistent`` are flags beside it.
- ``transition(state, event)`` is the only way to a new state. The table below lists every
  legal ``(State, StateEvent)`` pair; any other pair is a bug in the caller, not a network
  outcome, and raises ``StateTransitionError`` (h11's ``LocalProtocolError``).
- ``verdict(state, op)`` says what a call does in a state: ``GO`` (carry on), ``WAIT`` (a send
  during the TLS handshake waits for it) or ``Refuse(code)`` (return that result code at once).

Closed sockets are not in either table: they are gone from the registry, so every call raises
``SocketNotFoundError`` (contract C3).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Final

from workbench.core.errors import NetError

__all__ = [
    "GO",
    "WAIT",
    "Go",
    "Op",
    "Refuse",
    "State",
    "StateEvent",
    "StateTransitionError",
    "Verdict",
    "Wait",
    "legal_transitions",
    "transition",
    "verdict",
]


class State(enum.Enum):
    """Where a socket is in its life (``created → connecting → connected → securing → secure →
    disconnected``, and back to ``connecting`` from ``disconnected``). A socket accepted by a
    listening socket goes from ``created`` straight to ``connected``."""

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


class StateEvent(enum.Enum):
    """What happens to a socket; ``transition`` says where it leads."""

    CONNECT_STARTED = "connect_started"  # connect() passed its checks
    CONNECT_SUCCEEDED = "connect_succeeded"  # TCP handshake done, socket set up
    CONNECT_FAILED = "connect_failed"  # no address resolved, or none could be reached
    ACCEPTED = "accepted"  # a listening socket accepted it: connected from the start
    SECURE_STARTED = "secure_started"  # secure() passed its checks
    SECURE_SUCCEEDED = "secure_succeeded"  # TLS handshake done
    SECURE_SETUP_FAILED = "secure_setup_failed"  # the options made no TLS context; nothing sent
    SECURE_FAILED = "secure_failed"  # the TLS handshake failed (T5)
    STREAM_ENDED = "stream_ended"  # the end of the stream was delivered (R3)
    DROPPED = "dropped"  # disconnect(), close(), or a connect() caller was cancelled
    INTERNAL_ERROR = "internal_error"  # a bug inside connect() or secure()


class StateTransitionError(RuntimeError):
    """A transition the table does not have: a bug in the core, never a network outcome."""

    def __init__(self, state: State, event: StateEvent) -> None:
        super().__init__(f"no transition from {state.value!r} on {event.value!r}")
        self.state = state
        self.event = event


_S = State
_E = StateEvent

_TRANSITIONS: Final[Mapping[tuple[State, StateEvent], State]] = {
    # 'Connects the socket to a remote machine.' From a new socket or after a disconnect (U6).
    (_S.CREATED, _E.CONNECT_STARTED): _S.CONNECTING,
    (_S.DISCONNECTED, _E.CONNECT_STARTED): _S.CONNECTING,
    (_S.CONNECTING, _E.CONNECT_SUCCEEDED): _S.CONNECTED,
    (_S.CONNECTING, _E.CONNECT_FAILED): _S.DISCONNECTED,
    # 'The client socket identifier, i.e. the socket identifier of the newly established
    # connection.' (sockets_tcp_server.idl, AcceptInfo): an accepted connection is a new socket
    # that is connected from the start, and connects no more.
    (_S.CREATED, _E.ACCEPTED): _S.CONNECTED,
    # 'Start a TLS client connection over the connected TCP client socket.' (T2)
    (_S.CONNECTED, _E.SECURE_STARTED): _S.SECURING,
    (_S.SECURING, _E.SECURE_SUCCEEDED): _S.SECURE,
    # Nothing went over the wire: still a connected plain socket.
    (_S.SECURING, _E.SECURE_SETUP_FAILED): _S.CONNECTED,
    # T5: 'The socket stays, disconnected, until close()'.
    (_S.SECURING, _E.SECURE_FAILED): _S.DISCONNECTED,
    # R3: 'after any on_receive_error: connected=False'. Plaintext that was read while secure()
    # was setting up can carry the end of the stream too (T2).
    (_S.CONNECTED, _E.STREAM_ENDED): _S.DISCONNECTED,
    (_S.SECURING, _E.STREAM_ENDED): _S.DISCONNECTED,
    (_S.SECURE, _E.STREAM_ENDED): _S.DISCONNECTED,
    # The stream ended (and was reported) while secure() was setting up: the handshake's
    # failure arrives on a socket that is already disconnected, and it stays so.
    (_S.DISCONNECTED, _E.SECURE_FAILED): _S.DISCONNECTED,
    # 'Disconnects the socket.' A socket that never connected stays as it is (D1, U5, S6).
    (_S.CREATED, _E.DROPPED): _S.CREATED,
    (_S.CONNECTING, _E.DROPPED): _S.DISCONNECTED,
    (_S.CONNECTED, _E.DROPPED): _S.DISCONNECTED,
    (_S.SECURING, _E.DROPPED): _S.DISCONNECTED,
    (_S.SECURE, _E.DROPPED): _S.DISCONNECTED,
    (_S.DISCONNECTED, _E.DROPPED): _S.DISCONNECTED,
    # A bug inside an operation ends whatever connection there was; legal from every state, so
    # that the path which recovers from one bug cannot fail on a second.
    **{(state, _E.INTERNAL_ERROR): _S.DISCONNECTED for state in State},
}


def transition(state: State, event: StateEvent) -> State:
    """The state that ``event`` leads to from ``state``; ``StateTransitionError`` if none."""
    try:
        return _TRANSITIONS[state, event]
    except KeyError:
        raise StateTransitionError(state, event) from None


def legal_transitions() -> Mapping[tuple[State, StateEvent], State]:
    """The whole table, read-only (for tests and documentation)."""
    return dict(_TRANSITIONS)


class Op(enum.Enum):
    CONNECT = "connect"
    SECURE = "secure"
    SEND = "send"
    SET_OPTION = "set_option"  # set_keep_alive, set_no_delay


@dataclasses.dataclass(frozen=True, slots=True)
class Go:
    """Carry on with the call."""


@dataclasses.dataclass(frozen=True, slots=True)
class Wait:
    """Wait for the TLS handshake, then ask again (contract S5)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Refuse:
    """Return ``code`` at once; the socket is unchanged."""

    code: NetError


Verdict = Go | Wait | Refuse
GO: Final = Go()
WAIT: Final = Wait()

_REFUSALS: Final[Mapping[Op, Mapping[State, Verdict]]] = {
    # U4: -23 when connected, -104 while a connect is pending; U7: -23 while secure() runs.
    Op.CONNECT: {
        _S.CREATED: GO,
        _S.DISCONNECTED: GO,
        _S.CONNECTING: Refuse(NetError.CONNECTION_FAILED),
        _S.CONNECTED: Refuse(NetError.SOCKET_IS_CONNECTED),
        _S.SECURING: Refuse(NetError.SOCKET_IS_CONNECTED),
        _S.SECURE: Refuse(NetError.SOCKET_IS_CONNECTED),
    },
    # T1: -4 unless connected and plain; U7: -4 while a connect is pending.
    Op.SECURE: {
        _S.CREATED: Refuse(NetError.INVALID_ARGUMENT),
        _S.DISCONNECTED: Refuse(NetError.INVALID_ARGUMENT),
        _S.CONNECTING: Refuse(NetError.INVALID_ARGUMENT),
        _S.CONNECTED: GO,
        _S.SECURING: Refuse(NetError.INVALID_ARGUMENT),
        _S.SECURE: Refuse(NetError.INVALID_ARGUMENT),
    },
    # S1: -15 when not connected; S5: a send during the handshake waits for it.
    Op.SEND: {
        _S.CREATED: Refuse(NetError.SOCKET_NOT_CONNECTED),
        _S.DISCONNECTED: Refuse(NetError.SOCKET_NOT_CONNECTED),
        _S.CONNECTING: Refuse(NetError.SOCKET_NOT_CONNECTED),
        _S.CONNECTED: GO,
        _S.SECURING: WAIT,
        _S.SECURE: GO,
    },
    # K1: -2 on a socket that is not connected; TLS sockets are fine (Chrome says -2 there).
    Op.SET_OPTION: {
        _S.CREATED: Refuse(NetError.FAILED),
        _S.DISCONNECTED: Refuse(NetError.FAILED),
        _S.CONNECTING: Refuse(NetError.FAILED),
        _S.CONNECTED: GO,
        _S.SECURING: GO,
        _S.SECURE: GO,
    },
}


def verdict(state: State, op: Op) -> Verdict:
    """What ``op`` does in ``state``: ``GO``, ``WAIT`` or ``Refuse(code)``."""
    return _REFUSALS[op][state]
