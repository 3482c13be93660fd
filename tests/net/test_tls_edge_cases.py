"""Edge cases of ``secure()`` and of sending over TLS that a review found, each pinned to its
contract row.

Every test ran red against the core before the fix it guards: TLS sends that reported success
while their bytes still sat in asyncio's TCP buffer (S2), a plain send still queued when
``secure()`` started that never completed (T2), ``secure()`` on a connection already lost while
paused that never answered (T1), a bug inside ``secure()`` that left it hanging, options that
switched host-name checking off or smuggled a NUL into OpenSSL (T4), and an encrypted client
key that made OpenSSL ask for a pass phrase on the terminal (T5).

Peers: threaded servers from ``tests.net.tls_peers`` (a few scripted handlers are defined here)
and the plain ``ControlledServer`` where no TLS is spoken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import TIMEOUT, TIMEOUT_SCALE, Recorder, assert_stays, wait_for
from tests.net.peers import ControlledServer
from tests.net.test_edge_cases import connect_pause_and_get_reset
from tests.net.tls_peers import (
    PEER_TIMEOUT,
    Handler,
    Pki,
    ThreadedServer,
    server_context,
    tls_accept,
    tls_echo,
)
from workbench.sockets import (
    DnsQueryType,
    NetError,
    SecureOptions,
    SendInfo,
    TcpSockets,
)

Serve = Callable[..., ThreadedServer]

#: The observation window of negative assertions ("the send has not completed").
QUIET = 0.2 * TIMEOUT_SCALE
#: Far more than the kernel buffers of a connection whose peer reads nothing with a 64 KiB
#: receive buffer (our send buffer grows to tcp_wmem's 4 MiB at most).
LARGE = 16 * 2**20
#: The peer's SO_RCVBUF: small and fixed, so it cannot grow to swallow LARGE (tcp_rmem).
PEER_RCVBUF = 64 * 1024


def payload(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def trusting(pki: Pki, **options: object) -> SecureOptions:
    return SecureOptions(ca_file=str(pki.ca_file), **options)  # type: ignore[arg-type]


async def connected(tcp: TcpSockets, port: int, host: str = "localhost") -> int:
    socket_id = (await tcp.create()).socket_id
    result = await tcp.connect(socket_id, host, port, DnsQueryType.IPV4)
    assert result == 0, f"connect to {host}:{port} gave {result}"
    return socket_id


def _sink(conn: socket.socket | ssl.SSLSocket, server: ThreadedServer) -> None:
    """Read and record until the stream ends; report how: ``("ended", "eof")`` for a FIN or a
    close_notify, ``("ended", "reset")``."""
    while True:
        try:
            data = conn.recv(65536)
        except ssl.SSLZeroReturnError:
            data = b""
        except ConnectionResetError:
            server.events.put(("ended", "reset"))
            return
        except OSError:
            if server.stopping:
                return
            raise
        if not data:
            server.events.put(("ended", "eof"))
            return
        server.record(data)


def tls_reader_on_proceed_handler(ctx: ssl.SSLContext) -> Handler:
    """Handshakes, then reads nothing until the test sets ``proceed``; then reads (and records)
    everything until the stream ends. Its receive buffer is small and fixed."""

    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, PEER_RCVBUF)
        tls = tls_accept(conn, server, ctx)
        if tls is None:
            return
        try:
            if not server.proceed.wait(PEER_TIMEOUT):
                raise TimeoutError("the test never said proceed")
            _sink(tls, server)
        finally:
            with contextlib.suppress(OSError, ssl.SSLError):
                tls.close()

    return handler


def plain_then_tls_handler(ctx: ssl.SSLContext, plain_size: int) -> Handler:
    """Reads nothing until ``proceed``; then reads exactly ``plain_size`` plaintext bytes
    (reported as ``("plain", bytes)``), handshakes as a TLS server and echoes."""

    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, PEER_RCVBUF)
        if not server.proceed.wait(PEER_TIMEOUT):
            raise TimeoutError("the test never said proceed")
        plain = bytearray()
        while len(plain) < plain_size:
            chunk = conn.recv(min(65536, plain_size - len(plain)))
            if not chunk:
                break
            plain += chunk
        server.events.put(("plain", bytes(plain)))
        tls_echo(conn, server, ctx)

    return handler


# ---------------------------------------------------------------------------------------------
# S2 over TLS: 'SendInfo(0, len(data)) once all bytes are handed to the OS'
# ---------------------------------------------------------------------------------------------


async def test_S2_tls_send_completes_only_when_the_tcp_buffer_drained(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(tls_reader_on_proceed_handler(server_context(pki.valid)), name="tls-slow")
    socket_id = await connected(tcp, server.port)
    assert await tcp.secure(socket_id, trusting(pki)) == 0
    data = payload(LARGE, seed=1)
    sending = asyncio.ensure_future(tcp.send(socket_id, data))
    # Encrypted is not sent: with the peer reading nothing most of it waits in asyncio's TCP
    # transport under the TLS layer, so the send must not have completed.
    await assert_stays(
        lambda: not sending.done(),
        QUIET,
        lambda: f"send completed while the peer read nothing: {sending.result()}",
    )
    server.proceed.set()
    assert await asyncio.wait_for(sending, TIMEOUT) == SendInfo(result_code=0, bytes_sent=LARGE)
    # 'Handed to the OS' means a graceful disconnect still delivers every byte (S6).
    await tcp.disconnect(socket_id)

    def peer_got_everything() -> bool:
        return len(server.received) >= LARGE

    await wait_for(peer_got_everything, message=lambda: f"peer got {len(server.received)} bytes")
    assert bytes(server.received) == data


# ---------------------------------------------------------------------------------------------
# T2: a plain send still queued when secure() starts
# ---------------------------------------------------------------------------------------------


async def test_T2_plain_send_still_queued_when_secure_starts_goes_out_before_the_handshake(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(plain_then_tls_handler(server_context(pki.valid), LARGE), name="plain-tls")
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    plain = payload(LARGE, seed=2)
    plain_send = asyncio.ensure_future(tcp.send(socket_id, plain))
    await assert_stays(lambda: not plain_send.done(), QUIET, "the plain send was not held up")
    securing = asyncio.ensure_future(tcp.secure(socket_id, trusting(pki)))
    for _ in range(3):
        await asyncio.sleep(0)  # secure() is under way, the plain send still queued
    assert not plain_send.done() and not securing.done()

    server.proceed.set()
    assert await asyncio.wait_for(securing, TIMEOUT) == 0
    # Plain bytes first, then the handshake: the send was complete before secure() was.
    assert plain_send.done()
    assert plain_send.result() == SendInfo(result_code=0, bytes_sent=LARGE)
    assert server.wait_event("plain") == plain
    assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
    message = b"over tls after the plain bytes\n"
    assert await tcp.send(socket_id, message) == SendInfo(result_code=0, bytes_sent=len(message))
    assert await rec.wait_bytes(socket_id, len(message)) == message
    assert bytes(server.received) == message


# ---------------------------------------------------------------------------------------------
# T1: secure() on a connection that is already gone
# ---------------------------------------------------------------------------------------------


async def test_T1_secure_after_the_connection_was_lost_while_paused_answers_its_error_at_once(
    tcp: TcpSockets,
) -> None:
    rec = Recorder(tcp)
    with ControlledServer() as server:
        socket_id = await connect_pause_and_get_reset(tcp, server)
        # A failed write is how a paused socket learns of the reset (its code is S3's business);
        # once the core knows, later sends are -15.
        await asyncio.wait_for(tcp.send(socket_id, b"x"), TIMEOUT)
        assert await tcp.send(socket_id, b"y") == SendInfo(result_code=-15, bytes_sent=None)
        assert (await tcp.get_info(socket_id)).connected is True  # P4: until delivered
        result = await asyncio.wait_for(tcp.secure(socket_id, SecureOptions()), TIMEOUT)
        assert result == -101
        # P4: the error is still held for the paused socket and delivered once, on resume.
        await assert_stays(lambda: not rec.log, QUIET, lambda: f"events while paused: {rec.log}")
        await tcp.set_paused(socket_id, False)
        assert await rec.wait_error(socket_id) == -101
        await assert_stays(lambda: rec.errors_of(socket_id) == [-101], QUIET)
        info = await tcp.get_info(socket_id)
        assert (info.connected, info.paused, info.tls) == (False, True, None)


# ---------------------------------------------------------------------------------------------
# An unexpected error inside secure(): -2 (FAILED), not a hang
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["build_context", "tls_info"])
async def test_internal_error_inside_secure_answers_minus_2_not_a_hang(
    tcp: TcpSockets,
    serve: Serve,
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    where: str,
) -> None:
    # Not a network outcome but a bug: a step of secure() raises an exception that no handler
    # expects, before anything went over the wire (build_context) or after the handshake
    # (tls_info).
    def broken(*args: object) -> object:
        raise RuntimeError(f"bug in {where}")

    monkeypatch.setattr(f"workbench.net.tcp_secure.{where}", broken)
    server = serve(tls_reader_on_proceed_handler(server_context(pki.valid)), name="tls")
    server.proceed.set()
    socket_id = await connected(tcp, server.port)
    with caplog.at_level(logging.ERROR):
        securing = asyncio.ensure_future(tcp.secure(socket_id, trusting(pki)))
        waiting = asyncio.ensure_future(tcp.send(socket_id, b"never sent"))  # S5: it waits
        assert await asyncio.wait_for(securing, TIMEOUT) == NetError.FAILED == -2
        assert await asyncio.wait_for(waiting, TIMEOUT) == SendInfo(result_code=-2)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(
        r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError) for r in logged
    ), f"the bug was not logged: {[r.getMessage() for r in logged]}"
    info = await tcp.get_info(socket_id)
    assert (info.connected, info.tls) == (False, None)
    # The connection is closed, not left open, and nothing was sent on it.
    if where == "build_context":
        failure = server.wait_event("handshake_failed")
        assert not isinstance(failure, ConnectionResetError), failure
    else:
        assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
        assert server.wait_event("ended") == "eof"
    assert bytes(server.received) == b""

    # Nothing is left half-way: with the bug gone the same socket connects and secures.
    monkeypatch.undo()
    assert await tcp.connect(socket_id, "localhost", server.port, DnsQueryType.IPV4) == 0
    assert await tcp.secure(socket_id, trusting(pki)) == 0
    assert await tcp.send(socket_id, b"fine") == SendInfo(result_code=0, bytes_sent=4)
    await wait_for(lambda: bytes(server.received) == b"fine")


# ---------------------------------------------------------------------------------------------
# T4: SecureOptions that would switch verification off or hide part of a name
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", ".", "..", " ", "\t\n", " . ", ". ."])
def test_T4_server_name_that_names_no_host_raises_value_error(name: str) -> None:
    # asyncio reads an empty server_hostname as "no name", which turns host-name checking off;
    # the only opt-out is verify=False.
    with pytest.raises(ValueError, match="server_name"):
        SecureOptions(server_name=name)
    with pytest.raises(ValueError, match="server_name"):
        SecureOptions(server_name=name, verify=False)


def test_T4_real_server_names_are_still_accepted() -> None:
    for name in ("localhost", "example.com.", "127.0.0.1", "::1", "bücher.example"):
        assert SecureOptions(server_name=name).server_name == name


@pytest.mark.parametrize("field", ["ca_file", "server_name", "client_cert", "client_key"])
def test_T4_nul_in_a_name_or_path_raises_value_error(field: str) -> None:
    options: dict[str, str] = {"client_cert": "/tmp/cert.pem"}
    options[field] = "localhost\x00.evil.example" if field == "server_name" else "/tmp/x\x00y"
    with pytest.raises(ValueError, match=field):
        SecureOptions(**options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# T5: an encrypted client key
# ---------------------------------------------------------------------------------------------


async def test_T5_encrypted_client_key_is_minus_117_with_a_clear_reason_and_no_prompt(
    tcp: TcpSockets, serve: Serve, pki: Pki, tmp_path: Path
) -> None:
    key = serialization.load_pem_private_key(pki.client.key.read_bytes(), password=None)
    encrypted = tmp_path / "client.encrypted.key.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    server = serve(tls_reader_on_proceed_handler(server_context(pki.valid)), name="tls")
    server.proceed.set()
    socket_id = await connected(tcp, server.port)
    options = trusting(pki, client_cert=str(pki.client.cert), client_key=str(encrypted))
    # Without a pass-phrase callback OpenSSL asks on the terminal, freezing the event loop.
    assert await asyncio.wait_for(tcp.secure(socket_id, options), TIMEOUT) == -117
    detail = tcp.error_detail(socket_id, "secure")
    assert detail is not None and "encrypted" in detail, detail
    # Nothing went over the wire: still a connected plain socket, which can be secured.
    assert (await tcp.get_info(socket_id)).connected is True
    assert server.accepted == 1 and server.events.empty()
    assert await tcp.secure(socket_id, trusting(pki)) == 0
    assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")


async def test_a_peer_that_never_answers_the_handshake_times_out_with_minus_7(
    tcp: TcpSockets,
) -> None:
    """A plain server that accepts and says nothing: secure() gives up after the options'
    handshake_timeout with -7 TIMED_OUT and says why (it used to wait 60 s and answer -2)."""
    with ControlledServer() as server:
        sid = (await tcp.create()).socket_id
        assert await tcp.connect(sid, "127.0.0.1", server.port) == 0
        options = SecureOptions(verify=False, handshake_timeout=0.3 * TIMEOUT_SCALE)
        assert await tcp.secure(sid, options) == -7
        detail = tcp.error_detail(sid, "secure")
        assert detail is not None and "did not finish within" in detail
        info = await tcp.get_info(sid)
        assert not info.connected  # T5: kept, disconnected, until close()


def test_handshake_timeout_is_checked() -> None:
    assert SecureOptions().handshake_timeout is None  # the default, 30 s
    with pytest.raises(ValueError, match="handshake_timeout"):
        SecureOptions(handshake_timeout=0)
    with pytest.raises(TypeError, match="handshake_timeout"):
        SecureOptions(handshake_timeout="5")  # type: ignore[arg-type]
