"""``secure()``: upgrade a connected socket to TLS in place (contract T1 to T6)."""

from __future__ import annotations

import asyncio
import logging
import socket

from workbench.core.errors import NetError, map_ssl_error
from workbench.core.state import StateEvent
from workbench.core.types import DEFAULT_HANDSHAKE_TIMEOUT, SecureOptions
from workbench.net.tcp_socket import TcpSocket
from workbench.net.tls import (
    HandshakeTrace,
    TlsSetupError,
    build_context,
    server_hostname,
    tls_info,
)
from workbench.net.words import reason

__all__ = ["secure"]

_log = logging.getLogger("workbench.sockets")


async def secure(s: TcpSocket, options: SecureOptions) -> int:
    """'Start a TLS client connection over the connected TCP client socket.' The table has
    already said GO."""
    s.begin_secure()
    return await s.run_op(lambda op: _secure(s, op, options))


async def _secure(s: TcpSocket, op: asyncio.Future[int], options: SecureOptions) -> None:
    s.details.pop("secure", None)
    raw, conn, sock = s.raw, s.conn, s.sock
    if raw is None or conn is None or sock is None:
        # The stream ended, and was reported, between secure() and this task's first step.
        s.details["secure"] = "the connection ended before the handshake started"
        s.advance(StateEvent.SECURE_FAILED)
        s.ops.end_secure(op, NetError.CONNECTION_CLOSED)
        return
    try:
        context = build_context(options)
    except TlsSetupError as exc:
        _log.warning("socket %d: %s", s.id, exc)
        s.details["secure"] = str(exc)
        # Nothing went over the wire: the socket stays a connected plain socket.
        s.advance(StateEvent.SECURE_SETUP_FAILED)
        s.ops.end_secure(op, exc.code)
        s.update_reading()
        return
    if not await _take_plaintext(s, op, raw, sock):
        return
    name = server_hostname(options, s.host or "")
    trace = HandshakeTrace()
    trace.attach(context)
    limit = options.handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT
    try:
        # Our own deadline, so that a silent peer is -7 TIMED_OUT with words for it; asyncio's
        # (an OSError that maps to -2) is set past it and never fires first.
        async with asyncio.timeout(limit):
            transport = await s.loop.start_tls(
                raw, conn, context, server_hostname=name, ssl_handshake_timeout=limit + 60
            )
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        s.details["secure"] = reason(exc)
        code = map_ssl_error(
            exc,
            sent_client_cert=options.client_cert is not None,
            cert_requested=trace.cert_requested,
        )
        if isinstance(exc, TimeoutError):
            s.details["secure"] = (f"the TLS handshake did not finish within {limit:g} s: the "
                                   "peer never answered (is it a TLS server on this port?)")
        if s.ops.is_current(op):
            # T5: the socket stays, disconnected, until close().
            s.teardown(code)
            s.advance(StateEvent.SECURE_FAILED)
            s.ops.end_secure(op, code)
        return
    trace.detach(context)  # OpenSSL calls it for every record header otherwise
    if op.done() or s.conn is not conn or transport is None:
        if transport is not None:
            transport.abort()
        return
    assert isinstance(transport, asyncio.Transport)
    s.adopt_tls(transport)
    _watch_raw_drain(s, raw)
    s.tls = tls_info(transport.get_extra_info("ssl_object"), name, options.verify)
    s.secured(op)


async def _take_plaintext(
    s: TcpSocket, op: asyncio.Future[int], raw: asyncio.Transport, sock: socket.socket
) -> bool:
    """Finish the plain part of the stream before the handshake; False if the socket was
    disconnected or closed meanwhile."""
    # Plain sends still queued in asyncio go out as plain bytes first: the TLS protocol
    # takes the transport over and must find its write buffer empty.
    while (last := s.sends.last()) is not None:
        await asyncio.shield(last)
        if op.done():
            return False
    # 'Bytes the OS already has when secure() is called are read first and delivered as
    # plaintext' (contract T2): otherwise they would be fed to OpenSSL.
    raw.pause_reading()
    while True:
        try:
            data = sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break  # the handshake will meet the same error and report it
        if not data:
            break
        s.on_data(data)
        if op.done():  # a listener disconnected or closed the socket
            return False
    return True


def _watch_raw_drain(s: TcpSocket, raw: asyncio.Transport) -> None:
    """A TLS send is with the OS once the TLS layer *and* the TCP transport under it have
    let go of it; the TCP transport tells only its protocol (asyncio's SSL protocol) when
    it drains, so listen in on that."""
    ssl_protocol = raw.get_protocol()
    resume = ssl_protocol.resume_writing

    def resume_writing() -> None:
        resume()
        if s.raw is raw:
            s.guard(s.check_written)

    # WORKAROUND: asyncio has no public way to learn that the TCP transport under a TLS
    # transport drained: only SSLProtocol.resume_writing hears it
    # (https://github.com/python/cpython/blob/v3.11.7/Lib/asyncio/sslproto.py#L901-L907), and
    # the TLS transport's get_write_buffer_size() counts only its own buffers
    # (https://github.com/python/cpython/blob/v3.11.7/Lib/asyncio/sslproto.py#L845-L846).
    # Wrapping that one method on this connection's SSLProtocol is how a send learns that its
    # encrypted bytes are with the OS (contract S2).
    ssl_protocol.resume_writing = resume_writing  # type: ignore[method-assign]
