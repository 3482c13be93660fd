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
from workbench.core.state import State, StateEvent
from workbench.core.types import DEFAULT_HANDSHAKE_TIMEOUT, SecureOptions, ServerSecureOptions
from workbench.net.tcp_server_tls import SniRecorder, build_server_context, map_server_ssl_error
from workbench.net.tcp_socket import TcpSocket
from workbench.net.tls import (
    HandshakeTrace,
    TlsSetupError,
    build_context,
    inspection,
    sent_server_name,
    server_hostname,
    tls_info,
)
from workbench.net.tls_sessions import TlsSessions
from workbench.net.words import reason

__all__ = ["secure", "secure_server"]

_log = logging.getLogger("workbench.sockets")

#: Maps a handshake's exception to its result code.
ErrorMapper = Callable[[BaseException], int]


async def secure(s: TcpSocket, options: SecureOptions, sessions: TlsSessions | None = None) -> int:
    """'Start a TLS client connection over the connected TCP client socket.' The table has
    already said GO. ``sessions`` keeps the newest session per peer and offers it when
    ``options.resume`` asks (tls-inspection-contract.md TI6); None keeps none."""
    s.begin_secure()
    return await s.run_op(lambda op: _secure(s, op, options, sessions))


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


async def _secure(
    s: TcpSocket, op: asyncio.Future[int], options: SecureOptions, sessions: TlsSessions | None
) -> None:
    s.details.pop("secure", None)
    raw, conn, sock = s.raw, s.conn, s.sock
    if raw is None or conn is None or sock is None:
        _ended_before(s, op)
        return
    name = server_hostname(options, s.host or "")
    key = (s.peer[0], s.peer[1], sent_server_name(name)) if s.peer is not None else None
    kept = sessions.offer(key, options) if sessions is not None and key is not None else None
    if kept is not None:
        context, session = kept
    else:
        try:
            context, session = build_context(options), None
        except TlsSetupError as exc:
            _setup_failed(s, op, exc)
            return
    if not await _take_plaintext(s, op, raw, sock):
        return
    trace = HandshakeTrace()
    limit = options.handshake_timeout or DEFAULT_HANDSHAKE_TIMEOUT
    offer = context.offer(trace, session)
    started = s.loop.time()
    transport = await _handshake(s, op, context, name, limit, _client_mapper(s, options, trace))
    context.withdraw(offer)
    if transport is None:
        context.release(offer.ssl_object)
        return
    ssl_object = transport.get_extra_info("ssl_object")
    s.adopt_tls(transport)
    _watch_raw_drain(s, raw)
    info = tls_info(ssl_object, name, options.verify)
    info = dataclasses.replace(info, keylog_file=options.keylog_file)
    s.tls = inspection(info, ssl_object, trace, options.alpn or (), name)
    _follow(s, raw, trace)
    grace = min(max(2 * (s.loop.time() - started), 0.05), _TICKET_GRACE, limit)
    ok = await _tickets(s, op, trace, grace)
    # TlsInfo is what the handshake settled, up to here: the trace stops listening, since
    # OpenSSL calls the hook for every record while it is set.
    trace.done = True
    context.release(ssl_object)
    if not ok:
        return
    if sessions is not None and key is not None:
        sessions.keep(key, options, context, ssl_object)
    s.secured(op)


#: The longest secure() waits, after a TLS 1.3 handshake, for the server's NewSessionTicket
#: (seconds); it waits about two round trips of the handshake itself.
_TICKET_GRACE = 0.5


def _client_mapper(s: TcpSocket, options: SecureOptions, trace: HandshakeTrace) -> ErrorMapper:
    def mapper(exc: BaseException) -> int:
        if isinstance(exc, ssl.SSLError) and exc.reason == "TLSV1_ALERT_NO_APPLICATION_PROTOCOL":
            offered = ", ".join(options.alpn or ())
            s.details["secure"] = (
                f"the server accepts none of the ALPN protocols offered ({offered}): "
                f"{s.details.get('secure', reason(exc))}"
            )
        return map_ssl_error(
            exc,
            sent_client_cert=options.client_cert is not None,
            cert_requested=trace.cert_requested,
        )

    return mapper


def _follow(s: TcpSocket, raw: asyncio.Transport, trace: HandshakeTrace) -> None:
    """Handshake messages that come after the handshake (TLS 1.3's NewSessionTickets) update
    the socket's ``TlsInfo`` while ``secure()`` waits for them (``_tickets``)."""

    def update() -> None:
        if s.raw is raw and s.tls is not None:
            s.tls = dataclasses.replace(
                s.tls, ticket_lifetime=trace.ticket_lifetime, handshake=tuple(trace.messages)
            )

    trace.on_update = update
    trace.handshake_over = True


async def _tickets(
    s: TcpSocket, op: asyncio.Future[int], trace: HandshakeTrace, grace: float
) -> bool:
    """On TLS 1.3, wait up to ``grace`` for the server's first NewSessionTicket: it comes a
    round trip after the handshake, and without it there is no ticket lifetime to report and
    no session to resume. Anything else the server sends first ends the wait too. False if the
    socket was disconnected or closed meanwhile (then the operation has ended)."""
    if (
        s.tls is None
        or s.tls.version != "TLSv1.3"
        or trace.ticket_lifetime is not None
        or trace.interrupted
        or not trace.client_hello_seen
    ):
        return not op.done()
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()
    update = trace.on_update

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    def on_update() -> None:
        if update is not None:
            update()
        if trace.ticket_lifetime is not None or trace.interrupted:
            wake()

    # One loop hop from the record to this task: it runs before asyncio, a hop or two later,
    # reports an alert or a close that came with the record.
    trace.on_update = on_update
    timer = loop.call_later(grace, wake)
    try:
        await woken
    finally:
        timer.cancel()
        trace.on_update = update
    if op.done():
        return False
    if s.state is not State.SECURING:
        # The connection ended while we waited (a close without an alert): the handshake
        # itself had succeeded, but there is no secure socket to report.
        s.details["secure"] = "the connection ended right after the TLS handshake"
        s.ops.end_secure(op, NetError.CONNECTION_CLOSED)
        return False
    return True


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
    s.tls = dataclasses.replace(info, server_name=sni.server_name, keylog_file=options.keylog_file)
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
