"""Recording: a session's socket history becomes a conversation file that runs again and
passes against the same kind of peer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.tls_peers import Pki, ThreadedServer, plain_echo_handler, server_context
from tests.session.test_conversation_run import smtp_handler
from workbench.core.conversation import Verb, parse_conversation
from workbench.core.types import SecureOptions
from workbench.net.tcp import TcpSockets
from workbench.session.conversation_record import record_conversation
from workbench.session.conversation_run import run_conversation
from workbench.session.session import Session

Serve = Callable[..., ThreadedServer]


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


def received(session: Session, key: object) -> bytes:
    capture = session.registry[key].capture  # type: ignore[index]
    capture.sync()
    return capture.read(0, capture.total_bytes)


async def test_an_smtp_session_with_starttls_records_into_a_conversation_that_passes(
    session: Session, tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    ctx = server_context(pki.valid)
    server = serve(smtp_handler(ctx))
    key = await session.create()
    record = session.registry[key]
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    await wait_for(lambda: b"220 mail.test ready\r\n" in received(session, key))
    await session.send(key, b"EHLO me\r\n")
    await wait_for(lambda: b"250 STARTTLS" in received(session, key))
    await session.send(key, b"STARTTLS\r\n")
    await wait_for(lambda: b"220 go" in received(session, key))
    options = SecureOptions(ca_file=str(pki.ca_file), server_name="localhost")
    assert await session.secure(key, options) == 0
    await session.send(key, b"secret bob\n")
    await wait_for(lambda: record.peer_end is not None)

    text = record_conversation(record, session.call_log.entries(), name="smtp")
    conversation = parse_conversation(text, "recorded.toml")
    assert conversation.title == "smtp"
    assert (conversation.host, conversation.port) == ("127.0.0.1", server.port)
    assert [(s.verb, s.value) for s in conversation.steps] == [
        (Verb.EXPECT, "220 mail.test ready"),
        (Verb.SEND, "EHLO me\\r\\n"),
        (Verb.EXPECT, "250-mail.test greets you"),
        (Verb.SEND, "STARTTLS\\r\\n"),
        (Verb.EXPECT, "220 go ahead"),
        (Verb.STARTTLS, {"ca_file": str(pki.ca_file), "server_name": "localhost"}),
        (Verb.SEND, "secret bob\\n"),
        (Verb.EXPECT, "250 you said secret bob"),
        (Verb.EXPECT_CLOSED, -100),
    ]
    again = serve(smtp_handler(ctx))
    rerun = parse_conversation(text.replace(str(server.port), str(again.port)), "again.toml")
    report = await run_conversation(rerun, tcp)
    assert report.passed, [s.detail for s in report.steps]


async def test_a_starttls_preset_records_as_one_step_that_runs_its_exchange_again(
    session: Session, tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    """Secure through the SMTP preset: its exchange (EHLO, STARTTLS and their answers) and
    the greeting it read first are the ``starttls`` step's, not steps of their own; the
    recording runs again against the same kind of peer and passes."""
    ctx = server_context(pki.valid)
    server = serve(smtp_handler(ctx))
    key = await session.create()
    record = session.registry[key]
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    await wait_for(lambda: b"220 mail.test ready\r\n" in received(session, key))
    options = SecureOptions(ca_file=str(pki.ca_file), server_name="localhost")
    assert await session.starttls(key, "smtp", options) == 0
    await session.send(key, b"secret bob\n")
    await wait_for(lambda: record.peer_end is not None)
    assert b"STARTTLS" in received(session, key)  # the exchange's bytes are in the capture

    text = record_conversation(record, session.call_log.entries(), name="smtp preset")
    conversation = parse_conversation(text, "recorded.toml")
    tls = {"ca_file": str(pki.ca_file), "server_name": "localhost"}
    assert [(s.verb, s.value) for s in conversation.steps] == [
        (Verb.STARTTLS, {"protocol": "smtp", **tls}),
        (Verb.SEND, "secret bob\\n"),
        (Verb.EXPECT, "250 you said secret bob"),
        (Verb.EXPECT_CLOSED, -100),
    ]
    again = serve(smtp_handler(ctx))
    rerun = parse_conversation(text.replace(str(server.port), str(again.port)), "again.toml")
    report = await run_conversation(rerun, tcp)
    assert report.passed, [s.detail for s in report.steps]


async def test_binary_bursts_are_expected_as_hex_and_tls_before_any_byte_is_the_tls_table(
    session: Session, serve: Serve, tls_server: Callable[..., ThreadedServer], pki: Pki
) -> None:
    server = tls_server()
    key = await session.create()
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    options = SecureOptions(ca_file=str(pki.ca_file), verify=False)
    assert await session.secure(key, options) == 0
    await session.send(key, b"\x00\x01\xfe${x}")
    await wait_for(lambda: len(received(session, key)) == 14)
    conversation = parse_conversation(
        record_conversation(session.registry[key], session.call_log.entries()), "b.toml"
    )
    assert conversation.tls == SecureOptions(ca_file=str(pki.ca_file), verify=False)
    # "${" would read as a variable: the send goes as hex, and the binary echo as hex too.
    assert [(s.verb, s.value) for s in conversation.steps] == [
        (Verb.SEND_HEX, "00 01 fe 24 7b 78 7d"),
        (Verb.EXPECT_HEX, "00 01 fe 24 7b 78 7d"),
    ]


async def test_only_the_last_connection_is_recorded_and_a_socket_never_connected_is_refused(
    session: Session, serve: Serve
) -> None:
    server = serve(plain_echo_handler)
    key = await session.create()
    with pytest.raises(ValueError, match="never connected"):
        record_conversation(session.registry[key], session.call_log.entries())
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    await session.send(key, b"first\n")
    await wait_for(lambda: received(session, key) == b"first\nfirst\n")
    await session.disconnect(key)
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    await session.send(key, b"second\n")
    await wait_for(lambda: received(session, key).endswith(b"second\nsecond\n"))
    conversation = parse_conversation(
        record_conversation(session.registry[key], session.call_log.entries()), "c.toml"
    )
    # Unnamed, it is named after where it was recorded from.
    assert conversation.title == f"recorded from socket {key.id} (127.0.0.1:{server.port})"
    assert [(s.verb, s.value) for s in conversation.steps] == [
        (Verb.SEND, "second\\n"),
        (Verb.EXPECT, "second"),
    ]


async def test_the_file_is_written_as_the_docs_write_one_tables_and_literal_strings(
    session: Session, serve: Serve
) -> None:
    server = serve(plain_echo_handler)
    key = await session.create()
    assert await session.connect(key, "127.0.0.1", server.port) == 0
    for line in (b"HELLO\r\n", b"it's me\r\n"):
        await session.send(key, line)
        # The capture holds both directions: the line twice is the line and its echo.
        await wait_for(lambda line=line: received(session, key).count(line) == 2)

    text = record_conversation(session.registry[key], session.call_log.entries())
    # One [[steps]] table per step (not one inline array), the escapes as typed in a literal
    # string; a quote needs the basic string, with its backslashes doubled.
    steps = text[text.index("[[steps]]") :]
    assert steps.split("\n") == [
        "[[steps]]",
        "send = 'HELLO\\r\\n'",
        "",
        "[[steps]]",
        "expect = 'HELLO'",
        "",
        "[[steps]]",
        'send = "it\'s me\\\\r\\\\n"',
        "",
        "[[steps]]",
        'expect = "it\'s me"',
        "",
    ]
    conversation = parse_conversation(text, "recorded.toml")
    assert [(s.verb, s.value) for s in conversation.steps] == [
        (Verb.SEND, "HELLO\\r\\n"),
        (Verb.EXPECT, "HELLO"),
        (Verb.SEND, "it's me\\r\\n"),
        (Verb.EXPECT, "it's me"),
    ]
