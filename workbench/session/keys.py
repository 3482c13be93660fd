"""What names a socket in the session: its kind and its id.

``chrome.sockets.tcp``, ``chrome.sockets.tcpServer`` and ``chrome.sockets.udp`` each count
their ids from 1 (sockets-server-udp-contract.md), so an id alone is ambiguous: every row,
event and record of the session is keyed by ``(kind, id)``.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

__all__ = ["SocketKey", "SocketKind"]


class SocketKind(enum.Enum):
    """The Chrome API a socket belongs to; the value is that API's name."""

    TCP = "tcp"
    TCP_SERVER = "tcpServer"
    UDP = "udp"

    def __lt__(self, other: object) -> bool:
        # Keys sort by kind, then id: the order rows are listed in.
        if not isinstance(other, SocketKind):
            return NotImplemented
        order = list(SocketKind)
        return order.index(self) < order.index(other)

    @property
    def api(self) -> str:
        """The namespace its calls are logged under: ``chrome.sockets.tcp``."""
        return f"chrome.sockets.{self.value}"


class SocketKey(NamedTuple):
    kind: SocketKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind.value} {self.id}"

    @classmethod
    def tcp(cls, socket_id: int) -> SocketKey:
        return cls(SocketKind.TCP, socket_id)
