"""Sending one UDP datagram from the composer, without Qt: the size limit, the destination's
history, the words for each result, and a file as one datagram.

- ``MAX_DATAGRAM`` (65,507 bytes) and ``datagram_refusal``: a datagram is never split; a
  larger input or file is refused before anything is sent (D5: 'too large for the protocol
  (over 65507 bytes on IPv4) -142').
- ``RecentDestinations``: the destinations a datagram went to, most recent first.
- ``send_datagram``: one ``chrome.sockets.udp.send`` and how it went, in words
  (``describe_udp_result``); ``read_datagram_file`` the bytes of a file that fits.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, NamedTuple, Protocol

from workbench.core.errors import NetError, SocketNotFoundError
from workbench.core.formatting import describe_result, format_endpoint, format_size, result_name
from workbench.core.types import SendInfo

if TYPE_CHECKING:
    from workbench.session.record import UdpRecord

__all__ = [
    "BIND_FIRST",
    "BROADCAST_FIRST",
    "MAX_DATAGRAM",
    "RECENT_LIMIT",
    "DatagramResult",
    "DatagramSender",
    "Destination",
    "RecentDestinations",
    "datagram_refusal",
    "describe_udp_result",
    "destination_problem",
    "read_datagram_file",
    "send_datagram",
]

#: The largest UDP payload the composer sends: 65,535 less IPv4's 20-byte header and UDP's 8
#: (an IPv6 socket could carry 65,527, but one limit for every socket is easier to trust).
MAX_DATAGRAM = 65_507
#: Destinations ``RecentDestinations`` keeps.
RECENT_LIMIT = 10
#: What -15 means on a UDP socket: 'The socket must be bound to a local port before calling
#: this method.' (chrome.sockets.udp.send)
BIND_FIRST = "the socket is not bound; bind it first (Bind tab)"
#: What -138 (EACCES) means on a UDP send: a broadcast destination on a socket without
#: SO_BROADCAST, which Chrome's setBroadcast(true) (the Multicast tab's Broadcast) turns on.
BROADCAST_FIRST = "a broadcast address needs Broadcast on first (Multicast tab)"


class Destination(NamedTuple):
    """Where a datagram goes: a host name or IP literal, and a port."""

    address: str
    port: int

    def __str__(self) -> str:
        return format_endpoint(self.address, self.port)


class DatagramSender(Protocol):
    """What sends a datagram: the session's ``LoggedUdp``."""

    def send(self, socket_id: int, data: bytes, address: str, port: int) -> Awaitable[SendInfo]: ...

    def error_detail(self, socket_id: int) -> str | None: ...

    def record(self, socket_id: int) -> UdpRecord | None: ...


@dataclasses.dataclass(frozen=True)
class DatagramResult:
    """How one send went: ``code`` is the send's result (``None``: no send was made: the
    datagram was too large, or the socket was gone), ``sent`` the bytes that left, ``text``
    the words beside Send."""

    code: int | None
    sent: int
    text: str

    @property
    def ok(self) -> bool:
        return self.code == NetError.OK


def datagram_refusal(size: int) -> str:
    """Why ``size`` bytes cannot go as one datagram, or ``""`` when they can."""
    if size <= MAX_DATAGRAM:
        return ""
    # The size first: beside Send the message is elided at the right, and "this is N bytes"
    # at its end was cut off even in a 1400-pixel window. (Exact byte counts, not
    # format_size's KiB: one byte over is what the user needs to see.)
    return f"{size:,} bytes, over the {MAX_DATAGRAM:,} a UDP datagram holds"


def destination_problem(address: str, port: int) -> str:
    """What is missing from a destination, or ``""`` when a datagram can be sent to it.
    (Port 0 is no destination: the OS refuses to send there.)"""
    if not address.strip():
        return "type the address to send to"
    if not 0 < port <= 65535:
        return "choose the port to send to"
    return ""


def describe_udp_result(code: int, detail: str | None = None) -> str:
    """A UDP call's result in words: ``describe_result``'s, except -15, which on a UDP socket
    means not bound (not 'not connected'); ``detail`` (the operating system's or the core's
    words) is added when it says more."""
    if code == NetError.SOCKET_NOT_CONNECTED:
        return f"{code} {result_name(code)}: {BIND_FIRST}"
    text = describe_result(code)
    return f"{text} ({detail})" if code and detail else text


async def send_datagram(
    sender: DatagramSender, socket_id: int, data: bytes, to: Destination
) -> DatagramResult:
    """Send ``data`` to ``to`` as one datagram on UDP socket ``socket_id``; a datagram over
    ``MAX_DATAGRAM`` is refused without a call (``code`` None, nothing sent)."""
    refusal = datagram_refusal(len(data))
    if refusal:
        return DatagramResult(None, 0, f"Not sent: {refusal}")
    try:
        info = await sender.send(socket_id, data, to.address, to.port)
    except SocketNotFoundError:
        return DatagramResult(None, 0, f"Not sent: UDP socket {socket_id} is closed")
    code = info.result_code
    if code == NetError.OK:
        sent = info.bytes_sent if info.bytes_sent is not None else len(data)
        return DatagramResult(code, sent, f"0 OK: sent {format_size(sent)} to {to}")
    why = describe_udp_result(code, sender.error_detail(socket_id))
    if code == NetError.NETWORK_ACCESS_DENIED:
        why += f"; {BROADCAST_FIRST}"
    # The code and its reason first: beside Send the line is elided at the right, and a long
    # destination first left only "Not sent to host:port: …" showing (the tooltip has all).
    return DatagramResult(code, 0, f"Not sent: {why} · to {to}")


def read_datagram_file(path: str | os.PathLike[str]) -> bytes | str:
    """The whole file at ``path`` as one datagram's bytes, or why it cannot be one (too large:
    known from its size, so a large file is never read; or unreadable)."""
    try:
        refusal = datagram_refusal(os.path.getsize(path))
        if refusal:
            return refusal
        with open(path, "rb") as f:
            # One byte more than fits: a file that grew since its size was read is refused too.
            data = f.read(MAX_DATAGRAM + 1)
    except OSError as exc:
        return f"cannot read {os.fspath(path)}: {exc.strerror or exc}"
    return datagram_refusal(len(data)) or data


class RecentDestinations:
    """The destinations datagrams went to, most recent first, each once; at most ``limit``."""

    def __init__(self, limit: int = RECENT_LIMIT) -> None:
        self.limit = limit
        self._items: list[Destination] = []

    def __repr__(self) -> str:
        return f"<RecentDestinations {[str(d) for d in self._items]}>"

    def __len__(self) -> int:
        return len(self._items)

    def remember(self, to: Destination) -> None:
        """``to`` was sent to: first in the list, and nowhere else in it."""
        self._items = [to, *(d for d in self._items if d != to)][: self.limit]

    def entries(self) -> list[Destination]:
        return list(self._items)
