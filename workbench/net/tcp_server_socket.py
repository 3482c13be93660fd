"""One listening socket of ``chrome.sockets.tcpServer``: its listen, its accept loop, its end.

Accepting is done by hand on the event loop: ``loop.add_reader`` on the listening socket and
non-blocking ``accept()`` calls, rather than ``loop.create_server``. That gives the API what it
asks for (sockets-server-udp-contract.md):

- pause is exact (L7): the reader is removed, so new connections wait in the OS's listen
  backlog ('When paused, a listening socket accepts new connections until its backlog (see
  listen function) is full then refuses additional connection requests');
- an accept error is reported once (L10): the reader is removed with the pause, so a lasting
  error (``EMFILE``) cannot spin the loop.

Accepted OS sockets wait in ``_pending`` (a short queue: the reader stops while it is full)
until one task per server, the pump, hands them one by one to ``TcpSockets.adopt_accepted``
and reports each with ``on_accept``, in arrival order.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import errno
import ipaddress
import logging
import socket

from workbench.core.errors import NetError, map_os_error
from workbench.core.events import Event
from workbench.core.types import (
    AcceptErrorInfo,
    AcceptInfo,
    ChangeReason,
    ServerChange,
    ServerSocketInfo,
    ServerSocketProperties,
)
from workbench.net.tcp import TcpSockets
from workbench.net.tcp_connect import numeric_addresses
from workbench.net.words import reason

__all__ = ["ACCEPT_BATCH", "MAX_PENDING", "ServerEvents", "ServerSocket"]

_log = logging.getLogger("workbench.sockets")

#: accept() calls per readiness of the listening socket: a flood of connections shares the
#: loop with everything else.
ACCEPT_BATCH = 64
#: Accepted sockets not yet handed to ``TcpSockets``; while this many wait, the reader stops
#: and the OS's backlog holds the rest.
MAX_PENDING = 64

#: accept() failures that concern one connection that is already gone (the client reset it
#: while it waited in the backlog), not the listening socket: skipped, as a server should.
_TRANSIENT = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EINTR, errno.EPERM})


@dataclasses.dataclass(frozen=True, slots=True)
class ServerEvents:
    """What every server of one ``TcpServerSockets`` shares."""

    tcp: TcpSockets
    accept: Event[AcceptInfo]
    accept_error: Event[AcceptErrorInfo]
    changed: Event[ServerChange]


class ServerSocket:
    """One server socket. ``sock`` is the listening OS socket, ``None`` when not listening."""

    def __init__(self, events: ServerEvents, socket_id: int, props: ServerSocketProperties) -> None:
        self.events = events
        self.id = socket_id
        self.name: str | None = props.name
        self.persistent = bool(props.persistent)
        self.paused = False
        self.sock: socket.socket | None = None
        self.local: tuple[str, int] | None = None
        #: Why the last listen() or accept failed, in the operating system's words.
        self.detail: str | None = None
        self._pending: collections.deque[socket.socket] = collections.deque()
        # Adopted by TcpSockets but not yet reported: the server was paused meanwhile.
        self._ready: collections.deque[int] = collections.deque()
        self._reading = False
        self._pump: asyncio.Task[None] | None = None
        #: Set when the server leaves its registry: it reports nothing more (``CLOSED`` is
        #: ``TcpServerSockets``' to say).
        self.closed = False

    def __repr__(self) -> str:
        where = f" {self.local[0]}:{self.local[1]}" if self.local else ""
        flags = " paused" if self.paused else ""
        return f"<ServerSocket {self.id}{where}{flags}>"

    def info(self) -> ServerSocketInfo:
        local = self.local if self.sock is not None else None
        return ServerSocketInfo(
            socket_id=self.id,
            persistent=self.persistent,
            paused=self.paused,
            name=self.name,
            local_address=local[0] if local else None,
            local_port=local[1] if local else None,
        )

    def notify(self, reason: ChangeReason) -> None:
        """Tell ``on_changed`` listeners, with a fresh snapshot; no listener, no snapshot."""
        changed = self.events.changed
        if changed.listeners and not self.closed:
            changed.dispatch(ServerChange(self.id, reason, self.info()))

    def update(self, properties: ServerSocketProperties) -> None:
        """'If a property value is not specified, ... the existing value if preserved when
        calling update.'"""
        if properties.name is not None:
            self.name = properties.name
        if properties.persistent is not None:
            self.persistent = properties.persistent
        self.notify(ChangeReason.PROPERTIES)

    # -- listen ----------------------------------------------------------------------------

    def listen(self, address: str, port: int, backlog: int | None) -> int:
        """'Listens for connections on the specified port and address. If the port/address is
        in use, the callback indicates a failure.' (contract L2 to L4)"""
        if self.sock is not None:
            # L4: Chrome DCHECKs here; Linux answers a second bind() with EINVAL, which
            # Chromium maps to -4. The current listener is left alone.
            self.detail = "the socket is already listening; disconnect() it first"
            return NetError.INVALID_ARGUMENT
        sockaddr = _ip_literal(address, port)
        if sockaddr is None:
            # L3: 'the address must be an IP literal' (-108, where Chrome says -4 for a name).
            self.detail = f"{address!r} is not an IP address (a name is not resolved here)"
            return NetError.ADDRESS_INVALID
        family, sa = sockaddr
        try:
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        except OSError as exc:  # EMFILE and friends: an outcome, not a bug
            self.detail = reason(exc)
            return map_os_error(exc, "io")
        try:
            # 'The listening socket has SO_REUSEADDR (as Chromium sets for servers)' (L2), so
            # a port whose old connections linger in TIME_WAIT can be listened on again (L8).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sa)
            # 'The default value depends on the Operating System (SOMAXCONN)'
            sock.listen(socket.SOMAXCONN if backlog is None else backlog)
            sock.setblocking(False)
            local = sock.getsockname()
        except OSError as exc:
            sock.close()
            self.detail = reason(exc)
            return _listen_error(exc)
        self.sock = sock
        self.local = (str(local[0]), int(local[1]))
        self.detail = None
        self._watch()
        self.notify(ChangeReason.STATE)
        return NetError.OK

    def stop(self) -> list[int]:
        """Stop listening and free the port at once (contract L8). Connections accepted from
        the OS but not yet sockets of ``TcpSockets`` are closed; the ids of those that became
        sockets but were never reported (the server was paused) are returned for the caller
        to close. Sockets already reported stay connected."""
        pump, self._pump = self._pump, None
        if pump is not None and not pump.done():
            pump.cancel()
        self._unwatch()
        sock, self.sock = self.sock, None
        self.local = None
        if sock is not None:
            sock.close()
        while self._pending:
            self._pending.popleft().close()
        orphans = list(self._ready)
        self._ready.clear()
        if sock is not None:
            self.notify(ChangeReason.STATE)
        return orphans

    # -- pause -----------------------------------------------------------------------------

    def set_paused(self, paused: bool) -> None:
        """'Enables or disables a listening socket from accepting new connections.'"""
        if self.paused == paused:
            return
        self.paused = paused
        if paused:
            self._unwatch()  # L7: new connections wait in the backlog
        else:
            # 'onAccept events are raised only when the socket is un-paused': what waited is
            # reported first, in arrival order, then the backlog is read again.
            self._watch()
            self._start_pump()
        self.notify(ChangeReason.PAUSED)

    # -- accepting -------------------------------------------------------------------------

    def _watch(self) -> None:
        sock = self.sock
        if sock is None or self.paused or self._reading or len(self._pending) >= MAX_PENDING:
            return
        asyncio.get_running_loop().add_reader(sock.fileno(), self._on_readable)
        self._reading = True

    def _unwatch(self) -> None:
        if self._reading and self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self._reading = False

    def _on_readable(self) -> None:
        try:
            self._accept_some()
        except Exception:
            _log.exception("server socket %d: internal error while accepting", self.id)

    def _accept_some(self) -> None:
        sock = self.sock
        for _ in range(ACCEPT_BATCH):
            if sock is None or self.paused or len(self._pending) >= MAX_PENDING:
                break
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno in _TRANSIENT:
                    continue
                self._accept_failed(exc)
                return
            self._pending.append(conn)
        if len(self._pending) >= MAX_PENDING:
            self._unwatch()  # the backlog holds the rest until the pump catches up
        self._start_pump()

    def _accept_failed(self, exc: OSError) -> None:
        """'Once this event is raised, the socket is set to paused and no more onAccept events
        are raised for this socket until the socket is resumed.' (contract L10: EMFILE and
        ENFILE are -12, as Chromium maps them)"""
        self.detail = reason(exc)
        code = map_os_error(exc, "io")
        self.paused = True
        self._unwatch()  # no busy loop of errors: nothing reads until set_paused(False)
        # Paused first, then the event, as TcpSockets reports a receive error (R3).
        self.notify(ChangeReason.PAUSED)
        self.events.accept_error.dispatch(AcceptErrorInfo(socket_id=self.id, result_code=code))

    def _start_pump(self) -> None:
        if self._pump is not None or self.paused or not (self._pending or self._ready):
            return
        self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def _run_pump(self) -> None:
        """Hand the accepted sockets to ``TcpSockets``, one at a time, and report them."""
        try:
            await self._adopt_pending()
        except Exception:
            _log.exception("server socket %d: internal error while adopting", self.id)
        finally:
            if self._pump is asyncio.current_task():
                self._pump = None
        self._start_pump()  # more arrived, or it was resumed, while the last one ran

    async def _adopt_pending(self) -> None:
        tcp = self.events.tcp
        while not self.paused:
            if self._ready:
                client = self._ready.popleft()
                info = AcceptInfo(socket_id=self.id, client_socket_id=client)
                self.events.accept.dispatch(info)  # L5: one on_accept per connection
                continue
            if not self._pending:
                return
            conn = self._pending.popleft()
            self._watch()  # room in the queue again
            try:
                client = await tcp.adopt_accepted(conn)
            except OSError as exc:
                self._accept_failed(exc)
                return
            # L7: 'no on_accept while paused'; a pause that came during the await keeps it.
            self._ready.append(client)


def _ip_literal(address: str, port: int) -> tuple[int, tuple[object, ...]] | None:
    """The family and socket address of an IP literal (IPv6 without brackets, with or without
    a scope), or ``None`` for anything else: names, legacy forms such as ``"1.2.3"``."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    infos = numeric_addresses(address, port, socket.AF_UNSPEC)
    if not infos:
        return None
    family, _, _, _, sockaddr = infos[0]
    return int(family), tuple(sockaddr)


def _listen_error(exc: OSError) -> int:
    """L3: a port in use -147, an address this machine does not have -108 (EADDRNOTAVAIL). A
    port the user may not open (below 1024 without the right) is -138; Chromium says
    ERR_ACCESS_DENIED (-10), a code the core does not have."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return NetError.NETWORK_ACCESS_DENIED
    return map_os_error(exc, "io")
