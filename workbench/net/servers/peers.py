"""The connections of the built-in servers: one asyncio protocol per kind.

Every echoing server stops reading while its own writes are blocked, so a client that sends
without reading cannot make it buffer without bound. Chargen writes only while the transport's
buffer is under its high-water mark, so a client that stops reading stops the stream (TCP flow
control, then ``pause_writing``) and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
from collections.abc import Callable
from typing import Protocol

from workbench.net.servers.spec import ServerKind, ServerSpec, chargen_cycle

__all__ = ["PEERS", "TLS_HANDSHAKE_TIMEOUT", "Peer", "ServerHost"]


class ServerHost(Protocol):
    """What a peer needs of the server it serves (``RunningServer``, which makes the peers:
    so this module does not import it): its settings, port and state, the counters it keeps
    up to date, and the connections it admits and releases."""

    spec: ServerSpec
    port: int
    running: bool
    bytes_in: int
    bytes_out: int
    handshake_failures: int
    datagrams_in: int
    datagrams_out: int
    dropped: int

    def handshake_context(self) -> ssl.SSLContext | None: ...

    def admit(self, peer: Peer) -> bool: ...

    def release(self, peer: Peer) -> None: ...


_log = logging.getLogger("workbench.servers")

#: A generous limit for a person who connects to tls-echo and only later clicks Secure.
TLS_HANDSHAKE_TIMEOUT = 600.0

#: Whole periods of the pattern (about 62 KiB), so every block continues it where the last
#: ended.
_CHARGEN_BLOCK = chargen_cycle() * 9
#: Blocks written per loop turn at most while the kernel takes everything at once: the stream
#: is steady without holding the loop (and a window on it) for long.
_CHARGEN_BLOCKS_PER_TURN = 4


class Peer(asyncio.Protocol):
    """One accepted connection. Subclasses say what to do with bytes (``received``) and what
    to do on their own (``started``, ``stopped``)."""

    def __init__(self, server: ServerHost) -> None:
        self.server = server
        self.spec = server.spec
        self.transport: asyncio.Transport | None = None
        self.writing_paused = False
        self._after_drain: list[Callable[[], None]] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if not self.server.admit(self):
            transport.abort()
            return
        self.transport = transport
        self.started()

    def data_received(self, data: bytes) -> None:
        self.server.bytes_in += len(data)
        self.received(data)

    def eof_received(self) -> bool:
        return False  # the client is done: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.stopped()
        self.transport = None
        self._after_drain.clear()
        self.server.release(self)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        transport = self.transport
        if self._after_drain and transport is not None and transport.get_write_buffer_size() == 0:
            callbacks, self._after_drain = self._after_drain, []
            for callback in callbacks:
                callback()

    # -- for subclasses ------------------------------------------------------------------

    def started(self) -> None:
        pass

    def received(self, data: bytes) -> None:
        pass

    def stopped(self) -> None:
        pass

    def alive(self) -> asyncio.Transport | None:
        transport = self.transport
        return transport if transport is not None and not transport.is_closing() else None

    def send(self, data: bytes) -> None:
        transport = self.alive()
        if transport is not None and data:
            transport.write(data)
            self.server.bytes_out += len(data)

    def when_drained(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once every byte written so far is with the OS."""
        transport = self.alive()
        if transport is None:
            return
        if transport.get_write_buffer_size() == 0:
            callback()
            return
        self._after_drain.append(callback)
        # Limits of (0, 0) make the transport call resume_writing when its buffer is empty.
        transport.set_write_buffer_limits(high=0, low=0)

    # -- for stop() ----------------------------------------------------------------------

    def shut(self) -> None:
        """Close gracefully when nothing waits to be written, else at once."""
        transport = self.alive()
        if transport is None:
            return
        if transport.get_write_buffer_size() == 0:
            transport.close()
        else:
            transport.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _Discard(Peer):
    pass


class _Echo(Peer):
    def received(self, data: bytes) -> None:
        self.send(data)

    # Back-pressure: while our writes wait for the client to read, stop reading from it.
    def pause_writing(self) -> None:
        super().pause_writing()
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        transport = self.alive()
        if transport is not None:
            transport.resume_reading()


class _CloseAfter(_Echo):
    def __init__(self, server: ServerHost) -> None:
        super().__init__(server)
        self.left = self.spec.n

    def started(self) -> None:
        if self.left == 0:
            self.finish()

    def received(self, data: bytes) -> None:
        if self.left <= 0:
            return  # after our FIN: read and drop until the client closes
        take = data[: self.left]
        self.left -= len(take)
        self.send(take)
        if self.left == 0:
            self.finish()

    def finish(self) -> None:
        transport = self.alive()
        if transport is not None:
            # FIN once the echoed bytes are out; keep reading so that no unread byte turns
            # the final close into a reset.
            transport.write_eof()


class _ResetAfter(_CloseAfter):
    def finish(self) -> None:
        self.when_drained(self._reset)

    def _reset(self) -> None:
        transport = self.alive()
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER on, timeout 0: close() sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


class _Chargen(Peer):
    def __init__(self, server: ServerHost) -> None:
        super().__init__(server)
        self._handle: asyncio.Handle | None = None

    def started(self) -> None:
        self._pump()

    def received(self, data: bytes) -> None:
        pass  # RFC 864: 'Any data received is thrown away.'

    def _pump(self) -> None:
        self._handle = None
        for _ in range(_CHARGEN_BLOCKS_PER_TURN):
            if self.writing_paused or self.alive() is None:
                return
            self.send(_CHARGEN_BLOCK)
        if not self.writing_paused and self.alive() is not None:
            # The kernel took everything: go on next turn (one pending callback at most).
            self._handle = self.loop.call_soon(self._pump)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._handle is None and self.alive() is not None:
            self._handle = self.loop.call_soon(self._pump)

    def stopped(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _SlowDrip(Peer):
    def __init__(self, server: ServerHost) -> None:
        super().__init__(server)
        self._position = 0
        self._handle: asyncio.Handle | None = None

    def started(self) -> None:
        self._drip()

    def _drip(self) -> None:
        self._handle = None
        if self.alive() is None or self.writing_paused:
            return  # resume_writing starts again
        message = self.spec.message
        self.send(message[self._position : self._position + 1])
        self._position = (self._position + 1) % len(message)
        self._handle = self.loop.call_later(self.spec.interval, self._drip)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._handle is None and self.alive() is not None:
            self._handle = self.loop.call_later(self.spec.interval, self._drip)

    def stopped(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _TlsEcho(_Echo):
    """Echo behind a server-side ``start_tls``: the TCP accept is ours to see, so a client that
    connects and never starts the handshake is counted and closed on stop like any other."""

    def __init__(self, server: ServerHost) -> None:
        super().__init__(server)
        self._raw: asyncio.Transport | None = None
        self._handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        # The ClientHello must reach the TLS layer, not data_received.
        transport.pause_reading()
        if not self.server.admit(self):
            transport.abort()
            return
        self._raw = transport
        self._handshake = self.loop.create_task(
            self._upgrade(transport), name=f"tls-echo handshake on port {self.server.port}"
        )

    async def _upgrade(self, raw: asyncio.Transport) -> None:
        context = self.server.handshake_context()  # with the key log as it is now
        assert context is not None
        try:
            tls = await self.loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
            )
        except asyncio.CancelledError:
            self._handshake_over(failed=False)
            raise
        except OSError as exc:  # ssl.SSLError, ConnectionResetError, ConnectionAbortedError
            # Normal for a test peer: a client that does not trust the CA, or no TLS at all.
            _log.debug("tls-echo on port %d: handshake failed: %r", self.server.port, exc)
            self._handshake_over(failed=True)
            return
        except Exception:
            _log.exception("tls-echo on port %d: handshake failed", self.server.port)
            self._handshake_over(failed=True)
            return
        self._handshake = None
        if tls is None or not self.server.running:  # aborted during the handshake
            if tls is not None:
                tls.abort()
            self._handshake_over(failed=False)
            return
        assert isinstance(tls, asyncio.Transport)
        self._raw = None
        self.transport = tls

    def _handshake_over(self, failed: bool) -> None:
        self._handshake = None
        self._raw = None
        if failed:
            self.server.handshake_failures += 1
        self.server.release(self)

    def shut(self) -> None:
        if self._handshake is not None:
            self.abort()
        else:
            super().shut()

    def abort(self) -> None:
        handshake, raw = self._handshake, self._raw
        if handshake is not None:
            # Close the socket first (its callback is queued ahead of the task's wake-up), then
            # end start_tls(), which cancels its own pending callbacks.
            if raw is not None:
                raw.abort()
            handshake.cancel()
            return
        super().abort()


PEERS: dict[ServerKind, Callable[[ServerHost], Peer]] = {
    ServerKind.ECHO: _Echo,
    ServerKind.TLS_ECHO: _TlsEcho,
    ServerKind.DISCARD: _Discard,
    ServerKind.CHARGEN: _Chargen,
    ServerKind.CLOSE_AFTER: _CloseAfter,
    ServerKind.RESET_AFTER: _ResetAfter,
    ServerKind.SLOW_DRIP: _SlowDrip,
}
