"""One socket of ``chrome.sockets.tcp``: its state, its receive path, its sends and its end.

A ``TcpSocket`` owns at most one live connection (``Connection``, an ``asyncio.Protocol``).
Every change of its ``state`` goes through ``advance``, which asks the table in
``workbench.core.state`` and announces the change on ``on_changed``. The connect and secure
operations live in ``tcp_connect`` and ``tcp_secure`` and drive a socket through its public
methods; ``TcpSockets`` (``tcp.py``) is the registry and the API in front of it all.

Received bytes go through one buffer per socket (``_held``) and one synchronous delivery loop
(``flush``): reads are large (asyncio reads up to 256 KiB at a time) and are split into
``buffer_size`` chunks in that loop, so the event loop turns once per read, not once per chunk.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

from workbench.core.errors import NetError, map_os_error, map_ssl_error
from workbench.core.events import Event
from workbench.core.state import State, StateEvent, transition
from workbench.core.types import (
    ChangeReason,
    ReceivedRun,
    ReceiveErrorInfo,
    ReceiveInfo,
    SocketChange,
    SocketInfo,
    SocketProperties,
    TlsInfo,
)
from workbench.net.tcp_ops import Body, OpSlot
from workbench.net.words import reason

__all__ = ["DEFAULT_BUFFER_SIZE", "Connection", "SocketEvents", "TcpSocket"]

_log = logging.getLogger("workbench.sockets")

# 'bufferSize: The size of the buffer used to receive data. The default value is 4096.'
DEFAULT_BUFFER_SIZE = 4096


# The slots of a ReceiveInfo, for the receive loop to fill (see ``TcpSocket.flush``).
_SET_SOCKET_ID = ReceiveInfo.__dict__["socket_id"].__set__
_SET_DATA = ReceiveInfo.__dict__["data"].__set__

#: The codes with which a server refuses our client certificate (or its absence).
_CLIENT_CERT_CODES = frozenset(
    {NetError.SSL_CLIENT_AUTH_CERT_NEEDED, NetError.BAD_SSL_CLIENT_AUTH_CERT}
)


@dataclasses.dataclass(frozen=True, slots=True)
class SocketEvents:
    """The events of one ``TcpSockets``, shared by all of its sockets."""

    receive: Event[ReceiveInfo]
    receive_error: Event[ReceiveErrorInfo]
    changed: Event[SocketChange]
    received_run: Event[ReceivedRun]


class Connection(asyncio.Protocol):
    """The protocol of one connection; it forwards to its socket while it is the current one."""

    def __init__(self, owner: TcpSocket) -> None:
        self.owner: TcpSocket | None = owner
        self.transport: asyncio.Transport | None = None

    def _current(self) -> TcpSocket | None:
        owner = self.owner
        if owner is not None and owner.conn is self:
            return owner
        return None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # asyncio.Transport reports a write done only as "buffer empty"; (0, 0) makes it say so.
        transport.set_write_buffer_limits(high=0, low=0)
        owner = self._current()
        if owner is not None and owner.paused:
            # Pause inside connection_made, or asyncio reads once anyway.
            transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        owner = self._current()
        if owner is not None:
            owner.guard(owner.on_data, data)

    def eof_received(self) -> bool:
        owner = self._current()
        if owner is not None:
            owner.guard(owner.on_stream_end, NetError.CONNECTION_CLOSED)
        return False  # close the transport: the stream is over for the API (contract R3)

    def connection_lost(self, exc: Exception | None) -> None:
        owner = self._current()
        if owner is not None:
            owner.guard(owner.on_lost, exc)
        self.owner = None

    def resume_writing(self) -> None:
        owner = self._current()
        if owner is not None:
            owner.guard(owner.check_written)


class SendQueue:
    """Sends in call order, each answered once its last byte is with the OS (contract S2)."""

    def __init__(self) -> None:
        # (bytes written up to and including this send, its future)
        self._writes: collections.deque[tuple[int, asyncio.Future[int]]] = collections.deque()
        self._written = 0

    def __repr__(self) -> str:
        return f"<SendQueue pending={len(self._writes)} written={self._written}>"

    def add(self, size: int, fut: asyncio.Future[int]) -> None:
        self._written += size
        self._writes.append((self._written, fut))

    def last(self) -> asyncio.Future[int] | None:
        """The send that completes last, if any is pending."""
        return self._writes[-1][1] if self._writes else None

    def complete(self, pending: int) -> None:
        """All but the last ``pending`` bytes written are with the OS."""
        handed = self._written - pending
        writes = self._writes
        while writes and writes[0][0] <= handed:
            _, fut = writes.popleft()
            if not fut.done():
                fut.set_result(NetError.OK)

    def fail(self, code: int) -> None:
        while self._writes:
            _, fut = self._writes.popleft()
            if not fut.done():
                fut.set_result(code)


class TcpSocket:
    """One socket. ``conn``/``sock``/``transport``/``raw`` are its live connection (``None``
    when there is none): the TCP socket, the transport it writes to (TLS after ``secure()``)
    and the TCP transport under that."""

    def __init__(self, events: SocketEvents, socket_id: int, props: SocketProperties) -> None:
        self.events = events
        self.id = socket_id
        self.name: str | None = props.name
        self.persistent = bool(props.persistent)
        self.buffer_size: int | None = buffer_size_or_none(props.buffer_size)
        self.paused = False
        self.closed = False
        self._state = State.CREATED
        self.host: str | None = None
        self.local: tuple[str, int] | None = None
        self.peer: tuple[str, int] | None = None
        self.tls: TlsInfo | None = None
        self.conn: Connection | None = None
        self.sock: socket.socket | None = None
        self.transport: asyncio.Transport | None = None
        self.raw: asyncio.Transport | None = None
        # Bytes read but not yet delivered, and how much of the first block is already out.
        self._held: collections.deque[bytes] = collections.deque()
        self._held_offset = 0
        self._pending_error: int | None = None
        self._announced = False
        self._delivering = False
        self.sends = SendQueue()
        # The connect() or secure() that runs, and the handshake sends wait for.
        self.ops = OpSlot(socket_id)
        # Why the last connect() or secure() failed, in the OS's or OpenSSL's words.
        self.details: dict[str, str] = {}

    def __repr__(self) -> str:
        peer = f" peer={self.peer[0]}:{self.peer[1]}" if self.peer else ""
        flags = " paused" if self.paused else ""
        return f"<TcpSocket {self.id} {self._state.value}{flags}{peer}>"

    # -- state and what it looks like ------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    def advance(self, event: StateEvent) -> None:
        """The one way the state changes: the table says where ``event`` leads from here; a
        pair it does not have raises ``StateTransitionError`` (a bug, not an outcome)."""
        old = self._state
        new = self._state = transition(old, event)
        if new is not old:
            self.notify(ChangeReason.STATE)

    def notify(self, reason: ChangeReason) -> None:
        """Tell ``on_changed`` listeners, with a fresh snapshot. A socket on its way out of the
        registry says nothing more: ``TcpSockets`` reports it CLOSED."""
        changed = self.events.changed
        if changed.listeners and not self.closed:
            changed.dispatch(SocketChange(self.id, reason, self._state, self.info()))

    def info(self) -> SocketInfo:
        connected = self._state.connected
        local = self.local if connected else None
        peer = self.peer if connected else None
        return SocketInfo(
            socket_id=self.id,
            persistent=self.persistent,
            paused=self.paused,
            connected=connected,
            name=self.name,
            buffer_size=self.buffer_size,
            local_address=local[0] if local else None,
            local_port=local[1] if local else None,
            peer_address=peer[0] if peer else None,
            peer_port=peer[1] if peer else None,
            tls=self.tls if connected else None,
        )

    def update(self, properties: SocketProperties) -> None:
        """Only the given fields change (contract C4)."""
        if properties.name is not None:
            self.name = properties.name
        if properties.persistent is not None:
            self.persistent = properties.persistent
        if properties.buffer_size is not None:
            self.buffer_size = buffer_size_or_none(properties.buffer_size)
        self.notify(ChangeReason.PROPERTIES)

    def set_paused(self, paused: bool) -> None:
        if self.paused == paused:
            return  # contract P3
        self.paused = paused
        if paused:
            self.update_reading()  # stop reading the OS socket now (contract P2)
        elif self._announced:
            # Held bytes first, in order; reading resumes when they are gone (contract P1).
            self.schedule_flush()
        self.notify(ChangeReason.PAUSED)

    def _pause_at_end(self) -> None:
        """The core pauses a socket whose connection ended (contract D1, R3)."""
        if not self.paused:
            self.paused = True
            self.notify(ChangeReason.PAUSED)

    # -- plumbing --------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def guard(self, fn: Callable[..., object], *args: Any) -> None:
        """No exception escapes into the event loop from the read or write path."""
        try:
            fn(*args)
        except Exception:
            _log.exception("socket %d: internal error in %s", self.id, fn.__name__)

    # -- receiving -------------------------------------------------------------------------

    def _can_deliver(self) -> bool:
        return self._announced and not self.paused and not self.closed

    def on_data(self, data: bytes) -> None:
        if data:
            self._held.append(data)
        self.flush()

    def on_stream_end(self, code: int) -> None:
        if self._pending_error is None:
            self._pending_error = code
        self.flush()

    def on_lost(self, exc: Exception | None) -> None:
        if exc is None:
            code: int = NetError.CONNECTION_CLOSED
        elif isinstance(exc, (OSError, asyncio.IncompleteReadError)) and not isinstance(
            exc, ssl.SSLError
        ):
            code = map_os_error(exc, "io") if isinstance(exc, OSError) else NetError.FAILED
        else:
            code = map_ssl_error(exc)
        if code in _CLIENT_CERT_CODES and exc is not None:
            # TLS 1.3 settles the client certificate after the client's handshake is over:
            # secure() has returned 0 when the server's verdict arrives, as this error.
            self.details["secure"] = (
                f"the server rejected the client certificate after the handshake "
                f"({reason(exc)}); with TLS 1.3 that verdict comes after secure() returned 0"
            )
        self.sends.fail(code)
        self.on_stream_end(code)

    def flush(self) -> None:
        """Deliver held bytes, then a pending stream error, while the socket may deliver.

        The pause is checked before every chunk: a listener may pause, disconnect or close the
        socket from inside an event (contract P1: 'no on_receive for that socket until
        set_paused(False)').
        """
        if self._delivering or self.closed:
            return
        self._delivering = True
        try:
            event = self.events.receive
            new = object.__new__
            set_id, set_data = _SET_SOCKET_ID, _SET_DATA
            runs = self.events.received_run
            held = self._held
            sid = self.id
            # The hot loop: one iteration per chunk, so no helper calls and no copies of a
            # whole read. The pause, close and announce flags are re-read after every chunk; a
            # block (one read from the OS) is split with the buffer_size it began with.
            while held and self._announced and not self.paused and not self.closed:
                head = held[0]
                start = first = self._held_offset
                size = self.buffer_size or DEFAULT_BUFFER_SIZE
                last = len(head) - size  # a chunk that starts here or later ends the block
                while True:
                    if start >= last:
                        held.popleft()
                        self._held_offset = 0
                        chunk = head[start:] if start else head
                        stop = len(head)
                    else:
                        # Written before the listeners run: one may disconnect, which resets it.
                        self._held_offset = stop = start + size
                        chunk = head[start:stop]
                    # The frozen ReceiveInfo without its generated __init__, whose keyword
                    # handling is a third of the per-chunk cost at 4 KiB: its slots filled.
                    info = new(ReceiveInfo)
                    set_id(info, sid)
                    set_data(info, chunk)
                    for listener in event.listeners:
                        try:
                            listener(info)
                        except Exception:
                            event.log_failure(listener)
                    if not self._held_offset or self.paused or self.closed or not self._announced:
                        break
                    start = stop
                if runs.listeners:
                    whole = not first and stop == len(head)
                    runs.dispatch(ReceivedRun(sid, head if whole else memoryview(head)[first:stop]))
            if not held and self._pending_error is not None and self._can_deliver():
                self._deliver_end(self._pending_error)
        finally:
            self._delivering = False
        self.update_reading()

    def _deliver_end(self, code: int) -> None:
        """'Once this event is raised, the socket is set to paused and no more onReceive events
        are raised for this socket.' (contract R3)"""
        self._pending_error = None
        self.teardown(NetError.CONNECTION_CLOSED)
        self.advance(StateEvent.STREAM_ENDED)
        self._pause_at_end()
        self.events.receive_error.dispatch(ReceiveErrorInfo(socket_id=self.id, result_code=code))

    def schedule_flush(self, hops: int = 1) -> None:
        loop = self.loop
        if hops <= 1:
            loop.call_soon(self.guard, self.flush)
        else:
            loop.call_soon(self.schedule_flush, hops - 1)

    def update_reading(self) -> None:
        """Read from the OS only while delivery can keep up (contract P2: pause is
        back-pressure, so a paused socket holds at most one read's worth)."""
        transport = self.transport
        if transport is None or transport.is_closing() or self._state is State.SECURING:
            return
        want = self._can_deliver() and not self._held and self._pending_error is None
        if want:
            transport.resume_reading()
        else:
            transport.pause_reading()

    # -- writing ---------------------------------------------------------------------------

    def write(self, data: bytes) -> asyncio.Future[int]:
        fut: asyncio.Future[int] = self.loop.create_future()
        transport = self.transport
        if transport is None or transport.is_closing():
            fut.set_result(NetError.SOCKET_NOT_CONNECTED)
            return fut
        self.sends.add(len(data), fut)
        if data:
            transport.write(data)
            if transport.is_closing():
                # The write failed (asyncio dropped its buffer and will report the error to
                # connection_lost, which answers this send with the error's code): an empty
                # buffer here does not mean the bytes left (contract S3).
                return fut
        self.check_written()
        return fut

    def check_written(self) -> None:
        """Complete, in call order, every send whose last byte is now with the OS."""
        transport, raw = self.transport, self.raw
        pending = transport.get_write_buffer_size() if transport is not None else 0
        if raw is not None and raw is not transport:
            pending += raw.get_write_buffer_size()
        self.sends.complete(pending)

    # -- the connection's life -------------------------------------------------------------

    def begin_connect(self, host: str) -> None:
        self.advance(StateEvent.CONNECT_STARTED)
        self.host = host
        self._announced = False

    def adopt(self, sock: socket.socket, transport: asyncio.Transport) -> None:
        """The connection is the socket's from here on: every way out closes it."""
        self.sock = sock
        self.transport = self.raw = transport

    def connect_failed(self, op: asyncio.Future[int], code: int) -> None:
        self.advance(StateEvent.CONNECT_FAILED)
        self.ops.finish(op, code)

    def connected(self) -> None:
        self._pending_error = None
        self.advance(StateEvent.CONNECT_SUCCEEDED)

    def announce(self) -> None:
        """'When the connect operation completes successfully, onReceive events are raised' —
        after the caller has its result (contract U2). Two hops let a caller that awaits
        through a task see the result first too."""
        if not self.ops.busy and self._state is State.CONNECTED:
            self._announced = True
            self.schedule_flush(hops=2)

    def begin_secure(self) -> None:
        self.ops.begin_secure()
        self.advance(StateEvent.SECURE_STARTED)

    def adopt_tls(self, transport: asyncio.Transport) -> None:
        """Writes and reads go through the TLS transport from here on."""
        # On a TLS transport high=0 would pause at an empty buffer; 1/0 signals "empty".
        transport.set_write_buffer_limits(high=1, low=0)
        if self.conn is not None:
            self.conn.transport = transport
        self.transport = transport

    def secured(self, op: asyncio.Future[int]) -> None:
        self.advance(StateEvent.SECURE_SUCCEEDED)
        self.ops.end_secure(op, NetError.OK)
        # start_tls turns reading back on: re-apply the pause to the new transport.
        self.update_reading()
        if self._held:
            self.schedule_flush()

    def secure_blocker(self) -> int | None:
        """What stops ``secure()`` on a socket the table lets through: it still reports
        connected until a held error is delivered (contract P4), but there is no connection
        left to secure. ``None`` when there is one."""
        if self._pending_error is not None:
            return self._pending_error
        if self.raw is None or self.raw.is_closing():
            return NetError.SOCKET_NOT_CONNECTED
        return None

    def teardown(self, send_code: int) -> None:
        """Drop the connection: pending sends end with ``send_code``; the file descriptor is
        released before this returns ('the socket is guaranteed to be closed only when the
        callback is invoked'), gracefully when nothing is queued in asyncio (bytes the OS
        already has go out before the FIN; a TLS socket sends its close_notify first)."""
        conn, transport, raw, sock = self.conn, self.transport, self.raw, self.sock
        self.conn = self.transport = self.raw = self.sock = None
        self.sends.fail(send_code)
        self._held.clear()
        self._held_offset = 0
        self._pending_error = None
        self._announced = False
        self.local = self.peer = None
        self.tls = None
        if conn is not None:
            conn.owner = None
        tls = transport if transport is not None and transport is not raw else None
        if tls is not None and not tls.is_closing() and tls.get_write_buffer_size() == 0:
            tls.close()  # writes the close_notify to the raw transport now
        if raw is not None:
            if not raw.is_closing() and raw.get_write_buffer_size() == 0:
                raw.close()
            else:
                raw.abort()
        # Either call has already taken the descriptor out of the selector; asyncio closes the
        # socket object only a loop turn later, and closing it twice is harmless.
        if sock is not None:
            _discard_input(sock)
            sock.close()

    def drop(self) -> bool:
        """What disconnect() and close() share. True when the socket was reading, which is when
        they report -100 (contract D1, D2)."""
        reading = (
            self._state in (State.CONNECTED, State.SECURE)
            and not self.paused
            and self._announced
            and self._pending_error is None
        )
        was_connected = self._state.connected or self._pending_error is not None
        self.ops.abort()
        # 'pending send() calls complete with a negative code' (contract S6)
        self.teardown(NetError.ABORTED)
        self.advance(StateEvent.DROPPED)
        if was_connected:
            self._pause_at_end()
        return reading

    def report_closed_later(self) -> None:
        info = ReceiveErrorInfo(socket_id=self.id, result_code=NetError.CONNECTION_CLOSED)
        self.loop.call_soon(self.events.receive_error.dispatch, info)

    # -- operations (connect, secure) ------------------------------------------------------

    async def run_op(self, body: Body) -> int:
        """Run a connect or secure (``body``) and wait for its result code (see ``OpSlot``)."""
        return await self.ops.run(body, self._internal_error, self.drop)

    def _internal_error(self, op: asyncio.Future[int]) -> None:
        """A bug inside ``op``: neither the caller nor the connection is left hanging."""
        self.teardown(NetError.FAILED)
        self.advance(StateEvent.INTERNAL_ERROR)
        self.ops.settle_secured(NetError.FAILED)
        self.ops.finish(op, NetError.FAILED)


def buffer_size_or_none(value: int | None) -> int | None:
    # Contract C2: a buffer_size <= 0 means "unset": 4096-byte chunks, reported as None.
    return value if value is not None and value > 0 else None


def _discard_input(sock: socket.socket, limit: int = 4 * 2**20) -> None:
    """Read and drop what the peer sent and nobody read. Closing a socket with unread input
    makes Linux answer with a reset instead of a FIN and throw away what we had queued to
    send; a paused socket usually has some. Bounded: a peer that never stops sending gets its
    reset."""
    taken = 0
    try:
        while taken < limit:
            data = sock.recv(256 * 1024, socket.MSG_DONTWAIT)
            if not data:
                return
            taken += len(data)
    except OSError:
        return
