"""TCP socket options, the Linux way Chromium sets them: one setter per row of
``workbench.core.options.OPTIONS``."""

from __future__ import annotations

import socket
import struct
import sys
from collections.abc import Callable
from typing import Any, Final

from workbench.core.options import DEFAULT_KEEP_ALIVE_DELAY, OPTIONS

__all__ = [
    "DEFAULT_KEEP_ALIVE_DELAY",
    "SETTERS",
    "apply",
    "apply_defaults",
    "read_options",
    "set_keep_alive",
    "set_linger_zero",
    "set_no_delay",
]


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


def set_linger_zero(sock: socket.socket) -> None:
    """SO_LINGER on with a timeout of 0: closing the socket then aborts the connection, and
    the peer sees a reset (RST) instead of a FIN. Not an option of ``OPTIONS`` (Chrome has
    none): what ``TcpSockets.reset`` does before it disconnects."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


#: How each option reaches the kernel: the setter takes the socket and the option's checked
#: arguments, in the order of its ``OptionSpec.params``.
SETTERS: Final[dict[str, Callable[..., None]]] = {
    "keep_alive": set_keep_alive,
    "no_delay": set_no_delay,
}


def apply(sock: socket.socket, name: str, args: tuple[Any, ...]) -> None:
    SETTERS[name](sock, *args)


def apply_defaults(sock: socket.socket) -> None:
    """What a connected socket gets before its caller hears of it (contract K2)."""
    for name, spec in OPTIONS.items():
        apply(sock, name, spec.default)


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
