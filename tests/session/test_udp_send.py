"""One datagram from the composer, without Qt (workbench/session/udp_send.py): the 65,507-byte
limit refused before any call, each result in words, a file as one datagram, and the recent
destinations; sends go through a real session to plain loopback peers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.net.test_udp import LOOPBACK, Peer, peers
from workbench.core.errors import NetError
from workbench.core.formatting import describe_result
from workbench.net.tcp import TcpSockets
from workbench.session.session import Session
from workbench.session.udp_send import (
    BIND_FIRST,
    BROADCAST_FIRST,
    MAX_DATAGRAM,
    DatagramResult,
    Destination,
    RecentDestinations,
    datagram_refusal,
    describe_udp_result,
    destination_problem,
    read_datagram_file,
    send_datagram,
)

API = "chrome.sockets.udp"


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


def _sends(session: Session) -> list[str]:
    return [e.text for e in session.call_log.entries() if e.text.startswith(f"{API}.send(")]


@contextlib.asynccontextmanager
async def closing(session: Session) -> AsyncIterator[None]:
    """The test's UDP sockets are closed at its end (the fixture cannot await)."""
    try:
        yield
    finally:
        await session.udp.close_all()


async def _bound(session: Session) -> int:
    sid = (await session.udp.create()).socket_id
    assert await session.udp.bind(sid, LOOPBACK, 0) == NetError.OK
    return sid


def test_the_limit_is_65507_bytes_and_the_refusal_says_so() -> None:
    assert MAX_DATAGRAM == 65_507
    assert datagram_refusal(0) == datagram_refusal(MAX_DATAGRAM) == ""
    assert datagram_refusal(70_000) == "70,000 bytes, over the 65,507 a UDP datagram holds"


def test_results_in_words() -> None:
    # -15 on a UDP socket means not bound (describe_result's words are TCP's "not connected").
    assert describe_udp_result(-15) == f"-15 SOCKET_NOT_CONNECTED: {BIND_FIRST}"
    assert "bind it first (Bind tab)" in BIND_FIRST
    assert describe_udp_result(-15, "bound to nothing") == describe_udp_result(-15)
    # The others are the project's own descriptions, with the core's detail when there is one.
    for code in (NetError.NAME_NOT_RESOLVED, NetError.MSG_TOO_BIG):
        assert describe_udp_result(code) == describe_result(code)
    assert describe_udp_result(-105, "x.invalid: no such name") == (
        f"{describe_result(-105)} (x.invalid: no such name)"
    )
    assert describe_udp_result(0, "ignored") == "OK"


def test_destination_problems() -> None:
    assert destination_problem("127.0.0.1", 53) == ""
    assert destination_problem("  ", 53) == "type the address to send to"
    assert destination_problem("localhost", 0) == "choose the port to send to"
    assert str(Destination("::1", 53)) == "[::1]:53"


def test_recent_destinations_most_recent_first_each_once() -> None:
    recent = RecentDestinations(limit=3)
    for port in (1, 2, 3, 2, 4):
        recent.remember(Destination(LOOPBACK, port))
    assert [d.port for d in recent.entries()] == [4, 2, 3]
    assert len(recent) == 3


async def test_a_datagram_reaches_a_plain_peer_and_says_so(session: Session) -> None:
    async with closing(session):
        sid = await _bound(session)
        with peers() as made:
            made.append(peer := Peer())
            to = Destination(LOOPBACK, peer.port)
            result = await send_datagram(session.udp, sid, b"hello", to)
            assert result == DatagramResult(0, 5, f"0 OK: sent 5 bytes to 127.0.0.1:{peer.port}")
            assert result.ok
            [(data, _)] = await peer.wait(1)
            assert data == b"hello"
            assert _sends(session) == [
                f'{API}.send({sid}, <5 bytes>, "127.0.0.1", {peer.port}) → '
                '{"resultCode":0,"bytesSent":5}'
            ]


async def test_before_bind_is_minus_15_with_bind_it_first(session: Session) -> None:
    async with closing(session):
        sid = (await session.udp.create()).socket_id
        result = await send_datagram(session.udp, sid, b"x", Destination(LOOPBACK, 9))
        assert result.code == NetError.SOCKET_NOT_CONNECTED and result.sent == 0
        assert result.text == f"Not sent: -15 SOCKET_NOT_CONNECTED: {BIND_FIRST} · to 127.0.0.1:9"


async def test_a_broadcast_without_broadcast_on_is_minus_138_and_says_where_to_turn_it_on(
    session: Session,
) -> None:
    async with closing(session):
        sid = await _bound(session)
        result = await send_datagram(session.udp, sid, b"x", Destination("255.255.255.255", 9))
        if result.code != NetError.NETWORK_ACCESS_DENIED:  # no route for it here
            pytest.skip(f"the kernel answers {result.code}, not -138, to a limited broadcast")
        assert result.text.startswith(f"Not sent: {describe_result(-138)}")
        assert BROADCAST_FIRST in result.text and "Multicast tab" in result.text


async def test_an_unresolvable_name_is_minus_105_with_its_reason(session: Session) -> None:
    async with closing(session):
        sid = await _bound(session)
        result = await send_datagram(session.udp, sid, b"x", Destination("nonexistent.invalid", 53))
        assert result.code == NetError.NAME_NOT_RESOLVED and not result.ok
        assert result.text.startswith(f"Not sent: {describe_result(-105)}")
        assert result.text.endswith(" · to nonexistent.invalid:53")


async def test_oversize_is_refused_without_a_call(session: Session) -> None:
    async with closing(session):
        sid = await _bound(session)
        with peers() as made:
            made.append(peer := Peer())
            to = Destination(LOOPBACK, peer.port)
            result = await send_datagram(session.udp, sid, bytes(MAX_DATAGRAM + 1), to)
            assert result == DatagramResult(
                None, 0, "Not sent: 65,508 bytes, over the 65,507 a UDP datagram holds"
            )
            assert _sends(session) == []
            # The largest that fits goes whole, as one datagram.
            largest = bytes(range(256)) * 255 + bytes(227)
            assert (await send_datagram(session.udp, sid, largest, to)).sent == MAX_DATAGRAM
            [(data, _)] = await peer.wait(1)
            assert data == largest


async def test_a_closed_socket_sends_nothing(session: Session) -> None:
    async with closing(session):
        sid = await _bound(session)
        await session.udp.close(sid)
        result = await send_datagram(session.udp, sid, b"x", Destination(LOOPBACK, 9))
        assert result == DatagramResult(None, 0, f"Not sent: UDP socket {sid} is closed")


def test_a_file_is_one_datagram_when_it_fits(tmp_path: Path) -> None:
    fits = tmp_path / "fits.bin"
    fits.write_bytes(os.urandom(MAX_DATAGRAM))
    assert read_datagram_file(fits) == fits.read_bytes()
    big = tmp_path / "big.bin"
    with big.open("wb") as f:  # sparse: the refusal comes from its size, it is never read
        f.truncate(10 * 2**30)
    assert read_datagram_file(big) == "10,737,418,240 bytes, over the 65,507 a UDP datagram holds"
    missing = tmp_path / "missing.bin"
    assert read_datagram_file(missing) == f"cannot read {missing}: No such file or directory"
