"""``tcp.starttls()``: the eleven STARTTLS presets (tls-inspection-contract.md, ST1 to ST4).

Each fake server (``tests/net/starttls_peers.py``) is first proven with ``openssl s_client
-starttls <protocol>``; then the workbench runs the same exchange against it, and must send
exactly the bytes s_client sent.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Recorder, assert_stays, wait_for
from tests.net.starttls_peers import (
    REFUSALS,
    closing_handler,
    silent_handler,
    starttls_server_handler,
)
from tests.net.tls_peers import PEER_TIMEOUT, Pki, ThreadedServer, server_context
from workbench.core.capture import Direction
from workbench.session.session import Session
from workbench.sockets import (
    STARTTLS_PROTOCOLS,
    DnsQueryType,
    NetError,
    SecureOptions,
    TcpSockets,
)

Serve = Callable[..., ThreadedServer]
LOOPBACK = "127.0.0.1"
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def trusting(pki: Pki, **options: object) -> SecureOptions:
    return SecureOptions(ca_file=str(pki.ca_file), **options)  # type: ignore[arg-type]


def fake(serve: Serve, pki: Pki, protocol: str, *, refuse: bool = False) -> ThreadedServer:
    handler = starttls_server_handler(protocol, server_context(pki.valid), refuse=refuse)
    return serve(handler, name=f"{protocol}-fake")


async def connected(tcp: TcpSockets, port: int) -> int:
    socket_id = (await tcp.create()).socket_id
    assert await tcp.connect(socket_id, LOOPBACK, port, DnsQueryType.IPV4) == 0
    return socket_id


def s_client(protocol: str, port: int, pki: Pki) -> subprocess.CompletedProcess[bytes]:
    command = ["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", "-starttls", protocol,
               "-CAfile", str(pki.ca_file), "-verify_return_error", "-brief"]  # fmt: skip
    return subprocess.run(
        command, input=b"hello\n", capture_output=True, timeout=PEER_TIMEOUT, check=False
    )


def test_STARTTLS_PROTOCOLS_are_the_contract_s_eleven() -> None:
    assert STARTTLS_PROTOCOLS == (
        "smtp", "lmtp", "imap", "pop3", "ftp", "xmpp", "nntp", "sieve", "ldap", "postgres",
        "mysql",
    )  # fmt: skip


# -- the fake servers, proven with openssl s_client ----------------------------------------------


@needs_openssl
@pytest.mark.parametrize("protocol", STARTTLS_PROTOCOLS)
def test_ST1_fake_server_is_faithful_to_openssl_s_client(
    serve: Serve, pki: Pki, protocol: str
) -> None:
    peer = fake(serve, pki, protocol)
    done = s_client(protocol, peer.port, pki)
    # Not its exit status: that depends on who closes first once stdin ends.
    assert b"Verification: OK" in done.stderr, done.stderr.decode(errors="replace")
    assert peer.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")


@needs_openssl
@pytest.mark.parametrize("protocol", STARTTLS_PROTOCOLS)
def test_ST2_refusing_fake_server_stops_openssl_s_client(
    serve: Serve, pki: Pki, protocol: str
) -> None:
    """s_client gives up on some refusals itself and tries TLS anyway after others (the fake
    server then closes): either way no TLS session is established."""
    peer = fake(serve, pki, protocol, refuse=True)
    done = s_client(protocol, peer.port, pki)
    assert done.returncode != 0
    assert b"Verification: OK" not in done.stderr
    assert peer.wait_event("refused") is None


# -- ST1 ---------------------------------------------------------------------------------------


@needs_openssl
@pytest.mark.parametrize("protocol", STARTTLS_PROTOCOLS)
async def test_ST1_workbench_sends_exactly_what_openssl_s_client_sends(
    tcp: TcpSockets, serve: Serve, pki: Pki, protocol: str
) -> None:
    peer = fake(serve, pki, protocol)
    done = s_client(protocol, peer.port, pki)
    assert b"Verification: OK" in done.stderr, done.stderr.decode(errors="replace")
    by_s_client = peer.wait_event("plaintext")
    socket_id = await connected(tcp, peer.port)
    assert await tcp.starttls(socket_id, protocol, trusting(pki)) == NetError.OK
    assert peer.wait_event("plaintext") == by_s_client


@pytest.mark.parametrize("paused", [False, True], ids=["reading", "paused"])
@pytest.mark.parametrize("protocol", STARTTLS_PROTOCOLS)
async def test_ST1_exchange_then_tls_on_the_same_socket(
    tcp: TcpSockets, serve: Serve, pki: Pki, protocol: str, paused: bool
) -> None:
    peer = fake(serve, pki, protocol)
    rec = Recorder(tcp)
    socket_id = await connected(tcp, peer.port)
    if paused:
        await tcp.set_paused(socket_id, True)
    assert await tcp.starttls(socket_id, protocol, trusting(pki)) == NetError.OK
    assert tcp.error_detail(socket_id, "starttls") is None
    assert peer.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
    info = await tcp.get_info(socket_id)
    assert info.connected and info.tls is not None and info.tls.verified
    assert info.paused is paused
    _received, sent = peer.wait_event("plaintext")  # type: ignore[misc]
    # Everything the server said in plaintext was delivered, as plaintext, and nothing else.
    assert rec.received(socket_id) == sent
    assert rec.errors_of(socket_id) == []
    hello = b"hello over tls\n"
    assert (await tcp.send(socket_id, hello)).result_code == 0
    await wait_for(lambda: bytes(peer.received) == hello)
    if paused:
        await tcp.set_paused(socket_id, False)
    assert await rec.wait_bytes(socket_id, len(sent) + len(hello)) == sent + hello


@pytest.mark.parametrize("protocol", ["smtp", "xmpp", "mysql"])
async def test_ST1_plaintext_exchange_is_in_the_session_s_capture_both_ways(
    tcp: TcpSockets, serve: Serve, pki: Pki, protocol: str, tmp_path: Path
) -> None:
    session = Session(tcp, capture_dir=tmp_path / "captures")
    try:
        peer = fake(serve, pki, protocol)
        key = await session.create()
        assert await session.connect(key, LOOPBACK, peer.port) == 0
        assert await session.starttls(key, protocol, trusting(pki)) == NetError.OK
        received, sent = peer.wait_event("plaintext")  # type: ignore[misc]
        hello = b"hello over tls\n"
        assert (await session.send(key, hello)).result_code == 0
        capture = session.registry[key].capture

        def way(direction: Direction) -> bytes:
            capture.sync()
            ranges = capture.ranges(direction)
            return b"".join(capture.read(start, end - start) for start, end in ranges)

        await wait_for(lambda: way(Direction.IN) == sent + hello)
        assert way(Direction.OUT) == received + hello
        assert session.registry[key].info.tls is not None
        assert any(".starttls(" in entry.text for entry in session.call_log.entries())
    finally:
        await tcp.shutdown()
        session.shutdown()


GREETING = b"220 fake.example ESMTP ready\r\n"


async def test_ST1_a_greeting_already_delivered_is_handed_over_as_received(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    peer = fake(serve, pki, "smtp")
    rec = Recorder(tcp)
    socket_id = await connected(tcp, peer.port)
    assert await rec.wait_bytes(socket_id, len(GREETING)) == GREETING
    options = trusting(pki)
    assert await tcp.starttls(socket_id, "smtp", options, received=GREETING) == NetError.OK
    _received, sent = peer.wait_event("plaintext")  # type: ignore[misc]
    assert rec.received(socket_id) == sent  # the greeting once, then the rest


async def test_ST1_session_hands_the_greeting_already_captured_to_the_exchange(
    tcp: TcpSockets, serve: Serve, pki: Pki, tmp_path: Path
) -> None:
    """The window's case: connect, see the greeting, then choose a STARTTLS preset."""
    session = Session(tcp, capture_dir=tmp_path / "captures")
    try:
        peer = fake(serve, pki, "smtp")
        key = await session.create()
        assert await session.connect(key, LOOPBACK, peer.port) == 0
        record = session.registry[key]
        await wait_for(lambda: record.received == len(GREETING))
        assert await session.starttls(key, "smtp", trusting(pki)) == NetError.OK
        assert record.info.tls is not None
    finally:
        await tcp.shutdown()
        session.shutdown()


# -- ST2 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", STARTTLS_PROTOCOLS)
async def test_ST2_refusal_is_minus_320_quoting_the_server_and_nothing_more_is_sent(
    tcp: TcpSockets, serve: Serve, pki: Pki, protocol: str
) -> None:
    peer = fake(serve, pki, protocol, refuse=True)
    socket_id = await connected(tcp, peer.port)
    assert await tcp.starttls(socket_id, protocol, trusting(pki)) == NetError.INVALID_RESPONSE
    detail = tcp.error_detail(socket_id, "starttls")
    assert detail is not None and REFUSALS[protocol].decode() in detail, detail
    info = await tcp.get_info(socket_id)
    assert info.connected and info.tls is None and not info.paused
    assert peer.wait_event("refused") is None
    await tcp.close(socket_id)
    assert peer.wait_event("after_refusal") == b""


async def test_ST2_refusal_leaves_a_paused_socket_paused_and_plain(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    peer = fake(serve, pki, "pop3", refuse=True)
    socket_id = await connected(tcp, peer.port)
    await tcp.set_paused(socket_id, True)
    assert await tcp.starttls(socket_id, "pop3", trusting(pki)) == NetError.INVALID_RESPONSE
    info = await tcp.get_info(socket_id)
    assert info.connected and info.paused and info.tls is None


# -- ST3 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["smtp", "xmpp", "postgres"])
async def test_ST3_silent_server_is_minus_7_within_the_handshake_timeout(
    tcp: TcpSockets, serve: Serve, pki: Pki, protocol: str
) -> None:
    peer = serve(silent_handler, name="silent")
    rec = Recorder(tcp)
    socket_id = await connected(tcp, peer.port)
    options = trusting(pki, handshake_timeout=0.3)
    assert await tcp.starttls(socket_id, protocol, options) == NetError.TIMED_OUT
    detail = tcp.error_detail(socket_id, "starttls")
    assert detail is not None and "0.3 s" in detail
    # As a handshake that timed out (T5): disconnected, and the result code is the only news.
    info = await tcp.get_info(socket_id)
    assert not info.connected and info.tls is None
    await assert_stays(lambda: rec.errors_of(socket_id) == [], 0.05)


@pytest.mark.parametrize("protocol", ["smtp", "imap", "mysql"])
async def test_ST3_server_closing_is_minus_100(
    tcp: TcpSockets, serve: Serve, pki: Pki, protocol: str
) -> None:
    peer = serve(closing_handler, name="closing")
    socket_id = await connected(tcp, peer.port)
    assert await tcp.starttls(socket_id, protocol, trusting(pki)) == NetError.CONNECTION_CLOSED
    assert tcp.error_detail(socket_id, "starttls") is not None
    assert not (await tcp.get_info(socket_id)).connected


# -- ST4 ---------------------------------------------------------------------------------------


async def test_ST4_unknown_protocol_is_a_value_error_listing_the_protocols(
    tcp: TcpSockets,
) -> None:
    socket_id = (await tcp.create()).socket_id
    with pytest.raises(ValueError, match="smtp, lmtp, imap") as caught:
        await tcp.starttls(socket_id, "http")
    assert all(name in str(caught.value) for name in STARTTLS_PROTOCOLS)
    with pytest.raises(TypeError):
        await tcp.starttls(socket_id, b"smtp")  # type: ignore[arg-type]


async def test_ST4_not_connected_or_already_secured_is_minus_4(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    fresh = (await tcp.create()).socket_id
    assert await tcp.starttls(fresh, "smtp") == NetError.INVALID_ARGUMENT
    peer = fake(serve, pki, "smtp")
    socket_id = await connected(tcp, peer.port)
    assert await tcp.starttls(socket_id, "smtp", trusting(pki)) == NetError.OK
    assert await tcp.starttls(socket_id, "smtp", trusting(pki)) == NetError.INVALID_ARGUMENT
    assert (await tcp.get_info(socket_id)).tls is not None
