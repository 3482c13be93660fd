"""``tcp.secure_server()``: row LS1 of sockets-server-udp-contract.md, server-side TLS on an
accepted socket, against ``openssl s_client``, Python's blocking ``ssl`` client in a thread
and the project's own ``TcpSockets.secure()``. Certificates come from trustme (``pki``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TIMEOUT, Recorder, wait_for
from tests.net.tls_peers import PEER_TIMEOUT, CertFiles, Pki
from workbench.sockets import (
    AcceptInfo,
    NetError,
    SecureOptions,
    SendInfo,
    ServerSecureOptions,
    TcpServerSockets,
    TcpSockets,
    TLSVersionConstraints,
)

LOOPBACK = "127.0.0.1"


def serving(pki: Pki, **options: object) -> ServerSecureOptions:
    return ServerSecureOptions(
        cert_file=str(pki.valid.cert),
        key_file=str(pki.valid.key),
        **options,  # type: ignore[arg-type]
    )


@dataclasses.dataclass
class ThreadClient:
    """A blocking TLS (or plain) client in a thread: connects, optionally sends plaintext
    first and waits for ``wait_for`` before the handshake, then handshakes, sends ``send``
    and reads until EOF. ``error`` is the exception that ended it, if any."""

    port: int
    context: ssl.SSLContext | None
    plaintext: bytes = b""
    expect_plain: bytes = b""
    send: bytes = b""
    server_hostname: str | None = "localhost"
    received: bytes = b""
    plain_received: bytes = b""
    version: str | None = None
    error: BaseException | None = None
    done: threading.Event = dataclasses.field(default_factory=threading.Event)

    def start(self) -> ThreadClient:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=PEER_TIMEOUT) as raw:
                if self.plaintext:
                    raw.sendall(self.plaintext)
                while len(self.plain_received) < len(self.expect_plain):
                    chunk = raw.recv(len(self.expect_plain) - len(self.plain_received))
                    if not chunk:
                        break
                    self.plain_received += chunk
                if self.context is None:
                    return
                with self.context.wrap_socket(raw, server_hostname=self.server_hostname) as tls:
                    self.version = tls.version()
                    tls.sendall(self.send)
                    while chunk := tls.recv(65536):
                        self.received += chunk
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    async def finished(self) -> None:
        await wait_for(self.done.is_set, message="the TLS client thread did not finish")


def client_context(
    ca: Path, cert: CertFiles | None = None, maximum: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


async def accepted_one(
    tcp: TcpSockets, servers: TcpServerSockets, start: Callable[[int], object]
) -> int:
    """Listen, let ``start(port)`` connect a client, and return the accepted socket's id."""
    accepts: list[AcceptInfo] = []
    servers.on_accept.add_listener(accepts.append)
    sid = (await servers.create()).socket_id
    assert await servers.listen(sid, LOOPBACK, 0) == 0
    port = (await servers.get_info(sid)).local_port
    assert port is not None
    start(port)
    await wait_for(lambda: accepts)
    servers.on_accept.remove_listener(accepts.append)
    return accepts[0].client_socket_id


# -------------------------------------------------------------------------------------------
# LS1
# -------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_LS1_openssl_s_client_handshakes_and_talks_both_ways(
    tcp: TcpSockets, pki: Pki
) -> None:
    recorder = Recorder(tcp)
    procs: list[subprocess.Popen[bytes]] = []

    def s_client(port: int) -> None:
        procs.append(
            subprocess.Popen(
                [
                    "openssl",
                    "s_client",
                    "-connect",
                    f"{LOOPBACK}:{port}",
                    "-servername",
                    "localhost",
                    "-CAfile",
                    str(pki.ca_file),
                    "-verify_return_error",
                    "-quiet",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )

    async with TcpServerSockets(tcp) as servers:
        client = await accepted_one(tcp, servers, s_client)
        (proc,) = procs
        try:
            assert await tcp.secure_server(client, serving(pki)) == NetError.OK
            info = await tcp.get_info(client)
            assert info.tls is not None and info.connected and info.paused
            assert info.tls.version in ("TLSv1.2", "TLSv1.3")
            assert info.tls.server_name == "localhost"  # the SNI s_client sent
            assert info.tls.verified is False  # no client certificate was asked for
            await tcp.set_paused(client, False)
            assert proc.stdin is not None
            proc.stdin.write(b"hello from s_client\n")
            proc.stdin.flush()
            assert await recorder.wait_bytes(client, 20) == b"hello from s_client\n"
            assert await tcp.send(client, b"hello from the server\n") == SendInfo(
                result_code=0, bytes_sent=22
            )
            await tcp.disconnect(client)  # close_notify, then FIN: s_client ends
            out, err = proc.communicate(timeout=TIMEOUT)
            assert out == b"hello from the server\n", err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


async def test_LS1_the_projects_own_client_secures_against_its_own_server(
    tcp: TcpSockets, pki: Pki
) -> None:
    recorder = Recorder(tcp)
    async with TcpServerSockets(tcp) as servers:
        accepts: list[AcceptInfo] = []
        servers.on_accept.add_listener(accepts.append)
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        port = (await servers.get_info(sid)).local_port
        assert port is not None
        me = (await tcp.create()).socket_id
        assert await tcp.connect(me, "localhost", port) == 0
        await wait_for(lambda: accepts)
        peer = accepts[0].client_socket_id
        client_side = asyncio.ensure_future(tcp.secure(me, SecureOptions(ca_file=str(pki.ca_file))))
        assert await tcp.secure_server(peer, serving(pki)) == 0
        assert await asyncio.wait_for(client_side, TIMEOUT) == 0
        mine, theirs = await tcp.get_info(me), await tcp.get_info(peer)
        assert mine.tls is not None and theirs.tls is not None
        assert mine.tls.version == theirs.tls.version and mine.tls.cipher == theirs.tls.cipher
        assert mine.tls.verified and mine.tls.peer_subject is not None
        assert theirs.tls.server_name == "localhost" and theirs.tls.verified is False
        await tcp.set_paused(peer, False)
        assert await tcp.send(me, b"over tls") == SendInfo(result_code=0, bytes_sent=8)
        assert await recorder.wait_bytes(peer, 8) == b"over tls"
        assert await tcp.send(peer, b"and back") == SendInfo(result_code=0, bytes_sent=8)
        assert await recorder.wait_bytes(me, 8) == b"and back"


async def test_LS1_starttls_plaintext_first_then_tls_in_place(tcp: TcpSockets, pki: Pki) -> None:
    recorder = Recorder(tcp)
    async with TcpServerSockets(tcp) as servers:
        client = ThreadClient(
            0,
            client_context(pki.ca_file),
            plaintext=b"STARTTLS\r\n",
            expect_plain=b"220 go ahead\r\n",
            send=b"secret",
        )

        def start(port: int) -> None:
            client.port = port
            client.start()

        sock_id = await accepted_one(tcp, servers, start)
        await tcp.set_paused(sock_id, False)
        assert await recorder.wait_bytes(sock_id, 10) == b"STARTTLS\r\n"
        assert await tcp.send(sock_id, b"220 go ahead\r\n") == SendInfo(
            result_code=0, bytes_sent=14
        )
        assert await tcp.secure_server(sock_id, serving(pki)) == 0
        info = await tcp.get_info(sock_id)
        assert info.tls is not None and not info.paused and info.socket_id == sock_id
        assert await recorder.wait_bytes(sock_id, 16) == b"STARTTLS\r\nsecret"
        await tcp.disconnect(sock_id)
        await client.finished()
        assert client.error is None and client.plain_received == b"220 go ahead\r\n"


async def test_LS1_required_client_certificate_is_verified(tcp: TcpSockets, pki: Pki) -> None:
    async with TcpServerSockets(tcp) as servers:
        client = ThreadClient(0, client_context(pki.ca_file, pki.client), send=b"x")

        def start(port: int) -> None:
            client.port = port
            client.start()

        sock_id = await accepted_one(tcp, servers, start)
        options = serving(pki, ca_file=str(pki.client_ca_file))
        assert await tcp.secure_server(sock_id, options) == 0
        tls = (await tcp.get_info(sock_id)).tls
        assert tls is not None and tls.verified and tls.peer_subject is not None
        await tcp.close(sock_id)
        await client.finished()


async def test_LS1_missing_client_certificate_is_minus_110(tcp: TcpSockets, pki: Pki) -> None:
    async with TcpServerSockets(tcp) as servers:
        client = ThreadClient(0, client_context(pki.ca_file), send=b"x")

        def start(port: int) -> None:
            client.port = port
            client.start()

        sock_id = await accepted_one(tcp, servers, start)
        options = serving(pki, ca_file=str(pki.client_ca_file))
        code = await tcp.secure_server(sock_id, options)
        assert code == NetError.SSL_CLIENT_AUTH_CERT_NEEDED == -110, tcp.error_detail(
            sock_id, "secure"
        )
        info = await tcp.get_info(sock_id)
        assert not info.connected and info.tls is None  # T5: the socket stays, disconnected
        await client.finished()


async def test_LS1_untrusted_client_certificate_is_minus_117(tcp: TcpSockets, pki: Pki) -> None:
    async with TcpServerSockets(tcp) as servers:
        client = ThreadClient(0, client_context(pki.ca_file, pki.client_untrusted), send=b"x")

        def start(port: int) -> None:
            client.port = port
            client.start()

        sock_id = await accepted_one(tcp, servers, start)
        options = serving(pki, ca_file=str(pki.client_ca_file))
        code = await tcp.secure_server(sock_id, options)
        assert code == NetError.BAD_SSL_CLIENT_AUTH_CERT == -117, tcp.error_detail(
            sock_id, "secure"
        )
        await client.finished()


@pytest.mark.parametrize(
    ("client_kind", "expected"),
    [
        ("plaintext", NetError.SSL_PROTOCOL_ERROR),  # not TLS at all: -107
        ("wrong_ca", NetError.CERT_AUTHORITY_INVALID),  # the client rejects our certificate
        ("old_version", NetError.SSL_VERSION_OR_CIPHER_MISMATCH),
        ("closes", NetError.CONNECTION_CLOSED),
    ],
)
async def test_LS1_handshake_failures_map_as_in_T5(
    tcp: TcpSockets, pki: Pki, client_kind: str, expected: int
) -> None:
    options = serving(pki)
    context: ssl.SSLContext | None = client_context(pki.ca_file)
    plaintext = b""
    if client_kind == "plaintext":
        context, plaintext = None, b"GET / HTTP/1.0\r\n\r\n"
    elif client_kind == "wrong_ca":
        context = client_context(pki.other_ca_file)
    elif client_kind == "old_version":
        context = client_context(pki.ca_file, maximum=ssl.TLSVersion.TLSv1_2)
        options = serving(pki, tls_version=TLSVersionConstraints(min="tls1.3"))
    elif client_kind == "closes":
        context = None
    async with TcpServerSockets(tcp) as servers:
        client = ThreadClient(0, context, plaintext=plaintext)

        def start(port: int) -> None:
            client.port = port
            client.start()

        sock_id = await accepted_one(tcp, servers, start)
        if client_kind in ("plaintext", "closes"):
            await client.finished()  # its bytes (or its FIN) are with the OS
        code = await tcp.secure_server(sock_id, options)
        assert code == expected, (code, tcp.error_detail(sock_id, "secure"))
        assert not (await tcp.get_info(sock_id)).connected
        await client.finished()


async def test_LS1_a_client_that_never_speaks_times_out_with_minus_7(
    tcp: TcpSockets, pki: Pki
) -> None:
    async with TcpServerSockets(tcp) as servers:
        with socket.socket() as silent:
            sock_id = await accepted_one(
                tcp, servers, lambda port: silent.connect((LOOPBACK, port))
            )
            options = serving(pki, handshake_timeout=0.3)
            assert await tcp.secure_server(sock_id, options) == NetError.TIMED_OUT
            assert "TLS client" in (tcp.error_detail(sock_id, "secure") or "")


async def test_LS1_refusals_and_unusable_files_leave_the_socket_as_it_was(
    tcp: TcpSockets, pki: Pki, tmp_path: Path
) -> None:
    fresh = (await tcp.create()).socket_id
    assert await tcp.secure_server(fresh, serving(pki)) == NetError.INVALID_ARGUMENT
    with pytest.raises(TypeError):
        await tcp.secure_server(fresh, SecureOptions())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ServerSecureOptions(cert_file=None, key_file="k")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ServerSecureOptions(cert_file="c\x00", key_file="k")
    async with TcpServerSockets(tcp) as servers:
        with socket.socket() as peer:
            sock_id = await accepted_one(tcp, servers, lambda port: peer.connect((LOOPBACK, port)))
            missing = ServerSecureOptions(
                cert_file=str(tmp_path / "none.pem"), key_file=str(tmp_path / "none.key")
            )
            assert await tcp.secure_server(sock_id, missing) == NetError.INVALID_ARGUMENT
            assert "cannot load certificate" in (tcp.error_detail(sock_id, "secure") or "")
            info = await tcp.get_info(sock_id)
            assert info.connected and info.tls is None and info.paused  # plain, as it was
            assert await tcp.send(sock_id, b"plain") == SendInfo(result_code=0, bytes_sent=5)
            assert peer.recv(5) == b"plain"
