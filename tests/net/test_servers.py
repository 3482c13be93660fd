"""The built-in test peers, driven by the real socket core over loopback.

Async tests run on asyncio and on qasync (tests/conftest.py). Every test stops its servers
inside the body (``async with ServerManager(...)``): the harness then shuts the core down and
closes the loop, and any transport or task left behind fails the suite (filterwarnings=error).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import workbench.net.servers as servers_module
from tests.conftest import Recorder, assert_stays, wait_for
from workbench.net.servers import (
    CA_COMMON_NAME,
    CHARGEN_LINE_LENGTH,
    SLOW_DRIP_MESSAGE,
    RunningServer,
    ServerKind,
    ServerManager,
    ServerSpec,
    ensure_certificates,
)
from workbench.sockets import SecureOptions, SocketProperties, TLSVersionConstraints


async def _connect(tcp: Any, server: RunningServer, host: str | None = None, **props: Any) -> int:
    sid: int = (await tcp.create(SocketProperties(**props) if props else None)).socket_id
    code = await tcp.connect(sid, host or server.host, server.port)
    assert code == 0, f"connect to {server!r} gave {code}"
    return sid


def _chargen_stream(size: int) -> bytes:
    """RFC 864's pattern, written out independently of the server: line k holds the 72
    printable characters starting at the k-th one ("!" first, space last), then CRLF."""
    printable = "".join(chr(c) for c in range(33, 127)) + " "
    lines = []
    total = 0
    k = 0
    while total < size:
        line = "".join(printable[(k + j) % 95] for j in range(CHARGEN_LINE_LENGTH)) + "\r\n"
        lines.append(line)
        total += len(line)
        k += 1
    return "".join(lines).encode("ascii")[:size]


# ------------------------------------------------------------------------------------- specs


def test_spec_defaults_and_checks() -> None:
    spec = ServerSpec("echo")  # type: ignore[arg-type]  # plain strings are accepted
    assert spec.kind is ServerKind.ECHO
    assert (spec.host, spec.port, spec.n, spec.interval) == ("127.0.0.1", 0, 1024, 0.2)
    assert spec.message == b"Socket Workbench slow drip\r\n"
    assert {k.value for k in ServerKind} == {
        "echo",
        "tls-echo",
        "discard",
        "chargen",
        "close-after",
        "reset-after",
        "slow-drip",
        "udp-echo",
        "udp-reply-after",
    }
    with pytest.raises(ValueError):
        ServerSpec("no-such-kind")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ServerSpec(ServerKind.ECHO, port=65536)
    with pytest.raises(ValueError):
        ServerSpec(ServerKind.ECHO, host="localhost")  # a name could bind several ports
    with pytest.raises(ValueError):
        ServerSpec(ServerKind.CLOSE_AFTER, n=-1)
    with pytest.raises(ValueError):
        ServerSpec(ServerKind.SLOW_DRIP, interval=0)
    with pytest.raises(ValueError):
        ServerSpec(ServerKind.SLOW_DRIP, message=b"")


# -------------------------------------------------------------------------------------- echo


async def test_echo_echoes_and_counts(tcp: Any, tmp_path: Path) -> None:
    rec = Recorder(tcp)
    changes: list[tuple[str, int]] = []
    async with ServerManager(tmp_path) as manager:
        manager.add_listener(lambda s: changes.append((s.kind.value, s.connections)))
        server = await manager.start(ServerSpec(ServerKind.ECHO))
        assert server.host == "127.0.0.1" and server.port > 0 and server.running
        assert manager.servers == [server] and manager.find("echo") is server
        sid = await _connect(tcp, server)
        await wait_for(lambda: server.connections == 1)
        assert (await tcp.send(sid, b"hello, echo")).result_code == 0
        assert await rec.wait_bytes(sid, 11) == b"hello, echo"
        await wait_for(lambda: server.bytes_in == 11 and server.bytes_out == 11)
        await tcp.close(sid)
        await wait_for(lambda: server.connections == 0)
        assert server.accepted == 1
    assert not server.running and manager.servers == []
    # start, connection opened, connection closed, stop
    assert changes == [("echo", 0), ("echo", 1), ("echo", 0), ("echo", 0)]


async def test_stop_closes_client_connections(tcp: Any, tmp_path: Path) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.ECHO))
        sid = await _connect(tcp, server)
        await wait_for(lambda: server.connections == 1)
        await manager.stop(server)
        assert server.connections == 0 and not server.running
        assert await rec.wait_error(sid) == -100  # a clean FIN, not a reset
        again = await tcp.create()
        assert await tcp.connect(again.socket_id, "127.0.0.1", server.port) == -102
        await manager.stop(server)  # stopping twice is harmless


async def test_a_server_started_again_gets_its_old_port_back_when_it_is_free(
    tcp: Any, tmp_path: Path
) -> None:
    """A tester stopped and started Echo and its sockets pointed at a dead port."""
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        first = await manager.start(ServerSpec(ServerKind.ECHO))
        port = first.port
        await manager.stop(first)
        again = await manager.start(ServerSpec(ServerKind.ECHO))
        assert again.port == port and again.running
        sid = await _connect(tcp, again)
        assert (await tcp.send(sid, b"back")).result_code == 0
        assert await rec.wait_bytes(sid, 4) == b"back"
        await manager.stop(again)
        # Someone else took the port meanwhile: any free port, as a start always asked for.
        with socket.create_server(("127.0.0.1", port)):
            third = await manager.start(ServerSpec(ServerKind.ECHO))
            assert third.port not in (0, port) and third.running


async def test_echo_stops_reading_while_its_writes_are_blocked(tcp: Any, tmp_path: Path) -> None:
    """A client that sends without reading cannot make the echo server buffer without bound."""
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.ECHO))
        sid = (await tcp.create()).socket_id
        await tcp.set_paused(sid, True)
        assert await tcp.connect(sid, server.host, server.port) == 0
        payload = bytes(range(256)) * (128 * 1024)  # 32 MiB: more than the buffers hold
        sending = asyncio.ensure_future(tcp.send(sid, payload))
        await wait_for(lambda: server.blocked == 1, timeout=10)
        stalled_at = server.bytes_in
        await assert_stays(lambda: server.bytes_in == stalled_at)
        assert stalled_at < len(payload) and not sending.done()
        await tcp.set_paused(sid, False)
        assert (await sending).result_code == 0
        data = await rec.wait_bytes(sid, len(payload), timeout=30)
        assert data == payload
        assert server.bytes_out == server.bytes_in == len(payload)


# ------------------------------------------------------------------------------------ TLS


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_tls_echo_verifies_against_the_test_ca(tcp: Any, tmp_path: Path, host: str) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        assert server.ca_file == str(tmp_path / "test-ca.pem") == str(manager.ca_file)
        sid = await _connect(tcp, server, host)
        assert await tcp.secure(sid, SecureOptions(ca_file=server.ca_file)) == 0
        info = await tcp.get_info(sid)
        assert info.tls is not None and info.tls.verified
        assert info.tls.version in ("TLSv1.2", "TLSv1.3")
        assert CA_COMMON_NAME in (info.tls.peer_issuer or "")
        assert (await tcp.send(sid, b"secret \x00\xff")).result_code == 0
        assert await rec.wait_bytes(sid, 9) == b"secret \x00\xff"
        await wait_for(lambda: server.bytes_in == 9 and server.bytes_out == 9)


async def test_tls_echo_speaks_tls_1_2_and_1_3(tcp: Any, tmp_path: Path) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        for version, expected in (("tls1.2", "TLSv1.2"), ("tls1.3", "TLSv1.3")):
            sid = await _connect(tcp, server)
            only = TLSVersionConstraints(min=version, max=version)
            options = SecureOptions(ca_file=server.ca_file, tls_version=only)
            assert await tcp.secure(sid, options) == 0
            info = await tcp.get_info(sid)
            assert info.tls is not None and info.tls.version == expected
            assert (await tcp.send(sid, expected.encode())).result_code == 0
            assert await rec.wait_bytes(sid, len(expected)) == expected.encode()


async def test_tls_echo_is_not_trusted_without_its_ca(tcp: Any, tmp_path: Path) -> None:
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        sid = await _connect(tcp, server)
        assert await tcp.secure(sid, SecureOptions()) == -202  # CERT_AUTHORITY_INVALID
        await wait_for(lambda: server.handshake_failures == 1 and server.connections == 0)


async def test_tls_echo_stop_closes_connections_in_every_state(tcp: Any, tmp_path: Path) -> None:
    """A client that never starts the handshake, and a TLS client that does not read (so it
    never answers close_notify), are both closed by stop()."""
    rec = Recorder(tcp)
    async with ServerManager(tmp_path, close_timeout=0.2) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        plain = await _connect(tcp, server)
        paused = await _connect(tcp, server)
        assert await tcp.secure(paused, SecureOptions(ca_file=server.ca_file)) == 0
        await tcp.set_paused(paused, True)
        await wait_for(lambda: server.connections == 2)
        await manager.stop(server)
        assert server.connections == 0
        assert await rec.wait_error(plain) in (-100, -101)
        await tcp.set_paused(paused, False)
        assert await rec.wait_error(paused) in (-100, -101)


# ----------------------------------------------------------------------------- certificates


def test_certificates_are_made_once_and_reused(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path / "config")
    ca = x509.load_pem_x509_certificate(first.ca_file.read_bytes())
    leaf = x509.load_pem_x509_certificate(first.cert_file.read_bytes())
    # trustme's CAs have no common name: the name is the organizational unit.
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        CA_COMMON_NAME
    )
    assert ca.subject == ca.issuer
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf.verify_directly_issued_by(ca)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    # A year from now, back-dated an hour for a clock that runs behind.
    now = dt.datetime.now(dt.UTC)
    assert now - dt.timedelta(hours=2) < leaf.not_valid_before_utc < now
    lifetime = leaf.not_valid_after_utc - now
    assert dt.timedelta(days=364) < lifetime <= dt.timedelta(days=365)
    for key in (first.key_file, first.ca_key_file):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    for cert in (first.cert_file, first.ca_file):
        assert stat.S_IMODE(cert.stat().st_mode) == 0o644
    # The files load where it matters: a server context and a client's trust store.
    ssl.create_default_context(cafile=str(first.ca_file)).load_cert_chain(
        str(first.cert_file), str(first.key_file)
    )

    before = {p: p.read_bytes() for p in vars(first).values()}
    second = ServerManager(tmp_path / "config").certificates()
    assert second == first
    assert {p: p.read_bytes() for p in vars(second).values()} == before


def test_a_broken_leaf_is_renewed_under_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    ca_pem, leaf_pem = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    first.cert_file.write_bytes(b"not a certificate")
    again = ensure_certificates(tmp_path)
    assert again.ca_file.read_bytes() == ca_pem  # a client's trust in the CA file still holds
    new_leaf = again.cert_file.read_bytes()
    assert new_leaf != leaf_pem
    x509.load_pem_x509_certificate(new_leaf).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca_pem)
    )


def test_an_expiring_ca_is_replaced(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    ca_key = serialization.load_pem_private_key(first.ca_key_file.read_bytes(), password=None)
    ca = x509.load_pem_x509_certificate(first.ca_file.read_bytes())
    now = dt.datetime.now(dt.UTC)
    # The same CA, re-signed to expire within the renewal margin.
    short = (
        x509.CertificateBuilder()
        .subject_name(ca.subject)
        .issuer_name(ca.issuer)
        .public_key(ca.public_key())  # type: ignore[arg-type]
        .serial_number(ca.serial_number)
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(hours=1))
    )
    for extension in ca.extensions:
        short = short.add_extension(extension.value, extension.critical)
    expiring = short.sign(ca_key, ca.signature_hash_algorithm)  # type: ignore[arg-type]
    first.ca_file.write_bytes(expiring.public_bytes(serialization.Encoding.PEM))
    ensure_certificates(tmp_path)
    renewed = x509.load_pem_x509_certificate(first.ca_file.read_bytes())
    assert renewed.not_valid_after_utc - now > dt.timedelta(days=365)


def test_a_broken_ca_key_replaces_both(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    before = {p: p.read_bytes() for p in vars(first).values()}
    first.ca_key_file.write_bytes(b"not a key")
    again = ensure_certificates(tmp_path)
    after = {p: p.read_bytes() for p in vars(again).values()}
    assert all(after[p] != before[p] for p in before)
    assert stat.S_IMODE(again.ca_key_file.stat().st_mode) == 0o600
    ssl.create_default_context(cafile=str(again.ca_file)).load_cert_chain(
        str(again.cert_file), str(again.key_file)
    )


async def test_a_ca_made_by_an_earlier_version_is_kept(tcp: Any, tmp_path: Path) -> None:
    """Before trustme, the CA carried its name as the common name, was limited to the loopback
    names by name constraints, and its key was PKCS#8: a user who trusts that CA file keeps
    trusting tls-echo."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Socket Workbench"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
        ]
    )
    loopback = x509.NameConstraints(
        permitted_subtrees=[
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
            x509.IPAddress(ipaddress.ip_network("::1/128")),
        ],
        excluded_subtrees=None,
    )
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(loopback, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "test-ca.pem").write_bytes(ca_pem)
    (tmp_path / "test-ca-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        assert Path(server.ca_file or "").read_bytes() == ca_pem
        for host in ("localhost", "127.0.0.1"):
            sid = await _connect(tcp, server, host)
            assert await tcp.secure(sid, SecureOptions(ca_file=server.ca_file)) == 0
            info = await tcp.get_info(sid)
            assert info.tls is not None and info.tls.verified


def test_an_unwritable_directory_raises_oserror(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("the certificate directory cannot be made here")
    with pytest.raises(OSError):
        ensure_certificates(not_a_directory)


def test_importing_the_servers_does_not_import_cryptography() -> None:
    """A start-up without a TLS server does not pay for cryptography (issue 14): it comes with
    the first tls-echo start, not with the module."""
    script = """
import json, sys, tempfile
from pathlib import Path
import workbench.net.servers as servers
heavy = lambda: sorted({m.split(".")[0] for m in sys.modules} & {"cryptography", "trustme"})
at_import = heavy()
servers.ensure_certificates(Path(tempfile.mkdtemp()))
print(json.dumps([servers.__file__, at_import, heavy()]))
"""
    root = Path(servers_module.__file__).parents[3]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    module_file, at_import, after_first_ca = json.loads(proc.stdout)
    assert module_file == servers_module.__file__
    assert at_import == []
    assert after_first_ca == ["cryptography", "trustme"]


async def test_tls_echo_reuses_certificates_across_managers(tcp: Any, tmp_path: Path) -> None:
    async with ServerManager(tmp_path) as manager:
        first = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
    ca_pem = Path(first.ca_file or "").read_bytes()
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.TLS_ECHO))
        assert server.ca_file == first.ca_file
        assert Path(server.ca_file or "").read_bytes() == ca_pem
        sid = await _connect(tcp, server)
        assert await tcp.secure(sid, SecureOptions(ca_file=first.ca_file)) == 0


# ---------------------------------------------------------------------------- other servers


async def test_discard_reads_and_sends_nothing(tcp: Any, tmp_path: Path) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.DISCARD))
        sid = await _connect(tcp, server)
        assert (await tcp.send(sid, b"x" * 100_000)).result_code == 0
        await wait_for(lambda: server.bytes_in == 100_000)
        await assert_stays(lambda: rec.received(sid) == b"" and not rec.errors_of(sid))
        assert server.bytes_out == 0


async def test_chargen_streams_the_pattern_and_pausing_throttles_it(
    tcp: Any, tmp_path: Path
) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.CHARGEN))
        # Connected paused: the server fills the kernel's buffers, then its own, then stops.
        sid = (await tcp.create()).socket_id
        await tcp.set_paused(sid, True)
        assert await tcp.connect(sid, server.host, server.port) == 0
        await wait_for(lambda: server.blocked == 1)
        blocked_at = server.bytes_out
        await assert_stays(lambda: server.bytes_out == blocked_at)
        assert rec.received(sid) == b""

        await tcp.set_paused(sid, False)
        await wait_for(lambda: server.bytes_out > blocked_at + 1_000_000)
        await tcp.set_paused(sid, True)
        await wait_for(lambda: server.blocked == 1)
        blocked_again = server.bytes_out
        await assert_stays(lambda: server.bytes_out == blocked_again)

        data = rec.received(sid)
        assert len(data) > 1_000_000
        assert data[: 3 * 74] == _chargen_stream(3 * 74)
        # The first two lines of RFC 864's sample, character for character.
        assert data[:148] == (
            b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"
            b"\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi\r\n"
        )
        assert data == _chargen_stream(len(data))  # continuous, nothing lost or repeated


async def test_close_after_n_echoes_exactly_n_bytes_then_closes_cleanly(
    tcp: Any, tmp_path: Path
) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.CLOSE_AFTER, n=10))
        sid = await _connect(tcp, server)
        assert (await tcp.send(sid, b"01234")).result_code == 0
        assert await rec.wait_bytes(sid, 5) == b"01234"
        assert (await tcp.send(sid, b"56789ABCDEF")).result_code == 0
        assert await rec.wait_error(sid) == -100
        assert rec.received(sid) == b"0123456789"
        assert [kind for kind, _, _ in rec.events_of(sid)][-1] == "error"
        await wait_for(lambda: server.connections == 0)
        assert server.bytes_out == 10


async def test_close_after_zero_closes_at_once(tcp: Any, tmp_path: Path) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.CLOSE_AFTER, n=0))
        sid = await _connect(tcp, server)
        assert await rec.wait_error(sid) == -100
        assert rec.received(sid) == b""


async def test_reset_after_n_resets(tcp: Any, tmp_path: Path) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.RESET_AFTER, n=10))
        sid = await _connect(tcp, server)
        assert (await tcp.send(sid, b"01234")).result_code == 0
        assert await rec.wait_bytes(sid, 5) == b"01234"
        assert (await tcp.send(sid, b"56789ABCDEF")).result_code == 0
        assert await rec.wait_error(sid) == -101  # CONNECTION_RESET
        # Echoed bytes still in flight when the reset left may be lost; nothing else arrives.
        assert b"0123456789".startswith(rec.received(sid))
        await wait_for(lambda: server.connections == 0)


async def test_slow_drip_delivers_the_message_byte_by_byte(tcp: Any, tmp_path: Path) -> None:
    rec = Recorder(tcp)
    async with ServerManager(tmp_path) as manager:
        spec = ServerSpec(ServerKind.SLOW_DRIP, interval=0.005)
        assert spec.message == SLOW_DRIP_MESSAGE
        server = await manager.start(spec)
        sid = await _connect(tcp, server)
        want = len(SLOW_DRIP_MESSAGE) + 5
        data = await rec.wait_bytes(sid, want)
        assert data == (SLOW_DRIP_MESSAGE * 2)[: len(data)]
        # Dripped, not sent whole: far more events than one per message.
        assert len(rec.chunks[sid]) > len(SLOW_DRIP_MESSAGE) // 2
