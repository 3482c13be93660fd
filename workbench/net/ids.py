"""The sockets of one API by id: ``chrome.sockets.tcp``, ``tcpServer`` and ``udp`` each keep
their own.

'The socket ID' of each API counts from 1 and is never reused (contract C1 of the TCP
contract; L1 and D1 of the listening-socket and UDP contract say the same of their APIs, each
another resource manager in Chrome). An id that is not in the table is
``SocketNotFoundError``; one that is not an id at all is the caller's ``TypeError`` or
``ValueError`` (``check_socket_id``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from workbench.core.errors import SocketNotFoundError
from workbench.core.types import check_socket_id

__all__ = ["IdTable"]

T = TypeVar("T")


class IdTable(Generic[T]):
    """Live sockets by id, and the next id to hand out."""

    def __init__(self) -> None:
        self._items: dict[int, T] = {}
        self._next = 1

    def __repr__(self) -> str:
        return repr(sorted(self._items))

    def take_id(self) -> int:
        """A new id: strictly greater than every id handed out before, even one whose
        socket never came to be."""
        sid = self._next
        self._next += 1
        return sid

    def add(self, sid: int, item: T) -> T:
        self._items[sid] = item
        return item

    def get(self, socket_id: object) -> T:
        """The socket ``socket_id``; ``SocketNotFoundError`` when there is none."""
        sid = check_socket_id(socket_id)
        try:
            return self._items[sid]
        except KeyError:
            raise SocketNotFoundError() from None

    def find(self, sid: int) -> T | None:
        return self._items.get(sid)

    def remove(self, sid: int) -> None:
        del self._items[sid]

    def ids(self) -> list[int]:
        """The live ids in ascending order."""
        return sorted(self._items)

    def in_order(self) -> list[T]:
        """The live sockets in ascending id order."""
        return [item for _, item in sorted(self._items.items())]

    def __contains__(self, sid: object) -> bool:
        return sid in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)
