"""TCP socket options, the Linux way Chromium sets them."""

from __future__ import annotations

import socket
import sys

__all__ = [
    "DEFAULT_KEEP_ALIVE_DELAY",
    "apply_defaults",
    "read_options",
    "set_keep_alive",
    "set_no_delay",
]

# Chromium's TCPClientSocket enables TCP_NODELAY and a 45 s keep-alive on every connected
# desktop socket (net/socket/tcp_socket_posix.cc, kTCPKeepAliveSeconds).
DEFAULT_KEEP_ALIVE_DELAY = 45


def set_no_delay(sock: socket.socket, no_delay: bool) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if no_delay else 0)


def set_keep_alive(sock: socket.socket, enable: bool, delay: int) -> None:
    """'Set the delay seconds between the last data packet received and the first keepalive
    probe.' On Linux Chromium sets both TCP_KEEPIDLE and TCP_KEEPINTVL to the delay; a delay of
    0 leaves the operating system's timers alone."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1 if enable else 0)
    if enable and delay > 0:
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, delay)
        elif sys.platform == "darwin":  # pragma: no cover - macOS names it TCP_KEEPALIVE
            sock.setsockopt(socket.IPPROTO_TCP, 0x10, delay)
        if hasattr(socket, "TCP_KEEPINTVL"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, delay)


def apply_defaults(sock: socket.socket) -> None:
    set_no_delay(sock, True)
    set_keep_alive(sock, True, DEFAULT_KEEP_ALIVE_DELAY)


def read_options(sock: socket.socket) -> dict[str, bool | int | None]:
    """The options as the kernel has them, for ``TcpSockets.get_socket_options``."""
    idle = intvl = None
    if hasattr(socket, "TCP_KEEPIDLE"):
        idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
    if hasattr(socket, "TCP_KEEPINTVL"):
        intvl = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL)
    return {
        "no_delay": bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)),
        "keep_alive": bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)),
        "keep_idle": idle,
        "keep_interval": intvl,
    }
