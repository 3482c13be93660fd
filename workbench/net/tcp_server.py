"""``chrome.sockets.tcpServer`` on asyncio: ``TcpServerSockets``, the registry and the API.

'Use the chrome.sockets.tcpServer API to create server applications using TCP connections.'
(sockets_tcp_server.idl). The rows of sockets-server-udp-contract.md (L1 to L11) are the
behaviour; one ``ServerSocket`` (``tcp_server_socket.py``) is one listening socket and its
accept loop. Accepted connections become sockets of the ``TcpSockets`` given to the
constructor, through ``TcpSockets.adopt_accepted``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType

from workbench.core.errors import SocketNotFoundError
from workbench.core.events import Event
from workbench.core.types import (
    AcceptErrorInfo,
    AcceptInfo,
    ChangeReason,
    CreateInfo,
    ServerChange,
    ServerSocketInfo,
    ServerSocketProperties,
    check_bool,
    check_int,
    check_socket_id,
)
from workbench.net.ids import IdTable
from workbench.net.tcp import TcpSockets
from workbench.net.tcp_server_socket import ServerEvents, ServerSocket

__all__ = ["TcpServerSockets"]


def _check_properties(properties: object) -> None:
    if not isinstance(properties, ServerSocketProperties):
        raise TypeError(
            f"properties must be ServerSocketProperties, not {type(properties).__name__}"
        )


class TcpServerSockets:
    """``chrome.sockets.tcpServer``: listening sockets whose connections become sockets of
    ``tcp``.

    All methods are called on the event loop's thread. Server ids are their own sequence,
    from 1, never reused (contract L1: in Chrome they come from another resource manager than
    ``chrome.sockets.tcp``'s). Events: ``on_accept`` (``AcceptInfo``) and ``on_accept_error``
    (``AcceptErrorInfo``); a listener that raises is logged and the others still run.
    ``on_changed`` (``ServerChange``) is an extension for the session layer, as
    ``TcpSockets.on_changed`` is: one event per change of one server (created, listening
    started or stopped, paused or resumed, properties, closed), whoever made it.
    """

    def __init__(self, tcp: TcpSockets) -> None:
        if not isinstance(tcp, TcpSockets):
            raise TypeError(f"tcp must be TcpSockets, not {type(tcp).__name__}")
        self.tcp = tcp
        self.on_accept: Event[AcceptInfo] = Event("onAccept")
        self.on_accept_error: Event[AcceptErrorInfo] = Event("onAcceptError")
        self.on_changed: Event[ServerChange] = Event("onChanged")
        self._events = ServerEvents(tcp, self.on_accept, self.on_accept_error, self.on_changed)
        self._servers: IdTable[ServerSocket] = IdTable()

    def __repr__(self) -> str:
        return f"<TcpServerSockets servers={self._servers!r}>"

    def _get(self, socket_id: object) -> ServerSocket:
        return self._servers.get(socket_id)

    async def create(self, properties: ServerSocketProperties | None = None) -> CreateInfo:
        """'Creates a TCP server socket.' (contract L1)"""
        if properties is None:
            properties = ServerSocketProperties()
        _check_properties(properties)
        sid = self._servers.take_id()
        server = self._servers.add(sid, ServerSocket(self._events, sid, properties))
        server.notify(ChangeReason.CREATED)
        return CreateInfo(socket_id=sid)

    async def update(self, socket_id: int, properties: ServerSocketProperties) -> None:
        """'Updates the socket properties.'"""
        _check_properties(properties)
        self._get(socket_id).update(properties)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        """'Enables or disables a listening socket from accepting new connections. When
        paused, a listening socket accepts new connections until its backlog (see listen
        function) is full then refuses additional connection requests. onAccept events are
        raised only when the socket is un-paused.' (contract L7, L10)"""
        check_bool(paused, "paused")
        self._get(socket_id).set_paused(paused)

    async def listen(
        self, socket_id: int, address: str, port: int, backlog: int | None = None
    ) -> int:
        """'Listens for connections on the specified port and address.' ``address`` must be
        an IP literal; 'When set to 0, a free port is chosen dynamically. The dynamically
        allocated port can be found by calling getInfo.' (contract L2 to L4)"""
        check_socket_id(socket_id)
        if not isinstance(address, str):
            raise TypeError(f"address must be a str, not {type(address).__name__}")
        if "\x00" in address:
            raise ValueError("address must not contain a NUL character")
        check_int(port, "port")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {port}")
        if backlog is not None:
            check_int(backlog, "backlog")
            if backlog < 0:
                raise ValueError(f"backlog must not be negative, not {backlog}")
        return self._get(socket_id).listen(address, port, backlog)

    async def disconnect(self, socket_id: int) -> None:
        """'Disconnects the listening socket, i.e. stops accepting new connections and
        releases the address/port the socket is bound to. The socket identifier remains
        valid' (contract L8)."""
        await self._stop(self._get(socket_id))

    async def close(self, socket_id: int) -> None:
        """'Disconnects and destroys the socket. ... The socket id is no longer valid as soon
        at the function is called.' (contract L9)"""
        await self._remove(self._get(socket_id))

    async def _remove(self, server: ServerSocket) -> None:
        """Out of the registry first (the id is gone at once), then ``CLOSED``, then the
        port is freed; a closing server reports no ``STATE`` of its own."""
        self._servers.remove(server.id)
        server.closed = True
        if self.on_changed.listeners:
            self.on_changed.dispatch(ServerChange(server.id, ChangeReason.CLOSED, None))
        await self._stop(server)

    async def _stop(self, server: ServerSocket) -> None:
        for client in server.stop():
            # Accepted, but never reported: nobody knows its id, so nobody would close it.
            # It may be gone already: tcp.shutdown(), or a listener of tcp.on_changed.
            with contextlib.suppress(SocketNotFoundError):
                await self.tcp.close(client)

    async def get_info(self, socket_id: int) -> ServerSocketInfo:
        """'Retrieves the state of the given socket.'"""
        return self._get(socket_id).info()

    async def get_sockets(self) -> list[ServerSocketInfo]:
        """'Retrieves the list of currently opened sockets owned by the application.', by
        ascending id."""
        return [s.info() for s in self._servers.in_order()]

    def info_now(self, socket_id: int) -> ServerSocketInfo:
        """An extension for the session layer: ``get_info()`` without the await."""
        return self._get(socket_id).info()

    def server_ids(self) -> list[int]:
        """An extension for the session layer: the ids of every server not yet closed, in
        ascending order (what ``get_sockets()`` lists), read synchronously."""
        return self._servers.ids()

    def error_detail(self, socket_id: int) -> str | None:
        """An extension for people: why the last ``listen()`` or accept failed, in the
        operating system's words (``"[Errno 98] Address already in use"``), or ``None``."""
        return self._get(socket_id).detail

    async def suspend(self) -> None:
        """Close the servers that are not persistent, as ``TcpSockets.suspend()`` does for
        sockets (contract L11). Accepted sockets are ``tcp``'s, and stay."""
        await self._close_all(lambda s: not s.persistent)

    async def shutdown(self) -> None:
        """Close every server (contract L11)."""
        await self._close_all(lambda s: True)

    async def _close_all(self, which: Callable[[ServerSocket], bool]) -> None:
        doomed = [s for s in self._servers.in_order() if which(s)]
        for server in doomed:
            await self._remove(server)
        await asyncio.sleep(0)  # let the cancelled accept tasks finish

    async def __aenter__(self) -> TcpServerSockets:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
