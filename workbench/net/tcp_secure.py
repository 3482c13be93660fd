"""``secure()``: upgrade a connected socket to TLS in place (contract T1 to T6), and
``secure_server()``, the same as the server (the extension LS1)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import ssl
from collections.abc import Callable

from workbench.core.errors import NetError, map_ssl_error
from workbench.core.state import StateEvent
from workbench.core.types import DEFAULT_HANDSHAKE_TIMEOUT, SecureOptions, ServerSecureOptions
from workbench.net.tcp_server_tls import SniRecorder, build_server_context, map_server_ssl_error
from workbench.net.tcp_socket import TcpSocket
from workbench.net.tls import (
    HandshakeTrace,
    TlsSetupError,
    build_context,
    server_hostname,
    tls_info,
)
from workbench.net.words import reason

__all__ = ["secure", "secure_server"]

_log = logging.getLogger("workbench.sockets")

#: Maps a handshake's exception to its result code.
ErrorMapper = Callable[[BaseException], int]


async def secure(s: TcpSocket, options: SecureOptions) -> int:
    """'Start a TLS client connection over the connected TCP client socket.' The table has
    already said GO."""
    s.begin_secure()
    return await s.run_op(lambda op: _secure(s, op, options))


async def secure_server(s: TcpSocket, options: ServerSecureOptions) -> int:
    """The extension LS1: a TLS handshake as the server, in place. The table has already said
    GO (the same as for ``secure()``: -4 unless connected and plain).

    'Unlike T2, nothing is read from the OS first: the client speaks first, so bytes waiting in
    the OS are its ClientHello; bytes the core already holds stay plaintext and come first.'
    Reading stops here, before any await, so that the ClientHello stays with the OS for
    OpenSSL."""
    if s.raw is not None and not s.raw.is_closing():
        s.raw.pause_reading()
    s.begin_secure()
    return await s.run_op(lambda op: _secure_server(s, op, options))


async def _secure(s: TcpSocket, op: asyncio.Future[int], options: SecureOptions) -> None:
    s.details.pop("secure", None)
    raw, conn, sock = s.raw, s.conn, s.sock
    if raw is None or conn is None or sock is None:
        _ended_before(s, op)
        return
    try:
        context = build_context(options)
    except TlsSetupError as exc:
        _setup_failed(s, op, exc)
        return
    if not await _take_plaintext(s, op, raw, sock):
        return
    name = server_hostname(options, s.host or "")
    trace = HandshakeTrace()
    trace.attach(context)

    def mapper(exc: BaseException) -> int:
        return map_ssl_error(
            exc,
            sent_client_cert=options.client_cert is not None,
            cert_requested=trace.cert_requested,
        )

    limit = options.handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT
    transport = await _handshake(s, op, context, name, limit, mapper)
    trace.detach(context)  # OpenSSL calls it for every record header otherwise
    if transport is None:
        return
    s.adopt_tls(transport)
    _watch_raw_drain(s, raw)
    info = tls_info(transport.get_extra_info("ssl_object"), name, options.verify)
    s.tls = dataclasses.replace(info, keylog_file=options.keylog_file)
    s.secured(op)


async def _secure_server(
    s: TcpSocket, op: asyncio.Future[int], options: ServerSecureOptions
) -> None:
    s.details.pop("secure", None)
    raw = s.raw
    if raw is None or s.conn is None:
        _ended_before(s, op)
        return
    try:
        context = build_server_context(options)
    except TlsSetupError as exc:
        _setup_failed(s, op, exc)
        return
    if not await _send_plaintext(op, s):
        return
    sni = SniRecorder(context)
    limit = options.handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT
    transport = await _handshake(s, op, context, None, limit, map_server_ssl_error)
    if transport is None:
        return
    s.adopt_tls(transport)
    _watch_raw_drain(s, raw)
    # On a server socket 'verified' says that the client's certificate was required and
    # passed the check against ca_file; the peer fields describe that certificate.
    info = tls_info(transport.get_extra_info("ssl_object"), "", options.ca_file is not None)
    s.tls = dataclasses.replace(
        info, server_name=sni.server_name, keylog_file=options.keylog_file
    )
    s.secured(op)


def _ended_before(s: TcpSocket, op: asyncio.Future[int]) -> None:
    # The stream ended, and was reported, between the call and this task's first step.
    s.details["secure"] = "the connection ended before the handshake started"
    s.advance(StateEvent.SECURE_FAILED)
    s.ops.end_secure(op, NetError.CONNECTION_CLOSED)


def _setup_failed(s: TcpSocket, op: asyncio.Future[int], exc: TlsSetupError) -> None:
    _log.warning("socket %d: %s", s.id, exc)
    s.details["secure"] = str(exc)
    # Nothing went over the wire: the socket stays a connected plain socket.
    s.advance(StateEvent.SECURE_SETUP_FAILED)
    s.ops.end_secure(op, exc.code)
    s.update_reading()


async def _handshake(
    s: TcpSocket,
    op: asyncio.Future[int],
    context: ssl.SSLContext,
    name: str | None,
    limit: float,
    mapper: ErrorMapper,
) -> asyncio.Transport | None:
    """Run the handshake over the socket's TCP transport (as the server when ``name`` is
    ``None``); the TLS transport, or ``None`` once the failure is reported (T5)."""
    raw, conn = s.raw, s.conn
    assert raw is not None and conn is not None
    try:
        # Our own deadline, so that a silent peer is -7 TIMED_OUT with words for it; asyncio's
        # (an OSError that maps to -2) is set past it and never fires first.
        async with asyncio.timeout(limit):
            transport = await s.loop.start_tls(
                raw,
                conn,
                context,
                server_side=name is None,
                server_hostname=name,
                ssl_handshake_timeout=limit + 60,
            )
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        s.details["secure"] = reason(exc)
        code = mapper(exc)
        if isinstance(exc, TimeoutError):
            peer = "server" if name is not None else "client"
            s.details["secure"] = (
                f"the TLS handshake did not finish within {limit:g} s: the "
                f"peer never answered (is it a TLS {peer} on this port?)"
            )
        if s.ops.is_current(op):
            # T5: the socket stays, disconnected, until close().
            s.teardown(code)
            s.advance(StateEvent.SECURE_FAILED)
            s.ops.end_secure(op, code)
        return None
    if op.done() or s.conn is not conn or transport is None:
        if transport is not None:
            transport.abort()
        return None
    assert isinstance(transport, asyncio.Transport)
    return transport


async def _send_plaintext(op: asyncio.Future[int], s: TcpSocket) -> bool:
    """Plain sends still queued in asyncio go out as plain bytes first: the TLS protocol takes
    the transport over and must find its write buffer empty. False if the socket was
    disconnected or closed meanwhile."""
    while (last := s.sends.last()) is not None:
        await asyncio.shield(last)
        if op.done():
            return False
    return True


async def _take_plaintext(
    s: TcpSocket, op: asyncio.Future[int], raw: asyncio.Transport, sock: socket.socket
) -> bool:
    """Finish the plain part of the stream before the handshake; False if the socket was
    disconnected or closed meanwhile."""
    if not await _send_plaintext(op, s):
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
