"""``chrome.sockets.udp``'s own shape over a session: every method takes and returns what
``UdpSockets`` does, is logged in the call log the way Chrome developers read it, and is
remembered on the socket's ``UdpRecord`` (its result and, when it failed, its reason per
control, and the intent a restore replays).

``chrome.sockets.udp.send(2, <5 bytes>, "127.0.0.1", 5353) → {"resultCode":0,"bytesSent":5}``

A datagram sent goes into the socket's capture with its destination as its peer. The
``onReceiveError`` event is logged with its reason ('Once this event is raised, the socket is
paused').
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from workbench.core.errors import NetError
from workbench.core.types import (
    DnsQueryType,
    ReceiveErrorInfo,
    SendInfo,
    UdpSocketInfo,
    UdpSocketProperties,
)
from workbench.net.udp import UdpSockets
from workbench.session.call_log import CallLog, result_with_name, send_result
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged_kind import LoggedKind
from workbench.session.record import UdpRecord
from workbench.session.registry import Registry
from workbench.session.udp_book import udp_key

__all__ = ["LoggedUdp"]


class LoggedUdp(LoggedKind[UdpSocketProperties, UdpSocketInfo, UdpRecord]):
    """``UdpSockets``' calls, logged in ``call_log`` and remembered in ``registry`` (which must
    watch ``raw``: ``Registry.watch_udp``); ``raw`` is the unlogged core. ``error_detail``
    tells why the last bind, send, join or leave, or the last receive, failed."""

    kind = SocketKind.UDP
    # A join and a leave undo each other: after a leave, the join's OK is history (and after a
    # join, the leave's).
    undoing = ("join", "leave")
    raw: UdpSockets

    def __init__(self, raw: UdpSockets, call_log: CallLog, registry: Registry) -> None:
        super().__init__(raw, call_log, registry)
        self._listen(raw.on_receive_error, self._on_receive_error)

    def record(self, socket_id: int) -> UdpRecord | None:
        return self.registry.udp_record(socket_id)

    def _keys(self) -> list[SocketKey]:
        return self.registry.udp_keys()

    def _no_properties(self) -> UdpSocketProperties:
        return UdpSocketProperties()

    def _reasons(self, record: UdpRecord) -> dict[str, str]:
        return record.reasons

    async def _code_call(
        self, socket_id: int, control: str, call: tuple[str, tuple[Any, ...]],
        run: Callable[[], Awaitable[int]],
    ) -> int:  # fmt: skip
        """A call answering a result code: logged with its reason when it fails, and
        remembered under ``control``."""
        method, args = call

        def show(code: int) -> tuple[str, bool]:
            why = self._why(socket_id, code) if code else None
            return result_with_name(code, why), code == NetError.OK

        code = await self._logged(socket_id, method, args, run, show)
        self._remember(socket_id, control, code)
        return code

    # -- calls --------------------------------------------------------------------------------

    async def bind(self, socket_id: int, address: str, port: int) -> int:
        """Remembered as the intent when it worked, or when the socket is not bound: a bind
        the operating system refused (its port taken) is what a persistent socket asks again
        at the next start. A second bind, refused (D3), leaves the binding and its intent."""
        code = await self._code_call(
            socket_id,
            "bind",
            ("bind", (socket_id, address, port)),
            lambda: self.raw.bind(socket_id, address, port),
        )
        record = self.record(socket_id)
        if record is not None and (code == NetError.OK or not record.bound):
            record.intent.bind = (address, port)
        return code

    async def send(
        self,
        socket_id: int,
        data: bytes | bytearray | memoryview,
        address: str,
        port: int,
        dns_query_type: DnsQueryType | str = DnsQueryType.ANY,
    ) -> SendInfo:
        """One datagram; when it left, it is in the capture with ``address``:``port`` (as
        given: a host name stays a name) as its peer."""
        payload = bytes(data)
        query = DnsQueryType(dns_query_type)
        args: tuple[Any, ...] = (socket_id, payload, address, port)
        if query is not DnsQueryType.ANY:
            args += (query,)

        def show(info: SendInfo) -> tuple[str, bool]:
            code = info.result_code
            return send_result(info, self._why(socket_id, code) if code else None), code == 0

        info = await self._logged(
            socket_id,
            "send",
            args,
            lambda: self.raw.send(socket_id, payload, address, port, query),
            show,
        )
        self._remember(socket_id, "send", info.result_code)
        if info.result_code == NetError.OK:
            self.registry.record_sent_datagram(udp_key(socket_id), payload, address, port)
        return info

    async def join_group(self, socket_id: int, address: str) -> int:
        code = await self._code_call(
            socket_id,
            "join",
            ("joinGroup", (socket_id, address)),
            lambda: self.raw.join_group(socket_id, address),
        )
        await self._remember_groups(socket_id, code)
        return code

    async def leave_group(self, socket_id: int, address: str) -> int:
        code = await self._code_call(
            socket_id,
            "leave",
            ("leaveGroup", (socket_id, address)),
            lambda: self.raw.leave_group(socket_id, address),
        )
        await self._remember_groups(socket_id, code)
        return code

    async def _remember_groups(self, socket_id: int, code: int) -> None:
        record = self.record(socket_id)
        if code == NetError.OK and record is not None:
            # The core's list: the groups as it normalized them, in the order joined.
            record.intent.groups = await self.raw.get_joined_groups(socket_id)

    async def get_joined_groups(self, socket_id: int) -> list[str]:
        return await self._logged(
            socket_id,
            "getJoinedGroups",
            (socket_id,),
            lambda: self.raw.get_joined_groups(socket_id),
        )

    async def set_multicast_time_to_live(self, socket_id: int, ttl: int) -> int:
        call = ("setMulticastTimeToLive", (socket_id, ttl))
        code = await self._code_call(
            socket_id, "ttl", call, lambda: self.raw.set_multicast_time_to_live(socket_id, ttl)
        )
        if code == NetError.OK and (record := self.record(socket_id)) is not None:
            record.intent.ttl = ttl
        return code

    async def set_multicast_loopback_mode(self, socket_id: int, enabled: bool) -> int:
        call = ("setMulticastLoopbackMode", (socket_id, enabled))
        code = await self._code_call(
            socket_id,
            "loopback",
            call,
            lambda: self.raw.set_multicast_loopback_mode(socket_id, enabled),
        )
        if code == NetError.OK and (record := self.record(socket_id)) is not None:
            record.intent.loopback = enabled
        return code

    async def set_broadcast(self, socket_id: int, enabled: bool) -> int:
        call = ("setBroadcast", (socket_id, enabled))
        code = await self._code_call(
            socket_id, "broadcast", call, lambda: self.raw.set_broadcast(socket_id, enabled)
        )
        if code == NetError.OK and (record := self.record(socket_id)) is not None:
            record.intent.broadcast = enabled
        return code

    # -- events -------------------------------------------------------------------------------

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        self._log_pausing_error("onReceiveError", info, "the socket")
