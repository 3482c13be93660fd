"""The registry against real loopback peers: it lists every socket of the core it watches,
whoever created it, and coalesces what changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.peers import EchoServer
from workbench.core.capture import WRITE_BEHIND, CaptureStore
from workbench.core.state import State
from workbench.net.tcp import TcpSockets
from workbench.session.keys import SocketKey
from workbench.session.registry import Registry


def _registry(tmp_path: Path, limit: int = 1 << 30, write_behind: int = 0) -> Registry:
    return Registry(lambda: CaptureStore(temp_dir=tmp_path, write_behind=write_behind), limit)


async def test_sockets_made_by_anyone_are_listed(tcp: TcpSockets, tmp_path: Path) -> None:
    before = (await tcp.create()).socket_id
    registry = _registry(tmp_path)
    inserted: list[SocketKey] = []
    registry.inserted.add_listener(inserted.append)
    registry.watch_tcp(tcp)
    after = (await tcp.create()).socket_id
    assert list(registry) == [SocketKey.tcp(before), SocketKey.tcp(after)]
    assert inserted == [SocketKey.tcp(before), SocketKey.tcp(after)]
    assert registry[SocketKey.tcp(after)].state is State.CREATED
    registry.close()


@pytest.mark.parametrize("write_behind", [0, WRITE_BEHIND])
async def test_state_and_bytes_follow_the_core(
    tcp: TcpSockets, tmp_path: Path, write_behind: int
) -> None:
    registry = _registry(tmp_path, write_behind=write_behind)
    registry.watch_tcp(tcp)
    dirty: list[None] = []
    registry.dirty.add_listener(dirty.append)
    with EchoServer() as server:
        key = SocketKey.tcp((await tcp.create()).socket_id)
        assert await tcp.connect(key.id, "127.0.0.1", server.port) == 0
        record = registry[key]
        assert record.state is State.CONNECTED and registry.connected_count == 1
        assert record.ever_connected
        assert (await tcp.send(key.id, b"hello")).result_code == 0
        await wait_for(lambda: record.received == 5)
        assert record.capture.read(0, 5) == b"hello"
        # Many marks, one dirty event until the view takes the changes.
        assert len(dirty) == 1
        changed, grew, marked = registry.take_changes()
        assert changed == {key} and grew == {key} and marked == {key}  # connected: marked
        assert registry.take_changes() == (set(), set(), set())
        assert (await tcp.send(key.id, b"again")).result_code == 0
        await wait_for(lambda: record.received == 10)
        assert record.capture.read(0, 10) == b"helloagain"
        assert len(dirty) == 2
        assert registry.take_changes() == ({key}, {key}, set())  # only received: not marked
        await tcp.disconnect(key.id)
        assert record.state is State.DISCONNECTED and registry.connected_count == 0
        assert len(dirty) == 3
    registry.close()


async def test_close_removes_the_record_and_its_capture(tcp: TcpSockets, tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    registry.watch_tcp(tcp)
    removed: list[SocketKey] = []
    registry.removed.add_listener(removed.append)
    key = SocketKey.tcp((await tcp.create()).socket_id)
    capture = registry[key].capture
    await tcp.close(key.id)
    assert removed == [key] and key not in registry and len(registry) == 0
    assert capture.closed
    registry.close()


async def test_the_capture_limit_stops_keeping_but_counts(tcp: TcpSockets, tmp_path: Path) -> None:
    registry = _registry(tmp_path, limit=8)
    registry.watch_tcp(tcp)
    with EchoServer() as server:
        key = SocketKey.tcp((await tcp.create()).socket_id)
        assert await tcp.connect(key.id, "127.0.0.1", server.port) == 0
        record = registry[key]
        registry.record_sent(key, b"0123456789")
        assert record.sent == 10
        assert record.capture.total_bytes == 8
        assert record.capture_stopped is not None and "8 bytes" in record.capture_stopped
        fresh = registry.clear_capture(key)
        assert record.capture is fresh and record.capture_stopped is None
        assert record.sent == 10  # the counters stay true
    registry.close()


async def test_a_reset_is_an_error_and_a_fin_is_not(tcp: TcpSockets, tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    registry.watch_tcp(tcp)
    with EchoServer() as server:
        key = SocketKey.tcp((await tcp.create()).socket_id)
        assert await tcp.connect(key.id, "127.0.0.1", server.port) == 0
        peer = server.accepted.get(timeout=5)
        peer.reset()
        record = registry[key]
        await wait_for(lambda: record.state is State.DISCONNECTED)
        assert record.error == -101
        assert await tcp.connect(key.id, "127.0.0.1", server.port) == 0
        await tcp.set_paused(key.id, False)  # R3 left it paused; the stream end waits for that
        registry.set_error(key, None)
        server.accepted.get(timeout=5).close()
        await wait_for(lambda: record.state is State.DISCONNECTED)
        assert record.error is None
    registry.close()


async def test_a_look_writes_what_the_captures_hold(tcp: TcpSockets, tmp_path: Path) -> None:
    path = tmp_path / "capture.raw"
    registry = Registry(lambda: CaptureStore(path, write_behind=WRITE_BEHIND))
    registry.watch_tcp(tcp)
    with EchoServer() as server:
        key = SocketKey.tcp((await tcp.create()).socket_id)
        assert await tcp.connect(key.id, "127.0.0.1", server.port) == 0
        record = registry[key]
        assert (await tcp.send(key.id, b"hello")).result_code == 0
        await wait_for(lambda: record.received == 5)
        registry.record_sent(key, b"+out")
        assert path.read_bytes() == b""  # held
        assert registry.take_changes() == ({key}, {key}, {key})  # sent: marked too
        assert path.read_bytes() == b"hello+out"
    registry.close()
