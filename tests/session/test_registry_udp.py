"""The registry's UDP sockets against real loopback peers (plain UDP sockets): it lists every
socket of the ``UdpSockets`` it watches, whoever created it, keeps each datagram as a record of
its own with its peer and length, counts datagrams and bytes, and publishes all of it through
the same events as TCP sockets, coalesced the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.test_udp import LOOPBACK, Peer, free_udp_port, peers
from workbench.core.capture import CaptureStore, Datagram, DatagramStore, Direction, Record
from workbench.core.errors import NetError
from workbench.core.types import UdpSocketProperties
from workbench.net.tcp import TcpSockets
from workbench.net.udp import UdpSockets
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import UdpRecord, udp_text
from workbench.session.registry import Registry

IN, OUT = Direction.IN, Direction.OUT


def _key(socket_id: int) -> SocketKey:
    return SocketKey(SocketKind.UDP, socket_id)


def _registry(tmp_path: Path, udp: UdpSockets, capture_limit: int = 1 << 30) -> Registry:
    registry = Registry(
        lambda: CaptureStore(temp_dir=tmp_path),
        capture_limit,
        new_datagram_store=lambda: DatagramStore(temp_dir=tmp_path),
    )
    registry.watch_udp(udp)
    return registry


def _record(registry: Registry, socket_id: int) -> UdpRecord:
    record = registry.udp(_key(socket_id))
    assert record is not None
    return record


async def _bound(udp: UdpSockets, properties: UdpSocketProperties | None = None) -> int:
    sid = (await udp.create(properties)).socket_id
    assert await udp.bind(sid, LOOPBACK, 0) == NetError.OK, udp.error_detail(sid)
    return sid


def _datagrams(record: UdpRecord) -> list[tuple[Direction, bytes, str, int, int | None]]:
    """What the capture holds, datagram by datagram."""
    store = record.capture
    found = []
    for i in range(store.record_count):
        d = store.datagram(i)
        data = store.read(d.record.stream_offset, d.record.size)
        found.append((d.record.direction, data, d.address, d.port, d.original_length))
    return found


async def test_sockets_made_by_anyone_are_listed_apart_from_tcp_sockets(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    async with UdpSockets() as udp:
        before = (await udp.create(UdpSocketProperties(name="old"))).socket_id
        registry = Registry(lambda: CaptureStore(temp_dir=tmp_path))
        inserted: list[SocketKey] = []
        registry.inserted.add_listener(inserted.append)
        registry.watch_tcp(tcp)
        registry.watch_udp(udp)
        after = (await udp.create()).socket_id
        sock = (await tcp.create()).socket_id  # each kind counts from 1
        assert before == sock == 1
        assert inserted == [_key(before), _key(after), SocketKey.tcp(sock)]
        assert registry.udp_keys() == [_key(before), _key(after)] and registry.udp_count == 2
        assert list(registry) == [SocketKey.tcp(sock)] and len(registry) == 1
        old = _record(registry, before)
        assert old.info.name == "old" and not old.bound and udp_text(old) == "Not bound"
        assert isinstance(old.capture, DatagramStore)
        assert registry.udp(SocketKey.tcp(sock)) is None and registry.udp_record(3) is None
        assert registry.udp_record(before) is old
        with pytest.raises(RuntimeError):
            registry.watch_udp(udp)
        registry.close()
        assert old.capture.closed


async def test_bind_pause_and_close_follow_the_core(tmp_path: Path) -> None:
    async with UdpSockets() as udp:
        registry = _registry(tmp_path, udp)
        dirty: list[None] = []
        removed: list[SocketKey] = []
        registry.dirty.add_listener(dirty.append)
        registry.removed.add_listener(removed.append)
        sid = (await udp.create()).socket_id
        key = _key(sid)
        assert registry.take_changes() == (set(), set(), set())
        assert await udp.bind(sid, LOOPBACK, 0) == 0
        record = _record(registry, sid)
        port = record.info.local_port
        assert record.bound and port and record.endpoint == f"{LOOPBACK}:{port}"
        assert udp_text(record) == f"Bound to {LOOPBACK}:{port}"
        assert len(dirty) == 1 and registry.take_changes() == ({key}, set(), {key})
        await udp.set_paused(sid, True)
        assert udp_text(record) == f"Paused on {LOOPBACK}:{port}"
        assert len(dirty) == 2 and registry.take_changes() == ({key}, set(), {key})
        capture = record.capture
        await udp.close(sid)
        assert removed == [key] and registry.udp(key) is None and registry.udp_count == 0
        assert capture.closed
        assert registry.take_changes() == (set(), set(), set())
        registry.close()


async def test_datagrams_are_kept_one_by_one_with_peer_and_length(tmp_path: Path) -> None:
    async with UdpSockets() as udp:
        registry = _registry(tmp_path, udp)
        dirty: list[None] = []
        registry.dirty.add_listener(dirty.append)
        sid = await _bound(udp, UdpSocketProperties(buffer_size=8))
        record = _record(registry, sid)
        port = record.info.local_port
        assert port
        registry.take_changes()
        dirty.clear()
        with peers() as made:
            made.append(a := Peer())
            made.append(b := Peer())
            a.send(b"one", port)
            b.send(b"twelve bytes", port)  # cut to buffer_size
            a.send(b"", port)  # an empty datagram is one too
            await wait_for(lambda: record.datagrams_in == 3)
            assert _datagrams(record) == [
                (IN, b"one", LOOPBACK, a.port, None),
                (IN, b"twelve b", LOOPBACK, b.port, 12),
                (IN, b"", LOOPBACK, a.port, None),
            ]
            assert (record.received, record.sent, record.datagrams_out) == (11, 0, 0)
            # Three datagrams, one look: dirty once, and the socket grew.
            assert len(dirty) == 1
            assert registry.take_changes() == ({_key(sid)}, {_key(sid)}, set())
            # Sent datagrams come from the session: with their destination as the peer.
            registry.record_sent_datagram(_key(sid), b"reply", "localhost", a.port)
            assert _datagrams(record)[-1] == (OUT, b"reply", "localhost", a.port, None)
            assert (record.sent, record.datagrams_out) == (5, 1)
            assert registry.take_changes() == ({_key(sid)}, {_key(sid)}, {_key(sid)})
        registry.close()


async def test_a_receive_error_pauses_and_shows_until_resumed(tmp_path: Path) -> None:
    async with UdpSockets() as udp:
        registry = _registry(tmp_path, udp)
        sid = await _bound(udp)
        record = _record(registry, sid)
        # The kernel's ICMP port unreachable comes back as a receive error (D8).
        assert (await udp.send(sid, b"anyone?", LOOPBACK, free_udp_port())).result_code == 0
        await wait_for(lambda: record.error is not None)
        assert record.error == NetError.CONNECTION_REFUSED and record.info.paused
        assert udp_text(record) == "Error: CONNECTION_REFUSED"
        assert registry.take_changes() == ({_key(sid)}, set(), {_key(sid)})
        await udp.set_paused(sid, False)
        assert record.error is None and udp_text(record).startswith("Bound to")
        registry.close()


async def test_the_capture_limit_keeps_datagrams_whole_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    async with UdpSockets() as udp:
        registry = _registry(tmp_path, udp, capture_limit=10)
        sid = await _bound(udp)
        record = _record(registry, sid)
        port = record.info.local_port
        assert port
        with peers() as made:
            made.append(peer := Peer())
            for data in (b"1234", b"567890X", b"ab"):
                peer.send(data, port)
            await wait_for(lambda: record.datagrams_in == 3)
        # The second would pass the limit: it is not cut, and nothing is kept after it.
        assert [d[1] for d in _datagrams(record)] == [b"1234"]
        assert record.capture_stopped == "the capture limit of 10 bytes was reached"
        assert record.received == 13
        registry.take_changes()
        fresh = registry.clear_capture(_key(sid))
        assert isinstance(fresh, DatagramStore) and record.capture is fresh
        assert record.capture_stopped is None and record.received == 13
        assert registry.take_changes() == ({_key(sid)}, {_key(sid)}, {_key(sid)})
        with pytest.raises(KeyError):
            registry.clear_capture(_key(sid + 1))
        registry.close()


def test_a_datagram_record_reads_back_as_a_datagram(tmp_path: Path) -> None:
    with DatagramStore(temp_dir=tmp_path) as store:
        assert store.add_datagram(IN, b"x", "::1", 7, 2000, 1.0)
        assert store.datagram(0) == Datagram(Record(0, IN, 1.0, 0, 1), "::1", 7, 2000)
