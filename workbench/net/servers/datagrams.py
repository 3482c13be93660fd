"""The UDP built-in servers: one asyncio datagram endpoint each, on 127.0.0.1.

They run on plain asyncio datagram endpoints, not on the workbench's own ``UdpSockets``, for
the same reasons the TCP ones run on ``asyncio`` servers: they are the *other end* of what the
user tests, so they must not show up as rows of the socket table, take ids of
``chrome.sockets.udp``'s sequence, or write their traffic into the call log; and the manager
stays usable without a session (tests, the self-test, the first-start echo).

- ``udp-echo``: every datagram goes back to its sender, at once.
- ``udp-reply-after``: every datagram goes back to its sender ``delay_ms`` after it arrived,
  never earlier: each reply is due at its datagram's arrival plus the delay on the monotonic
  clock, and a timer that fires early (Qt's coarse timers may, by up to 5 %) only re-arms.
  Datagrams wait in arrival order (the delay is the same for all); while more than
  ``MAX_PENDING_BYTES`` wait, new ones are dropped and counted, as a full UDP buffer would.

An empty datagram is counted but not answered: asyncio's datagram transport sends nothing
for empty data.

A reply the kernel cannot take at once (``pause_writing``) is dropped and counted too: UDP
may lose datagrams, and a server that buffered without bound for a sender flooding it would
not be a test peer but a liability.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from workbench.net.servers.peers import ServerHost
from workbench.net.servers.spec import ServerKind

__all__ = ["DATAGRAM_PEERS", "MAX_PENDING_BYTES", "DatagramPeer"]

_log = logging.getLogger("workbench.servers")

#: The most bytes udp-reply-after holds for replies not yet due.
MAX_PENDING_BYTES = 16 * 1024 * 1024


class DatagramPeer(asyncio.DatagramProtocol):
    """The endpoint of one UDP server. Subclasses say what to do with a datagram
    (``received``) and what to drop when the server stops (``stopped``)."""

    def __init__(self, server: ServerHost) -> None:
        self.server = server
        self.spec = server.spec
        self.transport: asyncio.DatagramTransport | None = None
        self.writing_paused = False
        self.closed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: Python 3.11's selector datagram transport does not derive
        # from asyncio.DatagramTransport, though it is one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.server.bytes_in += len(data)
        self.server.datagrams_in += 1
        self.received(data, addr)

    def error_received(self, exc: Exception) -> None:
        # An ICMP port unreachable for a reply whose sender has gone: normal for a test peer.
        _log.debug("%s server on port %d: %r", self.spec.kind.value, self.server.port, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stopped()
        self.transport = None
        self.closed.set()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False

    # -- for subclasses ------------------------------------------------------------------

    def received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        pass

    def stopped(self) -> None:
        pass

    def reply(self, data: bytes, addr: tuple[Any, ...]) -> None:
        """Send ``data`` to ``addr``, or count it dropped when the kernel cannot take it."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.writing_paused:
            self.server.dropped += 1
            return
        transport.sendto(data, addr)
        self.server.bytes_out += len(data)
        self.server.datagrams_out += 1

    # -- for stop() ----------------------------------------------------------------------

    def shut(self) -> None:
        """Stop: replies not yet sent are dropped, the port is freed."""
        self.stopped()
        if self.transport is not None:
            self.transport.close()


class _UdpEcho(DatagramPeer):
    def received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.reply(data, addr)


class _UdpReplyAfter(DatagramPeer):
    def __init__(self, server: ServerHost) -> None:
        super().__init__(server)
        self.delay = self.spec.delay_ms / 1000
        #: (due on the monotonic clock, data, sender), in arrival order: due in order too.
        self._waiting: collections.deque[tuple[float, bytes, tuple[Any, ...]]] = collections.deque()
        self._held = 0
        self._timer: asyncio.TimerHandle | None = None

    def received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self._held + len(data) > MAX_PENDING_BYTES:
            self.server.dropped += 1
            return
        self._waiting.append((time.monotonic() + self.delay, data, addr))
        self._held += len(data)
        if self._timer is None:
            self._arm()

    def _arm(self) -> None:
        due = self._waiting[0][0]
        wait = max(0.0, due - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(wait, self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = time.monotonic()
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            _, data, addr = waiting.popleft()
            self._held -= len(data)
            self.reply(data, addr)
        if waiting:
            self._arm()  # the next one, or this one again if the timer fired early

    def stopped(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiting.clear()
        self._held = 0


DATAGRAM_PEERS: dict[ServerKind, Callable[[ServerHost], DatagramPeer]] = {
    ServerKind.UDP_ECHO: _UdpEcho,
    ServerKind.UDP_REPLY_AFTER: _UdpReplyAfter,
}
