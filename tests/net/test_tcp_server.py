"""``chrome.sockets.tcpServer``: rows L1 to L11 of sockets-server-udp-contract.md.

Every test is named after its row and runs against real clients: plain ``socket`` clients
driven on the loop (``sock_connect``/``sock_recv``), ``ncat`` as a separate process, and the
project's own ``TcpSockets`` connecting to the server it also accepts from. Waits are on
conditions; the only fixed windows are ``assert_stays`` ones proving something does not
happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TIMEOUT, Recorder, assert_stays, wait_for
from tests.net.tls_peers import ipv6_loopback_available
from workbench.sockets import (
    AcceptErrorInfo,
    AcceptInfo,
    ChangeReason,
    NetError,
    SendInfo,
    ServerSocketInfo,
    ServerSocketProperties,
    SocketChange,
    SocketNotFoundError,
    State,
    TcpServerSockets,
    TcpSockets,
)

LOOPBACK = "127.0.0.1"


class Accepts:
    """Records ``on_accept`` and ``on_accept_error`` of one ``TcpServerSockets``, in order."""

    def __init__(self, servers: TcpServerSockets) -> None:
        self.accepted: list[AcceptInfo] = []
        self.errors: list[AcceptErrorInfo] = []
        servers.on_accept.add_listener(self.accepted.append)
        servers.on_accept_error.add_listener(self.errors.append)

    async def wait(self, n: int) -> list[AcceptInfo]:
        await wait_for(
            lambda: len(self.accepted) >= n,
            message=lambda: f"{len(self.accepted)} of {n} accepted; errors {self.errors}",
        )
        return self.accepted[:n]

    def clients(self) -> list[int]:
        return [a.client_socket_id for a in self.accepted]


async def listening(
    servers: TcpServerSockets, address: str = LOOPBACK, **kw: Any
) -> tuple[int, int]:
    """A new server listening on ``address`` and a free port: (server id, port)."""
    sid = (await servers.create(kw.pop("properties", None))).socket_id
    assert await servers.listen(sid, address, 0, **kw) == 0
    info = await servers.get_info(sid)
    assert info.local_port
    return sid, info.local_port


@contextlib.contextmanager
def clients() -> Iterator[list[socket.socket]]:
    """Plain client sockets, closed at the end."""
    made: list[socket.socket] = []
    try:
        yield made
    finally:
        for sock in made:
            sock.close()


async def connect_plain(
    made: list[socket.socket], port: int, host: str = LOOPBACK
) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    made.append(sock)
    sock.setblocking(False)
    await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)), TIMEOUT)
    return sock


async def recv_exactly(sock: socket.socket, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    async with asyncio.timeout(TIMEOUT):
        while len(data) < n:
            chunk = await loop.sock_recv(sock, n - len(data))
            if not chunk:
                break
            data += chunk
    return data


async def recv_to_eof(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    async with asyncio.timeout(TIMEOUT):
        while chunk := await loop.sock_recv(sock, 65536):
            data += chunk
    return data


def listen_queue_length(port: int) -> int:
    """The backlog the kernel has for the listener on ``port``: ``ss`` shows it as Send-Q."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[2])


# -------------------------------------------------------------------------------------------
# L1: create()
# -------------------------------------------------------------------------------------------


async def test_L1_server_ids_are_their_own_sequence_from_1_never_reused(tcp: TcpSockets) -> None:
    await tcp.create()
    await tcp.create()  # tcp ids 1 and 2 take nothing from the servers' sequence
    async with TcpServerSockets(tcp) as servers:
        ids = [(await servers.create()).socket_id for _ in range(3)]
        assert ids == [1, 2, 3]
        await servers.close(2)
        assert (await servers.create()).socket_id == 4
        assert [i.socket_id for i in await servers.get_sockets()] == [1, 3, 4]
    async with TcpServerSockets(tcp) as other:  # per instance, as Chrome's resource managers
        assert (await other.create()).socket_id == 1
    assert (await tcp.create()).socket_id == 3


async def test_L1_defaults_and_properties(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        sid = (await servers.create()).socket_id
        assert await servers.get_info(sid) == ServerSocketInfo(
            socket_id=sid, persistent=False, paused=False
        )
        named = await servers.create(ServerSocketProperties(name="smtp", persistent=True))
        info = await servers.get_info(named.socket_id)
        assert (info.name, info.persistent, info.local_address, info.local_port) == (
            "smtp",
            True,
            None,
            None,
        )
        await servers.update(named.socket_id, ServerSocketProperties(persistent=False))
        info = await servers.get_info(named.socket_id)
        assert (info.name, info.persistent) == ("smtp", False)  # only the given field changed


async def test_L1_bad_arguments_raise(tcp: TcpSockets) -> None:
    with pytest.raises(TypeError):
        TcpServerSockets(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ServerSocketProperties(name=5)  # type: ignore[arg-type]
    async with TcpServerSockets(tcp) as servers:
        sid = (await servers.create()).socket_id
        with pytest.raises(TypeError):
            await servers.create(object())  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await servers.listen(sid, 127001, 0)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await servers.listen(sid, LOOPBACK, "80")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await servers.listen(sid, LOOPBACK, 65536)
        with pytest.raises(ValueError):
            await servers.listen(sid, LOOPBACK, 0, backlog=-1)
        with pytest.raises(ValueError):
            await servers.listen(sid, "127.0.0.1\x00x", 0)
        with pytest.raises(TypeError):
            await servers.set_paused(sid, 1)  # type: ignore[arg-type]
        for call in (
            servers.get_info(99),
            servers.listen(99, LOOPBACK, 0),
            servers.set_paused(99, True),
            servers.disconnect(99),
            servers.close(99),
            servers.update(99, ServerSocketProperties()),
        ):
            with pytest.raises(SocketNotFoundError, match="Socket not found"):
                await call


# -------------------------------------------------------------------------------------------
# L2: listen()
# -------------------------------------------------------------------------------------------


async def test_L2_listen_on_port_0_reports_the_address_and_the_chosen_port(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, LOOPBACK, 0) == NetError.OK
        info = await servers.get_info(sid)
        assert info.local_address == LOOPBACK
        assert info.local_port is not None and 0 < info.local_port < 65536
        with clients() as made:
            sock = await connect_plain(made, info.local_port)
            assert sock.getpeername() == (LOOPBACK, info.local_port)


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback")
async def test_L2_ipv6_address_without_brackets(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        sid, port = await listening(servers, "::1")
        assert (await servers.get_info(sid)).local_address == "::1"
        accepts = Accepts(servers)
        with clients() as made:
            await connect_plain(made, port, "::1")
            (accept,) = await accepts.wait(1)
            assert (await tcp.get_info(accept.client_socket_id)).peer_address == "::1"


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
async def test_L2_backlog_none_is_somaxconn_and_a_given_backlog_is_used(tcp: TcpSockets) -> None:
    with open("/proc/sys/net/core/somaxconn") as f:
        kernel_cap = int(f.read())
    async with TcpServerSockets(tcp) as servers:
        _, port = await listening(servers)
        assert listen_queue_length(port) == min(socket.SOMAXCONN, kernel_cap)
        _, port = await listening(servers, backlog=5)
        assert listen_queue_length(port) == 5


async def test_L2_listener_has_so_reuseaddr_a_port_in_time_wait_can_be_listened_on_again(
    tcp: TcpSockets,
) -> None:
    # The server side closes first, so the server's port has a connection in TIME_WAIT:
    # without SO_REUSEADDR, bind() would fail with EADDRINUSE for a minute.
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        with clients() as made:
            sock = await connect_plain(made, port)
            (accept,) = await accepts.wait(1)
            await tcp.close(accept.client_socket_id)  # active close: TIME_WAIT is ours
            assert await recv_to_eof(sock) == b""
            sock.close()
        await servers.disconnect(sid)
        assert await servers.listen(sid, LOOPBACK, port) == NetError.OK
        assert (await servers.get_info(sid)).local_port == port
        # And a plain socket without SO_REUSEADDR indeed could not have bound it.
        await servers.disconnect(sid)
        with socket.socket() as plain, pytest.raises(OSError) as raised:
            plain.bind((LOOPBACK, port))
        assert raised.value.errno == errno.EADDRINUSE


# -------------------------------------------------------------------------------------------
# L3: listen() failures
# -------------------------------------------------------------------------------------------


async def test_L3_port_in_use_is_minus_147_and_the_socket_stays_usable(tcp: TcpSockets) -> None:
    with socket.socket() as other:
        other.bind((LOOPBACK, 0))
        other.listen()
        taken = other.getsockname()[1]
        async with TcpServerSockets(tcp) as servers:
            sid = (await servers.create()).socket_id
            assert await servers.listen(sid, LOOPBACK, taken) == NetError.ADDRESS_IN_USE == -147
            assert "in use" in (servers.error_detail(sid) or "")
            info = await servers.get_info(sid)
            assert (info.local_address, info.local_port) == (None, None)
            assert await servers.listen(sid, LOOPBACK, 0) == 0  # usable for another listen


@pytest.mark.parametrize("address", ["localhost", "x", "", "[::1]", "1.2.3", "127.0.0.1:80"])
async def test_L3_an_address_that_is_not_an_ip_literal_is_minus_108(
    tcp: TcpSockets, address: str
) -> None:
    async with TcpServerSockets(tcp) as servers:
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, address, 0) == NetError.ADDRESS_INVALID == -108
        assert await servers.listen(sid, LOOPBACK, 0) == 0


async def test_L3_an_address_this_machine_does_not_have_is_minus_108(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        sid = (await servers.create()).socket_id
        # 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it.
        assert await servers.listen(sid, "192.0.2.1", 0) == NetError.ADDRESS_INVALID
        assert "assign" in (servers.error_detail(sid) or "")  # EADDRNOTAVAIL's words
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        assert (await servers.get_info(sid)).local_address == LOOPBACK


# -------------------------------------------------------------------------------------------
# L4: listen() on a listening socket
# -------------------------------------------------------------------------------------------


async def test_L4_listen_on_a_listening_socket_is_minus_4_and_the_listener_keeps_working(
    tcp: TcpSockets,
) -> None:
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        assert await servers.listen(sid, LOOPBACK, 0) == NetError.INVALID_ARGUMENT == -4
        assert await servers.listen(sid, LOOPBACK, port) == -4
        assert (await servers.get_info(sid)).local_port == port
        with clients() as made:
            await connect_plain(made, port)
            (accept,) = await accepts.wait(1)
            assert accept.socket_id == sid


# -------------------------------------------------------------------------------------------
# L5: a client connects
# -------------------------------------------------------------------------------------------


async def test_L5_plain_client_is_accepted_paused_and_its_early_bytes_are_held(
    tcp: TcpSockets,
) -> None:
    recorder = Recorder(tcp)
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        with clients() as made:
            sock = await connect_plain(made, port)
            sock.sendall(b"early bytes;")
            (accept,) = await accepts.wait(1)
            assert accept == AcceptInfo(socket_id=sid, client_socket_id=accept.client_socket_id)
            client = accept.client_socket_id
            info = await tcp.get_info(client)
            assert info.connected and info.paused  # 'the client socket is initially paused'
            assert (info.peer_address, info.peer_port) == sock.getsockname()
            assert (info.local_address, info.local_port) == (LOOPBACK, port)
            assert client in [i.socket_id for i in await tcp.get_sockets()]
            await assert_stays(lambda: recorder.received(client) == b"")
            sock.sendall(b" later bytes")
            await tcp.set_paused(client, False)
            assert await recorder.wait_bytes(client, 24) == b"early bytes; later bytes"
        assert await recorder.wait_error(client) == NetError.CONNECTION_CLOSED
    assert len(accepts.accepted) == 1


@pytest.mark.skipif(shutil.which("ncat") is None, reason="needs ncat")
async def test_L5_ncat_client_both_ways(tcp: TcpSockets) -> None:
    recorder = Recorder(tcp)
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        _, port = await listening(servers)
        proc = subprocess.Popen(
            ["ncat", LOOPBACK, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(b"hello from ncat\n")
            proc.stdin.flush()
            (accept,) = await accepts.wait(1)
            client = accept.client_socket_id
            await tcp.set_paused(client, False)
            assert await recorder.wait_bytes(client, 16) == b"hello from ncat\n"
            assert await tcp.send(client, b"hello from the server\n") == SendInfo(
                result_code=0, bytes_sent=22
            )
            proc.stdin.close()  # ncat half-closes: the server sees its FIN
            assert await recorder.wait_error(client) == NetError.CONNECTION_CLOSED
            await tcp.close(client)
            out = await asyncio.wait_for(asyncio.to_thread(proc.stdout.read), TIMEOUT)
            assert out == b"hello from the server\n"
        finally:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


async def test_L5_the_projects_own_client_connects_to_its_own_server(tcp: TcpSockets) -> None:
    recorder = Recorder(tcp)
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        _, port = await listening(servers)
        me = (await tcp.create()).socket_id
        assert await tcp.connect(me, LOOPBACK, port) == 0
        assert await tcp.send(me, b"ping") == SendInfo(result_code=0, bytes_sent=4)
        (accept,) = await accepts.wait(1)
        peer = accept.client_socket_id
        assert peer != me
        mine, theirs = await tcp.get_info(me), await tcp.get_info(peer)
        assert (theirs.peer_address, theirs.peer_port) == (mine.local_address, mine.local_port)
        assert (mine.peer_port, theirs.local_port) == (port, port)
        await tcp.set_paused(peer, False)
        assert await recorder.wait_bytes(peer, 4) == b"ping"
        assert await tcp.send(peer, b"pong") == SendInfo(result_code=0, bytes_sent=4)
        assert await recorder.wait_bytes(me, 4) == b"pong"


async def test_L5_on_changed_reports_created_paused_then_connected(tcp: TcpSockets) -> None:
    changes: list[SocketChange] = []
    tcp.on_changed.add_listener(changes.append)
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        _, port = await listening(servers)
        with clients() as made:
            await connect_plain(made, port)
            (accept,) = await accepts.wait(1)
        mine = [c for c in changes if c.socket_id == accept.client_socket_id]
        assert [(c.reason, c.state) for c in mine[:2]] == [
            (ChangeReason.CREATED, State.CREATED),
            (ChangeReason.STATE, State.CONNECTED),
        ]
        assert mine[0].info is not None and mine[0].info.paused
        assert mine[1].info is not None and mine[1].info.connected
        assert tcp.state_of(accept.client_socket_id) is State.CONNECTED


# -------------------------------------------------------------------------------------------
# L6: accepted sockets are sockets of tcp like any other
# -------------------------------------------------------------------------------------------


async def test_L6_every_tcp_call_works_on_an_accepted_socket(tcp: TcpSockets) -> None:
    recorder = Recorder(tcp)
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        _, port = await listening(servers)
        with clients() as made:
            sock = await connect_plain(made, port)
            (accept,) = await accepts.wait(1)
            client = accept.client_socket_id
            assert await tcp.set_keep_alive(client, True, 30) == 0
            assert await tcp.set_no_delay(client, False) == 0
            options = await tcp.get_socket_options(client)
            assert options is not None and options["no_delay"] is False
            assert await tcp.send(client, b"to the client") == SendInfo(
                result_code=0, bytes_sent=13
            )
            assert await recv_exactly(sock, 13) == b"to the client"
            await tcp.set_paused(client, False)
            sock.sendall(b"abc")
            assert await recorder.wait_bytes(client, 3) == b"abc"
            await tcp.set_paused(client, True)
            assert (await tcp.get_info(client)).paused
            await tcp.disconnect(client)
            assert await recv_to_eof(sock) == b""
            info = await tcp.get_info(client)
            assert not info.connected and info.peer_address is None
            assert await tcp.send(client, b"x") == SendInfo(result_code=-15)
            await tcp.close(client)
            with pytest.raises(SocketNotFoundError):
                await tcp.get_info(client)


# -------------------------------------------------------------------------------------------
# L7: a paused server
# -------------------------------------------------------------------------------------------


async def test_L7_paused_server_leaves_connections_in_the_backlog_then_accepts_in_order(
    tcp: TcpSockets,
) -> None:
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        await servers.set_paused(sid, True)
        assert (await servers.get_info(sid)).paused
        with clients() as made:
            socks = [await connect_plain(made, port) for _ in range(3)]  # handshakes complete
            for i, sock in enumerate(socks):
                sock.sendall(b"client %d" % i)
            await assert_stays(lambda: not accepts.accepted and not accepts.errors)
            assert tcp.socket_ids() == []  # nothing was accepted from the OS
            await servers.set_paused(sid, False)
            accepted = await accepts.wait(3)
            peers = [(await tcp.get_info(a.client_socket_id)).peer_port for a in accepted]
            assert peers == [s.getsockname()[1] for s in socks]  # in arrival order


async def test_L7_pause_stops_on_accept_and_resume_reports_what_waited(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        with clients() as made:
            await connect_plain(made, port)
            await accepts.wait(1)
            await servers.set_paused(sid, True)
            await servers.set_paused(sid, True)  # the same value: no effect
            await connect_plain(made, port)
            await assert_stays(lambda: len(accepts.accepted) == 1)
            await servers.set_paused(sid, False)
            await accepts.wait(2)
            assert not (await servers.get_info(sid)).paused


# -------------------------------------------------------------------------------------------
# L8: disconnect()
# -------------------------------------------------------------------------------------------


async def test_L8_disconnect_frees_the_port_at_once_and_accepted_sockets_stay(
    tcp: TcpSockets,
) -> None:
    recorder = Recorder(tcp)
    async with TcpServerSockets(tcp) as servers, TcpServerSockets(tcp) as others:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        with clients() as made:
            sock = await connect_plain(made, port)
            (accept,) = await accepts.wait(1)
            client = accept.client_socket_id
            await servers.disconnect(sid)
            info = await servers.get_info(sid)  # the id stays valid
            assert (info.local_address, info.local_port) == (None, None)
            with socket.socket() as refused:  # nobody listens there now
                assert refused.connect_ex((LOOPBACK, port)) == errno.ECONNREFUSED
            # Another server takes the port while the accepted connection still uses it.
            other = (await others.create()).socket_id
            assert await others.listen(other, LOOPBACK, port) == 0
            await others.disconnect(other)
            with socket.socket() as plain:  # and so does any socket with SO_REUSEADDR
                plain.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                plain.bind((LOOPBACK, port))
                plain.listen()
            # The accepted socket is still connected, both ways.
            assert (await tcp.get_info(client)).connected
            assert await tcp.send(client, b"still here") == SendInfo(result_code=0, bytes_sent=10)
            assert await recv_exactly(sock, 10) == b"still here"
            await tcp.set_paused(client, False)
            sock.sendall(b"me too")
            assert await recorder.wait_bytes(client, 6) == b"me too"
        # listen works again on the same id.
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        assert (await servers.get_info(sid)).local_port


async def test_L8_disconnect_of_a_paused_server_closes_what_waited(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        await servers.set_paused(sid, True)
        with clients() as made:
            sock = await connect_plain(made, port)
            await servers.disconnect(sid)
            # The connection waited in the backlog of a listener that is gone: reset.
            with pytest.raises(ConnectionResetError):
                await recv_to_eof(sock)
        await servers.set_paused(sid, False)
        await assert_stays(lambda: not accepts.accepted)
        assert tcp.socket_ids() == []


# -------------------------------------------------------------------------------------------
# L9: close()
# -------------------------------------------------------------------------------------------


async def test_L9_close_frees_the_port_and_the_id_but_accepted_sockets_stay(
    tcp: TcpSockets,
) -> None:
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        with clients() as made:
            sock = await connect_plain(made, port)
            (accept,) = await accepts.wait(1)
            await servers.close(sid)
            for call in (
                servers.get_info(sid),
                servers.listen(sid, LOOPBACK, 0),
                servers.set_paused(sid, False),
                servers.disconnect(sid),
                servers.close(sid),
            ):
                with pytest.raises(SocketNotFoundError):
                    await call
            assert await servers.get_sockets() == []
            again = (await servers.create()).socket_id
            assert again == sid + 1  # never reused
            assert await servers.listen(again, LOOPBACK, port) == 0
            assert await tcp.send(accept.client_socket_id, b"ok") == SendInfo(
                result_code=0, bytes_sent=2
            )
            assert await recv_exactly(sock, 2) == b"ok"


# -------------------------------------------------------------------------------------------
# L10: accepting fails
# -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def out_of_descriptors() -> Iterator[None]:
    """No descriptor left for this process: the soft RLIMIT_NOFILE is lowered to just above
    the highest descriptor in use and every free one below it is taken. Restored after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = [int(fd) for fd in os.listdir("/proc/self/fd")]
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(in_use) + 8, hard))
    fillers: list[int] = []
    try:
        while True:
            try:
                fillers.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as exc:
                assert exc.errno == errno.EMFILE
                break
        yield
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.asyncio_only  # Qt's own loop needs descriptors of its own to keep running
async def test_L10_emfile_is_one_accept_error_minus_12_and_the_server_pauses(
    tcp: TcpSockets,
) -> None:
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        await servers.set_paused(sid, True)
        with clients() as made:
            sock = await connect_plain(made, port)  # waits in the backlog
            with out_of_descriptors():
                await servers.set_paused(sid, False)  # accept() now fails with EMFILE
                await wait_for(lambda: accepts.errors)
                assert accepts.errors == [
                    AcceptErrorInfo(socket_id=sid, result_code=NetError.INSUFFICIENT_RESOURCES)
                ]
                assert accepts.errors[0].result_code == -12
                assert (await servers.get_info(sid)).paused
                # No busy loop: the error is not reported again while nothing changes.
                await assert_stays(lambda: len(accepts.errors) == 1 and not accepts.accepted)
            assert "open files" in (servers.error_detail(sid) or "")
            # set_paused(False) tries again; the connection waited in the backlog.
            await servers.set_paused(sid, False)
            (accept,) = await accepts.wait(1)
            info = await tcp.get_info(accept.client_socket_id)
            assert info.peer_port == sock.getsockname()[1]
            assert len(accepts.errors) == 1


# -------------------------------------------------------------------------------------------
# L11: suspend(), shutdown(), async with
# -------------------------------------------------------------------------------------------


async def test_L11_suspend_closes_non_persistent_servers_shutdown_all(tcp: TcpSockets) -> None:
    servers = TcpServerSockets(tcp)
    kept, kept_port = await listening(servers, properties=ServerSocketProperties(persistent=True))
    _, gone_port = await listening(servers)
    accepts = Accepts(servers)
    with clients() as made:
        await connect_plain(made, gone_port)
        (accept,) = await accepts.wait(1)
        await servers.suspend()
        assert [i.socket_id for i in await servers.get_sockets()] == [kept]
        with socket.socket() as probe:
            assert probe.connect_ex((LOOPBACK, gone_port)) == errno.ECONNREFUSED
        assert (await tcp.get_info(accept.client_socket_id)).connected  # tcp's, and stays
        await servers.shutdown()
        assert await servers.get_sockets() == []
        with socket.socket() as probe:
            assert probe.connect_ex((LOOPBACK, kept_port)) == errno.ECONNREFUSED


async def test_L11_async_with_shuts_down_on_exit(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        _, port = await listening(servers)
    assert await servers.get_sockets() == []
    with socket.socket() as probe:
        assert probe.connect_ex((LOOPBACK, port)) == errno.ECONNREFUSED


# -------------------------------------------------------------------------------------------
# General rules
# -------------------------------------------------------------------------------------------


async def test_a_listener_that_raises_is_logged_and_the_others_still_run(
    tcp: TcpSockets, caplog: pytest.LogCaptureFixture
) -> None:
    async with TcpServerSockets(tcp) as servers:

        def broken(info: AcceptInfo) -> None:
            raise RuntimeError("listener bug")

        servers.on_accept.add_listener(broken)
        accepts = Accepts(servers)
        _, port = await listening(servers)
        with caplog.at_level(logging.ERROR), clients() as made:
            await connect_plain(made, port)
            await connect_plain(made, port)
            await accepts.wait(2)
        assert sum("onAccept listener" in r.getMessage() for r in caplog.records) == 2


async def test_many_connections_are_all_accepted_once_in_order(tcp: TcpSockets) -> None:
    # More than one accept batch and more than the pending queue: nothing lost or doubled.
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        sid, port = await listening(servers)
        await servers.set_paused(sid, True)
        with clients() as made:
            socks = [await connect_plain(made, port) for _ in range(150)]
            await servers.set_paused(sid, False)
            accepted = await accepts.wait(150)
            peers = [tcp.info_now(a.client_socket_id).peer_port for a in accepted]
            assert peers == [s.getsockname()[1] for s in socks]
            assert len(set(accepts.clients())) == 150
