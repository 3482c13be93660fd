"""``secure()``: contract rows T1 to T6, S5 and K1, plus R2/R3 and D2/L2 as they apply to TLS
sockets, against real peers.

Peers (tests/net/tls_peers.py): a blocking ``ssl`` echo server in a thread, ``openssl
s_server`` for the version tests, a STARTTLS-like peer, a plaintext server, and peers that
close or reset during the handshake. Certificates come from trustme (see ``pki``).

Row ids are in the test names: ``test_T5_expired_is_minus_201`` checks row T5.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Recorder, assert_stays, wait_for
from tests.net.tls_peers import (
    CA_OU,
    HTTP_400,
    IDN_ASCII,
    IDN_UNICODE,
    STARTTLS_COMMAND,
    STARTTLS_GO,
    STARTTLS_GREETING,
    TLS_GOODBYE,
    VALID_LEAF_OU,
    CertFiles,
    OpenSSLServer,
    Pki,
    ThreadedServer,
    close_during_handshake_handler,
    ipv6_loopback_available,
    not_tls_handler,
    open_socket_inodes,
    reset_during_handshake_handler,
    server_context,
    starttls_handler,
    tls_echo_handler,
    tls_goodbye_handler,
)
from workbench.sockets import (
    DnsQueryType,
    NetError,
    SecureOptions,
    SendInfo,
    SocketInfo,
    SocketNotFoundError,
    SocketProperties,
    TcpSockets,
    TLSVersionConstraints,
    net_error_text,
)

TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3

ServeTls = Callable[..., ThreadedServer]
ServeOpenSSL = Callable[..., OpenSSLServer]
Serve = Callable[..., ThreadedServer]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def trusting(pki: Pki, **options: object) -> SecureOptions:
    """Options that trust the test CA (``ca_file`` adds a trust anchor, contract T4)."""
    return SecureOptions(ca_file=str(pki.ca_file), **options)  # type: ignore[arg-type]


def versions(min: str | None = None, max: str | None = None) -> TLSVersionConstraints:
    return TLSVersionConstraints(min=min, max=max)


def code_text(code: int) -> str:
    try:
        return f"{code} ({net_error_text(code)})"
    except Exception:  # an unknown code is itself worth seeing
        return str(code)


async def connected(
    tcp: TcpSockets,
    port: int,
    host: str = "localhost",
    properties: SocketProperties | None = None,
) -> int:
    """A new socket, connected over IPv4 to ``host:port``."""
    socket_id = (await tcp.create(properties)).socket_id
    result = await tcp.connect(socket_id, host, port, DnsQueryType.IPV4)
    assert result == 0, f"connect to {host}:{port} gave {code_text(result)}"
    return socket_id


async def secure_ok(tcp: TcpSockets, socket_id: int, options: SecureOptions | None) -> None:
    result = await tcp.secure(socket_id, options)
    assert result == 0, f"secure() gave {code_text(result)}"


async def roundtrip(
    tcp: TcpSockets, rec: Recorder, socket_id: int, payload: bytes, expect: bytes | None = None
) -> None:
    """Send ``payload`` and wait until the peer's answer (``expect``, default: the echo) is the
    tail of what the socket received."""
    expect = payload if expect is None else expect
    before = len(rec.received(socket_id))
    assert await tcp.send(socket_id, payload) == SendInfo(result_code=0, bytes_sent=len(payload))
    data = await rec.wait_bytes(socket_id, before + len(expect))
    assert data[before:] == expect


async def assert_failed_and_kept(tcp: TcpSockets, socket_id: int) -> None:
    """T5: 'The socket stays (Chrome removes it), disconnected, until close()'."""
    info = await tcp.get_info(socket_id)
    assert info.socket_id == socket_id
    assert info.connected is False
    assert socket_id in [s.socket_id for s in await tcp.get_sockets()]
    # S1 and K1 on a socket that is not connected.
    assert await tcp.send(socket_id, b"x") == SendInfo(result_code=-15, bytes_sent=None)
    assert await tcp.set_no_delay(socket_id, True) == -2
    await tcp.close(socket_id)
    with pytest.raises(SocketNotFoundError):
        await tcp.get_info(socket_id)


async def expect_secure_failure(
    tcp: TcpSockets,
    port: int,
    options: SecureOptions | None,
    expected: int,
    host: str = "localhost",
) -> None:
    socket_id = await connected(tcp, port, host)
    result = await tcp.secure(socket_id, options)
    assert result == expected, f"secure() gave {code_text(result)}, want {code_text(expected)}"
    await assert_failed_and_kept(tcp, socket_id)


def not_after_matches(value: object, expected: dt.datetime) -> bool:
    """``peer_not_after`` in whatever reasonable form: a datetime, ISO 8601, or OpenSSL's
    ``'Jun 15 12:30:45 2041 GMT'``."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment == expected
    if not isinstance(value, str) or not value:
        return False
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            return ssl.cert_time_to_seconds(value) == int(expected.timestamp())
        except ValueError:
            return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment == expected


# ---------------------------------------------------------------------------------------------
# T1: secure() on a socket that is not connected; a second secure()
# ---------------------------------------------------------------------------------------------


async def test_T1_secure_on_new_socket_is_minus_4_and_changes_nothing(
    tcp: TcpSockets, pki: Pki
) -> None:
    socket_id = (
        await tcp.create(SocketProperties(name="never connected", buffer_size=123))
    ).socket_id
    before = await tcp.get_info(socket_id)
    assert await tcp.secure(socket_id, trusting(pki)) == -4
    assert await tcp.secure(socket_id) == -4
    assert await tcp.get_info(socket_id) == before


async def test_T1_secure_after_disconnect_is_minus_4_and_changes_nothing(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    socket_id = await connected(tcp, server.port)
    await tcp.disconnect(socket_id)
    before = await tcp.get_info(socket_id)
    assert before.connected is False
    assert await tcp.secure(socket_id, trusting(pki)) == -4
    assert await tcp.get_info(socket_id) == before


async def test_T1_second_secure_is_minus_4_and_socket_keeps_working(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    await secure_ok(tcp, socket_id, trusting(pki))
    before = await tcp.get_info(socket_id)
    assert before.tls is not None
    assert await tcp.secure(socket_id, trusting(pki)) == -4
    assert await tcp.get_info(socket_id) == before
    # Still one TLS session: the echo goes through it (a second handshake would garble it).
    await roundtrip(tcp, rec, socket_id, b"still the first session\n")
    assert rec.errors_of(socket_id) == []


async def test_T1_secure_while_secure_runs_is_minus_4(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    first = asyncio.ensure_future(tcp.secure(socket_id, trusting(pki)))
    await asyncio.sleep(0)  # let the first secure() start; nothing below depends on timing
    assert not first.done(), "a TLS handshake cannot finish without a round trip"
    assert await tcp.secure(socket_id, trusting(pki)) == -4
    assert await first == 0
    await roundtrip(tcp, rec, socket_id, b"one handshake only\n")


# ---------------------------------------------------------------------------------------------
# T2: upgrade in place, paused or not; STARTTLS
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("paused", [False, True], ids=["reading", "paused"])
async def test_T2_upgrades_connected_socket_in_place(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki, paused: bool
) -> None:
    server = tls_server()
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    if paused:
        await tcp.set_paused(socket_id, True)
    before = await tcp.get_info(socket_id)
    await secure_ok(tcp, socket_id, trusting(pki))
    after = await tcp.get_info(socket_id)
    assert after.socket_id == socket_id
    assert after.connected is True
    assert after.paused is paused
    assert (after.local_port, after.peer_port) == (before.local_port, before.peer_port)
    assert after.tls is not None
    assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
    payload = b"upgraded in place\n"
    assert await tcp.send(socket_id, payload) == SendInfo(result_code=0, bytes_sent=len(payload))
    await wait_for(lambda: bytes(server.received) == payload, message="peer got no plaintext")
    if paused:
        await assert_stays(lambda: rec.received(socket_id) == b"", message="delivered while paused")
        await tcp.set_paused(socket_id, False)
    assert await rec.wait_bytes(socket_id, len(payload)) == payload


@pytest.mark.parametrize("paused", [False, True], ids=["reading", "paused"])
async def test_T2_starttls_bytes_already_received_are_delivered_as_plaintext(
    tcp: TcpSockets, serve: Serve, pki: Pki, paused: bool
) -> None:
    peer = serve(starttls_handler(server_context(pki.valid)), name="starttls")
    rec = Recorder(tcp)
    socket_id = await connected(tcp, peer.port)
    assert await rec.wait_bytes(socket_id, len(STARTTLS_GREETING)) == STARTTLS_GREETING
    if paused:
        await tcp.set_paused(socket_id, True)
    assert (await tcp.send(socket_id, STARTTLS_COMMAND)).result_code == 0
    # Block the event loop on purpose until the peer's "220 go" sits, acknowledged, in our
    # kernel's receive buffer: the core cannot read it before secure() is called, which is
    # exactly T2's case "bytes the OS already has when secure() is called".
    peer.wait_event("go_sent")
    await secure_ok(tcp, socket_id, trusting(pki))
    assert peer.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
    info = await tcp.get_info(socket_id)
    assert info.paused is paused and info.connected is True and info.tls is not None

    hello = b"hello over tls\n"
    assert (await tcp.send(socket_id, hello)).result_code == 0
    await wait_for(lambda: bytes(peer.received) == STARTTLS_COMMAND + hello)
    if paused:
        await assert_stays(
            lambda: rec.received(socket_id) == STARTTLS_GREETING,
            message="bytes delivered while paused",
        )
        await tcp.set_paused(socket_id, False)
    expected = STARTTLS_GREETING + STARTTLS_GO + hello
    assert await rec.wait_bytes(socket_id, len(expected)) == expected
    assert rec.errors_of(socket_id) == []


async def test_T2_peer_sending_plaintext_during_handshake_is_minus_107(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    peer = serve(
        starttls_handler(server_context(pki.valid), plaintext_during_handshake=b"500 not now\r\n"),
        name="starttls-plaintext",
    )
    rec = Recorder(tcp)
    socket_id = await connected(tcp, peer.port)
    await rec.wait_bytes(socket_id, len(STARTTLS_GREETING))
    assert (await tcp.send(socket_id, STARTTLS_COMMAND)).result_code == 0
    peer.wait_event("go_sent")  # blocks the loop on purpose, as in the test above
    result = await tcp.secure(socket_id, trusting(pki))
    assert result == -107, code_text(result)
    # "220 go" was already there: it is plaintext and is delivered as such.
    expected = STARTTLS_GREETING + STARTTLS_GO
    assert await rec.wait_bytes(socket_id, len(expected)) == expected
    await assert_failed_and_kept(tcp, socket_id)


# ---------------------------------------------------------------------------------------------
# T3: versions
# ---------------------------------------------------------------------------------------------


async def _negotiated(tcp: TcpSockets, server: OpenSSLServer, options: SecureOptions) -> str:
    """Secure against ``openssl s_server -rev``, prove the session carries data (the answer
    comes back reversed), and return ``get_info().tls.version``."""
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    result = await tcp.secure(socket_id, options)
    assert result == 0, f"secure() gave {code_text(result)}; s_server said:\n{server.text()}"
    await roundtrip(tcp, rec, socket_id, b"workbench\n", expect=b"hcnebkrow\n")
    info = await tcp.get_info(socket_id)
    assert info.tls is not None
    return info.tls.version


async def test_T3_default_negotiates_tls13(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    assert await _negotiated(tcp, s_server(), trusting(pki)) == "TLSv1.3"


async def test_T3_default_accepts_tls13_only_server(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    assert await _negotiated(tcp, s_server("-tls1_3"), trusting(pki)) == "TLSv1.3"


async def test_T3_default_min_is_tls12(tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki) -> None:
    assert await _negotiated(tcp, s_server("-tls1_2"), trusting(pki)) == "TLSv1.2"


async def test_T3_default_refuses_tls11_server_with_minus_113(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    # SECLEVEL=0 so the server really offers TLS 1.1; the client must still refuse it.
    server = s_server("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    await expect_secure_failure(tcp, server.port, trusting(pki), -113)


async def test_T3_max_tls12_negotiates_tls12(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    options = trusting(pki, tls_version=versions(max="tls1.2"))
    assert await _negotiated(tcp, s_server(), options) == "TLSv1.2"


async def test_T3_min_tls13_against_tls12_server_is_minus_113(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server("-tls1_2")
    options = trusting(pki, tls_version=versions(min="tls1.3"))
    await expect_secure_failure(tcp, server.port, options, -113)


async def test_T3_min_tls13_against_default_server_is_tls13(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    options = trusting(pki, tls_version=versions(min="tls1.3"))
    assert await _negotiated(tcp, s_server(), options) == "TLSv1.3"


async def test_T3_max_tls12_against_tls13_only_server_is_minus_113(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server("-tls1_3")
    options = trusting(pki, tls_version=versions(max="tls1.2"))
    await expect_secure_failure(tcp, server.port, options, -113)


@pytest.mark.parametrize("minimum", ["tls1", "tls1.1"])
async def test_T3_min_tls1_and_tls11_become_tls12(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki, minimum: str
) -> None:
    options = trusting(pki, tls_version=versions(min=minimum))
    assert await _negotiated(tcp, s_server("-tls1_2"), options) == "TLSv1.2"


@pytest.mark.parametrize("minimum", ["tls1", "tls1.1"])
async def test_T3_min_tls1_and_tls11_still_refuse_tls11_server(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki, minimum: str
) -> None:
    # Clamped to 1.2, the client offers nothing the server accepts: protocol_version alert
    # (-113). Had the client offered TLS 1.1 it would fail differently (or succeed).
    server = s_server("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    options = trusting(pki, tls_version=versions(min=minimum))
    await expect_secure_failure(tcp, server.port, options, -113)


@pytest.mark.parametrize("maximum", ["tls9", "TLS1.2", "Tls1.2", "tls1.1", "tls1", "", "1.2"])
async def test_T3_unrecognized_max_is_ignored(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki, maximum: str
) -> None:
    options = trusting(pki, tls_version=versions(max=maximum))
    assert await _negotiated(tcp, s_server(), options) == "TLSv1.3"


async def test_T3_min_matching_is_case_sensitive(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    # "TLS1.3" is not "tls1.3": like any value Chrome does not recognize it changes nothing,
    # so a TLS 1.2 server is still acceptable.
    options = trusting(pki, tls_version=versions(min="TLS1.3"))
    assert await _negotiated(tcp, s_server("-tls1_2"), options) == "TLSv1.2"


# ---------------------------------------------------------------------------------------------
# T4: verification
# ---------------------------------------------------------------------------------------------


async def test_T4_verifies_against_connect_host_name_by_default(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port, "localhost")
    await secure_ok(tcp, socket_id, trusting(pki))
    info = await tcp.get_info(socket_id)
    assert info.tls is not None
    assert info.tls.verified is True
    assert info.tls.server_name == "localhost"
    assert server.server_names == ["localhost"]  # and it was sent as SNI
    await roundtrip(tcp, rec, socket_id, b"verified\n")


async def test_T4_ip_literal_is_verified_against_the_certificate_ip(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    socket_id = await connected(tcp, server.port, "127.0.0.1")
    await secure_ok(tcp, socket_id, trusting(pki))
    info = await tcp.get_info(socket_id)
    assert info.tls is not None and info.tls.verified is True


async def test_T4_ipv6_literal_is_verified_against_the_certificate_ip(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback here")
    server = serve(tls_echo_handler(server_context(pki.valid)), host="::1", name="tls-echo6")
    rec = Recorder(tcp)
    socket_id = (await tcp.create()).socket_id
    assert await tcp.connect(socket_id, "::1", server.port, DnsQueryType.IPV6) == 0
    await secure_ok(tcp, socket_id, trusting(pki))
    info = await tcp.get_info(socket_id)
    assert info.peer_address == "::1"
    assert info.tls is not None and info.tls.verified is True
    await roundtrip(tcp, rec, socket_id, b"v6\n")


async def test_T4_verification_is_on_without_any_options(
    tcp: TcpSockets, tls_server: ServeTls
) -> None:
    # No ca_file: the system trust store does not know the test CA.
    server = tls_server()
    await expect_secure_failure(tcp, server.port, None, -202)


async def test_T4_connect_host_name_is_what_gets_checked(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    # The certificate names "example.test" only; we connected to "localhost".
    server = tls_server(pki.wrong_host)
    await expect_secure_failure(tcp, server.port, trusting(pki), -200, host="localhost")


@pytest.mark.parametrize("cert_name", ["unknown_ca", "self_signed", "expired", "wrong_host"])
async def test_T4_verify_false_accepts_any_certificate_and_reports_unverified(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki, cert_name: str
) -> None:
    server = tls_server(getattr(pki, cert_name))
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    await secure_ok(tcp, socket_id, SecureOptions(verify=False))
    info = await tcp.get_info(socket_id)
    assert info.tls is not None
    assert info.tls.verified is False
    await roundtrip(tcp, rec, socket_id, b"unverified but encrypted\n")


async def test_T4_verified_is_true_only_when_verification_ran(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    # The same trusted server, once verified and once with the opt-out.
    server = tls_server()
    verified_id = await connected(tcp, server.port)
    await secure_ok(tcp, verified_id, trusting(pki))
    unverified_id = await connected(tcp, server.port)
    await secure_ok(tcp, unverified_id, trusting(pki, verify=False))
    verified = (await tcp.get_info(verified_id)).tls
    unverified = (await tcp.get_info(unverified_id)).tls
    assert verified is not None and unverified is not None
    assert (verified.verified, unverified.verified) == (True, False)


async def test_T4_server_name_overrides_connect_host(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.wrong_host)  # a certificate for "example.test" only
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port, "127.0.0.1")
    await secure_ok(tcp, socket_id, trusting(pki, server_name="example.test"))
    info = await tcp.get_info(socket_id)
    assert info.tls is not None
    assert info.tls.verified is True
    assert info.tls.server_name == "example.test"
    assert server.server_names == ["example.test"]
    await roundtrip(tcp, rec, socket_id, b"by name\n")


async def test_T4_server_name_is_what_gets_checked(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    # The certificate is right for the connect host, but server_name asks for another name.
    server = tls_server(pki.valid)
    options = trusting(pki, server_name="example.test")
    await expect_secure_failure(tcp, server.port, options, -200, host="localhost")


async def test_T4_server_name_is_idna_encoded(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.idn)  # a certificate for the A-label only
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port, "127.0.0.1")
    await secure_ok(tcp, socket_id, trusting(pki, server_name=IDN_UNICODE))
    assert server.server_names == [IDN_ASCII]
    info = await tcp.get_info(socket_id)
    assert info.tls is not None and info.tls.verified is True
    await roundtrip(tcp, rec, socket_id, "bücher\n".encode())


async def test_T4_ca_file_adds_a_trust_anchor(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.unknown_ca)
    # Trusting the other CA as well makes the otherwise unknown chain verify.
    socket_id = await connected(tcp, server.port)
    await secure_ok(tcp, socket_id, SecureOptions(ca_file=str(pki.other_ca_file)))
    info = await tcp.get_info(socket_id)
    assert info.tls is not None and info.tls.verified is True


# ---------------------------------------------------------------------------------------------
# T5: handshake failures
# ---------------------------------------------------------------------------------------------


async def test_T5_wrong_host_is_minus_200(tcp: TcpSockets, tls_server: ServeTls, pki: Pki) -> None:
    server = tls_server(pki.wrong_host)
    await expect_secure_failure(tcp, server.port, trusting(pki), -200)


async def test_T5_expired_is_minus_201(tcp: TcpSockets, tls_server: ServeTls, pki: Pki) -> None:
    server = tls_server(pki.expired)
    await expect_secure_failure(tcp, server.port, trusting(pki), -201)


async def test_T5_not_yet_valid_is_minus_201(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.not_yet_valid)
    await expect_secure_failure(tcp, server.port, trusting(pki), -201)


async def test_T5_unknown_ca_is_minus_202(tcp: TcpSockets, tls_server: ServeTls, pki: Pki) -> None:
    server = tls_server(pki.unknown_ca)
    await expect_secure_failure(tcp, server.port, trusting(pki), -202)


async def test_T5_unknown_ca_with_default_trust_is_minus_202(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.valid)  # trustme's CA is in no system store
    await expect_secure_failure(tcp, server.port, SecureOptions(), -202)


async def test_T5_self_signed_is_minus_202(tcp: TcpSockets, tls_server: ServeTls, pki: Pki) -> None:
    server = tls_server(pki.self_signed)
    await expect_secure_failure(tcp, server.port, trusting(pki), -202)


async def test_T5_other_certificate_error_is_minus_207(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    # Trusted CA, right names, but extendedKeyUsage is clientAuth only (verify code 26).
    server = tls_server(pki.wrong_purpose)
    await expect_secure_failure(tcp, server.port, trusting(pki), -207)


async def test_T5_version_mismatch_is_minus_113(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(maximum=TLS12)
    options = trusting(pki, tls_version=versions(min="tls1.3"))
    await expect_secure_failure(tcp, server.port, options, -113)


async def test_T5_not_tls_is_minus_107(tcp: TcpSockets, serve: Serve, pki: Pki) -> None:
    server = serve(not_tls_handler, name="plaintext")
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    result = await tcp.secure(socket_id, trusting(pki))
    assert result == -107, code_text(result)
    # The server's plaintext answer is not handed out as if it were data.
    assert HTTP_400 not in rec.received(socket_id)
    await assert_failed_and_kept(tcp, socket_id)


async def test_T5_peer_closed_during_handshake_is_minus_100(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(close_during_handshake_handler, name="close-in-handshake")
    await expect_secure_failure(tcp, server.port, trusting(pki), -100)
    assert server.wait_event("client_hello")  # the peer saw a ClientHello, then closed


async def test_T5_reset_during_handshake_is_minus_101(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(reset_during_handshake_handler, name="reset-in-handshake")
    await expect_secure_failure(tcp, server.port, trusting(pki), -101)
    assert server.wait_event("client_hello")


async def test_T5_failed_socket_can_be_closed_and_is_gone(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.expired)
    rec = Recorder(tcp)
    socket_id = await connected(
        tcp, server.port, properties=SocketProperties(name="kept", persistent=True)
    )
    assert await tcp.secure(socket_id, trusting(pki)) == -201
    info = await tcp.get_info(socket_id)
    assert (info.name, info.persistent, info.connected) == ("kept", True, False)
    assert [s.socket_id for s in await tcp.get_sockets()] == [socket_id]
    await tcp.close(socket_id)
    assert await tcp.get_sockets() == []
    with pytest.raises(SocketNotFoundError):
        await tcp.secure(socket_id, trusting(pki))
    assert rec.received(socket_id) == b""


# Mutual TLS. TLS 1.2 settles the client certificate inside the handshake, so secure() itself
# fails; in TLS 1.3 the client's handshake is over before the server has looked at the
# certificate, so the server's alert arrives as the first "data" (R2: TLS codes for TLS
# failures).


def _client_options(pki: Pki, cert: CertFiles | None, **options: object) -> SecureOptions:
    if cert is None:
        return trusting(pki, **options)
    return trusting(pki, client_cert=str(cert.cert), client_key=str(cert.key), **options)


async def test_T5_client_certificate_accepted_by_server(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(client_ca=pki.client_ca_file)
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    await secure_ok(tcp, socket_id, _client_options(pki, pki.client))
    await roundtrip(tcp, rec, socket_id, b"mutual\n")
    subject = dict(item for rdn in server.peer_certs[0]["subject"] for item in rdn)  # type: ignore[attr-defined]
    assert subject["commonName"] == "workbench-client"
    assert rec.errors_of(socket_id) == []


async def test_T5_client_certificate_missing_tls12_is_minus_110_or_117(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    # The server asked for a certificate (CertificateRequest), got none and sent a
    # handshake_failure alert. That alert is the server's complaint about our own client
    # certificate, so the contract says -117; Chrome says -110 (SSL_CLIENT_AUTH_CERT_NEEDED,
    # in the contract's list of codes, and this is the case it names). Both are accepted.
    # -113 would be wrong: version and cipher were agreed in the ServerHello.
    server = tls_server(client_ca=pki.client_ca_file, maximum=TLS12)
    socket_id = await connected(tcp, server.port)
    result = await tcp.secure(socket_id, _client_options(pki, None))
    assert result in (-110, -117), code_text(result)
    await assert_failed_and_kept(tcp, socket_id)


async def test_T5_client_certificate_rejected_tls12_is_minus_117(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    # Our certificate comes from a CA the server does not trust: alert unknown_ca, which can
    # only be about our own certificate.
    server = tls_server(client_ca=pki.client_ca_file, maximum=TLS12)
    socket_id = await connected(tcp, server.port)
    result = await tcp.secure(socket_id, _client_options(pki, pki.client_untrusted))
    assert result == -117, code_text(result)
    await assert_failed_and_kept(tcp, socket_id)


@pytest.mark.parametrize("cert_name", ["none", "client_untrusted"])
async def test_T5_client_certificate_refused_tls13_is_reported(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki, cert_name: str
) -> None:
    server = tls_server(client_ca=pki.client_ca_file, minimum=TLS13)
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    cert = None if cert_name == "none" else getattr(pki, cert_name)
    result = await tcp.secure(socket_id, _client_options(pki, cert))
    # No certificate: -110 (what Chrome reports) or -117 (the contract's "alerts about our own
    # client certificate"); a certificate the server does not trust: -117.
    expected = (-110, -117) if cert is None else (-117,)
    if result == 0:
        # certificate_required / unknown_ca arrives after our side of the handshake is done.
        code = await rec.wait_error(socket_id)
        assert code in expected, code_text(code)
        info = await tcp.get_info(socket_id)
        assert (info.connected, info.paused) == (False, True)  # R3
    else:
        assert result in expected, code_text(result)
        await assert_failed_and_kept(tcp, socket_id)
    assert rec.received(socket_id) == b""


# ---------------------------------------------------------------------------------------------
# T6: after a successful secure()
# ---------------------------------------------------------------------------------------------


async def test_T6_properties_are_kept_and_tls_info_is_filled(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    rec = Recorder(tcp)
    properties = SocketProperties(name="tls socket", persistent=True, buffer_size=100)
    socket_id = await connected(tcp, server.port, "localhost", properties)
    await tcp.set_paused(socket_id, True)
    before = await tcp.get_info(socket_id)
    assert before.tls is None
    await secure_ok(tcp, socket_id, trusting(pki))
    info = await tcp.get_info(socket_id)
    assert isinstance(info, SocketInfo)
    assert info.socket_id == socket_id
    assert (info.name, info.persistent, info.buffer_size, info.paused) == (
        "tls socket",
        True,
        100,
        True,
    )
    assert info.connected is True
    assert (info.local_address, info.local_port) == (before.local_address, before.local_port)
    assert (info.peer_address, info.peer_port) == ("127.0.0.1", server.port)

    tls = info.tls
    assert tls is not None
    assert tls.version == "TLSv1.3"
    assert isinstance(tls.cipher, str) and tls.cipher
    assert tls.server_name == "localhost"
    assert tls.peer_subject and VALID_LEAF_OU in str(tls.peer_subject)
    assert tls.peer_issuer and CA_OU in str(tls.peer_issuer)
    assert not_after_matches(tls.peer_not_after, pki.valid_not_after), tls.peer_not_after
    assert tls.verified is True

    # buffer_size still applies (Chrome would have dropped it), and paused still holds.
    payload = os.urandom(1000)
    assert (await tcp.send(socket_id, payload)).result_code == 0
    await wait_for(lambda: len(server.received) == len(payload))
    await assert_stays(lambda: rec.received(socket_id) == b"", message="delivered while paused")
    await tcp.set_paused(socket_id, False)
    assert await rec.wait_bytes(socket_id, len(payload)) == payload
    assert all(1 <= len(chunk) <= 100 for chunk in rec.chunks[socket_id])
    assert await tcp.get_info(socket_id) == dataclasses.replace(info, paused=False)


async def test_T6_tls12_info(tcp: TcpSockets, tls_server: ServeTls, pki: Pki) -> None:
    server = tls_server(maximum=TLS12)
    socket_id = await connected(tcp, server.port)
    await secure_ok(tcp, socket_id, trusting(pki))
    tls = (await tcp.get_info(socket_id)).tls
    assert tls is not None
    assert tls.version == "TLSv1.2"
    assert tls.cipher and "ECDHE" in tls.cipher  # an ECDSA leaf: an ECDHE-ECDSA suite


# ---------------------------------------------------------------------------------------------
# R2 / R3 on a TLS socket: how the secured stream ends
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ending", "code"), [("close_notify", -100), ("fin", -100), ("reset", -101)]
)
async def test_R2_tls_stream_end_is_reported_after_the_data(
    tcp: TcpSockets, serve: Serve, pki: Pki, ending: str, code: int
) -> None:
    server = serve(tls_goodbye_handler(server_context(pki.valid), ending), name="tls-bye")
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    await secure_ok(tcp, socket_id, trusting(pki))
    assert await rec.wait_bytes(socket_id, len(TLS_GOODBYE)) == TLS_GOODBYE
    server.proceed.set()
    assert await rec.wait_error(socket_id) == code
    assert rec.errors_of(socket_id) == [code]  # one event (R2)
    assert rec.received(socket_id) == TLS_GOODBYE
    info = await tcp.get_info(socket_id)
    assert (info.connected, info.paused) == (False, True)  # R3
    assert (info.peer_address, info.peer_port) == (None, None)


# ---------------------------------------------------------------------------------------------
# D2 / L2 for TLS sockets: 'the socket is guaranteed to be closed only when the callback is
# invoked' (Chrome's close()), so when the await returns the descriptor is gone.
# ---------------------------------------------------------------------------------------------


async def _tls_socket_and_its_inode(
    tcp: TcpSockets, server: ThreadedServer, pki: Pki
) -> tuple[int, int]:
    before = open_socket_inodes()
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port, "127.0.0.1")
    await secure_ok(tcp, socket_id, trusting(pki))
    await roundtrip(tcp, rec, socket_id, b"in use\n")
    ours = open_socket_inodes() - before - server.socket_inodes()
    assert len(ours) == 1, f"cannot tell the client socket apart: {ours}"
    return socket_id, ours.pop()


async def test_D2_close_of_tls_socket_releases_it_before_returning(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    socket_id, inode = await _tls_socket_and_its_inode(tcp, server, pki)
    await tcp.close(socket_id)
    assert inode not in open_socket_inodes(), "close() returned with the socket still open"


async def test_L2_shutdown_releases_tls_sockets_before_returning(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    _, inode = await _tls_socket_and_its_inode(tcp, server, pki)
    await tcp.shutdown()
    assert inode not in open_socket_inodes(), "shutdown() returned with a socket still open"


# ---------------------------------------------------------------------------------------------
# S5: send() while secure() runs
# ---------------------------------------------------------------------------------------------


async def test_S5_send_during_secure_waits_and_goes_over_tls(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    securing = asyncio.ensure_future(tcp.secure(socket_id, trusting(pki)))
    await asyncio.sleep(0)  # secure() has started; the handshake needs a round trip
    assert not securing.done()
    payload = b"sent while the handshake runs\n"
    sending = asyncio.ensure_future(tcp.send(socket_id, payload))
    assert await sending == SendInfo(result_code=0, bytes_sent=len(payload))
    assert await securing == 0
    # Had the bytes gone out in plaintext, the server's handshake would have failed.
    assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
    await wait_for(lambda: bytes(server.received) == payload, message="peer got other bytes")
    assert await rec.wait_bytes(socket_id, len(payload)) == payload


async def test_S5_send_during_failing_secure_returns_its_code(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.expired)
    socket_id = await connected(tcp, server.port)
    securing = asyncio.ensure_future(tcp.secure(socket_id, trusting(pki)))
    await asyncio.sleep(0)
    assert not securing.done()
    sent = await tcp.send(socket_id, b"never in plaintext\n")
    assert await securing == -201
    assert sent.result_code == -201, code_text(sent.result_code)
    assert server.received == b""


# ---------------------------------------------------------------------------------------------
# K1: keep-alive and no-delay on TLS sockets
# ---------------------------------------------------------------------------------------------


async def test_K1_keep_alive_and_no_delay_work_on_tls_socket(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    await secure_ok(tcp, socket_id, trusting(pki))
    assert await tcp.set_keep_alive(socket_id, True, 7) == 0
    assert await tcp.set_keep_alive(socket_id, False) == 0
    assert await tcp.set_no_delay(socket_id, False) == 0
    assert await tcp.set_no_delay(socket_id, True) == 0
    await roundtrip(tcp, rec, socket_id, b"options changed, session intact\n")


def test_error_literals_in_this_module_are_chromium_codes() -> None:
    # This module writes codes as literals, the way the contract does; they must be NetError's.
    assert (NetError.INVALID_ARGUMENT, NetError.SSL_PROTOCOL_ERROR) == (-4, -107)
    assert (NetError.CERT_COMMON_NAME_INVALID, NetError.CERT_INVALID) == (-200, -207)
    assert NetError.BAD_SSL_CLIENT_AUTH_CERT == -117


async def test_error_detail_says_why_the_handshake_failed(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server(pki.expired)
    socket_id = await connected(tcp, server.port, "localhost")
    assert await tcp.secure(socket_id, trusting(pki)) == -201
    assert tcp.error_detail(socket_id, "secure") == (
        "certificate verify failed: certificate has expired"
    )
    assert tcp.error_detail(socket_id, "connect") is None


async def test_error_detail_for_an_unreadable_ca_file(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki, tmp_path: Path
) -> None:
    server = tls_server(pki.valid)
    socket_id = await connected(tcp, server.port, "localhost")
    missing = str(tmp_path / "missing-ca.pem")
    assert await tcp.secure(socket_id, SecureOptions(ca_file=missing)) == -4
    detail = tcp.error_detail(socket_id, "secure")
    assert detail is not None and missing in detail
    # Nothing went over the wire: still a connected plain socket.
    assert (await tcp.get_info(socket_id)).connected is True


async def test_a_tls_failure_is_explained_in_openssls_words_not_as_an_errno(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    # An SSLError's errno is OpenSSL's error kind (1), which os.strerror() reads as
    # "Operation not permitted"; the detail must be OpenSSL's own description instead.
    server = s_server("-tls1_3")
    options = trusting(pki, tls_version=versions(max="tls1.2"))
    socket_id = await connected(tcp, server.port, "localhost")
    assert await tcp.secure(socket_id, options) == -113
    detail = tcp.error_detail(socket_id, "secure")
    assert detail is not None and detail.startswith("TLS: ")
    assert "protocol version" in detail
    assert "Operation not permitted" not in detail and "_ssl.c" not in detail


async def test_T5_a_late_tls13_client_certificate_refusal_has_words(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    """The code stays what TLS 1.3 makes it (an onReceiveError after secure() returned 0);
    error_detail says what happened, and that TLS 1.3 works that way."""
    server = tls_server(client_ca=pki.client_ca_file, minimum=TLS13)
    rec = Recorder(tcp)
    socket_id = await connected(tcp, server.port)
    if await tcp.secure(socket_id, _client_options(pki, pki.client_untrusted)) != 0:
        pytest.skip("this OpenSSL refused inside the handshake: covered by the T5 tests above")
    assert await rec.wait_error(socket_id) == -117
    detail = tcp.error_detail(socket_id, "secure")
    assert detail is not None
    assert detail.startswith("the server rejected the client certificate after the handshake")
    assert "TLS 1.3" in detail and "Operation not permitted" not in detail
