"""UDP sockets through the session, against real loopback peers (plain UDP sockets and a
``socat`` echo): each ``chrome.sockets.udp`` call and event is logged the way Chrome developers
read it, its result (and why it failed) remembered on the socket's record, and every datagram,
received or sent, kept in the capture with its peer and length."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import assert_stays, wait_for
from tests.net.test_udp import (
    LOOPBACK,
    Peer,
    free_udp_port,
    peers,
    process,
    wait_port_bound,
)
from workbench.core.capture import Direction
from workbench.core.errors import NetError
from workbench.core.types import SendInfo, UdpSocketProperties
from workbench.net.tcp import TcpSockets
from workbench.net.udp import UdpSockets
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import UdpRecord, udp_text
from workbench.session.session import Session

API = "chrome.sockets.udp"
IN, OUT = Direction.IN, Direction.OUT
#: Administratively scoped (RFC 2365), varied by process so parallel runs do not share it.
GROUP = f"239.254.{os.getpid() % 200 + 1}.9"


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


def _texts(session: Session) -> list[str]:
    return [e.text for e in session.call_log.entries() if e.text.startswith(API + ".")]


def _record(session: Session, socket_id: int) -> UdpRecord:
    record = session.udp.record(socket_id)
    assert record is not None
    return record


def _datagrams(record: UdpRecord) -> list[tuple[Direction, bytes, str, int, int | None]]:
    store = record.capture
    found = []
    for i in range(store.record_count):
        d = store.datagram(i)
        data = store.read(d.record.stream_offset, d.record.size)
        found.append((d.record.direction, data, d.address, d.port, d.original_length))
    return found


async def _bound(session: Session, properties: UdpSocketProperties | None = None) -> int:
    sid = (await session.udp.create(properties)).socket_id
    assert await session.udp.bind(sid, LOOPBACK, 0) == 0
    return sid


async def test_bind_on_port_0_and_a_round_trip_to_a_socat_echo(session: Session) -> None:
    udp = session.udp
    try:
        sid = (await udp.create()).socket_id
        assert await udp.bind(sid, LOOPBACK, 0) == NetError.OK
        record = _record(session, sid)
        local = record.info.local_port
        assert local and record.results == {"bind": 0} and record.intent.bind == (LOOPBACK, 0)
        echo = free_udp_port()
        argv = ("socat", f"UDP4-RECVFROM:{echo},bind={LOOPBACK},fork", "EXEC:cat")
        with process(*argv) as socat:
            await wait_port_bound(echo, socat)
            info = await udp.send(sid, b"hello", LOOPBACK, echo)
            assert info == SendInfo(result_code=0, bytes_sent=5)
            await wait_for(lambda: record.datagrams_in == 1)
        assert _datagrams(record) == [
            (OUT, b"hello", LOOPBACK, echo, None),
            (IN, b"hello", LOOPBACK, echo, None),
        ]
        assert (record.sent, record.received, record.datagrams_out) == (5, 5, 1)
        assert record.results == {"bind": 0, "send": 0} and record.reasons == {}
        assert _texts(session) == [
            f'{API}.create({{}}) → {{"socketId":{sid}}}',
            f'{API}.bind({sid}, "127.0.0.1", 0) → 0',
            f'{API}.send({sid}, <5 bytes>, "127.0.0.1", {echo}) → {{"resultCode":0,"bytesSent":5}}',
        ]
        entry = session.call_log.entries()[-1]
        assert entry.key == SocketKey(SocketKind.UDP, sid) and entry.ok
    finally:
        await udp.close_all()


async def test_a_truncated_datagram_is_marked_with_its_length(session: Session) -> None:
    try:
        sid = await _bound(session, UdpSocketProperties(buffer_size=4))
        record = _record(session, sid)
        assert record.info.local_port
        with peers() as made:
            made.append(peer := Peer())
            peer.send(b"0123456789", record.info.local_port)
            peer.send(b"abc", record.info.local_port)
            await wait_for(lambda: record.datagrams_in == 2)
        assert _datagrams(record) == [
            (IN, b"0123", LOOPBACK, peer.port, 10),
            (IN, b"abc", LOOPBACK, peer.port, None),
        ]
        assert _texts(session)[0] == f'{API}.create({{"bufferSize":4}}) → {{"socketId":{sid}}}'
    finally:
        await session.udp.close_all()


async def test_pause_holds_datagrams_and_resume_delivers_them_in_order(
    session: Session,
) -> None:
    try:
        sid = await _bound(session)
        record = _record(session, sid)
        port = record.info.local_port
        assert port
        await session.udp.set_paused(sid, True)
        assert record.info.paused and record.intent.paused and record.results["pause"] == 0
        with peers() as made:
            made.append(peer := Peer())
            for n in range(3):
                peer.send(b"d%d" % n, port)
            await assert_stays(lambda: record.capture.record_count == 0, message="read paused")
            await session.udp.set_paused(sid, False)
            await wait_for(lambda: record.datagrams_in == 3)
        assert [d[1] for d in _datagrams(record)] == [b"d0", b"d1", b"d2"]
        assert not record.intent.paused
        assert _texts(session)[-2:] == [
            f"{API}.setPaused({sid}, true) → undefined",
            f"{API}.setPaused({sid}, false) → undefined",
        ]
    finally:
        await session.udp.close_all()


async def test_send_before_bind_is_minus_15_with_its_reason(session: Session) -> None:
    try:
        sid = (await session.udp.create()).socket_id
        info = await session.udp.send(sid, b"early", LOOPBACK, 9)
        assert info == SendInfo(result_code=NetError.SOCKET_NOT_CONNECTED)
        record = _record(session, sid)
        why = "the socket must be bound to a local port before sending"
        assert record.results == {"send": -15} and record.reasons == {"send": why}
        assert record.datagrams_out == 0 and record.capture.record_count == 0
        assert _texts(session)[-1] == (
            f'{API}.send({sid}, <5 bytes>, "127.0.0.1", 9) → {{"resultCode":-15}} '
            f"(net::ERR_SOCKET_NOT_CONNECTED: {why})"
        )
        assert not session.call_log.entries()[-1].ok
        # Bound, it sends, and the reason beside Send goes.
        assert await session.udp.bind(sid, LOOPBACK, 0) == 0
        with peers() as made:
            made.append(peer := Peer())
            assert (await session.udp.send(sid, b"now", LOOPBACK, peer.port)).result_code == 0
            await peer.wait(1)
        assert record.results["send"] == 0 and "send" not in record.reasons
    finally:
        await session.udp.close_all()


async def test_bind_errors_are_logged_with_the_reason(session: Session) -> None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind((LOOPBACK, 0))
            port = taken.getsockname()[1]
            sid = (await session.udp.create()).socket_id
            code = await session.udp.bind(sid, LOOPBACK, port)
        assert code == NetError.ADDRESS_IN_USE
        record = _record(session, sid)
        assert record.results == {"bind": -147} and not record.bound
        why = record.reasons["bind"]
        assert why == session.udp.error_detail(sid) and "in use" in why.lower()
        assert _texts(session)[-1] == (
            f'{API}.bind({sid}, "127.0.0.1", {port}) → -147 (net::ERR_ADDRESS_IN_USE: {why})'
        )
    finally:
        await session.udp.close_all()


async def test_a_receive_error_is_logged_and_the_row_says_so(session: Session) -> None:
    try:
        sid = await _bound(session)
        record = _record(session, sid)
        closed = free_udp_port()
        assert (await session.udp.send(sid, b"anyone?", LOOPBACK, closed)).result_code == 0
        await wait_for(lambda: record.error is not None)
        assert record.info.paused and udp_text(record) == "Error: CONNECTION_REFUSED"
        why = session.udp.error_detail(sid)
        assert why and "refused" in why.lower()
        entry = session.call_log.entries()[-1]
        assert entry.text == (
            f'{API}.onReceiveError {{"socketId":{sid},"resultCode":-102}}  '
            f"(net::ERR_CONNECTION_REFUSED: {why}; the socket is paused)"
        )
        assert not entry.ok and entry.key == SocketKey(SocketKind.UDP, sid)
        # The datagram that drew the error was sent: in the capture with its destination.
        assert _datagrams(record) == [(OUT, b"anyone?", LOOPBACK, closed, None)]
    finally:
        await session.udp.close_all()


async def test_multicast_and_broadcast_calls_are_logged_and_remembered(
    session: Session,
) -> None:
    udp = session.udp
    try:
        sid = (await udp.create()).socket_id
        assert await udp.set_broadcast(sid, True) == NetError.SOCKET_NOT_CONNECTED
        assert await udp.set_multicast_time_to_live(sid, 3) == 0  # kept for bind (D9)
        assert await udp.bind(sid, LOOPBACK, 0) == 0
        assert await udp.set_multicast_loopback_mode(sid, True) == 0
        assert await udp.set_broadcast(sid, True) == 0
        assert await udp.join_group(sid, GROUP) == 0
        assert await udp.join_group(sid, GROUP) == NetError.ADDRESS_INVALID  # twice
        assert await udp.get_joined_groups(sid) == [GROUP]
        record = _record(session, sid)
        assert record.intent.groups == [GROUP]
        assert (record.intent.ttl, record.intent.loopback, record.intent.broadcast) == (
            3, True, True,
        )  # fmt: skip
        assert record.results == {
            "broadcast": 0, "ttl": 0, "bind": 0, "loopback": 0, "join": -108,
        }  # fmt: skip
        assert await udp.leave_group(sid, GROUP) == 0
        assert record.intent.groups == [] and record.results["leave"] == 0
        assert "join" not in record.results  # a leave makes the join's answer history
        assert await udp.join_group(sid, GROUP) == 0
        assert record.results["join"] == 0 and "leave" not in record.results
        assert await udp.leave_group(sid, GROUP) == 0
        first = "the socket must be bound first"
        twice = f"the socket has already joined {GROUP}"
        assert _texts(session)[1:] == [
            f"{API}.setBroadcast({sid}, true) → -15 (net::ERR_SOCKET_NOT_CONNECTED: {first})",
            f"{API}.setMulticastTimeToLive({sid}, 3) → 0",
            f'{API}.bind({sid}, "127.0.0.1", 0) → 0',
            f"{API}.setMulticastLoopbackMode({sid}, true) → 0",
            f"{API}.setBroadcast({sid}, true) → 0",
            f'{API}.joinGroup({sid}, "{GROUP}") → 0',
            f'{API}.joinGroup({sid}, "{GROUP}") → -108 (net::ERR_ADDRESS_INVALID: {twice})',
            f'{API}.getJoinedGroups({sid}) → ["{GROUP}"]',
            f'{API}.leaveGroup({sid}, "{GROUP}") → 0',
            f'{API}.joinGroup({sid}, "{GROUP}") → 0',
            f'{API}.leaveGroup({sid}, "{GROUP}") → 0',
        ]
    finally:
        await udp.close_all()


async def test_the_session_makes_its_udp_or_takes_one_and_closes_its_sockets(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    async with UdpSockets() as raw:
        early = (await raw.create()).socket_id  # made before the session: listed too
        session = Session(tcp, capture_dir=tmp_path / "captures", udp=raw)
        try:
            assert session.udp.raw is raw
            assert session.registry.udp_keys() == [SocketKey(SocketKind.UDP, early)]
            later = await _bound(session)
            assert [i.socket_id for i in await session.udp.get_sockets()] == [early, later]
            info = await session.udp.get_info(later)
            assert info.local_address == LOOPBACK
            await session.close_all(log=True)
            assert raw.socket_ids() == [] and session.registry.udp_count == 0
            assert _texts(session)[-2:] == [
                f"{API}.close({early}) → undefined",
                f"{API}.close({later}) → undefined",
            ]
        finally:
            session.shutdown()
    own = Session(tcp, capture_dir=tmp_path / "own")
    try:
        assert isinstance(own.udp.raw, UdpSockets) and own.udp.raw is not raw
        await _bound(own)
        await own.close_all()
        assert own.udp.raw.socket_ids() == []
    finally:
        own.shutdown()
