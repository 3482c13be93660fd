"""pcapng export checked with the real tools: ``tshark -qz follow,tcp,raw`` reproduces both
directions of every socket byte for byte, ``capinfos`` reads the file without a warning, and
tshark finds nothing malformed: a plain socket with a FIN, a reset, IPv6, UDP, 64 MiB."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.peers import LOOPBACK6, ipv6_loopback_available
from tests.net.tls_peers import ThreadedServer, reset
from workbench.core.capture import CaptureStore, Direction
from workbench.core.errors import NetError
from workbench.core.state import State
from workbench.core.types import SocketInfo, UdpSocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.pcapng_export import export_pcapng
from workbench.session.record import Connection, SocketRecord
from workbench.session.session import Session

Serve = Callable[..., ThreadedServer]


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


def tshark(*args: str) -> str:
    done = subprocess.run(
        ["tshark", *args], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout


def follow(path: Path, stream: int) -> tuple[bytes, bytes]:
    """(what the first node sent, what the second sent) in tcp stream ``stream``."""
    out = tshark("-r", str(path), "-qz", f"follow,tcp,raw,{stream}")
    body = out.split("=" * 67)[1]
    first, second = bytearray(), bytearray()
    for line in body.splitlines()[5:]:
        if not line.strip():
            continue
        (second if line.startswith("\t") else first).extend(bytes.fromhex(line.strip()))
    return bytes(first), bytes(second)


def check_clean(path: Path) -> list[str]:
    """capinfos warns of nothing; tshark lists every packet and none is malformed."""
    info = subprocess.run(["capinfos", str(path)], capture_output=True, text=True, check=True)
    assert "warning" not in (info.stdout + info.stderr).lower()
    listing = tshark("-r", str(path)).splitlines()
    assert not [line for line in listing if "Malformed" in line or "not captured" in line]
    return listing


def reply_and_close(conn: socket.socket, server: ThreadedServer) -> None:
    data = conn.recv(65536)
    conn.sendall(b"got " + data)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)


def reply_and_reset(conn: socket.socket, server: ThreadedServer) -> None:
    data = conn.recv(65536)
    conn.sendall(b"bye " + data)
    reset(conn)


async def test_a_plain_socket_with_a_fin_follows_byte_for_byte(
    session: Session, serve: Serve, tmp_path: Path
) -> None:
    server = serve(reply_and_close)
    key = await session.create()
    record = session.registry[key]
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    await session.send(key, b"hello\r\n\x00\xff")
    await wait_for(lambda: record.peer_end == NetError.CONNECTION_CLOSED)
    out = tmp_path / "plain.pcapng"
    result = export_pcapng(out, [record])
    assert (result.sockets, result.skipped) == (1, [])
    listing = check_clean(out)
    assert follow(out, 0) == (b"hello\r\n\x00\xff", b"got hello\r\n\x00\xff")
    # The handshake is ours (we connected), the end the peer's FIN then ours.
    assert "[SYN]" in listing[0] and f"→ {server.port}" in listing[0]
    assert "[FIN, ACK]" in listing[-4] and f"{server.port} →" in listing[-4]
    assert "[FIN, ACK]" in listing[-2] and f"→ {server.port}" in listing[-2]
    assert not [line for line in listing if "RST" in line]
    fields = tshark("-r", str(out), "-T", "fields", "-e", "frame.comment", "-e", "pkt_comment")
    assert f"TCP socket {key.id}" in fields


async def test_a_reset_ends_with_the_peer_s_rst_and_nothing_after(
    session: Session, serve: Serve, tmp_path: Path
) -> None:
    server = serve(reply_and_reset)
    key = await session.create()
    record = session.registry[key]
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    await session.send(key, b"x")
    await wait_for(lambda: record.peer_end == NetError.CONNECTION_RESET)
    out = tmp_path / "reset.pcapng"
    export_pcapng(out, [record])
    listing = check_clean(out)
    assert follow(out, 0) == (b"x", b"bye x")
    assert "[RST]" in listing[-1] and f"{server.port} →" in listing[-1]


async def test_a_reset_of_ours_ends_with_our_rst(
    session: Session, serve: Serve, tmp_path: Path
) -> None:
    def echo_once(conn: socket.socket, server: ThreadedServer) -> None:
        conn.sendall(conn.recv(100))
        conn.recv(1)  # until the reset

    server = serve(echo_once)
    key = await session.create()
    record = session.registry[key]
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    await session.send(key, b"abc")
    await wait_for(lambda: record.received == 3)
    await session.tcp.reset(key.id)  # SO_LINGER 0: an RST, not a FIN
    await wait_for(lambda: not record.info.connected)
    out = tmp_path / "own-reset.pcapng"
    export_pcapng(out, [record])
    listing = check_clean(out)
    assert follow(out, 0) == (b"abc", b"abc")
    assert "[RST, ACK]" in listing[-1] and f"→ {server.port}" in listing[-1]
    assert not [line for line in listing if "FIN" in line]


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
async def test_an_ipv6_socket(session: Session, tmp_path: Path) -> None:
    server = ThreadedServer(reply_and_close, host=LOOPBACK6).start()
    try:
        key = await session.create()
        record = session.registry[key]
        assert await session.connect(key, LOOPBACK6, server.port) == 0
        await session.send(key, b"six")
        await wait_for(lambda: record.peer_end is not None)
        out = tmp_path / "v6.pcapng"
        export_pcapng(out, [record])
    finally:
        server.stop()
    listing = check_clean(out)
    assert "::1 → ::1" in listing[0]
    assert follow(out, 0) == (b"six", b"got six")


async def test_udp_datagrams_are_one_packet_each(session: Session, tmp_path: Path) -> None:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    try:
        sid = (await session.udp.create(UdpSocketProperties(name="dns"))).socket_id
        assert await session.udp.bind(sid, "127.0.0.1", 0) == 0
        await session.udp.send(sid, b"query", "127.0.0.1", peer.getsockname()[1])
        peer.settimeout(5)
        _, where = peer.recvfrom(100)
        peer.sendto(b"answer!", where)
        record = session.udp.record(sid)
        assert record is not None
        await wait_for(lambda: record.datagrams_in == 1)
        out = tmp_path / "udp.pcapng"
        export_pcapng(out, [], [record])
        await session.udp.close(sid)
    finally:
        peer.close()
    check_clean(out)
    payloads = tshark("-r", str(out), "-T", "fields", "-e", "udp.payload", "-e", "udp.length")
    assert payloads.split() == [b"query".hex(), "13", b"answer!".hex(), "15"]


@pytest.mark.asyncio_only
async def test_64_mib_follows_byte_for_byte_with_flat_memory(
    session: Session, serve: Serve, tmp_path: Path
) -> None:
    size = 64 * 2**20
    total = 0
    digest = hashlib.sha256()

    def sink(conn: socket.socket, server: ThreadedServer) -> None:
        nonlocal total
        while data := conn.recv(1 << 20):
            digest.update(data)
            total += len(data)
            if total >= size:
                break
        conn.sendall(b"done")

    server = serve(sink)
    key = await session.create()
    record = session.registry[key]
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    block = os.urandom(1 << 20)
    for _ in range(64):
        assert (await session.send(key, block)).result_code == 0
    await wait_for(lambda: record.received == 4, timeout=120)
    out = tmp_path / "big.pcapng"
    seen: list[int] = []
    export_pcapng(out, [record], progress=lambda n: seen.append(n) or True)
    assert seen[-1] == size + 4 and seen == sorted(seen)
    sent, got = follow(out, 0)
    assert len(sent) == size and hashlib.sha256(sent).digest() == digest.digest()
    assert got == b"done"
    segments = tshark("-r", str(out), "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.len")
    assert max(int(n) for n in segments.split()) == 65_495  # X1


def test_cancel_removes_the_partial_file(tmp_path: Path) -> None:
    store = CaptureStore()
    store.add(Direction.OUT, b"a" * 200_000)
    record = SocketRecord(
        key=SocketKey(SocketKind.TCP, 1),
        info=SocketInfo(socket_id=1, persistent=False, paused=False, connected=False),
        state=State.DISCONNECTED,
        capture=store,
    )
    record.connection = Connection(1.0, 0, ("127.0.0.1", 1), ("127.0.0.1", 2))
    out = tmp_path / "cancel.pcapng"
    result = export_pcapng(out, [record], progress=lambda n: n < 100_000)
    assert result.cancelled and not out.exists()
    assert result.sockets == 0
