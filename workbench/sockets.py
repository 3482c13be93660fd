"""The public API: Chrome's ``chrome.sockets.tcp``, in Python, on asyncio.

    from workbench.sockets import TcpSockets

    async with TcpSockets() as tcp:
        sid = (await tcp.create()).socket_id
        tcp.on_receive.add_listener(lambda info: print(info.data))
        if await tcp.connect(sid, "localhost", 7) == 0:
            await tcp.send(sid, b"hello")

Names are Chrome's in snake_case; ``../shared/spec/sockets-tcp-contract.md`` (and the README)
say where the behaviour deliberately differs from Chrome.
"""

from workbench.core.errors import (
    NetError,
    SocketNotFoundError,
    WriteQuotaExceededError,
    net_error_description,
    net_error_text,
)
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
    TLSVersionConstraints,
    to_json,
)
from workbench.net.tcp import TcpSockets

__all__ = [
    "CreateInfo",
    "DnsQueryType",
    "NetError",
    "ReceiveErrorInfo",
    "ReceiveInfo",
    "SecureOptions",
    "SendInfo",
    "SocketInfo",
    "SocketNotFoundError",
    "SocketProperties",
    "TLSVersionConstraints",
    "TcpSockets",
    "TlsInfo",
    "WriteQuotaExceededError",
    "net_error_description",
    "net_error_text",
    "to_json",
]
