"""Running conversations against real loopback peers: every step kind passing and failing,
captures and variables, time-outs that show what arrived, STARTTLS, and a connection that
fails; the socket ends with the run."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

from tests.net.peers import closed_port
from tests.net.starttls_peers import starttls_server_handler
from tests.net.tls_peers import Pki, ThreadedServer, plain_echo_handler, server_context
from workbench.core.conversation import Conversation, parse_conversation
from workbench.core.conversation_report import ConversationReport, Status
from workbench.net.tcp import TcpSockets
from workbench.session.conversation_run import run_conversation

Serve = Callable[..., ThreadedServer]


def conversation(
    port: int, steps: str, head: str = "timeout = 2\n", variables: dict[str, str] | None = None
) -> Conversation:
    text = f'host = "127.0.0.1"\nport = {port}\n{head}{steps}'
    return parse_conversation(text, "t.toml", variables)


def statuses(report: ConversationReport) -> list[Status]:
    return [step.status for step in report.steps]


def smtp_handler(ctx: ssl.SSLContext) -> Callable[[socket.socket, ThreadedServer], None]:
    """A tiny SMTP-like peer: greeting, EHLO offering STARTTLS, the upgrade, then a line
    answered over TLS, and QUIT closing the connection."""

    def handler(conn: socket.socket, server: ThreadedServer) -> None:
        conn.sendall(b"220 mail.test ready\r\n")
        reader = conn.makefile("rb")
        assert reader.readline().startswith(b"EHLO")
        conn.sendall(b"250-mail.test greets you\r\n250 STARTTLS\r\n")
        assert reader.readline() == b"STARTTLS\r\n"
        conn.sendall(b"220 go ahead\r\n")
        tls = ctx.wrap_socket(conn, server_side=True)
        server.track(tls)
        line = tls.makefile("rb").readline()
        tls.sendall(b"250 you said " + line)
        tls.unwrap().close()  # close_notify, then FIN: the stream ends with -100

    return handler


async def test_an_smtp_exchange_with_starttls_and_a_capture_passes(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(smtp_handler(server_context(pki.valid)))
    steps = f"""
[[steps]]
expect = "220 "
[[steps]]
send = 'EHLO me\\r\\n'
[[steps]]
expect_regex = '250[- ](?P<ext>STARTTLS)'
[[steps]]
send = '${{ext}}\\r\\n'
[[steps]]
expect = "220 go"
[[steps]]
starttls = {{ ca_file = "{pki.ca_file}", server_name = "localhost" }}
[[steps]]
send = 'secret ${{who}}\\n'
[[steps]]
expect_regex = 'said secret (?P<back>\\w+)'
[[steps]]
expect_closed = -100
"""
    seen: list[int] = []
    report = await run_conversation(
        conversation(server.port, steps, variables={"who": "alice"}),
        tcp,
        on_start=lambda step: seen.append(step.index),
    )
    assert report.passed, [s.detail for s in report.steps]
    assert seen == list(range(9))
    assert report.variables["ext"] == "STARTTLS" and report.variables["back"] == "alice"
    assert report.steps[1].data == b"EHLO me\r\n"
    assert report.steps[0].data == b"220 "  # matched: consumed up to and including it
    assert report.steps[2].detail == "ext = 'STARTTLS'"
    assert not await tcp.get_sockets()  # the run's socket ends with it


async def test_an_expect_that_times_out_fails_and_shows_what_arrived(
    tcp: TcpSockets, serve: Serve
) -> None:
    server = serve(plain_echo_handler)
    steps = """
[[steps]]
send = 'partial\\x01'
[[steps]]
expect = "never"
timeout = 0.3
[[steps]]
send = 'not sent'
"""
    report = await run_conversation(conversation(server.port, steps), tcp)
    assert statuses(report) == [Status.PASSED, Status.FAILED, Status.NOT_RUN]
    failed = report.steps[1]
    assert failed.detail == 'no match within 0.3 s; received 8 bytes: "partial\\x01"'
    assert failed.elapsed >= 0.3
    assert not report.passed
    assert bytes(server.received) == b"partial\x01"  # the step after the failure never ran
    assert not await tcp.get_sockets()  # "the socket is closed"


async def test_expect_hex_consumes_its_match_and_a_later_expect_sees_the_rest(
    tcp: TcpSockets, serve: Serve
) -> None:
    server = serve(plain_echo_handler)
    steps = """
[[steps]]
send_hex = "00 01 ff 41 42"
[[steps]]
expect_hex = "01 ff"
[[steps]]
expect_hex = "01"
timeout = 0.3
"""
    report = await run_conversation(conversation(server.port, steps), tcp)
    assert statuses(report) == [Status.PASSED, Status.PASSED, Status.FAILED]
    assert report.steps[1].data == b"\x00\x01\xff"
    assert 'received 2 bytes: "AB"' in report.steps[2].detail


def goodbye(conn: socket.socket, server: ThreadedServer) -> None:
    conn.sendall(b"bye\n")
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)  # until the client closes


async def test_expect_closed_checks_the_code_and_an_expect_fails_when_the_stream_ends(
    tcp: TcpSockets, serve: Serve
) -> None:
    server = serve(goodbye)
    ok = await run_conversation(conversation(server.port, "[[steps]]\nexpect_closed = true\n"), tcp)
    assert ok.passed and ok.steps[0].detail.startswith("-100")
    wrong = await run_conversation(
        conversation(server.port, "[[steps]]\nexpect_closed = -101\n"), tcp
    )
    assert statuses(wrong) == [Status.FAILED]
    assert "ended with -100" in wrong.steps[0].detail and "not -101" in wrong.steps[0].detail
    ended = await run_conversation(
        conversation(server.port, "[[steps]]\nexpect_regex = 'hello'\n"), tcp
    )
    assert statuses(ended) == [Status.FAILED]
    detail = ended.steps[0].detail
    assert detail.startswith("the stream ended (-100") and 'received 4 bytes: "bye\\n"' in detail


async def test_expect_closed_that_never_comes_fails_after_its_timeout(
    tcp: TcpSockets, serve: Serve
) -> None:
    server = serve(plain_echo_handler)
    report = await run_conversation(
        conversation(server.port, "[[steps]]\nexpect_closed = -100\ntimeout = 0.2\n"), tcp
    )
    assert statuses(report) == [Status.FAILED]
    assert report.steps[0].detail == "the stream did not end within 0.2 s; nothing received"


async def test_sleep_waits_and_send_hex_with_a_bad_value_fails_its_step(
    tcp: TcpSockets, serve: Serve
) -> None:
    server = serve(plain_echo_handler)
    steps = '[[steps]]\nsleep = 0.15\n[[steps]]\nsend_hex = "${v}"\n'
    report = await run_conversation(conversation(server.port, steps, variables={"v": "zz"}), tcp)
    assert statuses(report) == [Status.PASSED, Status.FAILED]
    assert report.steps[0].elapsed >= 0.15
    assert report.steps[1].detail.startswith("cannot send:") and "hex" in report.steps[1].detail


async def test_a_starttls_the_peer_s_certificate_fails_is_a_failed_step(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(smtp_handler(server_context(pki.unknown_ca)))
    steps = f"""
[[steps]]
send = 'EHLO x\\r\\nSTARTTLS\\r\\n'
[[steps]]
expect = "220 go"
[[steps]]
starttls = {{ ca_file = "{pki.ca_file}" }}
"""
    report = await run_conversation(conversation(server.port, steps), tcp)
    assert statuses(report) == [Status.PASSED, Status.PASSED, Status.FAILED]
    detail = report.steps[2].detail
    assert detail.startswith("secure() → -202") and "certificate" in detail


async def test_a_refused_connection_is_an_error_of_the_first_step(tcp: TcpSockets) -> None:
    port = closed_port()
    report = await run_conversation(
        conversation(port, "[[steps]]\nsend = 'a'\n[[steps]]\nexpect = 'b'\n"), tcp
    )
    assert report.error is not None
    assert report.error.startswith(f"connect to 127.0.0.1:{port} → -102")
    assert statuses(report) == [Status.ERROR, Status.NOT_RUN]
    assert report.steps[0].detail == report.error
    assert not await tcp.get_sockets()


async def test_tls_in_the_file_secures_right_after_connect(
    tcp: TcpSockets, tls_server: Callable[..., ThreadedServer], pki: Pki
) -> None:
    server = tls_server()
    head = f'timeout = 2\n[tls]\nca_file = "{pki.ca_file}"\nserver_name = "localhost"\n'
    steps = "[[steps]]\nsend = 'over tls\\n'\n[[steps]]\nexpect = 'over tls'\n"
    report = await run_conversation(conversation(server.port, steps, head), tcp)
    assert report.passed, report.steps
    untrusted = f'timeout = 2\n[tls]\nca_file = "{pki.other_ca_file}"\n'
    failed = await run_conversation(conversation(server.port, steps, untrusted), tcp)
    assert failed.error is not None and failed.error.startswith("[tls] with 127.0.0.1:")
    assert statuses(failed) == [Status.ERROR, Status.NOT_RUN]


async def test_on_a_given_socket_it_runs_the_steps_only_and_leaves_it_as_it_found_it(
    tcp: TcpSockets, serve: Serve
) -> None:
    server = serve(plain_echo_handler)
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "127.0.0.1", server.port) == 0
    steps = "[[steps]]\nsend = 'ping'\n[[steps]]\nexpect = 'ping'\n"
    report = await run_conversation(conversation(server.port, steps), tcp, socket_id=sid)
    assert report.passed
    assert (await tcp.get_info(sid)).connected  # a pass leaves the user's socket connected
    failing = "[[steps]]\nexpect = 'nothing'\ntimeout = 0.1\n"
    report = await run_conversation(
        conversation(server.port, failing), tcp, socket_id=sid, keep_socket=True
    )
    assert statuses(report) == [Status.FAILED]
    info = await tcp.get_info(sid)  # a failure disconnects it; the socket stays
    assert not info.connected


async def test_a_starttls_step_naming_a_protocol_runs_its_exchange_then_tls(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(starttls_server_handler("smtp", server_context(pki.valid)))
    steps = f"""
[[steps]]
starttls = {{ protocol = "smtp", ca_file = "{pki.ca_file}", server_name = "localhost" }}
[[steps]]
send = 'over tls\\n'
[[steps]]
expect = "over tls"
"""
    report = await run_conversation(conversation(server.port, steps), tcp)
    assert report.passed, [s.detail for s in report.steps]
    _received, sent = server.wait_event("plaintext")  # type: ignore[misc]
    # The step reports the server's side of the exchange; the expect after it saw only TLS.
    assert report.steps[0].data == sent and report.steps[2].data == b"over tls"
    assert bytes(server.received) == b"over tls\n"


async def test_a_refused_starttls_step_fails_quoting_the_server(
    tcp: TcpSockets, serve: Serve, pki: Pki
) -> None:
    server = serve(starttls_server_handler("pop3", server_context(pki.valid), refuse=True))
    steps = '[[steps]]\nstarttls = "pop3"\n[[steps]]\nsend = "not sent"\n'
    report = await run_conversation(conversation(server.port, steps), tcp)
    assert statuses(report) == [Status.FAILED, Status.NOT_RUN]
    assert "-ERR STLS not available" in report.steps[0].detail
    assert "-320" in report.steps[0].detail or "INVALID_RESPONSE" in report.steps[0].detail


def trickle(conn: socket.socket, server: ThreadedServer) -> None:
    """A long answer in small writes, its end marker split across two of them."""
    body = bytes(range(256)) * 1024  # 256 KiB without the marker in it
    for at in range(0, len(body), 997):
        conn.sendall(body[at : at + 997])
    conn.sendall(b"EN")
    conn.sendall(b"D!\nafter")
    conn.recv(1)  # until the client closes


async def test_an_expect_finds_a_marker_split_across_reads_after_a_long_answer(
    tcp: TcpSockets, serve: Serve
) -> None:
    """The search resumes where the last one could still begin a match: a marker that
    arrives in two reads is found, and the step takes exactly the bytes up to its end."""
    server = serve(trickle)
    steps = """
[[steps]]
expect = "END!"
[[steps]]
expect = "after"
"""
    report = await run_conversation(conversation(server.port, steps), tcp)
    assert statuses(report) == [Status.PASSED, Status.PASSED]
    assert report.steps[0].data == bytes(range(256)) * 1024 + b"END!"
    assert report.steps[1].data == b"\nafter"
