"""TLS on accept for a session's listening sockets (``LoggedServers.set_tls``), against real
TLS clients (asyncio's ``ssl`` streams) and plain sockets: each accepted socket is secured
before its rules or "read at once" touch it, the extension call is logged in Chrome's form,
and a failed handshake stays on its own socket."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import assert_stays, wait_for
from tests.net.test_tcp_server import clients, connect_plain
from workbench.core.errors import NetError, SocketNotFoundError
from workbench.core.rules import (
    FrameKind,
    Framing,
    Match,
    MatchKind,
    Reply,
    Rule,
    RuleSet,
    Then,
    Trigger,
)
from workbench.core.rules_presets import Preset, preset
from workbench.net.servers.certificates import ensure_certificates
from workbench.net.tcp import TcpSockets
from workbench.session.record import DEFAULT_TEST_CA_NAMES, ServerTls, SocketRecord
from workbench.session.session import Session

LOOPBACK = "127.0.0.1"
TEST_CA = ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES)


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    s.servers.cert_dir = tmp_path / "test-ca"
    yield s
    s.shutdown()


@contextlib.asynccontextmanager
async def listening(session: Session, tls: ServerTls | None) -> AsyncIterator[tuple[int, int]]:
    sid = (await session.servers.create()).socket_id
    try:
        session.servers.set_tls(sid, tls)
        assert await session.servers.listen(sid, LOOPBACK, 0) == 0
        record = session.servers.record(sid)
        assert record is not None and record.info.local_port
        yield sid, record.info.local_port
    finally:
        await session.servers.close_all()


def trusting(session: Session) -> ssl.SSLContext:
    assert session.servers.cert_dir is not None
    return ssl.create_default_context(
        cafile=str(ensure_certificates(session.servers.cert_dir).ca_file)
    )


async def accepted_rows(session: Session, n: int) -> list[SocketRecord]:
    found: list[SocketRecord] = []

    def ready() -> bool:
        found[:] = [r for key in session.registry if (r := session.registry[key]).server]
        return len(found) >= n

    await wait_for(ready)
    return found[:n]


async def tls_client(
    port: int, context: ssl.SSLContext, name: str = "localhost"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(LOOPBACK, port, ssl=context, server_hostname=name)


async def test_a_tls_client_handshakes_and_its_bytes_arrive_decrypted(session: Session) -> None:
    async with listening(session, TEST_CA) as (_sid, port):
        _reader, writer = await tls_client(port, trusting(session))
        try:
            writer.write(b"hello over tls\n")
            await writer.drain()
            (row,) = await accepted_rows(session, 1)
            await wait_for(lambda: row.received == 15)
            assert row.capture.read(0, 15) == b"hello over tls\n"
            assert row.info.tls is not None and not row.info.paused
            assert row.results["secure"] == 0 and row.error is None
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
    texts = [e.text for e in session.call_log.entries()]
    cid = row.key.id
    secure = next(t for t in texts if ".secureServer(" in t)
    assert secure.startswith(f'chrome.sockets.tcp.secureServer({cid}, {{"certFile":"')
    assert secure.endswith("→ 0")
    # The handshake comes before the resume ("read at once"): nothing is read before it.
    assert texts.index(secure) < next(
        i for i, t in enumerate(texts) if t.startswith(f"chrome.sockets.tcp.setPaused({cid},")
    )


async def test_the_rules_answer_over_tls_greeting_first(session: Session) -> None:
    rules = RuleSet(
        framing=Framing(kind=FrameKind.LINE),
        rules=(
            Rule(name="greeting", trigger=Trigger.OPEN, reply=Reply(template="220 hi")),
            *preset(Preset.ECHO).rules,
        ),
    )
    async with listening(session, TEST_CA) as (sid, port):
        assert session.rules.set_rules(sid, rules) == []
        reader, writer = await tls_client(port, trusting(session))
        try:
            assert await reader.readexactly(6) == b"220 hi"
            writer.write(b"ping\n")
            await writer.drain()
            assert await reader.readexactly(4) == b"ping"  # the frame, its LF cut off
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


async def test_a_plain_client_fails_its_own_handshake_only(session: Session) -> None:
    async with listening(session, TEST_CA) as (sid, port):
        with clients() as made:
            plain = await connect_plain(made, port)
            await asyncio.get_running_loop().sock_sendall(plain, b"hello\r\n\r\n")
            (row,) = await accepted_rows(session, 1)
            await wait_for(lambda: "secure" in row.results)
            assert row.results["secure"] < 0 and row.error == row.results["secure"]
            assert row.info.tls is None and row.received == 0
        server = session.servers.record(sid)
        assert server is not None and server.listening and server.accept_error is None
        # The server goes on: the next client handshakes.
        _reader, writer = await tls_client(port, trusting(session))
        try:
            _, second = await accepted_rows(session, 2)
            await wait_for(lambda: second.info.tls is not None)
            assert second.error is None
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
    failed = [e for e in session.call_log.entries() if ".secureServer(" in e.text and not e.ok]
    assert len(failed) == 1 and failed[0].key == row.key


async def test_read_at_once_off_leaves_the_secured_socket_paused(session: Session) -> None:
    async with listening(session, TEST_CA) as (sid, port):
        session.servers.set_read_at_once(sid, False)
        _reader, writer = await tls_client(port, trusting(session))
        try:
            writer.write(b"held")
            await writer.drain()
            (row,) = await accepted_rows(session, 1)
            await wait_for(lambda: row.info.tls is not None)
            await assert_stays(lambda: row.info.paused and row.received == 0)
            await session.set_paused(row.key, False)
            await wait_for(lambda: row.received == 4)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


async def test_a_required_client_certificate_missing_is_minus_110(session: Session) -> None:
    assert session.servers.cert_dir is not None
    ca_file = str(ensure_certificates(session.servers.cert_dir).ca_file)
    tls = ServerTls(test_ca_names=("localhost",), ca_file=ca_file)
    async with listening(session, tls) as (_sid, port):
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
            reader, writer = await tls_client(port, trusting(session))
            # TLS 1.3: the server's verdict comes after the client's handshake is done.
            await reader.read()
            writer.close()
        (row,) = await accepted_rows(session, 1)
        await wait_for(lambda: "secure" in row.results)
        assert row.results["secure"] == NetError.SSL_CLIENT_AUTH_CERT_NEEDED


async def test_the_tls_setting_is_the_intent_and_applies_to_later_connections(
    session: Session, tmp_path: Path
) -> None:
    async with listening(session, None) as (sid, port):
        server = session.servers.record(sid)
        assert server is not None and (server.intent.tls,) == (None,)
        with clients() as made:
            await connect_plain(made, port)
            (plain,) = await accepted_rows(session, 1)
            options = session.servers.set_tls(sid, TEST_CA)
            assert server.intent.tls == TEST_CA
            assert options is not None and options == session.servers.tls_options(sid)
            assert Path(options.cert_file).parent == tmp_path / "test-ca"
            # The connection accepted before stays plaintext.
            await assert_stays(lambda: "secure" not in plain.results)
        session.servers.set_tls(sid, None)
        assert (server.intent.tls, session.servers.tls_options(sid)) == (None, None)
    with pytest.raises(SocketNotFoundError):
        session.servers.set_tls(999, TEST_CA)


async def test_the_test_ca_without_a_directory_is_refused(session: Session) -> None:
    session.servers.cert_dir = None
    async with listening(session, None) as (sid, _):
        with pytest.raises(ValueError, match="test CA"):
            session.servers.set_tls(sid, TEST_CA)
        server = session.servers.record(sid)
        assert server is not None and server.intent.tls is None


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"cert_file": "c.pem"},
        {"cert_file": "c.pem", "key_file": "k.pem", "test_ca_names": ("localhost",)},
        {"test_ca_names": ("",)},
        {"cert_file": "", "key_file": "k.pem"},
    ],
)
def test_server_tls_says_one_source(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ServerTls(**fields)  # type: ignore[arg-type]


# -- "when a rule says Start TLS": the certificate goes to the rules, not to the accept --------


def smtp_with_starttls() -> RuleSet:
    smtp = preset(Preset.SMTP)
    starttls = Rule(
        name="starttls",
        match=Match(kind=MatchKind.REGEX, pattern=r"(?i)\ASTARTTLS\Z"),
        reply=Reply(template="220 Go ahead", line_ending="CRLF"),
        then=Then.START_TLS,
    )
    return RuleSet(framing=smtp.framing, rules=(*smtp.rules[:3], starttls, *smtp.rules[3:]))


async def test_tls_when_a_rule_says_start_tls_upgrades_on_starttls_only(
    session: Session,
) -> None:
    on_starttls = dataclasses.replace(TEST_CA, on_accept=False)
    async with listening(session, on_starttls) as (sid, port):
        assert session.rules.set_rules(sid, smtp_with_starttls()) == []
        options = session.servers.start_tls_options(sid)
        assert options is not None and session.servers.tls_options(sid) is None
        responder = session.rules.responder(sid)
        assert responder is not None and responder.tls == options
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        try:
            assert await reader.readline() == b"220 localhost ESMTP Socket Workbench\r\n"
            (row,) = await accepted_rows(session, 1)
            assert "secure" not in row.results and row.info.tls is None  # not on accept
            writer.write(b"STARTTLS\r\n")
            assert await reader.readline() == b"220 Go ahead\r\n"
            await writer.start_tls(trusting(session), server_hostname="localhost")
            writer.write(b"EHLO me.example\r\n")
            assert await reader.readline() == b"250 localhost greets me.example\r\n"
            assert row.info.tls is not None
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
        # Back to TLS on accept: the rules lose the certificate; off: both are plaintext.
        session.servers.set_tls(sid, TEST_CA)
        assert responder.tls is None and session.servers.start_tls_options(sid) is None
        assert session.servers.tls_options(sid) == options
        session.servers.set_tls(sid, on_starttls)
        assert responder.tls == options and session.servers.tls_options(sid) is None
        session.servers.set_tls(sid, None)
        assert responder.tls is None and session.servers.tls_options(sid) is None
        server = session.servers.record(sid)
        assert server is not None and server.intent.tls is None


async def test_start_tls_options_given_to_the_rules_directly_stay(session: Session) -> None:
    async with listening(session, None) as (sid, _port):
        assert session.rules.set_rules(sid, smtp_with_starttls()) == []
        options = session.servers.tls_options_for(TEST_CA)
        session.rules.set_tls(sid, options)
        session.servers.set_tls(sid, TEST_CA)  # TLS on accept: not this setting's business
        responder = session.rules.responder(sid)
        assert responder is not None and responder.tls == options
