"""``chrome.sockets.tcp`` on asyncio: ``TcpSockets``, the registry and the API.

One ``TcpSockets`` owns a registry of ``TcpSocket`` objects (``tcp_socket.py``: state, receive
path, sends); ``connect()`` and ``secure()`` run in ``tcp_connect.py`` and ``tcp_secure.py``.
What each call may do in each state, and every change of state, is the table in
``workbench.core.state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import Callable
from types import TracebackType

from workbench.core.errors import (
    NetError,
    WriteQuotaExceededError,
    map_os_error,
)
from workbench.core.events import Event
from workbench.core.options import MAX_KEEP_ALIVE_DELAY, OPTIONS
from workbench.core.starttls import check_protocol
from workbench.core.state import Op, Refuse, State, Wait, verdict
from workbench.core.types import (
    ChangeReason,
    CreateInfo,
    DnsQueryType,
    ReceivedRun,
    ReceiveErrorInfo,
    ReceiveInfo,
    SecureOptions,
    SendInfo,
    ServerSecureOptions,
    SocketChange,
    SocketInfo,
    SocketProperties,
    check_bool,
    check_int,
    check_socket_id,
)
from workbench.net import options as sockopts
from workbench.net import starttls as starttls_exchange
from workbench.net import tcp_connect, tcp_secure
from workbench.net.ids import IdTable
from workbench.net.tcp_socket import DEFAULT_BUFFER_SIZE, SocketEvents, TcpSocket
from workbench.net.tls_sessions import TlsSessions

__all__ = ["DEFAULT_BUFFER_SIZE", "DEFAULT_WRITE_QUOTA", "MAX_KEEP_ALIVE_DELAY", "TcpSockets"]

# Chrome's per-application write quota (extensions/browser/api/socket: kWriteQuota).
DEFAULT_WRITE_QUOTA = 200 * 2**20
#: shutdown() and suspend() close this many sockets between two turns of the loop.
CLOSE_BATCH = 128


async def _settle() -> None:
    """Let the callbacks asyncio scheduled for closed transports and cancelled tasks run, so a
    caller that closes its loop next leaves nothing pending (two hops: a TLS transport passes
    connection_lost on through its SSL protocol)."""
    for _ in range(2):
        await asyncio.sleep(0)


def _check_data(data: object) -> int:
    if isinstance(data, memoryview):
        return data.nbytes
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    raise TypeError(f"data must be bytes, bytearray or memoryview, not {type(data).__name__}")


def _set_option(s: TcpSocket, fn: Callable[[socket.socket], None]) -> int:
    rule = verdict(s.state, Op.SET_OPTION)
    if isinstance(rule, Refuse):
        return int(rule.code)
    if s.sock is None:
        return NetError.FAILED
    try:
        fn(s.sock)
    except OSError as exc:
        return map_os_error(exc, "io")
    return NetError.OK


class TcpSockets:
    """``chrome.sockets.tcp``: one per application.

    All methods are called on the event loop's thread; the loop is the running one, found at
    each call, so the same instance works on plain asyncio and under qasync.

    Events: ``on_receive`` (``ReceiveInfo``) and ``on_receive_error`` (``ReceiveErrorInfo``)
    are Chrome's. ``on_changed`` (``SocketChange``) is an extension for the session layer: it
    lets a window list every socket of this instance, whoever created it, without polling.
    It is dispatched synchronously, at the moment of the change, with a fresh ``SocketInfo``:

    - ``CREATED`` when ``create()`` made a socket;
    - ``STATE`` after every change of ``State`` (connecting, connected, securing, secure with
      ``info.tls`` filled, disconnected after a failure, a disconnect or the peer's close);
    - ``PAUSED`` when the ``paused`` flag changes, by ``set_paused()`` or because the core
      paused the socket itself (contract D1, R3);
    - ``PROPERTIES`` after ``update()``;
    - ``CLOSED`` (``state`` and ``info`` ``None``) when ``close()``, ``suspend()`` or
      ``shutdown()`` removed it; a socket being closed reports nothing else on its way out.

    ``on_received_run`` (``ReceivedRun``), another extension, follows each run of
    ``on_receive`` events cut from one read with their bytes together: for observers that keep
    or count bytes (the session's captures) and need not pay a call per chunk.

    Each change costs O(1), whatever the number of sockets. ``info_now()`` and ``state_of()``
    are the synchronous reads that go with it.
    """

    def __init__(self, write_quota: int = DEFAULT_WRITE_QUOTA) -> None:
        check_int(write_quota, "write_quota")
        if write_quota <= 0:
            raise ValueError(f"write_quota must be positive, not {write_quota}")
        self.write_quota = write_quota
        #: An extension: the key log file every TLS handshake of these sockets (secure(),
        #: secure_server()) writes its secrets to when its options name none: the program's
        #: global option, and SSLKEYLOGFILE. None: only the options that ask write keys.
        self.keylog_file: str | None = None
        self.on_receive: Event[ReceiveInfo] = Event("onReceive")
        self.on_receive_error: Event[ReceiveErrorInfo] = Event("onReceiveError")
        self.on_changed: Event[SocketChange] = Event("onChanged")
        self.on_received_run: Event[ReceivedRun] = Event("onReceivedRun")
        self._events = SocketEvents(
            self.on_receive, self.on_receive_error, self.on_changed, self.on_received_run
        )
        self._sockets: IdTable[TcpSocket] = IdTable()
        self._queued = 0
        #: The newest TLS session per (peer address, port, server name), for resume=True.
        self._tls_sessions = TlsSessions()
        #: Sockets whose STARTTLS exchange runs (a second starttls() on one is -4).
        self._exchanging: set[int] = set()

    def __repr__(self) -> str:
        return f"<TcpSockets sockets={self._sockets!r} queued={self._queued}>"

    def _get(self, socket_id: object) -> TcpSocket:
        return self._sockets.get(socket_id)

    async def create(self, properties: SocketProperties | None = None) -> CreateInfo:
        """'Creates a TCP socket.' Ids start at 1 and are never reused (contract C1)."""
        if properties is None:
            properties = SocketProperties()
        elif not isinstance(properties, SocketProperties):
            raise TypeError(f"properties must be SocketProperties, not {type(properties).__name__}")
        sid = self._sockets.take_id()
        s = self._sockets.add(sid, TcpSocket(self._events, sid, properties))
        s.notify(ChangeReason.CREATED)
        return CreateInfo(socket_id=sid)

    async def update(self, socket_id: int, properties: SocketProperties) -> None:
        """'Updates the socket properties.' Only the given fields change (contract C4)."""
        if not isinstance(properties, SocketProperties):
            raise TypeError(f"properties must be SocketProperties, not {type(properties).__name__}")
        self._get(socket_id).update(properties)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        """'Enables or disables the application from receiving messages from its peer.'"""
        check_bool(paused, "paused")
        self._get(socket_id).set_paused(paused)

    async def set_keep_alive(self, socket_id: int, enable: bool, delay: int = 0) -> int:
        """'Enables or disables the keep-alive functionality for a TCP connection.'"""
        return await self.set_option(socket_id, "keep_alive", enable, delay)

    async def set_no_delay(self, socket_id: int, no_delay: bool) -> int:
        """'Sets or clears TCP_NODELAY for a TCP connection.'"""
        return await self.set_option(socket_id, "no_delay", no_delay)

    async def set_option(self, socket_id: int, name: str, *args: bool | int) -> int:
        """An extension: set the option ``name`` of ``workbench.core.options.OPTIONS`` (what
        ``set_keep_alive`` and ``set_no_delay`` are), with its arguments in the order of its
        parameters. The arguments are checked first (``TypeError``, ``ValueError``), then the
        id, then the state (K1: -2 unless connected)."""
        spec = OPTIONS.get(name)
        if spec is None:
            raise ValueError(f"no such option {name!r}; one of {', '.join(OPTIONS)}")
        checked = spec.check(args)
        s = self._get(socket_id)
        return _set_option(s, lambda sock: sockopts.apply(sock, name, checked))

    async def get_socket_options(self, socket_id: int) -> dict[str, bool | int | None] | None:
        """An extension for the window and tests: the TCP options as the kernel has them, or
        ``None`` when the socket is not connected."""
        s = self._get(socket_id)
        if s.sock is None or not s.state.connected:
            return None
        try:
            return sockopts.read_options(s.sock)
        except OSError:
            return None

    def error_detail(self, socket_id: int, call: str) -> str | None:
        """An extension for people: why the last ``connect()``, ``secure()`` or ``starttls()``
        (``call``) on this socket failed, in the operating system's, OpenSSL's or the server's
        words (``"127.0.0.1:9: Connection refused"``, ``"certificate verify failed: certificate
        has expired"``, ``"smtp: the answer to STARTTLS: 454 TLS not available"``), or
        ``None``. The result code stays the answer; this is the detail a tool shows beside it.
        """
        if call not in ("connect", "secure", "starttls"):
            raise ValueError(f"call must be 'connect', 'secure' or 'starttls', not {call!r}")
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
        if isinstance(rule, Refuse):
            return int(rule.code)
        return await tcp_connect.connect(s, peer_address, peer_port, query)

    async def adopt_accepted(self, sock: socket.socket) -> int:
        """An extension used by ``TcpServerSockets``: make ``sock``, a connection a listening
        socket accepted, a new socket of this instance and return its id. The socket is
        connected, and paused ('Note the client socket is initially paused and must be
        explictly un-paused by the application to start receiving data.'); ids come from the
        same sequence as ``create()``'s (contract L5, L6). ``on_changed`` reports ``CREATED``
        (paused, not yet connected) and then ``STATE`` (connected).

        The OS refusing to take it on (out of memory) raises that ``OSError``, with ``sock``
        closed and no socket added; the caller turns it into a result code."""
        if not isinstance(sock, socket.socket):
            raise TypeError(f"sock must be a socket.socket, not {type(sock).__name__}")
        if sock.type != socket.SOCK_STREAM:
            raise ValueError("sock must be a TCP (SOCK_STREAM) socket")
        sid = self._sockets.take_id()  # never reused, even if the adoption fails
        s = TcpSocket(self._events, sid, SocketProperties())
        s.paused = True
        s.closed = True  # not in the registry yet: it reports nothing until it is
        await tcp_connect.adopt_accepted(s, sock)
        s.closed = False
        self._sockets.add(sid, s)
        s.notify(ChangeReason.CREATED)
        tcp_connect.accepted(s)
        return sid

    async def disconnect(self, socket_id: int) -> None:
        """'Disconnects the socket.' The id stays valid (contract D1)."""
        s = self._get(socket_id)
        reading = s.drop()
        await _settle()
        if reading:
            s.report_closed_later()

    async def reset(self, socket_id: int) -> None:
        """An extension (Chrome has no way to send a reset): ``disconnect()``, but the peer
        sees a reset (RST, ``ECONNRESET``) instead of a FIN. SO_LINGER is set to 0 first, so
        the close aborts the connection; bytes still queued in the OS are thrown away, as an
        RST does. Otherwise exactly ``disconnect()``: the id stays valid, a socket that was
        reading reports -100. On a socket with no connection it is just ``disconnect()``."""
        s = self._get(socket_id)
        if s.sock is not None and s.state.connected:
            # An OSError: the connection is already gone, and there is nothing to reset.
            with contextlib.suppress(OSError):
                sockopts.set_linger_zero(s.sock)
        await self.disconnect(socket_id)

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int:
        """'Start a TLS client connection over the connected TCP client socket.'"""
        check_socket_id(socket_id)
        if options is None:
            options = SecureOptions()
        elif not isinstance(options, SecureOptions):
            raise TypeError(f"options must be SecureOptions, not {type(options).__name__}")
        s = self._get(socket_id)
        rule = verdict(s.state, Op.SECURE)
        if isinstance(rule, Refuse):
            return int(rule.code)
        blocker = s.secure_blocker()
        if blocker is not None:
            return blocker
        if options.keylog_file is None and self.keylog_file is not None:
            options = dataclasses.replace(options, keylog_file=self.keylog_file)
        return await tcp_secure.secure(s, options, self._tls_sessions)

    async def starttls(
        self,
        socket_id: int,
        protocol: str,
        options: SecureOptions | None = None,
        *,
        send: starttls_exchange.SendCall | None = None,
        received: bytes = b"",
    ) -> int:
        """An extension (contract ST1 to ST4): ``protocol``'s plaintext exchange (one of
        ``STARTTLS_PROTOCOLS``), as ``openssl s_client -starttls`` runs it, then ``secure()``
        with ``options``. -320 when the server refuses (``error_detail(id, "starttls")``
        quotes it; the socket stays connected and plain), -7 when it does not finish within
        the handshake time-out, -4 unless the socket is connected and plain.

        Two keywords for callers that sit between the user and the socket: ``send`` sends the
        commands (a session passes its logged send); ``received`` is plaintext this socket
        already delivered that the exchange has not seen (a greeting shown before the call):
        it is read first, before what arrives."""
        check_socket_id(socket_id)
        check_protocol(protocol)
        if not isinstance(received, bytes):
            raise TypeError(f"received must be bytes, not {type(received).__name__}")
        if options is None:
            options = SecureOptions()
        elif not isinstance(options, SecureOptions):
            raise TypeError(f"options must be SecureOptions, not {type(options).__name__}")
        s = self._get(socket_id)
        if s.state is not State.CONNECTED or socket_id in self._exchanging:
            return NetError.INVALID_ARGUMENT  # as secure(), T1
        self._exchanging.add(socket_id)
        try:
            return await starttls_exchange.starttls(
                self, s, protocol, options, send or self.send, received
            )
        finally:
            self._exchanging.discard(socket_id)

    async def secure_server(self, socket_id: int, options: ServerSecureOptions) -> int:
        """An extension Chrome lacks (contract LS1): run the TLS handshake as the server on a
        connected socket, in place (an accepted one, or a STARTTLS server's after its "go
        ahead"). The client speaks first, so nothing is read from the OS before the handshake;
        bytes already held are plaintext and come first. 0 and ``get_info().tls`` filled on
        success; -4 when the socket is not connected and plain (as ``secure()``, T1) or a file
        of ``options`` cannot be used (nothing sent, the socket stays plain); handshake
        failures as in T5, with a required client certificate missing -110 or untrusted -117.
        """
        check_socket_id(socket_id)
        if not isinstance(options, ServerSecureOptions):
            raise TypeError(f"options must be ServerSecureOptions, not {type(options).__name__}")
        s = self._get(socket_id)
        rule = verdict(s.state, Op.SECURE)
        if isinstance(rule, Refuse):
            return int(rule.code)
        blocker = s.secure_blocker()
        if blocker is not None:
            return blocker
        if options.keylog_file is None and self.keylog_file is not None:
            options = dataclasses.replace(options, keylog_file=self.keylog_file)
        return await tcp_secure.secure_server(s, options)

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
            while isinstance(rule, Wait):
                code = await s.ops.wait_secured()  # contract S5
                if code != NetError.OK:
                    return SendInfo(result_code=code)
                rule = verdict(s.state, Op.SEND)
            if isinstance(rule, Refuse):
                return SendInfo(result_code=int(rule.code))
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

    def _forget(self, s: TcpSocket) -> bool:
        self._sockets.remove(s.id)
        s.closed = True  # before drop(): a socket on its way out reports only CLOSED
        reading = s.drop()
        if self.on_changed.listeners:
            self.on_changed.dispatch(SocketChange(s.id, ChangeReason.CLOSED, None, None))
        return reading

    async def get_info(self, socket_id: int) -> SocketInfo:
        """'Retrieves the state of the given socket.'"""
        return self._get(socket_id).info()

    async def get_sockets(self) -> list[SocketInfo]:
        """Every socket not yet closed, in any state, by ascending id (contract L1)."""
        return [s.info() for s in self._sockets.in_order()]

    def info_now(self, socket_id: int) -> SocketInfo:
        """An extension for the session layer: ``get_info()`` without the await, for a listener
        of ``on_changed`` or a view that must answer at once. ``SocketNotFoundError`` for an
        unknown or closed id."""
        return self._get(socket_id).info()

    def socket_ids(self) -> list[int]:
        """An extension for the session layer: the ids of every socket not yet closed, in
        ascending order (what ``get_sockets()`` lists), read synchronously."""
        return self._sockets.ids()

    def state_of(self, socket_id: int) -> State:
        """An extension for the session layer: the socket's ``State`` (finer than
        ``SocketInfo.connected``), read synchronously. ``SocketNotFoundError`` for an unknown or
        closed id."""
        return self._get(socket_id).state

    async def suspend(self) -> None:
        """What Chrome does when an app's background page unloads: close the sockets that are
        not persistent (contract L2)."""
        await self._close_all(lambda s: not s.persistent)

    async def shutdown(self) -> None:
        """Close every socket."""
        await self._close_all(lambda s: True)

    async def _close_all(self, which: Callable[[TcpSocket], bool]) -> None:
        doomed = [s for s in self._sockets.in_order() if which(s)]
        reading = []
        for i, s in enumerate(doomed):
            if self._forget(s):
                reading.append(s)
            if i % CLOSE_BATCH == CLOSE_BATCH - 1:
                # Ten thousand closes are seconds of system calls: let the loop (and a window
                # on it) run between batches. The ids are already gone from the registry
                # batch by batch; a socket created meanwhile is not closed by this call.
                await asyncio.sleep(0)
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
