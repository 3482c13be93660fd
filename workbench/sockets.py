"""The public API: Chrome's ``chrome.sockets.tcp``, in Python, on asyncio.

    from workbench.sockets import TcpSockets

    async with TcpSockets() as tcp:
        sid = (await tcp.create()).socket_id
        tcp.on_receive.add_listener(lambda info: print(info.data))
        if await tcp.connect(sid, "localhost", 7) == 0:
            await tcp.send(sid, b"hello")

Names are Chrome's in snake_case; ``../shared/spec/sockets-tcp-contract.md`` (and the README)
say where the behaviour deliberately differs from Chrome. Extensions for the session layer:
``tcp.on_changed`` (``SocketChange`` with a ``ChangeReason``), ``tcp.info_now(id)`` and
``tcp.state_of(id)`` (a ``State``).

Listening sockets are Chrome's ``chrome.sockets.tcpServer``: ``TcpServerSockets(tcp)``, whose
accepted connections become (paused) sockets of ``tcp``; ``tcp.secure_server(id,
ServerSecureOptions(cert_file=..., key_file=...))`` runs TLS as the server on one of them
(an extension; ``sockets-server-udp-contract.md``). Extensions for the session layer:
``servers.on_changed`` (``ServerChange``), ``servers.info_now(id)``, ``servers.server_ids()``.

UDP is Chrome's ``chrome.sockets.udp``: ``UdpSockets()``, one ``on_receive``
(``UdpReceiveInfo``) per datagram; ``udp.on_changed`` (``UdpChange``), ``udp.info_now(id)``,
``udp.socket_ids()`` and ``udp.error_detail(id)`` are its extensions for the session layer.
"""

from workbench.core.errors import (
    NetError,
    SocketNotFoundError,
    WriteQuotaExceededError,
    net_error_description,
    net_error_text,
)
from workbench.core.starttls import STARTTLS_PROTOCOLS
from workbench.core.state import State
from workbench.core.types import (
    AcceptErrorInfo,
    AcceptInfo,
    ChangeReason,
    CreateInfo,
    DnsQueryType,
    ReceiveErrorInfo,
    ReceiveInfo,
    SecureOptions,
    SendInfo,
    ServerChange,
    ServerSecureOptions,
    ServerSocketInfo,
    ServerSocketProperties,
    SocketChange,
    SocketInfo,
    SocketProperties,
    TlsInfo,
    TLSVersionConstraints,
    UdpChange,
    UdpReceiveInfo,
    UdpSocketInfo,
    UdpSocketProperties,
    to_json,
)
from workbench.net.tcp import TcpSockets
from workbench.net.tcp_server import TcpServerSockets
from workbench.net.udp import UdpSockets

__all__ = [
    "STARTTLS_PROTOCOLS",
    "AcceptErrorInfo",
    "AcceptInfo",
    "ChangeReason",
    "CreateInfo",
    "DnsQueryType",
    "NetError",
    "ReceiveErrorInfo",
    "ReceiveInfo",
    "SecureOptions",
    "SendInfo",
    "ServerChange",
    "ServerSecureOptions",
    "ServerSocketInfo",
    "ServerSocketProperties",
    "SocketChange",
    "SocketInfo",
    "SocketNotFoundError",
    "SocketProperties",
    "State",
    "TLSVersionConstraints",
    "TcpServerSockets",
    "TcpSockets",
    "TlsInfo",
    "UdpChange",
    "UdpReceiveInfo",
    "UdpSocketInfo",
    "UdpSocketProperties",
    "UdpSockets",
    "WriteQuotaExceededError",
    "net_error_description",
    "net_error_text",
    "to_json",
]
