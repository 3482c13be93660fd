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

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from workbench.core.errors import NetError, SocketNotFoundError, net_error_description
from workbench.core.types import (
    CreateInfo,
    DnsQueryType,
    ReceiveErrorInfo,
    SendInfo,
    UdpSocketInfo,
    UdpSocketProperties,
)
from workbench.net.udp import UdpSockets
from workbench.session.call_log import (
    CallLog,
    format_event,
    logged_call,
    result_with_name,
    send_result,
)
from workbench.session.keys import SocketKind
from workbench.session.record import UdpRecord
from workbench.session.registry import Registry
from workbench.session.udp_book import udp_key

__all__ = ["LoggedUdp"]

#: the control whose last result a success of the other makes history (join ↔ leave).
_UNDONE_BY = {"join": "leave", "leave": "join"}

T = TypeVar("T")
_API = SocketKind.UDP.api


class LoggedUdp:
    """``UdpSockets``' calls, logged in ``call_log`` and remembered in ``registry`` (which must
    watch ``raw``: ``Registry.watch_udp``); ``raw`` is the unlogged core."""

    def __init__(self, raw: UdpSockets, call_log: CallLog, registry: Registry) -> None:
        self.raw = raw
        self.call_log = call_log
        self.registry = registry
        raw.on_receive_error.add_listener(self._on_receive_error)

    def __repr__(self) -> str:
        return f"<LoggedUdp {self.raw!r}>"

    def record(self, socket_id: int) -> UdpRecord | None:
        return self.registry.udp_record(socket_id)

    def error_detail(self, socket_id: int) -> str | None:
        """Why the last bind, send, join or leave, or the last receive, failed, in the
        operating system's words (not a Chrome call: not logged)."""
        try:
            return self.raw.error_detail(socket_id)
        except SocketNotFoundError:
            return None

    def _why(self, socket_id: int, code: int) -> str:
        return self.error_detail(socket_id) or net_error_description(code)

    async def _logged(
        self,
        socket_id: int | None,
        method: str,
        args: tuple[Any, ...],
        run: Callable[[], Awaitable[T]],
        show: Callable[[T], tuple[str, bool]] | None = None,
    ) -> T:
        key = udp_key(socket_id) if socket_id is not None else None
        return await logged_call(self.call_log, _API, key, (method, args, run), show)

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

    def _remember(self, socket_id: int, control: str, code: int) -> None:
        record = self.record(socket_id)
        if record is None:
            return
        record.results[control] = code
        if code == NetError.OK:
            record.reasons.pop(control, None)
            # A join and a leave undo each other: after a leave, the join's OK is history
            # (and after a join, the leave's), so the tab never shows both as OK.
            undone = _UNDONE_BY.get(control)
            if undone is not None:
                record.results.pop(undone, None)
                record.reasons.pop(undone, None)
        else:
            record.reasons[control] = self._why(socket_id, code)
        self.registry.mark(record.key)

    # -- calls --------------------------------------------------------------------------------

    async def create(self, properties: UdpSocketProperties | None = None) -> CreateInfo:
        """Logged with its properties, ``{}`` when none are given: ``create({})``."""
        shown = properties if properties is not None else UdpSocketProperties()
        return await logged_call(
            self.call_log,
            _API,
            None,
            ("create", (shown,), lambda: self.raw.create(properties)),
            key_of=lambda created: udp_key(created.socket_id),
        )

    async def update(self, socket_id: int, properties: UdpSocketProperties) -> None:
        await self._logged(
            socket_id,
            "update",
            (socket_id, properties),
            lambda: self.raw.update(socket_id, properties),
        )
        self._remember(socket_id, "update", NetError.OK)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        """A pause or resume the user asked for: also remembered as the intent."""
        record = self.record(socket_id)
        if record is not None:
            record.intent.paused = paused
        await self._logged(
            socket_id,
            "setPaused",
            (socket_id, paused),
            lambda: self.raw.set_paused(socket_id, paused),
        )
        self._remember(socket_id, "pause", NetError.OK)

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

    async def close(self, socket_id: int) -> None:
        await self._logged(socket_id, "close", (socket_id,), lambda: self.raw.close(socket_id))

    async def get_info(self, socket_id: int) -> UdpSocketInfo:
        return await self._logged(
            socket_id, "getInfo", (socket_id,), lambda: self.raw.get_info(socket_id)
        )

    async def get_sockets(self) -> list[UdpSocketInfo]:
        return await self._logged(None, "getSockets", (), self.raw.get_sockets)

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

    async def close_all(self, *, log: bool = False) -> None:
        """Close every UDP socket (the window is closing): one core call unless ``log``."""
        if log:
            for key in self.registry.udp_keys():
                with contextlib.suppress(SocketNotFoundError):
                    await self.close(key.id)
        else:
            await self.raw.shutdown()

    def detach(self) -> None:
        """Stop answering the core's events (the session is ending)."""
        self.raw.on_receive_error.remove_listener(self._on_receive_error)

    # -- events -------------------------------------------------------------------------------

    def _on_receive_error(self, info: ReceiveErrorInfo) -> None:
        code = info.result_code
        why = f"{self._why(info.socket_id, code)}; the socket is paused"
        text = format_event(_API, "onReceiveError", info, code, why)
        self.call_log.add(udp_key(info.socket_id), text, ok=False)
