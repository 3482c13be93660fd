"""One socket of ``chrome.sockets.udp``: its bind, its receive loop, its sends, its groups.

Reading is done by hand on the event loop: ``loop.add_reader`` on the non-blocking socket and
``recvfrom`` calls, at most ``READ_BATCH`` datagrams per readiness, so a flood shares the loop
with everything else. That gives the API what it asks for (sockets-server-udp-contract.md):

- one ``on_receive`` per datagram, cut to ``buffer_size`` (D6: 'If the buffer is too small to
  receive the UDP packet, data is lost'); on Linux ``MSG_TRUNC`` tells the length it had;
- pause is exact (D7): the reader is removed, so datagrams wait in the OS's receive buffer;
- a receive error is reported once and pauses the socket (D8). ``IP_RECVERR`` is set, so an
  ICMP error (port unreachable) reaches this unconnected socket at all; its copy in the error
  queue is drained (``MSG_ERRQUEUE``), or epoll would report the socket forever.

The OS socket is made at ``bind()``, when the address family is known; multicast TTL and
loopback set before that are kept and applied there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
import sys
from collections.abc import Callable

from workbench.core.errors import NetError, map_os_error
from workbench.core.events import Event
from workbench.core.types import (
    ChangeReason,
    ReceiveErrorInfo,
    SendInfo,
    UdpChange,
    UdpReceiveInfo,
    UdpSocketInfo,
    UdpSocketProperties,
)
from workbench.net import udp_options
from workbench.net.words import reason

__all__ = ["DEFAULT_BUFFER_SIZE", "READ_BATCH", "UdpEvents", "UdpSocket"]

_log = logging.getLogger("workbench.sockets")

#: 'The default value is 4096.' (SocketProperties.bufferSize)
DEFAULT_BUFFER_SIZE = 4096
#: recvfrom() calls per readiness of the socket.
READ_BATCH = 64
#: No datagram is longer (the IPv4 and IPv6 length fields are 16 bits; jumbograms aside), so
#: a larger buffer_size reads with this much.
_MAX_READ = 65535

#: Linux reports the length a datagram had, however much of it the buffer took.
_MSG_TRUNC = socket.MSG_TRUNC if sys.platform.startswith("linux") else 0
_MSG_ERRQUEUE: int = getattr(socket, "MSG_ERRQUEUE", 0)

#: Errors an earlier datagram's ICMP answer leaves on the socket (IP_RECVERR): the next
#: sendto() returns one of them instead of sending. The datagram itself is fine and goes out
#: on a second try; the receive side reports the error from the error queue.
_ASYNC_ERRORS = frozenset(
    {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
)


@dataclasses.dataclass(frozen=True, slots=True)
class UdpEvents:
    """What every socket of one ``UdpSockets`` shares."""

    receive: Event[UdpReceiveInfo]
    receive_error: Event[ReceiveErrorInfo]
    changed: Event[UdpChange]


class UdpSocket:
    """One UDP socket. ``sock`` is the bound OS socket, ``None`` until ``bind()``."""

    def __init__(self, events: UdpEvents, socket_id: int, props: UdpSocketProperties) -> None:
        self.events = events
        self.id = socket_id
        self.name: str | None = props.name
        self.persistent = bool(props.persistent)
        self.buffer_size = _buffer_size_or_none(props.buffer_size)
        self.paused = False
        self.closed = False
        self.sock: socket.socket | None = None
        self.local: tuple[str, int] | None = None
        #: Why the last bind, send, join or receive failed, in the operating system's words.
        self.detail: str | None = None
        #: Joined groups, normalized, in the order they were joined.
        self.groups: list[str] = []
        self.ttl: int | None = None
        self.loopback: bool | None = None
        #: Sends hold it from the call to the datagram's leaving: 'sends complete in call
        #: order' (D5), names and all. asyncio's Lock is FIFO and takes no turn when free.
        self.send_lock = asyncio.Lock()
        self._reading = False
        self._buffer = bytearray()
        self._writable: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        where = f" {self.local[0]}:{self.local[1]}" if self.local else ""
        flags = " paused" if self.paused else ""
        return f"<UdpSocket {self.id}{where}{flags}>"

    # -- what it looks like ----------------------------------------------------------------

    def info(self) -> UdpSocketInfo:
        local = self.local
        return UdpSocketInfo(
            socket_id=self.id,
            persistent=self.persistent,
            paused=self.paused,
            name=self.name,
            buffer_size=self.buffer_size,
            local_address=local[0] if local else None,
            local_port=local[1] if local else None,
        )

    def notify(self, why: ChangeReason) -> None:
        changed = self.events.changed
        if changed.listeners and not self.closed:
            changed.dispatch(UdpChange(self.id, why, self.info()))

    def update(self, properties: UdpSocketProperties) -> None:
        """'If a property value is not specified, ... the existing value if preserved when
        calling update.' A new ``buffer_size`` applies from the next datagram."""
        if properties.name is not None:
            self.name = properties.name
        if properties.persistent is not None:
            self.persistent = properties.persistent
        if properties.buffer_size is not None:
            self.buffer_size = _buffer_size_or_none(properties.buffer_size)
        self.notify(ChangeReason.PROPERTIES)

    def set_paused(self, paused: bool) -> None:
        """'A paused socket is blocked from firing onReceive events.' (D7)"""
        if self.paused == paused:
            return
        self.paused = paused
        if paused:
            self._unwatch()  # datagrams wait in the OS's buffer
        else:
            self._watch()
        self.notify(ChangeReason.PAUSED)

    # -- bind and close --------------------------------------------------------------------

    def bind(self, family: int, sockaddr: tuple[object, ...]) -> int:
        """'Binds the local address and port for the socket.' (D2, D3)"""
        if self.sock is not None:
            return self.refuse_rebind()
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        except OSError as exc:  # EMFILE and friends: an outcome, not a bug
            self.detail = reason(exc)
            return map_os_error(exc, "io")
        try:
            udp_options.enable_receive_errors(sock)
            if self.ttl is not None:
                udp_options.set_multicast_ttl(sock, self.ttl)
            if self.loopback is not None:
                udp_options.set_multicast_loopback(sock, self.loopback)
            sock.bind(sockaddr)
            sock.setblocking(False)
            local = sock.getsockname()
            udp_options.set_multicast_interface(sock, str(local[0]))
        except OSError as exc:
            sock.close()
            self.detail = reason(exc)
            return _bind_error(exc)
        self.sock = sock
        self.local = (str(local[0]), int(local[1]))
        self.detail = None
        self._watch()
        self.notify(ChangeReason.STATE)
        return NetError.OK

    def bound_socket(self) -> socket.socket | None:
        """The OS socket now: a call that awaited reads it again through this."""
        return self.sock

    def refuse_rebind(self) -> int:
        """D3: Chromium answers ERR_CONNECTION_FAILED (-104) for a socket that is already bound
        (UDPSocket::Bind, IsConnectedOrBound()); the binding is kept."""
        self.detail = "the socket is already bound; close it and create another"
        return NetError.CONNECTION_FAILED

    def close(self) -> None:
        """Free the port at once (D11); a send waiting for room answers -3."""
        self.closed = True
        self._unwatch()
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        self.groups.clear()
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- receiving -------------------------------------------------------------------------

    def _watch(self) -> None:
        if self.sock is None or self.paused or self._reading:
            return
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._on_readable)
        self._reading = True

    def _unwatch(self) -> None:
        if self._reading and self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self._reading = False

    def _on_readable(self) -> None:
        try:
            self._read_some()
        except Exception:
            _log.exception("udp socket %d: internal error while reading", self.id)

    def _read_some(self) -> None:
        sock = self.sock
        receive = self.events.receive
        for _ in range(READ_BATCH):
            # A listener may have paused or closed the socket, or changed buffer_size.
            if sock is None or self.sock is not sock or self.paused:
                return
            size = min(self.buffer_size or DEFAULT_BUFFER_SIZE, _MAX_READ)
            if len(self._buffer) < size:
                self._buffer = bytearray(size)
            try:
                length, address = sock.recvfrom_into(self._buffer, size, _MSG_TRUNC)
            except InterruptedError:
                continue
            except BlockingIOError:
                break
            except OSError as exc:
                self._drain_error_queue(sock)
                self._receive_failed(exc.errno or 0)
                return
            kept = min(length, size)
            receive.dispatch(
                UdpReceiveInfo(
                    socket_id=self.id,
                    data=bytes(memoryview(self._buffer)[:kept]),
                    remote_address=str(address[0]),
                    remote_port=int(address[1]),
                    original_length=length if length > size else None,
                )
            )
        else:
            return  # a full batch: the loop comes back while more waits
        # Nothing more to read: an ICMP error may wait in the error queue (its sendto() took
        # the socket's pending error, so recvfrom did not say it).
        if self.sock is sock and not self.paused:
            code = self._drain_error_queue(sock)
            if code is not None:
                self._receive_failed(code)

    def _drain_error_queue(self, sock: socket.socket) -> int | None:
        """Empty the socket's error queue; the errno of its first entry, or ``None``."""
        if not _MSG_ERRQUEUE:
            return None
        first: int | None = None
        for _ in range(READ_BATCH):
            try:
                _, ancdata, _, _ = sock.recvmsg(1, 1024, _MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except OSError:
                break
            for _, _, payload in ancdata:
                # struct sock_extended_err starts with __u32 ee_errno.
                if first is None and len(payload) >= 4:
                    first = int.from_bytes(payload[:4], sys.byteorder)
        return first

    def _receive_failed(self, error: int) -> None:
        """'Once this event is raised, the socket is paused and no more onReceive events will
        be raised for this socket until the socket is resumed.' (D8)"""
        self.detail = reason(OSError(error, "")) if error else "the socket reported an error"
        code = map_os_error(error, "io")
        self.paused = True
        self._unwatch()  # no busy loop of errors: nothing reads until set_paused(False)
        self.notify(ChangeReason.PAUSED)
        self.events.receive_error.dispatch(ReceiveErrorInfo(socket_id=self.id, result_code=code))

    # -- sending ---------------------------------------------------------------------------

    async def send_to(
        self, data: bytes | bytearray | memoryview, sockaddr: tuple[object, ...]
    ) -> SendInfo:
        """Send one datagram (D5); the caller holds ``send_lock``."""
        sock = self.sock
        retried = False
        while True:
            if sock is None or self.sock is not sock:
                self.detail = "the socket was closed before the datagram left"
                return SendInfo(result_code=NetError.ABORTED)
            try:
                sent = sock.sendto(data, sockaddr)
            except InterruptedError:
                continue
            except BlockingIOError:
                await self._wait_writable(sock)
                continue
            except OSError as exc:
                if exc.errno in _ASYNC_ERRORS and not retried:
                    retried = True  # an earlier datagram's ICMP error, not this one's
                    continue
                self.detail = reason(exc)
                if exc.errno in (errno.EACCES, errno.EPERM):
                    # A broadcast address without set_broadcast(True), or a firewall: Chromium
                    # says ERR_ACCESS_DENIED (-10), a code the core does not have.
                    return SendInfo(result_code=NetError.NETWORK_ACCESS_DENIED)
                return SendInfo(result_code=map_os_error(exc, "io"))
            return SendInfo(result_code=NetError.OK, bytes_sent=sent)

    async def _wait_writable(self, sock: socket.socket) -> None:
        """The OS's send buffer is full: wait until it has room (or the socket closes)."""
        loop = asyncio.get_running_loop()
        waiter = self._writable = loop.create_future()

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(None)

        loop.add_writer(sock.fileno(), ready)
        try:
            await waiter
        finally:
            if self.sock is sock:
                loop.remove_writer(sock.fileno())
            if self._writable is waiter:
                self._writable = None

    # -- multicast and broadcast -----------------------------------------------------------

    def set_membership(self, group: str, join: bool) -> int:
        """Join or leave ``group``, a normalized multicast literal of the socket's family."""
        sock = self.sock
        if sock is None or self.local is None:
            self.detail = "the socket must be bound first"
            return NetError.SOCKET_NOT_CONNECTED
        try:
            udp_options.set_membership(sock, group, self.local[0], join)
        except OSError as exc:
            self.detail = reason(exc)
            return map_os_error(exc, "io")
        if join:
            self.groups.append(group)
        else:
            self.groups.remove(group)
        return NetError.OK

    def set_multicast_ttl(self, ttl: int) -> int:
        self.ttl = ttl
        return self._apply(lambda sock: udp_options.set_multicast_ttl(sock, ttl))

    def set_multicast_loopback(self, enabled: bool) -> int:
        self.loopback = enabled
        return self._apply(lambda sock: udp_options.set_multicast_loopback(sock, enabled))

    def set_broadcast(self, enabled: bool) -> int:
        if self.sock is None:
            self.detail = "the socket must be bound first"
            return NetError.SOCKET_NOT_CONNECTED  # D10, as Chromium's UDPSocket::SetBroadcast
        return self._apply(lambda sock: udp_options.set_broadcast(sock, enabled))

    def _apply(self, setter: Callable[[socket.socket], None]) -> int:
        sock = self.sock
        if sock is None:
            return NetError.OK  # kept, and applied at bind (D9)
        try:
            setter(sock)
        except OSError as exc:
            self.detail = reason(exc)
            return map_os_error(exc, "io")
        return NetError.OK


def _buffer_size_or_none(value: int | None) -> int | None:
    # As TCP's contract C2: a buffer_size <= 0 means "unset": 4096, reported as None.
    return value if value is not None and value > 0 else None


def _bind_error(exc: OSError) -> int:
    """D3: a port in use -147, an address this machine does not have -108 (EADDRNOTAVAIL). A
    port the user may not open (below 1024 without the right) is -138."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return NetError.NETWORK_ACCESS_DENIED
    return map_os_error(exc, "io")
