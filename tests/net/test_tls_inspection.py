"""What a secured socket reports about its handshake: tls-inspection-contract.md rows TI1 to
TI8 (TI4, the certificate fields, also in tests/core/test_certificates.py), against
``openssl s_server`` and a blocking ``ssl`` server in a thread that records the SNI it got.

The three-level chain (root → intermediate → leaf) is made here with trustme; s_server sends
leaf + intermediate (``-cert_chain``) and the tests trust the root only.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.net.test_tls import code_text, connected, secure_ok, trusting
from tests.net.tls_peers import CertFiles, OpenSSLServer, Pki, ThreadedServer
from workbench.core.certificates import certificate_info
from workbench.net import tls_private
from workbench.net.tls import build_context
from workbench.sockets import (
    CertificateInfo,
    HandshakeMessage,
    SecureOptions,
    TcpSockets,
    TlsInfo,
    TLSVersionConstraints,
)

ServeOpenSSL = Callable[..., OpenSSLServer]
ServeTls = Callable[..., ThreadedServer]


@dataclass(frozen=True)
class Chain:
    root_file: Path
    leaf: CertFiles  #: the leaf alone, and its key
    intermediate_file: Path
    ders: tuple[bytes, bytes, bytes]  #: leaf, intermediate, root


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    directory = Path(tmp_path_factory.mktemp("chain"))
    root = trustme.CA(organization_unit_name="Inspection root")
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("localhost", "127.0.0.1", common_name="localhost")
    leaf_pem, intermediate_pem = (blob.bytes() for blob in leaf.cert_chain_pems)
    (directory / "root.pem").write_bytes(root.cert_pem.bytes())
    (directory / "leaf.pem").write_bytes(leaf_pem)
    (directory / "intermediate.pem").write_bytes(intermediate_pem)
    (directory / "leaf.key").write_bytes(leaf.private_key_pem.bytes())
    return Chain(
        root_file=directory / "root.pem",
        leaf=CertFiles(cert=directory / "leaf.pem", key=directory / "leaf.key"),
        intermediate_file=directory / "intermediate.pem",
        ders=(_der(leaf_pem), _der(intermediate_pem), _der(root.cert_pem.bytes())),
    )


def chain_server(s_server: ServeOpenSSL, chain: Chain, *args: str) -> OpenSSLServer:
    return s_server("-cert_chain", str(chain.intermediate_file), *args, cert=chain.leaf)


def rooted(chain: Chain, **options: object) -> SecureOptions:
    return SecureOptions(ca_file=str(chain.root_file), **options)  # type: ignore[arg-type]


async def secured(
    tcp: TcpSockets, port: int, options: SecureOptions, host: str = "localhost"
) -> tuple[int, TlsInfo]:
    socket_id = await connected(tcp, port, host)
    await secure_ok(tcp, socket_id, options)
    info = (await tcp.get_info(socket_id)).tls
    assert info is not None
    return socket_id, info


def steps(info: TlsInfo) -> list[tuple[str, str]]:
    return [(m.direction, m.type) for m in info.handshake]


# ---------------------------------------------------------------------------------------------
# TI1: ALPN
# ---------------------------------------------------------------------------------------------


async def test_TI1_alpn_server_preference_is_selected(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server("-alpn", "http/1.1,h2")
    _, info = await secured(tcp, server.port, trusting(pki, alpn=("h2", "http/1.1")))
    assert info.alpn_offered == ("h2", "http/1.1")
    assert info.alpn == "http/1.1"


async def test_TI1_server_without_alpn_selects_none(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server()
    first_id, info = await secured(tcp, server.port, trusting(pki, alpn=("h2", "http/1.1")))
    assert (info.alpn_offered, info.alpn) == (("h2", "http/1.1"), None)
    await tcp.close(first_id)  # s_server serves one connection at a time
    _, plain = await secured(tcp, server.port, trusting(pki))
    assert (plain.alpn_offered, plain.alpn) == ((), None)


async def test_TI1_server_rejecting_every_offer_is_minus_107_naming_alpn(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server("-alpn", "imap")
    socket_id = await connected(tcp, server.port)
    result = await tcp.secure(socket_id, trusting(pki, alpn=("h2", "http/1.1")))
    assert result == -107, code_text(result)
    detail = tcp.error_detail(socket_id, "secure") or ""
    assert "ALPN" in detail and "h2, http/1.1" in detail, detail


def test_TI1_alpn_is_checked_before_anything_is_sent() -> None:
    with pytest.raises(TypeError):
        SecureOptions(alpn=["h2"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SecureOptions(alpn=(b"h2",))  # type: ignore[arg-type]
    for bad in ((), ("",), ("x" * 256,), ("hé",)):
        with pytest.raises(ValueError):
            SecureOptions(alpn=bad)
    assert SecureOptions(alpn=("x" * 255,)).alpn == ("x" * 255,)
    with pytest.raises(TypeError):
        SecureOptions(resume=1)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# TI2: the name sent
# ---------------------------------------------------------------------------------------------


async def test_TI2_connect_name_is_sent(tcp: TcpSockets, tls_server: ServeTls, pki: Pki) -> None:
    server = tls_server()
    _, info = await secured(tcp, server.port, trusting(pki))
    assert info.sni == "localhost"
    assert server.server_names == ["localhost"]


async def test_TI2_server_name_override_is_sent(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    options = trusting(pki, server_name="other.test", verify=False)
    _, info = await secured(tcp, server.port, options)
    assert info.sni == "other.test"
    assert server.server_names == ["other.test"]


async def test_TI2_ip_literal_sends_no_name(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    server = tls_server()
    _, info = await secured(tcp, server.port, trusting(pki), host="127.0.0.1")
    assert info.sni is None
    assert info.server_name == "127.0.0.1"  # what was verified, unchanged (T6)
    assert server.server_names == [None]


# ---------------------------------------------------------------------------------------------
# TI3: the chain as sent and as verified
# ---------------------------------------------------------------------------------------------


async def test_TI3_chain_sent_and_verified(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    server = chain_server(s_server, chain)
    _, info = await secured(tcp, server.port, rooted(chain))
    assert [c.der for c in info.chain_sent] == list(chain.ders[:2])
    assert [c.der for c in info.chain_verified] == list(chain.ders)
    assert all(isinstance(c, CertificateInfo) for c in info.chain_sent + info.chain_verified)
    assert info.chain_verified[-1].subject == info.chain_verified[-1].issuer  # the anchor
    assert info.chain_sent[0] == certificate_info(chain.ders[0])


async def test_TI3_without_verification_only_the_sent_chain(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    server = chain_server(s_server, chain)
    _, info = await secured(tcp, server.port, SecureOptions(verify=False))
    assert [c.der for c in info.chain_sent] == list(chain.ders[:2])
    assert info.chain_verified == ()
    assert info.verified is False


# ---------------------------------------------------------------------------------------------
# TI4: each CertificateInfo field, from a live handshake
# ---------------------------------------------------------------------------------------------


async def test_TI4_chain_fields_state_what_openssl_prints(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain, tmp_path: Path
) -> None:
    from tests.core.test_certificates import assert_matches_openssl

    server = chain_server(s_server, chain)
    _, info = await secured(tcp, server.port, rooted(chain))
    for cert in info.chain_verified:
        assert_matches_openssl(cert, tmp_path)
    leaf = info.chain_sent[0]
    assert leaf.san == ("DNS:localhost", "IP:127.0.0.1")
    assert (leaf.is_ca, info.chain_sent[1].is_ca) == (False, True)


# ---------------------------------------------------------------------------------------------
# TI5: the handshake trace
# ---------------------------------------------------------------------------------------------


def _body_lengths(chain: Chain) -> int:
    return sum(len(der) for der in chain.ders[:2])


async def test_TI5_tls13_trace(tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain) -> None:
    server = chain_server(s_server, chain)
    _, info = await secured(tcp, server.port, rooted(chain))
    got = steps(info)
    assert got[:2] == [("sent", "client_hello"), ("received", "server_hello")]
    for step in (
        ("received", "encrypted_extensions"),
        ("received", "certificate"),
        ("received", "certificate_verify"),
        ("received", "finished"),
        ("sent", "finished"),
    ):
        assert step in got, got
    assert got.index(("received", "finished")) < got.index(("sent", "finished"))
    assert all(isinstance(m, HandshakeMessage) for m in info.handshake)
    lengths = {(m.direction, m.type): m.length for m in info.handshake}
    # TLS 1.3 Finished: the handshake hash's length (SHA-256 or SHA-384).
    assert lengths[("received", "finished")] in (32, 48)
    # Certificate: context (1) + list length (3) + per entry 3 + DER + 2 (extensions).
    assert lengths[("received", "certificate")] == 1 + 3 + 2 * (3 + 2) + _body_lengths(chain)


async def test_TI5_tls12_trace(tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain) -> None:
    server = chain_server(s_server, chain, "-tls1_2")
    _, info = await secured(tcp, server.port, rooted(chain))
    assert info.version == "TLSv1.2"
    got = steps(info)
    expected = [
        ("sent", "client_hello"),
        ("received", "server_hello"),
        ("received", "certificate"),
        ("received", "server_key_exchange"),
        ("received", "server_hello_done"),
        ("sent", "client_key_exchange"),
        ("sent", "finished"),
    ]
    assert got[: len(expected)] == expected
    assert got[-1] == ("received", "finished")
    lengths = {(m.direction, m.type): m.length for m in info.handshake}
    assert lengths[("received", "server_hello_done")] == 0
    assert lengths[("sent", "finished")] == 12  # TLS 1.2 verify_data
    # Certificate: list length (3) + per entry 3 + DER.
    assert lengths[("received", "certificate")] == 3 + 2 * 3 + _body_lengths(chain)


async def test_TI5_hello_retry_request_is_named(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server("-groups", "secp384r1")  # our first key share is x25519: a retry
    _, info = await secured(tcp, server.port, trusting(pki))
    assert steps(info)[:4] == [
        ("sent", "client_hello"),
        ("received", "hello_retry_request"),
        ("sent", "client_hello"),
        ("received", "server_hello"),
    ]


# ---------------------------------------------------------------------------------------------
# TI6: resumption
# ---------------------------------------------------------------------------------------------


async def _resumption(
    tcp: TcpSockets, server: OpenSSLServer, chain: Chain, version: str
) -> tuple[TlsInfo, TlsInfo]:
    first_id, first = await secured(tcp, server.port, rooted(chain))
    assert first.version == version and first.session_reused is False
    await tcp.close(first_id)
    second_id, second = await secured(tcp, server.port, rooted(chain, resume=True))
    await tcp.close(second_id)
    return first, second


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
async def test_TI6_resume_offers_the_kept_session(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain, version: str
) -> None:
    args = ("-tls1_2",) if version == "TLSv1.2" else ()
    server = chain_server(s_server, chain, *args)
    first, second = await _resumption(tcp, server, chain, version)
    assert second.session_reused is True
    assert second.version == version
    assert (second.chain_sent, second.chain_verified) == ((), ())
    assert ("received", "certificate") not in steps(second)
    # The leaf kept with the session still describes the peer.
    assert (second.peer_subject, second.peer_issuer, second.peer_not_after) == (
        first.peer_subject,
        first.peer_issuer,
        first.peer_not_after,
    )
    assert second.peer_subject and "localhost" in second.peer_subject
    # And again: the newest session (the resumed one, or its new ticket) is kept.
    _, third = await secured(tcp, server.port, rooted(chain, resume=True))
    assert third.session_reused is True


async def test_TI6_without_resume_a_full_handshake(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    server = chain_server(s_server, chain)
    first_id, _ = await secured(tcp, server.port, rooted(chain))
    await tcp.close(first_id)
    _, again = await secured(tcp, server.port, rooted(chain))
    assert again.session_reused is False
    assert len(again.chain_sent) == 2


async def test_TI6_other_settings_make_a_full_handshake(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    server = chain_server(s_server, chain)
    first_id, _ = await secured(tcp, server.port, rooted(chain))
    await tcp.close(first_id)
    _, other = await secured(tcp, server.port, rooted(chain, resume=True, alpn=("h2",)))
    assert other.session_reused is False
    assert len(other.chain_verified) == 3


async def test_TI6_server_that_does_not_resume(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    server = chain_server(s_server, chain, "-tls1_2", "-no_ticket", "-no_cache")
    first_id, _ = await secured(tcp, server.port, rooted(chain))
    await tcp.close(first_id)
    _, again = await secured(tcp, server.port, rooted(chain, resume=True))
    assert again.session_reused is False
    assert [c.der for c in again.chain_sent] == list(chain.ders[:2])


async def test_TI6_server_that_forgot_the_session(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    # A new s_server on the same port has new ticket keys: the kept ticket means nothing.
    server = chain_server(s_server, chain)
    first_id, _ = await secured(tcp, server.port, rooted(chain))
    await tcp.close(first_id)
    server.stop()
    args = ("-cert_chain", str(chain.intermediate_file))
    again = OpenSSLServer(chain.leaf, *args, port=server.port).start()
    try:
        _, info = await secured(tcp, again.port, rooted(chain, resume=True))
    finally:
        again.stop()
    assert info.session_reused is False
    assert len(info.chain_sent) == 2


async def test_TI6_sessions_are_kept_per_server_name(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    server = chain_server(s_server, chain)
    first_id, _ = await secured(tcp, server.port, rooted(chain))
    await tcp.close(first_id)
    # 127.0.0.1 sends no name: another key, so nothing to offer.
    _, by_ip = await secured(tcp, server.port, rooted(chain, resume=True), host="127.0.0.1")
    assert (by_ip.sni, by_ip.session_reused) == (None, False)


# ---------------------------------------------------------------------------------------------
# TI7: group and ticket lifetime
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
async def test_TI7_group_is_the_servers_choice(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki, version: str
) -> None:
    args = ("-tls1_2",) if version == "TLSv1.2" else ()
    server = s_server("-groups", "secp384r1", *args)
    _, info = await secured(tcp, server.port, trusting(pki))
    assert (info.version, info.group) == (version, "secp384r1")


async def test_TI7_default_group_is_x25519(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server()
    _, info = await secured(tcp, server.port, trusting(pki))
    assert info.group == "x25519"


async def test_TI7_ticket_lifetime_is_the_servers_hint(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server()
    _, info = await secured(tcp, server.port, trusting(pki))
    assert info.version == "TLSv1.3"
    assert info.ticket_lifetime == 7200
    assert ("received", "new_session_ticket") in steps(info)


async def test_TI7_no_ticket_no_lifetime(tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki) -> None:
    server = s_server("-tls1_2", "-no_ticket")
    _, info = await secured(tcp, server.port, trusting(pki))
    assert info.ticket_lifetime is None
    assert ("received", "new_session_ticket") not in steps(info)


# ---------------------------------------------------------------------------------------------
# TI8: the private interfaces, guarded
# ---------------------------------------------------------------------------------------------


def test_TI8_msg_callback_hook_exists() -> None:
    assert tls_private.msg_callback_available(), (
        "ssl.SSLContext._msg_callback is gone: the handshake trace, the group and the ticket "
        "lifetime need another source (see workbench/net/tls_private.py)"
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert tls_private.set_msg_callback(ctx, lambda *args: None)
    assert tls_private.set_msg_callback(ctx, None)


def test_TI8_chain_interface_exists() -> None:
    assert tls_private.private_chain_available(), (
        "_ssl._SSLSocket.get_verified_chain/get_unverified_chain are gone: chain_sent and "
        "chain_verified need another source (see workbench/net/tls_private.py)"
    )
    if sys.version_info >= (3, 13):
        assert hasattr(ssl.SSLObject, "get_verified_chain")


def test_TI8_asyncio_makes_its_ssl_object_with_wrap_bio() -> None:
    assert tls_private.wrap_bio_is_used_by_asyncio(), (
        "asyncio's SSLProtocol no longer calls SSLContext.wrap_bio: resume=True cannot offer "
        "a session any more (see InspectingContext in workbench/net/tls_private.py)"
    )
    assert isinstance(build_context(SecureOptions(verify=False)), tls_private.InspectingContext)


async def test_TI8_private_interfaces_work_through_asyncio(
    tcp: TcpSockets, s_server: ServeOpenSSL, chain: Chain
) -> None:
    """The whole path, loudly: if any interface stopped working the fields would be empty."""
    server = chain_server(s_server, chain, "-tls1_2")
    first_id, first = await secured(tcp, server.port, rooted(chain))
    assert first.handshake and first.group and first.chain_sent and first.chain_verified
    await tcp.close(first_id)
    _, second = await secured(tcp, server.port, rooted(chain, resume=True))
    assert second.session_reused is True


async def test_TI8_concurrent_handshakes_on_one_context_keep_their_own_traces(
    tcp: TcpSockets, tls_server: ServeTls, pki: Pki
) -> None:
    """Resumed handshakes share the kept session's context: each trace is its own."""
    server = tls_server(maximum=ssl.TLSVersion.TLSv1_2)  # serves connections in parallel
    options = trusting(pki, tls_version=TLSVersionConstraints(max="tls1.2"))
    first_id, _ = await secured(tcp, server.port, options)
    await tcp.close(first_id)
    ids = [await connected(tcp, server.port) for _ in range(2)]
    options = trusting(pki, resume=True, tls_version=TLSVersionConstraints(max="tls1.2"))
    results = await asyncio.gather(*(tcp.secure(i, options) for i in ids))
    assert results == [0, 0]
    for socket_id in ids:
        info = (await tcp.get_info(socket_id)).tls
        assert info is not None
        assert steps(info).count(("sent", "client_hello")) == 1, steps(info)
        assert info.session_reused is True


@pytest.fixture(scope="module")
def rsa_leaf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CertFiles]:
    """(the CA file, an RSA leaf for localhost): finite-field DHE needs an RSA key."""
    directory = Path(tmp_path_factory.mktemp("rsa"))
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", key_type=trustme.KeyType.RSA)
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    (directory / "leaf.pem").write_bytes(leaf.cert_chain_pems[0].bytes())
    (directory / "leaf.key").write_bytes(leaf.private_key_pem.bytes())
    return directory / "ca.pem", CertFiles(cert=directory / "leaf.pem", key=directory / "leaf.key")


async def test_TI7_tls12_finite_field_dhe_has_no_group_name(
    tcp: TcpSockets, s_server: ServeOpenSSL, rsa_leaf: tuple[Path, CertFiles]
) -> None:
    ca_file, leaf = rsa_leaf
    server = s_server("-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256", cert=leaf)
    _, info = await secured(tcp, server.port, SecureOptions(ca_file=str(ca_file)))
    assert info.cipher == "DHE-RSA-AES128-GCM-SHA256"
    assert ("received", "server_key_exchange") in steps(info)
    assert info.group is None


async def test_TI7_tls13_finite_field_group_is_named(
    tcp: TcpSockets, s_server: ServeOpenSSL, pki: Pki
) -> None:
    server = s_server("-groups", "ffdhe2048")
    _, info = await secured(tcp, server.port, trusting(pki))
    assert (info.version, info.group) == ("TLSv1.3", "ffdhe2048")
