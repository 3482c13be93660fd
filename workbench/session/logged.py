"""``chrome.sockets.tcp``'s own shape over a session: every method takes and returns what
``TcpSockets`` does, and goes through the session, so it is logged and remembered.

For callers that think in Chrome's terms (socket ids, ``CreateInfo``): panels of the window,
scripts. The session itself speaks in ``SocketKey``s.
"""

from __future__ import annotations

from workbench.core.types import (
    CreateInfo,
    DnsQueryType,
    SecureOptions,
    SendInfo,
    SocketInfo,
    SocketProperties,
)
from workbench.net.tcp import TcpSockets
from workbench.session.keys import SocketKey
from workbench.session.session import Session

__all__ = ["LoggedTcp"]


class LoggedTcp:
    """``TcpSockets``' calls, logged through ``session``; ``raw`` is the unlogged core."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.raw: TcpSockets = session.tcp

    def __repr__(self) -> str:
        return f"<LoggedTcp {self.raw!r}>"

    async def create(self, properties: SocketProperties | None = None) -> CreateInfo:
        key = await self.session.create(properties)
        return CreateInfo(socket_id=key.id)

    async def update(self, socket_id: int, properties: SocketProperties) -> None:
        await self.session.update(SocketKey.tcp(socket_id), properties)

    async def set_paused(self, socket_id: int, paused: bool) -> None:
        await self.session.set_paused(SocketKey.tcp(socket_id), paused)

    async def set_keep_alive(self, socket_id: int, enable: bool, delay: int = 0) -> int:
        return await self.set_option(socket_id, "keep_alive", enable, delay)

    async def set_no_delay(self, socket_id: int, no_delay: bool) -> int:
        return await self.set_option(socket_id, "no_delay", no_delay)

    async def set_option(self, socket_id: int, name: str, *args: bool | int) -> int:
        return await self.session.set_option(SocketKey.tcp(socket_id), name, *args)

    async def get_socket_options(self, socket_id: int) -> dict[str, bool | int | None] | None:
        return await self.session.socket_options(SocketKey.tcp(socket_id))

    def error_detail(self, socket_id: int, call: str) -> str | None:
        return self.session.error_detail(SocketKey.tcp(socket_id), call)

    async def connect(
        self,
        socket_id: int,
        peer_address: str,
        peer_port: int,
        dns_query_type: DnsQueryType | str = DnsQueryType.ANY,
    ) -> int:
        key = SocketKey.tcp(socket_id)
        return await self.session.connect(key, peer_address, peer_port, dns_query_type)

    async def disconnect(self, socket_id: int) -> None:
        await self.session.disconnect(SocketKey.tcp(socket_id))

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int:
        return await self.session.secure(SocketKey.tcp(socket_id), options)

    async def starttls(
        self,
        socket_id: int,
        protocol: str,
        options: SecureOptions | None = None,
        *,
        received: bytes | None = None,
    ) -> int:
        key = SocketKey.tcp(socket_id)
        return await self.session.starttls(key, protocol, options, received=received)

    async def send(self, socket_id: int, data: bytes | bytearray | memoryview) -> SendInfo:
        return await self.session.send(SocketKey.tcp(socket_id), data)

    async def close(self, socket_id: int) -> None:
        await self.session.close(SocketKey.tcp(socket_id))

    async def get_info(self, socket_id: int) -> SocketInfo:
        return await self.session.get_info(SocketKey.tcp(socket_id))

    async def get_sockets(self) -> list[SocketInfo]:
        return await self.session.get_sockets()
