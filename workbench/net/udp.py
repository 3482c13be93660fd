"""``chrome.sockets.udp`` on asyncio: ``UdpSockets``, the registry and the API.

'Use the chrome.sockets.udp API to send and receive data over the network using UDP
connections.' (sockets_udp.idl). The rows of sockets-server-udp-contract.md (D1 to D11) are
the behaviour; one ``UdpSocket`` (``udp_socket.py``) is one socket, its receive loop and its
sends; ``udp_resolve.py`` turns addresses into socket addresses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

from workbench.core.errors import NetError
from workbench.core.events import Event
from workbench.core.types import (
    ChangeReason,
    CreateInfo,
    DnsQueryType,
    ReceiveErrorInfo,
    SendInfo,
    UdpChange,
    UdpReceiveInfo,
    UdpSocketInfo,
    UdpSocketProperties,
    check_bool,
    check_int,
    check_socket_id,
)
from workbench.net import udp_resolve
from workbench.net.ids import IdTable
from workbench.net.udp_socket import DEFAULT_BUFFER_SIZE, UdpEvents, UdpSocket

__all__ = ["DEFAULT_BUFFER_SIZE", "UdpSockets"]


def _check_properties(properties: object) -> None:
    if not isinstance(properties, UdpSocketProperties):
        raise TypeError(f"properties must be UdpSocketProperties, not {type(properties).__name__}")


def _check_address(address: object, name: str = "address") -> str:
    if not isinstance(address, str):
        raise TypeError(f"{name} must be a str, not {type(address).__name__}")
    if "\x00" in address:
        # The resolver would read only the part before it: "localhost\0.example.com".
        raise ValueError(f"{name} must not contain a NUL character")
    return address


def _check_port(port: object) -> int:
    port = check_int(port, "port")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be in 0..65535, not {port}")
    return port


def _check_query(value: object) -> DnsQueryType:
    if not isinstance(value, str):
        raise TypeError(f"dns_query_type must be a DnsQueryType or str, not {type(value).__name__}")
    try:
        return DnsQueryType(value)
    except ValueError:
        raise ValueError(f"dns_query_type must be 'any', 'ipv4' or 'ipv6', not {value!r}") from None


def _check_data(data: object) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, bytearray or memoryview, not {type(data).__name__}")


class UdpSockets:
    """``chrome.sockets.udp``: one per application.

    All methods are called on the event loop's thread. Ids are their own sequence, from 1,
    never reused (D1: in Chrome they come from another resource manager than
    ``chrome.sockets.tcp``'s). Events: ``on_receive`` (``UdpReceiveInfo``, one per datagram)
    and ``on_receive_error`` (``ReceiveErrorInfo``); a listener that raises is logged and the
    others still run.

    Extensions for the session layer: ``on_changed`` (``UdpChange``) reports, synchronously,
    ``CREATED``, ``STATE`` (bound), ``PAUSED`` (by ``set_paused()`` or a receive error),
    ``PROPERTIES`` and ``CLOSED`` (``info`` ``None``); ``info_now()``, ``socket_ids()`` and
    ``error_detail()`` are the synchronous reads that go with it.
    """

    def __init__(self) -> None:
        self.on_receive: Event[UdpReceiveInfo] = Event("onReceive")
        self.on_receive_error: Event[ReceiveErrorInfo] = Event("onReceiveError")
        self.on_changed: Event[UdpChange] = Event("onChanged")
        self._events = UdpEvents(self.on_receive, self.on_receive_error, self.on_changed)
        self._sockets: IdTable[UdpSocket] = IdTable()

    def __repr__(self) -> str:
        return f"<UdpSockets sockets={self._sockets!r}>"

    def _get(self, socket_id: object) -> UdpSocket:
        return self._sockets.get(socket_id)

    async def create(self, properties: UdpSocketProperties | None = None) -> CreateInfo:
        """'Creates a UDP socket with the given properties.' (D1)"""
        if properties is None:
            properties = UdpSocketProperties()
        _check_properties(properties)
        sid = self._sockets.take_id()
        s = self._sockets.add(sid, UdpSocket(self._events, sid, properties))
        s.notify(ChangeReason.CREATED)
        return CreateInfo(socket_id=sid)

    async def update(self, socket_id: int, properties: UdpSocketProperties) -> None:
        """'Updates the socket properties.'"""
        _check_properties(properties)
        self._get(socket_id).update(properties)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        """'Pauses or unpauses a socket. A paused socket is blocked from firing onReceive
        events.' (D7: the core stops reading; datagrams wait in the OS's buffer)"""
        check_bool(paused, "paused")
        self._get(socket_id).set_paused(paused)

    async def bind(self, socket_id: int, address: str, port: int) -> int:
        """'Binds the local address and port for the socket. ... Once the bind operation
        completes successfully, onReceive events are raised when UDP packets arrive on the
        address/port specified -- unless the socket is paused.' (D2, D3)"""
        check_socket_id(socket_id)
        _check_address(address)
        _check_port(port)
        s = self._get(socket_id)
        if s.sock is not None:
            return s.refuse_rebind()
        family, where = await udp_resolve.bind_address(address, port)
        if s.closed:
            return NetError.ABORTED
        if family is None:
            code, s.detail = where
            return int(code)
        return s.bind(family, where)

    async def send(
        self,
        socket_id: int,
        data: bytes | bytearray | memoryview,
        address: str,
        port: int,
        dns_query_type: DnsQueryType | str = DnsQueryType.ANY,
    ) -> SendInfo:
        """'Sends data on the given socket to the given address and port. The socket must be
        bound to a local port before calling this method.' (D4, D5)"""
        check_socket_id(socket_id)
        _check_data(data)
        _check_address(address)
        _check_port(port)
        query = _check_query(dns_query_type)
        s = self._get(socket_id)
        if s.sock is None:
            # D4: checked before the address is resolved.
            s.detail = "the socket must be bound to a local port before sending"
            return SendInfo(result_code=NetError.SOCKET_NOT_CONNECTED)
        async with s.send_lock:
            sock = s.bound_socket()  # close() may have run while an earlier send waited
            if sock is None:
                return SendInfo(result_code=NetError.ABORTED)
            family, where = await udp_resolve.send_address(address, port, query, sock.family)
            if family is None:
                code, s.detail = where
                return SendInfo(result_code=int(code))
            size = memoryview(data).nbytes
            if size > udp_resolve.MAX_DATAGRAM[sock.family]:
                limit = udp_resolve.MAX_DATAGRAM[sock.family]
                s.detail = f"a datagram carries at most {limit} bytes; this one has {size}"
                return SendInfo(result_code=NetError.MSG_TOO_BIG)
            return await s.send_to(data, where)

    async def close(self, socket_id: int) -> None:
        """'Closes the socket and releases the address/port the socket is bound to. ... The
        socket id is no longer valid as soon at the function is called.' (D11)"""
        s = self._get(socket_id)
        self._remove(s)

    def _remove(self, s: UdpSocket) -> None:
        self._sockets.remove(s.id)
        s.close()
        if self.on_changed.listeners:
            self.on_changed.dispatch(UdpChange(s.id, ChangeReason.CLOSED, None))

    async def get_info(self, socket_id: int) -> UdpSocketInfo:
        """'Retrieves the state of the given socket.'"""
        return self._get(socket_id).info()

    async def get_sockets(self) -> list[UdpSocketInfo]:
        """'Retrieves the list of currently opened sockets owned by the application.', by
        ascending id."""
        return [s.info() for s in self._sockets.in_order()]

    async def join_group(self, socket_id: int, address: str) -> int:
        """'Joins the multicast group and starts to receive packets from that group. The socket
        must be bound to a local port before calling this method.' (D9)"""
        return self._membership(socket_id, address, join=True)

    async def leave_group(self, socket_id: int, address: str) -> int:
        """'Leaves the multicast group previously joined using joinGroup.' (D9)"""
        return self._membership(socket_id, address, join=False)

    def _membership(self, socket_id: int, address: str, join: bool) -> int:
        check_socket_id(socket_id)
        _check_address(address)
        s = self._get(socket_id)
        if s.sock is None:
            s.detail = "the socket must be bound to a local port first"
            return NetError.SOCKET_NOT_CONNECTED
        group, why = udp_resolve.multicast_group(address, s.sock.family)
        if group is None:
            s.detail = why
            return NetError.ADDRESS_INVALID  # 'Domain names are not supported.'
        if join and group in s.groups:
            # Chromium's UDPSocket::JoinGroup answers ERR_ADDRESS_INVALID for a second join.
            s.detail = f"the socket has already joined {group}"
            return NetError.ADDRESS_INVALID
        if not join and group not in s.groups:
            s.detail = f"the socket has not joined {group}"  # as Chromium's LeaveGroup
            return NetError.ADDRESS_INVALID
        return s.set_membership(group, join)

    async def set_multicast_time_to_live(self, socket_id: int, ttl: int) -> int:
        """'Sets the time-to-live of multicast packets sent to the multicast group.' 0 whether
        bound or not; before bind the value applies at bind (D9)."""
        check_socket_id(socket_id)
        check_int(ttl, "ttl")
        if not 0 <= ttl <= 255:
            raise ValueError(f"ttl must be in 0..255, not {ttl}")
        return self._get(socket_id).set_multicast_ttl(ttl)

    async def set_multicast_loopback_mode(self, socket_id: int, enabled: bool) -> int:
        """'Sets whether multicast packets sent from the host to the multicast group will be
        looped back to the host.' As TTL: 0, and kept for bind when not bound yet (D9)."""
        check_socket_id(socket_id)
        check_bool(enabled, "enabled")
        return self._get(socket_id).set_multicast_loopback(enabled)

    async def get_joined_groups(self, socket_id: int) -> list[str]:
        """'Gets the multicast group addresses the socket is currently joined to.', in the
        order they were joined."""
        return list(self._get(socket_id).groups)

    async def set_broadcast(self, socket_id: int, enabled: bool) -> int:
        """'Enables or disables broadcast packets on this socket.' -15 when not bound (D10)."""
        check_socket_id(socket_id)
        check_bool(enabled, "enabled")
        return self._get(socket_id).set_broadcast(enabled)

    def info_now(self, socket_id: int) -> UdpSocketInfo:
        """An extension for the session layer: ``get_info()`` without the await."""
        return self._get(socket_id).info()

    def socket_ids(self) -> list[int]:
        """An extension for the session layer: the ids of the open sockets, ascending."""
        return self._sockets.ids()

    def error_detail(self, socket_id: int) -> str | None:
        """An extension for people: why the last bind, send, join or leave, or the last
        receive, failed, in the operating system's words, or ``None``."""
        return self._get(socket_id).detail

    async def suspend(self) -> None:
        """Close the sockets that are not persistent (D11)."""
        await self._close_all(lambda s: not s.persistent)

    async def shutdown(self) -> None:
        """Close every socket (D11)."""
        await self._close_all(lambda s: True)

    async def _close_all(self, which: Callable[[UdpSocket], bool]) -> None:
        for s in self._sockets.in_order():
            if which(s):
                self._remove(s)
        await asyncio.sleep(0)  # let sends that waited for room see the close

    async def __aenter__(self) -> UdpSockets:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
