"""``chrome.sockets.tcp`` on asyncio.

One ``TcpSockets`` owns a registry of ``_Socket`` objects. Each ``_Socket`` owns at most one live
connection (``_Conn``, an ``asyncio.Protocol``) and decides, through the state table in
``workbench.core.state``, what every call does. Received bytes go through one buffer per socket
(``_held``) and one synchronous delivery loop (``_flush``): reads are large (asyncio reads up to
256 KiB at a time) and are split into ``buffer_size`` chunks in that loop, so the event loop
turns once per read, not once per chunk.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import socket
import ssl
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any

from workbench.core.errors import (
    NetError,
    SocketNotFoundError,
    WriteQuotaExceededError,
    map_os_error,
    map_ssl_error,
)
from workbench.core.events import Event
from workbench.core.state import GO, WAIT, Op, State, verdict
from workbench.core.types import (
    CreateInfo,
    DnsQueryType,
    ReceiveErrorInfo,
    ReceiveInfo,
    SecureOptions,
    SendInfo,
    SocketInfo,
    SocketProperties,
    TlsInfo,
    check_bool,
    check_int,
    check_socket_id,
)
from workbench.net import options as sockopts
from workbench.net.tls import (
    HandshakeTrace,
    TlsSetupError,
    build_context,
    server_hostname,
    tls_info,
)

__all__ = ["DEFAULT_BUFFER_SIZE", "DEFAULT_WRITE_QUOTA", "TcpSockets"]

_log = logging.getLogger("workbench.sockets")

# 'bufferSize: The size of the buffer used to receive data. The default value is 4096.'
DEFAULT_BUFFER_SIZE = 4096
# Linux's largest TCP_KEEPIDLE / TCP_KEEPINTVL (MAX_TCP_KEEPIDLE in include/net/tcp.h).
MAX_KEEP_ALIVE_DELAY = 32767
# Chrome's per-application write quota (extensions/browser/api/socket: kWriteQuota).
DEFAULT_WRITE_QUOTA = 200 * 2**20

_FAMILIES = {
    DnsQueryType.ANY: socket.AF_UNSPEC,
    DnsQueryType.IPV4: socket.AF_INET,
    DnsQueryType.IPV6: socket.AF_INET6,
}


class _Conn(asyncio.Protocol):
    """The protocol of one connection; it forwards to its socket while it is the current one."""

    def __init__(self, owner: _Socket) -> None:
        self.owner: _Socket | None = owner
        self.transport: asyncio.Transport | None = None

    def _current(self) -> _Socket | None:
        owner = self.owner
        if owner is not None and owner._conn is self:
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
            owner._guard(owner._on_data, data)

    def eof_received(self) -> bool:
        owner = self._current()
        if owner is not None:
            owner._guard(owner._on_stream_end, NetError.CONNECTION_CLOSED)
        return False  # close the transport: the stream is over for the API (contract R3)

    def connection_lost(self, exc: Exception | None) -> None:
        owner = self._current()
        if owner is not None:
            owner._guard(owner._on_lost, exc)
        self.owner = None

    def resume_writing(self) -> None:
        owner = self._current()
        if owner is not None:
            owner._guard(owner._check_written)


class _Socket:
    def __init__(self, sockets: TcpSockets, socket_id: int, props: SocketProperties) -> None:
        self.sockets = sockets
        self.id = socket_id
        self.name: str | None = props.name
        self.persistent = bool(props.persistent)
        self.buffer_size: int | None = _buffer_size(props.buffer_size)
        self.paused = False
        self.state = State.CREATED
        self.closed = False
        self.host: str | None = None
        self.local: tuple[str, int] | None = None
        self.peer: tuple[str, int] | None = None
        self.tls: TlsInfo | None = None
        self._sock: socket.socket | None = None
        self._conn: _Conn | None = None
        self._transport: asyncio.Transport | None = None  # TLS after secure()
        self._raw: asyncio.Transport | None = None  # the TCP transport under it
        # Bytes read but not yet delivered, and how much of the first block is already out.
        self._held: collections.deque[bytes] = collections.deque()
        self._held_offset = 0
        self._pending_error: int | None = None
        self._announced = False
        self._delivering = False
        self._writes: collections.deque[tuple[int, asyncio.Future[int]]] = collections.deque()
        self._written = 0
        self._op: asyncio.Future[int] | None = None
        self._op_task: asyncio.Task[None] | None = None
        self._secured: asyncio.Future[int] | None = None
        # Why the last connect() or secure() failed, in the OS's or OpenSSL's words.
        self.details: dict[str, str] = {}

    def __repr__(self) -> str:
        peer = f" peer={self.peer[0]}:{self.peer[1]}" if self.peer else ""
        flags = " paused" if self.paused else ""
        return f"<_Socket {self.id} {self.state.value}{flags}{peer}>"

    # -- plumbing ------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def _guard(self, fn: Callable[..., object], *args: Any) -> None:
        """No exception escapes into the event loop from the read or write path."""
        try:
            fn(*args)
        except Exception:
            _log.exception("socket %d: internal error in %s", self.id, fn.__name__)

    def info(self) -> SocketInfo:
        connected = self.state.connected
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

    # -- receiving -----------------------------------------------------------------------

    def _can_deliver(self) -> bool:
        return self._announced and not self.paused and not self.closed

    def _on_data(self, data: bytes) -> None:
        if data:
            self._held.append(data)
        self._flush()

    def _on_stream_end(self, code: int) -> None:
        if self._pending_error is None:
            self._pending_error = code
        self._flush()

    def _on_lost(self, exc: Exception | None) -> None:
        if exc is None:
            code: int = NetError.CONNECTION_CLOSED
        elif isinstance(exc, (OSError, asyncio.IncompleteReadError)) and not _is_ssl(exc):
            code = map_os_error(exc, "io") if isinstance(exc, OSError) else NetError.FAILED
        else:
            code = map_ssl_error(exc)
        self._fail_writes(code)
        self._on_stream_end(code)

    def _flush(self) -> None:
        """Deliver held bytes, then a pending stream error, while the socket may deliver.

        The pause is checked before every chunk: a listener may pause, disconnect or close the
        socket from inside an event (contract P1: 'no on_receive for that socket until
        set_paused(False)').
        """
        if self._delivering or self.closed:
            return
        self._delivering = True
        try:
            event = self.sockets.on_receive
            new = object.__new__
            held = self._held
            sid = self.id
            # The hot loop: one iteration per chunk, so no helper calls and no copies of a
            # whole read. The pause, close and announce flags are re-read before every chunk.
            while held and self._announced and not self.paused and not self.closed:
                head = held[0]
                start = self._held_offset
                end = start + (self.buffer_size or DEFAULT_BUFFER_SIZE)
                if end >= len(head):
                    held.popleft()
                    self._held_offset = 0
                    chunk = head[start:] if start else head
                else:
                    self._held_offset = end
                    chunk = head[start:end]
                # ReceiveInfo.make, inlined: the frozen dataclass without its __init__.
                info = new(ReceiveInfo)
                fields = info.__dict__
                fields["socket_id"] = sid
                fields["data"] = chunk
                for listener in event.listeners:
                    try:
                        listener(info)
                    except Exception:
                        event.log_failure(listener)
            if not held and self._pending_error is not None and self._can_deliver():
                code = self._pending_error
                self._pending_error = None
                # 'Once this event is raised, the socket is set to paused and no more onReceive
                # events are raised for this socket.' (contract R3)
                self._teardown(NetError.CONNECTION_CLOSED)
                self.state = State.DISCONNECTED
                self.paused = True
                self.sockets.on_receive_error.dispatch(
                    ReceiveErrorInfo(socket_id=self.id, result_code=code)
                )
        finally:
            self._delivering = False
        self._update_reading()

    def _schedule_flush(self, hops: int = 1) -> None:
        loop = self.loop
        if hops <= 1:
            loop.call_soon(self._guard, self._flush)
        else:
            loop.call_soon(self._schedule_flush, hops - 1)

    def _update_reading(self) -> None:
        """Read from the OS only while delivery can keep up (contract P2: pause is
        back-pressure, so a paused socket holds at most one read's worth)."""
        transport = self._transport
        if transport is None or transport.is_closing() or self.state is State.SECURING:
            return
        want = self._can_deliver() and not self._held and self._pending_error is None
        if want:
            transport.resume_reading()
        else:
            transport.pause_reading()

    # -- writing -------------------------------------------------------------------------

    def write(self, data: bytes) -> asyncio.Future[int]:
        fut: asyncio.Future[int] = self.loop.create_future()
        transport = self._transport
        if transport is None or transport.is_closing():
            fut.set_result(NetError.SOCKET_NOT_CONNECTED)
            return fut
        self._written += len(data)
        self._writes.append((self._written, fut))
        if data:
            transport.write(data)
            if transport.is_closing():
                # The write failed (asyncio dropped its buffer and will report the error to
                # connection_lost, which answers this send with the error's code): an empty
                # buffer here does not mean the bytes left (contract S3).
                return fut
        self._check_written()
        return fut

    def _check_written(self) -> None:
        """Complete, in call order, every send whose last byte is now with the OS."""
        transport, raw = self._transport, self._raw
        pending = transport.get_write_buffer_size() if transport is not None else 0
        if raw is not None and raw is not transport:
            pending += raw.get_write_buffer_size()
        handed = self._written - pending
        writes = self._writes
        while writes and writes[0][0] <= handed:
            _, fut = writes.popleft()
            if not fut.done():
                fut.set_result(NetError.OK)

    def _fail_writes(self, code: int) -> None:
        while self._writes:
            _, fut = self._writes.popleft()
            if not fut.done():
                fut.set_result(code)

    # -- life cycle ----------------------------------------------------------------------

    def _teardown(self, send_code: int) -> None:
        """Drop the connection: pending sends end with ``send_code``; the file descriptor is
        released before this returns ('the socket is guaranteed to be closed only when the
        callback is invoked'), gracefully when nothing is queued in asyncio (bytes the OS
        already has go out before the FIN; a TLS socket sends its close_notify first)."""
        conn, transport, raw, sock = self._conn, self._transport, self._raw, self._sock
        self._conn = self._transport = self._raw = self._sock = None
        self._fail_writes(send_code)
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

    def _abort_op(self) -> None:
        """A pending connect() or secure() returns ABORTED (contract U5)."""
        op, task = self._op, self._op_task
        self._op = self._op_task = None
        if op is not None and not op.done():
            op.set_result(NetError.ABORTED)
        if task is not None and not task.done():
            task.cancel()
        if self._secured is not None and not self._secured.done():
            self._secured.set_result(NetError.ABORTED)

    def drop(self) -> bool:
        """What disconnect() and close() share. True when the socket was reading, which is when
        they report -100 (contract D1, D2)."""
        reading = (
            self.state in (State.CONNECTED, State.SECURE)
            and not self.paused
            and self._announced
            and self._pending_error is None
        )
        was_connected = self.state.connected or self._pending_error is not None
        self._abort_op()
        # 'pending send() calls complete with a negative code' (contract S6)
        self._teardown(NetError.ABORTED)
        if self.state is not State.CREATED:
            self.state = State.DISCONNECTED
        if was_connected:
            self.paused = True
        return reading

    def report_closed_later(self) -> None:
        info = ReceiveErrorInfo(socket_id=self.id, result_code=NetError.CONNECTION_CLOSED)
        self.loop.call_soon(self.sockets.on_receive_error.dispatch, info)

    # -- connect -------------------------------------------------------------------------

    async def connect(self, host: str, port: int, query: DnsQueryType) -> int:
        self.state = State.CONNECTING
        self.host = host
        self._announced = False
        code = await self._run_op(lambda op: self._do_connect(op, host, port, query))
        if code == NetError.OK:
            self._announce()
        return code

    def _announce(self) -> None:
        """'When the connect operation completes successfully, onReceive events are raised' —
        after the caller has its result (contract U2). Two hops let a caller that awaits
        through a task see the result first too."""
        if self._op is None and self.state is State.CONNECTED:
            self._announced = True
            self._schedule_flush(hops=2)

    async def _run_op(
        self, body: Callable[[asyncio.Future[int]], Coroutine[Any, Any, None]]
    ) -> int:
        """Run a connect or secure in its own task and wait for its result code. The task can
        be cancelled by disconnect() or close() (the result is then -3) without cancelling the
        caller; a caller that is cancelled itself drops the connection attempt."""
        op: asyncio.Future[int] = self.loop.create_future()
        self._op = op

        async def guarded() -> None:
            try:
                await body(op)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug, not a network outcome: say so in the log and answer the caller, so
                # neither the call nor the socket is left hanging.
                _log.exception("socket %d: the operation failed unexpectedly", self.id)
                if self._op is op:
                    self._teardown(NetError.FAILED)
                    self.state = State.DISCONNECTED
                    if self._secured is not None and not self._secured.done():
                        self._secured.set_result(NetError.FAILED)
                    self._finish_op(op, NetError.FAILED)

        self._op_task = self.loop.create_task(guarded())
        try:
            return await op
        except asyncio.CancelledError:
            if self._op is op:
                self.drop()
            raise

    def _finish_op(self, op: asyncio.Future[int], code: int) -> bool:
        if op.done() or self._op is not op:
            return False
        self._op = self._op_task = None
        op.set_result(code)
        return True

    async def _do_connect(
        self, op: asyncio.Future[int], host: str, port: int, query: DnsQueryType
    ) -> None:
        loop = self.loop
        infos: list[Any] = []
        self.details.pop("connect", None)
        # An empty name is no name; never let a resolver read it as "this machine".
        if host.strip():
            try:
                infos = await loop.getaddrinfo(
                    host, port, family=_FAMILIES[query], type=socket.SOCK_STREAM,
                    proto=socket.IPPROTO_TCP,
                )
            except (OSError, UnicodeError) as exc:
                self.details["connect"] = f"{host}: {_reason(exc)}"
        else:
            self.details["connect"] = "the address is empty"
        if not infos:
            self.state = State.DISCONNECTED
            self._finish_op(op, NetError.NAME_NOT_RESOLVED)
            return
        code: int = NetError.CONNECTION_FAILED
        sock: socket.socket | None = None
        for family, kind, proto, _, address in infos:
            candidate = socket.socket(family, kind, proto)
            try:
                candidate.setblocking(False)
                await loop.sock_connect(candidate, address)
            except OSError as exc:
                candidate.close()
                code = map_os_error(exc, "connect")
                self.details["connect"] = f"{_format_sockaddr(address)}: {_reason(exc)}"
                continue
            except BaseException:
                candidate.close()
                raise
            sock = candidate
            break
        if sock is None:
            self.state = State.DISCONNECTED
            self._finish_op(op, code)
            return
        if op.done():  # aborted while the last await ran
            sock.close()
            return
        conn = _Conn(self)
        self._conn = conn
        try:
            transport, _ = await loop.create_connection(lambda: conn, sock=sock)
        except BaseException:
            sock.close()
            raise
        if op.done() or self._conn is not conn:
            transport.abort()
            return
        # Owned by the socket from here on, so every way out (errors included) closes it.
        self._sock = sock
        self._transport = self._raw = transport
        try:
            sockopts.apply_defaults(sock)  # contract K2
            self.local = _address(sock.getsockname())
            self.peer = _address(sock.getpeername())
        except OSError as exc:
            self._teardown(NetError.CONNECTION_FAILED)
            self.state = State.DISCONNECTED
            self._finish_op(op, map_os_error(exc, "connect"))
            return
        self._pending_error = None
        self.state = State.CONNECTED
        self.details.pop("connect", None)  # an earlier address may have failed
        self._finish_op(op, NetError.OK)
        self._update_reading()

    # -- secure --------------------------------------------------------------------------

    async def secure(self, options: SecureOptions) -> int:
        self._secured = self.loop.create_future()
        self.state = State.SECURING
        return await self._run_op(lambda op: self._do_secure(op, options))

    def _end_secure(self, op: asyncio.Future[int], code: int) -> None:
        if self._finish_op(op, code) and self._secured is not None and not self._secured.done():
            self._secured.set_result(code)

    async def _do_secure(self, op: asyncio.Future[int], options: SecureOptions) -> None:
        loop = self.loop
        self.details.pop("secure", None)
        raw, conn, sock = self._raw, self._conn, self._sock
        assert raw is not None and conn is not None and sock is not None
        try:
            context = build_context(options)
        except TlsSetupError as exc:
            _log.warning("socket %d: %s", self.id, exc)
            self.details["secure"] = str(exc)
            # Nothing went over the wire: the socket stays a connected plain socket.
            self.state = State.CONNECTED
            self._end_secure(op, exc.code)
            self._update_reading()
            return
        # Plain sends still queued in asyncio go out as plain bytes first: the TLS protocol
        # takes the transport over and must find its write buffer empty.
        while self._writes:
            await asyncio.shield(self._writes[-1][1])
            if op.done():
                return
        # 'Bytes the OS already has when secure() is called are read first and delivered as
        # plaintext' (contract T2): otherwise they would be fed to OpenSSL.
        raw.pause_reading()
        while True:
            try:
                data = sock.recv(256 * 1024)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # the handshake will meet the same error and report it
            if not data:
                break
            self._on_data(data)
            if op.done():  # a listener disconnected or closed the socket
                return
        name = server_hostname(options, self.host or "")
        trace = HandshakeTrace()
        trace.attach(context)
        try:
            transport = await loop.start_tls(raw, conn, context, server_hostname=name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.details["secure"] = _reason(exc)
            code = map_ssl_error(
                exc,
                sent_client_cert=options.client_cert is not None,
                cert_requested=trace.cert_requested,
            )
            if self._op is op:
                # T5: the socket stays, disconnected, until close().
                self._teardown(code)
                self.state = State.DISCONNECTED
                self._end_secure(op, code)
            return
        trace.detach(context)  # OpenSSL calls it for every record header otherwise
        if op.done() or self._conn is not conn or transport is None:
            if transport is not None:
                transport.abort()
            return
        assert isinstance(transport, asyncio.Transport)
        # On a TLS transport high=0 would pause at an empty buffer; 1/0 signals "empty".
        transport.set_write_buffer_limits(high=1, low=0)
        self._watch_raw_drain(raw)
        conn.transport = transport
        self._transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        self.tls = tls_info(ssl_object, name, options.verify)
        self.state = State.SECURE
        self._end_secure(op, NetError.OK)
        # start_tls turns reading back on: re-apply the pause to the new transport.
        self._update_reading()
        if self._held:
            self._schedule_flush()

    def _watch_raw_drain(self, raw: asyncio.Transport) -> None:
        """A TLS send is with the OS once the TLS layer *and* the TCP transport under it have
        let go of it; the TCP transport tells only its protocol (asyncio's SSL protocol) when
        it drains, so listen in on that."""
        ssl_protocol = raw.get_protocol()
        resume = ssl_protocol.resume_writing

        def resume_writing() -> None:
            resume()
            if self._raw is raw:
                self._guard(self._check_written)

        ssl_protocol.resume_writing = resume_writing  # type: ignore[method-assign]

    async def wait_secured(self) -> int:
        assert self._secured is not None
        return await asyncio.shield(self._secured)

    # -- options -------------------------------------------------------------------------

    def set_option(self, fn: Callable[[socket.socket], None]) -> int:
        rule = verdict(self.state, Op.SET_OPTION)
        if rule is not GO:
            return int(rule)  # type: ignore[arg-type]
        if self._sock is None:
            return NetError.FAILED
        try:
            fn(self._sock)
        except OSError as exc:
            return map_os_error(exc, "io")
        return NetError.OK


async def _settle() -> None:
    """Let the callbacks asyncio scheduled for closed transports and cancelled tasks run, so a
    caller that closes its loop next leaves nothing pending (two hops: a TLS transport passes
    connection_lost on through its SSL protocol)."""
    for _ in range(2):
        await asyncio.sleep(0)


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


def _reason(exc: BaseException) -> str:
    """An exception in a user's words: OSError's strerror, OpenSSL's verify message."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno > 0:
        return os.strerror(exc.errno)  # asyncio's own text is "Connect call failed (...)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _format_sockaddr(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _buffer_size(value: int | None) -> int | None:
    # Contract C2: a buffer_size <= 0 means "unset": 4096-byte chunks, reported as None.
    return value if value is not None and value > 0 else None


def _address(sockaddr: Any) -> tuple[str, int]:
    return str(sockaddr[0]), int(sockaddr[1])


def _is_ssl(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLError)


def _check_data(data: object) -> int:
    if isinstance(data, memoryview):
        return data.nbytes
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    raise TypeError(f"data must be bytes, bytearray or memoryview, not {type(data).__name__}")


class TcpSockets:
    """``chrome.sockets.tcp``: one per application.

    All methods are called on the event loop's thread; the loop is the running one, found at
    each call, so the same instance works on plain asyncio and under qasync.
    """

    def __init__(self, write_quota: int = DEFAULT_WRITE_QUOTA) -> None:
        check_int(write_quota, "write_quota")
        if write_quota <= 0:
            raise ValueError(f"write_quota must be positive, not {write_quota}")
        self.write_quota = write_quota
        self.on_receive: Event[ReceiveInfo] = Event("onReceive")
        self.on_receive_error: Event[ReceiveErrorInfo] = Event("onReceiveError")
        self._sockets: dict[int, _Socket] = {}
        self._next_id = 1
        self._queued = 0

    def __repr__(self) -> str:
        return f"<TcpSockets sockets={sorted(self._sockets)} queued={self._queued}>"

    def _get(self, socket_id: object) -> _Socket:
        sid = check_socket_id(socket_id)
        try:
            return self._sockets[sid]
        except KeyError:
            raise SocketNotFoundError() from None

    async def create(self, properties: SocketProperties | None = None) -> CreateInfo:
        """'Creates a TCP socket.' Ids start at 1 and are never reused (contract C1)."""
        if properties is None:
            properties = SocketProperties()
        elif not isinstance(properties, SocketProperties):
            raise TypeError(
                f"properties must be SocketProperties, not {type(properties).__name__}"
            )
        sid = self._next_id
        self._next_id += 1
        self._sockets[sid] = _Socket(self, sid, properties)
        return CreateInfo(socket_id=sid)

    async def update(self, socket_id: int, properties: SocketProperties) -> None:
        """'Updates the socket properties.' Only the given fields change (contract C4)."""
        if not isinstance(properties, SocketProperties):
            raise TypeError(
                f"properties must be SocketProperties, not {type(properties).__name__}"
            )
        s = self._get(socket_id)
        if properties.name is not None:
            s.name = properties.name
        if properties.persistent is not None:
            s.persistent = properties.persistent
        if properties.buffer_size is not None:
            s.buffer_size = _buffer_size(properties.buffer_size)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        """'Enables or disables the application from receiving messages from its peer.'"""
        check_bool(paused, "paused")
        s = self._get(socket_id)
        if s.paused == paused:
            return  # contract P3
        s.paused = paused
        if paused:
            s._update_reading()  # stop reading the OS socket now (contract P2)
        elif s._announced:
            # Held bytes first, in order; reading resumes when they are gone (contract P1).
            s._schedule_flush()

    async def set_keep_alive(self, socket_id: int, enable: bool, delay: int = 0) -> int:
        """'Enables or disables the keep-alive functionality for a TCP connection.'"""
        check_bool(enable, "enable")
        check_int(delay, "delay")
        if not 0 <= delay <= MAX_KEEP_ALIVE_DELAY:
            raise ValueError(
                f"delay must be 0..{MAX_KEEP_ALIVE_DELAY} seconds, not {delay}"
            )
        s = self._get(socket_id)
        return s.set_option(lambda sock: sockopts.set_keep_alive(sock, enable, delay))

    async def set_no_delay(self, socket_id: int, no_delay: bool) -> int:
        """'Sets or clears TCP_NODELAY for a TCP connection.'"""
        check_bool(no_delay, "no_delay")
        s = self._get(socket_id)
        return s.set_option(lambda sock: sockopts.set_no_delay(sock, no_delay))

    async def get_socket_options(self, socket_id: int) -> dict[str, bool | int | None] | None:
        """An extension for the window and tests: the TCP options as the kernel has them, or
        ``None`` when the socket is not connected."""
        s = self._get(socket_id)
        if s._sock is None or not s.state.connected:
            return None
        try:
            return sockopts.read_options(s._sock)
        except OSError:
            return None

    def error_detail(self, socket_id: int, call: str) -> str | None:
        """An extension for people: why the last ``connect()`` or ``secure()`` (``call``) on
        this socket failed, in the operating system's or OpenSSL's words (``"127.0.0.1:9:
        Connection refused"``, ``"certificate verify failed: certificate has expired"``), or
        ``None``. The result code stays the answer; this is the detail a tool shows beside it.
        """
        if call not in ("connect", "secure"):
            raise ValueError(f"call must be 'connect' or 'secure', not {call!r}")
        return self._get(socket_id).details.get(call)

    async def connect(
        self,
        socket_id: int,
        peer_address: str,
        peer_port: int,
        dns_query_type: DnsQueryType | str = DnsQueryType.ANY,
    ) -> int:
        """'Connects the socket to a remote machine.'"""
        check_socket_id(socket_id)
        if not isinstance(peer_address, str):
            raise TypeError(f"peer_address must be a str, not {type(peer_address).__name__}")
        if "\x00" in peer_address:
            # The resolver would read only the part before it: "localhost\0.example.com".
            raise ValueError("peer_address must not contain a NUL character")
        check_int(peer_port, "peer_port")
        if not 0 <= peer_port <= 65535:
            raise ValueError(f"peer_port must be in 0..65535, not {peer_port}")
        if not isinstance(dns_query_type, str):
            raise TypeError(
                f"dns_query_type must be a DnsQueryType or str, not {type(dns_query_type).__name__}"
            )
        try:
            query = DnsQueryType(dns_query_type)
        except ValueError:
            raise ValueError(
                f"dns_query_type must be 'any', 'ipv4' or 'ipv6', not {dns_query_type!r}"
            ) from None
        s = self._get(socket_id)
        rule = verdict(s.state, Op.CONNECT)
        if rule is not GO:
            return int(rule)  # type: ignore[arg-type]
        return await s.connect(peer_address, peer_port, query)

    async def disconnect(self, socket_id: int) -> None:
        """'Disconnects the socket.' The id stays valid (contract D1)."""
        s = self._get(socket_id)
        reading = s.drop()
        await _settle()
        if reading:
            s.report_closed_later()

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int:
        """'Start a TLS client connection over the connected TCP client socket.'"""
        check_socket_id(socket_id)
        if options is None:
            options = SecureOptions()
        elif not isinstance(options, SecureOptions):
            raise TypeError(f"options must be SecureOptions, not {type(options).__name__}")
        s = self._get(socket_id)
        rule = verdict(s.state, Op.SECURE)
        if rule is not GO:
            return int(rule)  # type: ignore[arg-type]
        if s._pending_error is not None or s._raw is None or s._raw.is_closing():
            # Still reported as connected until the held error is delivered (contract P4), but
            # there is no connection left to secure: say what ended it.
            return s._pending_error or NetError.SOCKET_NOT_CONNECTED
        return await s.secure(options)

    async def send(self, socket_id: int, data: bytes | bytearray | memoryview) -> SendInfo:
        """'Sends data on the given TCP socket.' Completes once every byte is with the OS."""
        check_socket_id(socket_id)
        size = _check_data(data)
        # The quota is checked after the argument's type and before the socket id (S4).
        if self._queued + size > self.write_quota:
            raise WriteQuotaExceededError()
        s = self._get(socket_id)
        payload = bytes(data)
        self._queued += size
        try:
            rule = verdict(s.state, Op.SEND)
            if rule is WAIT:
                code = await s.wait_secured()  # contract S5
                if code != NetError.OK:
                    return SendInfo(result_code=code)
                rule = verdict(s.state, Op.SEND)
            if rule is not GO:
                return SendInfo(result_code=int(rule))  # type: ignore[arg-type]
            code = await s.write(payload)
        finally:
            self._queued -= size
        if code != NetError.OK:
            return SendInfo(result_code=code)
        return SendInfo(result_code=NetError.OK, bytes_sent=size)

    async def close(self, socket_id: int) -> None:
        """'The socket id is no longer valid as soon at the function is called.'"""
        s = self._get(socket_id)
        reading = self._forget(s)
        await _settle()
        if reading:
            s.report_closed_later()  # contract D2: the event follows the close

    def _forget(self, s: _Socket) -> bool:
        del self._sockets[s.id]
        reading = s.drop()
        s.closed = True
        return reading

    async def get_info(self, socket_id: int) -> SocketInfo:
        """'Retrieves the state of the given socket.'"""
        return self._get(socket_id).info()

    async def get_sockets(self) -> list[SocketInfo]:
        """Every socket not yet closed, in any state, by ascending id (contract L1)."""
        return [self._sockets[sid].info() for sid in sorted(self._sockets)]

    async def suspend(self) -> None:
        """What Chrome does when an app's background page unloads: close the sockets that are
        not persistent (contract L2)."""
        await self._close_all(lambda s: not s.persistent)

    async def shutdown(self) -> None:
        """Close every socket."""
        await self._close_all(lambda s: True)

    async def _close_all(self, which: Callable[[_Socket], bool]) -> None:
        doomed = [s for _, s in sorted(self._sockets.items()) if which(s)]
        reading = [s for s in doomed if self._forget(s)]
        await _settle()
        for s in reading:
            s.report_closed_later()

    async def __aenter__(self) -> TcpSockets:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
